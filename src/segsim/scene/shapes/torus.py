"""Torus: {"type": "torus", "radius": R, "tube": r}, ring in the local xy plane."""

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

SECTIONS = ((24, 12), (40, 16), (64, 24))  # (around the ring, around the tube) per detail level


@register_shape
class Torus(Shape):
    name = "torus"
    fields = ("radius", "tube")
    levels = len(SECTIONS)

    def sample(self, rng, sizes, scale, spec=None):
        big = uniform(rng, sizes.torus_radius) * scale
        return {
            "type": "torus",
            "radius": big,
            "tube": big * float(rng.choice(sizes.torus_tube_ratios)),
        }

    def bounding_radius(self, shape):
        return float(shape["radius"] + shape["tube"])

    def depth_below_centre(self, shape, R):
        _, side = axis_tilt(R)
        return shape["radius"] * side + shape["tube"]

    def unit_key_and_scale(self, shape):
        # the tube must stay round, so the unit mesh is keyed by tube / R (a few drawn values)
        big, tube = positive(shape, "radius"), positive(shape, "tube")
        return ("torus", round(tube / big, 4)), np.diag([big, big, big, 1.0])

    def unit_mesh(self, key, level):
        import trimesh.creation as tc

        major, minor = SECTIONS[level]
        return tc.torus(
            major_radius=1.0, minor_radius=key[1], major_sections=major, minor_sections=minor
        )

    def level_fits(self, shape, level, px_per_metre):
        major, minor = SECTIONS[level]
        return fine_enough(
            2 * np.pi / major, (shape["radius"] + shape["tube"]) * px_per_metre
        ) and fine_enough(2 * np.pi / minor, shape["tube"] * px_per_metre)
