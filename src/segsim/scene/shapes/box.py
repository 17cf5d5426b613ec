"""Box: {"type": "box", "extents": [x, y, z]}, full side lengths."""

from __future__ import annotations

import math

import numpy as np

from segsim.draws import uniform
from segsim.errors import SegsimError
from segsim.scene.shapes.base import Shape, register_shape


@register_shape
class Box(Shape):
    name = "box"
    fields = ("extents",)

    def sample(self, rng, sizes, scale, spec=None):
        return {
            "type": "box",
            "extents": [uniform(rng, sizes.box_extent) * scale for _ in range(3)],
        }

    def bounding_radius(self, shape):
        return 0.5 * math.sqrt(sum(float(e) ** 2 for e in shape["extents"]))

    def depth_below_centre(self, shape, R):
        return 0.5 * float(np.sum(np.abs(R[2, :]) * np.asarray(shape["extents"], float)))

    def unit_key_and_scale(self, shape):
        try:
            sx, sy, sz = (float(e) for e in shape.get("extents"))
        except (TypeError, ValueError):
            raise SegsimError(
                f"box shape {shape!r} needs extents [x, y, z]", "give three positive side lengths"
            ) from None
        return ("box",), np.diag([sx, sy, sz, 1.0])

    def unit_mesh(self, key, level):
        import trimesh.creation as tc

        return tc.box(extents=(1.0, 1.0, 1.0))
