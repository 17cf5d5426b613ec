"""Sphere: {"type": "sphere", "radius": r}."""

from __future__ import annotations

import numpy as np

from segsim.draws import uniform
from segsim.scene.shapes.base import Shape, fine_enough, positive, register_shape

SUBDIVISIONS = (2, 3, 4)  # icosphere subdivisions per detail level
ICOSPHERE_EDGE = 1.25 * 1.1071  # icosahedron edge angle (rad), with margin for uneven edges


@register_shape
class Sphere(Shape):
    name = "sphere"
    fields = ("radius",)
    levels = len(SUBDIVISIONS)

    def sample(self, rng, sizes, scale, spec=None):
        return {"type": "sphere", "radius": uniform(rng, sizes.sphere_radius) * scale}

    def bounding_radius(self, shape):
        return float(shape["radius"])

    def depth_below_centre(self, shape, R):
        return float(shape["radius"])

    def unit_key_and_scale(self, shape):
        r = positive(shape, "radius")
        return ("sphere",), np.diag([r, r, r, 1.0])

    def unit_mesh(self, key, level):
        import trimesh.creation as tc

        return tc.icosphere(subdivisions=SUBDIVISIONS[level], radius=1.0)

    def level_fits(self, shape, level, px_per_metre):
        return fine_enough(
            ICOSPHERE_EDGE / 2 ** SUBDIVISIONS[level], shape["radius"] * px_per_metre
        )
