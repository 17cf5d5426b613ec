"""Random scalar draws shared by the scene randomizer (scene/) and the procedural backgrounds
(render/): one definition, so both draw the same way from a numpy Generator.

Both run for every generated frame, dozens of draws each, so they use rng.random() directly:
low + (high - low) * rng.random() is the very value rng.uniform(low, high) returns, at a third
to a fifth of the call cost.
"""

from __future__ import annotations

import colorsys


def uniform(rng, r) -> float:
    """One draw from the range r = (low, high)."""
    return r[0] + (r[1] - r[0]) * rng.random()


def hsv_color(rng, hue, sat, val) -> tuple[float, float, float]:
    """An RGB colour (floats 0..1) drawn from HSV ranges; the hue wraps around at 1."""
    return tuple(
        float(c)
        for c in colorsys.hsv_to_rgb(uniform(rng, hue) % 1.0, uniform(rng, sat), uniform(rng, val))
    )
