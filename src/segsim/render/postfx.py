"""Post-effects on RGB only (never labels or depth): colour jitter, blur, sensor noise.

Applied inside Renderer.render so every caller (dataset writer, viewer, tests) sees the same
image; deterministic because the noise comes from `PostFX.seed`. Colour jitter (brightness,
contrast, saturation, hue) is folded into one 3x3 matrix + offset, so it is a single matmul.
"""

from __future__ import annotations

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114])


def _hue_matrix(degrees: float) -> np.ndarray:
    """Rotation of RGB space about the grey axis (keeps grey grey)."""
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    k = 1.0 / 3.0
    r = np.sqrt(k)
    return np.array([
        [c + (1 - c) * k, k * (1 - c) - r * s, k * (1 - c) + r * s],
        [k * (1 - c) + r * s, c + k * (1 - c), k * (1 - c) - r * s],
        [k * (1 - c) - r * s, k * (1 - c) + r * s, c + k * (1 - c)],
    ])


def color_transform(pfx) -> tuple[np.ndarray, np.ndarray]:
    """(M, offset) with out = M @ rgb + offset, rgb in 0..255."""
    sat = pfx.saturation * np.eye(3) + (1 - pfx.saturation) * np.outer(np.ones(3), _LUMA)
    m = pfx.contrast * (_hue_matrix(pfx.hue_shift) @ sat)
    offset = np.full(3, 127.5 * (1 - pfx.contrast) + 255.0 * pfx.brightness)
    return m, offset


def is_identity(pfx) -> bool:
    return (pfx.noise_std <= 0 and pfx.blur_sigma <= 0 and pfx.brightness == 0 and pfx.contrast == 1
            and pfx.saturation == 1 and pfx.hue_shift == 0)


def apply_postfx(rgb: np.ndarray, pfx) -> np.ndarray:
    """H x W x 3 uint8 -> H x W x 3 uint8 (a new array; the input is left untouched)."""
    if pfx is None or is_identity(pfx):
        return rgb.copy()
    img = rgb.astype(np.float32)
    if not (pfx.brightness == 0 and pfx.contrast == 1 and pfx.saturation == 1 and pfx.hue_shift == 0):
        m, offset = color_transform(pfx)
        img = img @ m.T.astype(np.float32) + offset.astype(np.float32)
    if pfx.blur_sigma > 0:
        import cv2

        img = cv2.GaussianBlur(img, (0, 0), sigmaX=float(pfx.blur_sigma), borderType=cv2.BORDER_REFLECT)
    if pfx.noise_std > 0:
        rng = np.random.default_rng(int(pfx.seed))
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(pfx.noise_std)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)
