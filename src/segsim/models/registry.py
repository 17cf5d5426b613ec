"""One registry for every model: a dict from name to builder, like timm's entry points.

Adding an architecture = one module with a `@register_model("name", "what it is")` builder +
one line in `_BUILTIN_MODULES`. Builders take `num_classes` and keyword arguments only; the
registry checks the keyword names against the builder's signature so a typo is a SegsimError
that lists what the model accepts, not a TypeError traceback.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from segsim.errors import SegsimError

# The model CPU training uses when the user names none: small, fast, and enough for `shapes`.
DEFAULT_MODEL = "unet_small"

# Imported lazily on first use so `import segsim.models.registry` stays cheap (no torch at import).
_BUILTIN_MODULES = (
    "segsim.models.unet_small",
    "segsim.models.unet",
    "segsim.models.deeplabv3plus",
    "segsim.models.lraspp",
    "segsim.models.pspnet",
    "segsim.models.fcn",
    "segsim.models.upernet",
    "segsim.models.segnet",
    "segsim.models.enet",
    "segsim.models.gcn",
    "segsim.models.fpn",
    "segsim.models.linknet",
    "segsim.models.unetplusplus",
)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    description: str
    builder: Callable[..., Any]

    def accepted_kwargs(self) -> dict[str, Any]:
        """Keyword arguments the builder takes (besides num_classes), with their defaults."""
        params = inspect.signature(self.builder).parameters
        return {k: p.default for k, p in params.items() if k != "num_classes"}


_REGISTRY: dict[str, ModelEntry] = {}
_builtins_loaded = False


def register_model(name: str, description: str):
    """Decorator: register `builder(num_classes, **kwargs) -> nn.Module` under `name`."""

    def decorate(builder):
        if name in _REGISTRY and _REGISTRY[name].builder is not builder:
            raise ValueError(f"model name {name!r} registered twice")
        _REGISTRY[name] = ModelEntry(name, description, builder)
        return builder

    return decorate


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        for module in _BUILTIN_MODULES:
            importlib.import_module(module)
        _builtins_loaded = True


def list_models() -> dict[str, str]:
    """{name: one-line description} of every registered model, sorted by name."""
    _load_builtins()
    return {name: _REGISTRY[name].description for name in sorted(_REGISTRY)}


def model_kwargs(name: str) -> dict[str, Any]:
    """The keyword arguments model `name` accepts, with defaults (for `segsim models` and docs)."""
    return _entry(name).accepted_kwargs()


def _entry(name: str) -> ModelEntry:
    _load_builtins()
    if name not in _REGISTRY:
        raise SegsimError(
            f"unknown model {name!r}",
            f"choose one of: {', '.join(sorted(_REGISTRY))} (`segsim models` lists them)",
        )
    return _REGISTRY[name]


def create_model(name: str, num_classes: int, **kwargs):
    """Build model `name` with `num_classes` output channels.

    An unknown name, an unknown keyword or a bad num_classes raises SegsimError listing the
    choices. Builders raise SegsimError themselves for bad keyword *values* (e.g. encoder).
    """
    entry = _entry(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise SegsimError(
            f"num_classes must be a positive integer, got {num_classes!r}",
            "pass the number of classes in the label set (background included)",
        )
    accepted = entry.accepted_kwargs()
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        choices = ", ".join(f"{k}={v!r}" for k, v in accepted.items()) or "(none)"
        raise SegsimError(
            f"model {name!r} does not take {', '.join(unknown)}", f"options of {name!r}: {choices}"
        )
    return entry.builder(num_classes=num_classes, **kwargs)


def check_choice(what: str, value: Any, choices) -> None:
    """Shared by builders: a bad option value becomes a SegsimError naming the choices."""
    if value not in choices:
        raise SegsimError(
            f"unknown {what} {value!r}", f"choose one of: {', '.join(map(str, choices))}"
        )
