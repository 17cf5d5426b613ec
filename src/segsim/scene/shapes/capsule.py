"""Capsule: {"type": "capsule", "radius": r, "height": h}, axis along local z; `height` is the
distance between the hemisphere centres (trimesh's convention; total length h + 2 r)."""

from __future__ import annotations

import numpy as np

from segsim.draws import uniform
from segsim.scene.shapes.base import (
    Shape,
    axis_tilt,
    fine_enough,
    positive,
    register_shape,
)

COUNTS = ((16, 12), (24, 16), (40, 24))  # (longitude, latitude) segments per detail level


@register_shape
class Capsule(Shape):
    name = "capsule"
    fields = ("radius", "height")
    levels = len(COUNTS)

    def sample(self, rng, sizes, scale, spec=None):
        r = uniform(rng, sizes.capsule_radius) * scale
        return {
            "type": "capsule",
            "radius": r,
            "height": r * float(rng.choice(sizes.capsule_height_ratios)),
        }

    def bounding_radius(self, shape):
        return float(shape["height"] / 2 + shape["radius"])

    def depth_below_centre(self, shape, R):
        az, _ = axis_tilt(R)
        return az * shape["height"] / 2 + shape["radius"]

    def unit_key_and_scale(self, shape):
        # the hemispheres must stay round, so the unit mesh is keyed by height / radius
        r, h = positive(shape, "radius"), positive(shape, "height")
        return ("capsule", round(h / r, 4)), np.diag([r, r, r, 1.0])

    def unit_mesh(self, key, level):
        import trimesh.creation as tc

        return tc.capsule(height=key[1], radius=1.0, count=list(COUNTS[level]))

    def level_fits(self, shape, level, px_per_metre):
        around, along = COUNTS[level]
        return fine_enough(2 * np.pi / around, shape["radius"] * px_per_metre) and fine_enough(
            np.pi / along, shape["radius"] * px_per_metre
        )
