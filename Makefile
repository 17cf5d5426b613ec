# One place that installs everything: Debian packages (when missing), the venv, the project.

# The venv's interpreter: the distribution's own Python when it is 3.10 or newer (built with
# profile-guided and link-time optimisation, so segsim's Python code runs faster on it), else
# python3 from PATH. Choose another with `make clean && make setup PY=python3.12`.
SYSTEM_PY := /usr/bin/python3
PY ?= $(shell $(SYSTEM_PY) -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null && echo $(SYSTEM_PY) || echo python3)
VENV := .venv
BIN := $(VENV)/bin
DEB_PACKAGES := libegl1 libegl-mesa0 libgl1-mesa-dri chromium python3-venv g++ python3-dev sweethome3d-furniture assimp-testmodels blender-data mate-backgrounds
TORCH_WHEEL := torch==2.13.0

.PHONY: setup test test-fast lint bench demo clean deb

setup: $(BIN)/.installed

deb:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends $$missing; \
	fi

$(BIN)/.installed: pyproject.toml | deb
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# torch first and pinned, so nothing later pulls a CUDA build
	$(BIN)/pip install $(TORCH_WHEEL)
	$(BIN)/pip install -e '.[all]'
	# the fast RGB PNG encoder is built from source; without it segsim uses libdeflate (slower, same pixels)
	$(BIN)/pip install -e '.[fastpng]' || echo "fpng_py could not be built: RGB PNGs use libdeflate instead"
	touch $@

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

test: lint
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: setup
	$(BIN)/python bench/run_all.py

demo: setup
	$(BIN)/segsim demo

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
