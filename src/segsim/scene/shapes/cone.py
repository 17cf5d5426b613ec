"""Cone: {"type": "cone", "radius": r, "height": h}, axis along local z, apex at +h/2."""

from __future__ import annotations

from segsim.draws import uniform
from segsim.scene.shapes.base import axis_tilt, register_shape
from segsim.scene.shapes.cylinder import SECTIONS, RoundAxial


@register_shape
class Cone(RoundAxial):
    name = "cone"

    def sample(self, rng, sizes, scale, spec=None):
        return {
            "type": "cone",
            "radius": uniform(rng, sizes.cone_radius) * scale,
            "height": uniform(rng, sizes.cone_height) * scale,
        }

    def depth_below_centre(self, shape, R):
        _, side = axis_tilt(R)
        apex = -R[2, 2] * shape["height"] / 2
        base = R[2, 2] * shape["height"] / 2 + shape["radius"] * side
        return float(max(apex, base))

    def unit_mesh(self, key, level):
        import trimesh.creation as tc

        m = tc.cone(radius=1.0, height=1.0, sections=SECTIONS[level])
        m.apply_translation((0.0, 0.0, -0.5))  # trimesh puts the base at z=0; the spec centres it
        return m
