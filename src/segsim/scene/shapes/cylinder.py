"""Cylinder: {"type": "cylinder", "radius": r, "height": h}, axis along local z."""

from __future__ import annotations

import math

import numpy as np

from segsim.draws import uniform
from segsim.scene.shapes.base import (
    Shape,
    axis_tilt,
    fine_enough,
    positive,
    register_shape,
)

# Segments around the axis per detail level; even the coarsest keeps facets within ~1.5 % of
# the radius, so depth stays within 1 % where surfaces are seen at a grazing angle.
SECTIONS = (24, 48, 96)


class RoundAxial(Shape):
    """A solid of revolution about local z, sized by radius and height (cylinder, cone)."""

    fields = ("radius", "height")
    levels = len(SECTIONS)

    def bounding_radius(self, shape):
        return math.hypot(float(shape["radius"]), float(shape["height"]) / 2)

    def unit_key_and_scale(self, shape):
        r, h = positive(shape, "radius"), positive(shape, "height")
        return (self.name,), np.diag([r, r, h, 1.0])

    def level_fits(self, shape, level, px_per_metre):
        return fine_enough(2 * np.pi / SECTIONS[level], shape["radius"] * px_per_metre)


@register_shape
class Cylinder(RoundAxial):
    name = "cylinder"

    def sample(self, rng, sizes, scale, spec=None):
        return {
            "type": "cylinder",
            "radius": uniform(rng, sizes.cylinder_radius) * scale,
            "height": uniform(rng, sizes.cylinder_height) * scale,
        }

    def depth_below_centre(self, shape, R):
        az, side = axis_tilt(R)
        return az * shape["height"] / 2 + shape["radius"] * side

    def unit_mesh(self, key, level):
        import trimesh.creation as tc

        return tc.cylinder(radius=1.0, height=1.0, sections=SECTIONS[level])
