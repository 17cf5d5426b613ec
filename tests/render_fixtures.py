"""Shared renderer fixture for the render / scene / oracle tests (import it into a test module).

Renderers are cached per size for the whole session: building one compiles a dozen shader
variants, which llvmpipe does slowly."""

from __future__ import annotations

import pytest

_RENDERERS: dict = {}


@pytest.fixture(scope="session")
def renderer_factory():
    from segsim.render.gl import Renderer

    def make(width: int, height: int):
        if (width, height) not in _RENDERERS:
            _RENDERERS[(width, height)] = Renderer(width, height)
        return _RENDERERS[(width, height)]

    yield make
    for r in _RENDERERS.values():
        r.release()
    _RENDERERS.clear()
