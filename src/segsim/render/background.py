"""Background parameters derived deterministically from a Background's fields.

The `clutter` kind imitates the statistics of a photo behind the objects (texture at several
scales, soft-edged blobs and rectangles at many sizes, a few strong colours) so a model trained on
it does not learn "object = anything that is not a flat colour". Its shapes come from
`Background.seed`, so the Scene stays small plain data and still renders the same every time.
"""

from __future__ import annotations

import colorsys

import numpy as np

KINDS = {"solid": 0, "gradient": 1, "checker": 2, "stripes": 3, "noise": 4, "clutter": 5, "image": 6}
MAX_BLOBS = 24


def _random_color(rng) -> tuple[float, float, float]:
    h, s, v = rng.uniform(0, 1), rng.uniform(0.0, 0.9), rng.uniform(0.1, 1.0)
    return colorsys.hsv_to_rgb(h, s, v)


def clutter_params(seed: int) -> dict:
    rng = np.random.default_rng([int(seed), 7919])
    n = int(rng.integers(8, MAX_BLOBS + 1))
    geom = np.zeros((MAX_BLOBS, 4), np.float32)
    color = np.zeros((MAX_BLOBS, 4), np.float32)
    shape = np.zeros((MAX_BLOBS, 4), np.float32)
    for i in range(n):
        half = np.exp(rng.uniform(np.log(0.02), np.log(0.35), 2))
        angle = rng.uniform(0, np.pi)
        geom[i] = [*rng.uniform(-0.1, 1.1, 2), *half]
        color[i] = [*_random_color(rng), rng.uniform(0.02, 0.7)]
        shape[i] = [np.cos(angle), np.sin(angle), float(rng.random() < 0.5), rng.uniform(0.5, 1.0)]
    return {"num": n, "geom": geom, "color": color, "shape": shape, "color3": _random_color(rng)}


def seed_offset(seed: int) -> tuple[float, float, float]:
    """Noise-space offset for a seed (keeps hash inputs small so float precision holds)."""
    rng = np.random.default_rng([int(seed), 104729])
    return tuple(float(x) for x in rng.uniform(0, 97.0, 3))
