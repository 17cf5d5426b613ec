"""Background parameters and images derived deterministically from a Background's fields.

The `clutter` kind imitates the statistics of a photo behind the objects: texture at several
scales in a few strong colours, then soft and sharp blobs, rectangles and strokes at many sizes,
so a model trained on it does not learn "object = anything that is not a flat colour". It is
drawn on the CPU with OpenCV (far cheaper than an equivalent fragment shader on llvmpipe) from
`Background.seed`, so the Scene stays small plain data and
still renders the same every time.
"""

from __future__ import annotations

import math

import numpy as np

from segsim.draws import hsv_color, uniform


def _random_color(rng) -> tuple[float, float, float]:
    # the clutter palette: any hue, never fully saturated, never black
    return hsv_color(rng, (0.0, 1.0), (0.0, 0.9), (0.08, 1.0))


def _smooth_noise(rng, width: int, height: int, cells: int) -> np.ndarray:
    import cv2

    gw = max(2, round(cells * width / max(width, height)) + 1)
    gh = max(2, round(cells * height / max(width, height)) + 1)
    grid = rng.random((gh, gw), dtype=np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


def _draw_shapes(rng, img: np.ndarray, count: int, max_size: float):
    import cv2

    h, w = img.shape[:2]
    side = max(w, h)
    log_min, log_max = math.log(0.015), math.log(max_size)
    for _ in range(count):
        # float32 colour values, as cv2 gets them when drawing into a float32 image
        color = tuple(float(np.float32(c)) for c in _random_color(rng))
        cx, cy = uniform(rng, (-0.1, 1.1)) * w, uniform(rng, (-0.1, 1.1)) * h
        ax = math.exp(uniform(rng, (log_min, log_max))) * side
        ay = ax * uniform(rng, (0.2, 1.0))
        angle = uniform(rng, (0, 180))
        kind = rng.integers(3)
        if kind == 0:
            cv2.ellipse(img, ((cx, cy), (2 * ax, 2 * ay), angle), color, -1, cv2.LINE_AA)
        elif kind == 1:
            box = cv2.boxPoints(((cx, cy), (2 * ax, 2 * ay), angle))
            cv2.fillPoly(img, [np.round(box * 16).astype(np.int32)], color, cv2.LINE_AA, shift=4)
        else:
            t = math.radians(angle)
            dx, dy = math.cos(t) * ax, math.sin(t) * ax
            p0 = (round((cx - dx) * 16), round((cy - dy) * 16))
            p1 = (round((cx + dx) * 16), round((cy + dy) * 16))
            thick = max(1, int(ay * uniform(rng, (0.05, 0.3))))
            cv2.line(img, p0, p1, color, thick, cv2.LINE_AA, shift=4)


def clutter_image(seed: int, width: int, height: int, color, color2) -> np.ndarray:
    """H x W x 3 uint8 photo-like clutter, a pure function of its arguments.

    The soft far layer (noise + big blurred shapes) is made at half of this size and upscaled:
    it is blurred anyway, and this is where most of the arithmetic is."""
    import cv2

    rng = np.random.default_rng([int(seed), 7919])
    c1, c2 = np.asarray(color, np.float32), np.asarray(color2, np.float32)
    c3 = np.array(_random_color(rng), np.float32)
    lw, lh = max(2, (width + 1) // 2), max(2, (height + 1) // 2)
    coarse = _smooth_noise(rng, lw, lh, int(rng.integers(2, 6)))
    mid = _smooth_noise(rng, lw, lh, int(rng.integers(8, 20)))
    t = np.clip(coarse * 0.65 + mid * 0.35, 0, 1)[..., None]
    img = c1 + (c2 - c1) * t
    m = np.clip((mid - 0.55) * 4, 0, 1)[..., None] * np.float32(rng.uniform(0.3, 0.8))
    img += (c3 - img) * m
    # far layer: big soft shapes (out-of-focus clutter)
    _draw_shapes(rng, img, int(rng.integers(3, 10)), 0.35)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.01, 0.04) * max(lw, lh))
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    # near layer: smaller, sharper shapes, then a little optical blur
    _draw_shapes(rng, img, int(rng.integers(2, 12)), 0.15)
    img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.5))
    # fine grain, like texture in a photo
    fine = _smooth_noise(rng, width, height, int(rng.integers(30, 80)))
    img += ((fine - 0.5) * np.float32(rng.uniform(0.0, 0.15)))[..., None]
    return cv2.convertScaleAbs(img, alpha=255.0)  # saturating, rounded float -> uint8


def seed_offset(seed: int) -> tuple[float, float, float]:
    """Noise-space offset for a seed: keeps every seed's noise different with small inputs."""
    s = int(seed) & 0xFFFFFFFF
    # a cheap integer hash (splitmix-style) instead of a numpy Generator per call
    out = []
    for k in range(3):
        s = (s * 0x9E3779B1 + 0x7F4A7C15 + k) & 0xFFFFFFFF
        s ^= s >> 15
        out.append((s % 100_000) / 100_000 * 97.0)
    return tuple(out)
