"""Shape kinds, one module each, registered by name (see base.py).

Adding a kind = one module here with a `@register_shape` class + its name in _BUILTIN_MODULES.
"""

import importlib

from segsim.scene.shapes.base import (
    SHAPES,
    Shape,
    get_shape,
    kind_of,
    register_shape,
    shape_names,
)

# imported (so registered) in this order, the order configs and error messages list the kinds in
_BUILTIN_MODULES = ("box", "sphere", "cylinder", "cone", "torus", "capsule", "mesh", "compound")
for _module in _BUILTIN_MODULES:
    importlib.import_module(f"{__name__}.{_module}")

__all__ = ["SHAPES", "Shape", "get_shape", "kind_of", "register_shape", "shape_names"]
