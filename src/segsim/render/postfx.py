"""Post-effects on RGB only (never labels or depth): colour jitter, blur, sensor noise.

Applied inside Renderer.render so every caller (dataset writer, viewer, tests) sees the same
image; deterministic because the noise comes from `PostFX.seed`. Colour jitter (brightness,
contrast, saturation, hue) is folded into one 3x4 affine matrix (a single cv2.transform), and the
noise is a seed-chosen window of a fixed bank of Gaussian noise, about ten times cheaper than
drawing fresh normals every frame.
"""

from __future__ import annotations

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114])
_BANK: dict = {}
BANK_SIDE = 1024
BANK_SCALE = 16.0  # bank holds N(0, 1) * 16 as int8-range int16 values


def _hue_matrix(degrees: float) -> np.ndarray:
    """Rotation of RGB space about the grey axis (keeps grey grey)."""
    t = np.radians(degrees)
    c, s = np.cos(t), np.sin(t)
    k = 1.0 / 3.0
    r = np.sqrt(k)
    return np.array(
        [
            [c + (1 - c) * k, k * (1 - c) - r * s, k * (1 - c) + r * s],
            [k * (1 - c) + r * s, c + k * (1 - c), k * (1 - c) - r * s],
            [k * (1 - c) - r * s, k * (1 - c) + r * s, c + k * (1 - c)],
        ]
    )


def color_transform(pfx) -> tuple[np.ndarray, np.ndarray]:
    """(M, offset) with out = M @ rgb + offset, rgb in 0..255."""
    sat = pfx.saturation * np.eye(3) + (1 - pfx.saturation) * np.outer(np.ones(3), _LUMA)
    m = pfx.contrast * (_hue_matrix(pfx.hue_shift) @ sat)
    offset = np.full(3, 127.5 * (1 - pfx.contrast) + 255.0 * pfx.brightness)
    return m, offset


def _noise_bank() -> np.ndarray:
    if "bank" not in _BANK:
        rng = np.random.default_rng(20240601)
        bank = rng.standard_normal((BANK_SIDE, BANK_SIDE, 3), dtype=np.float32) * BANK_SCALE
        _BANK["bank"] = np.clip(np.rint(bank), -127, 127).astype(np.int16)
    return _BANK["bank"]


def gaussian_noise(shape: tuple, std: float, seed: int) -> np.ndarray:
    """float32 noise of `shape` (H, W, 3) with standard deviation `std`, fixed by `seed`."""
    h, w = shape[:2]
    rng = np.random.default_rng(int(seed))
    if h > BANK_SIDE or w > BANK_SIDE:
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
    y, x = rng.integers(0, BANK_SIDE - h + 1), rng.integers(0, BANK_SIDE - w + 1)
    window = _noise_bank()[y : y + h, x : x + w]
    return window.astype(np.float32) * np.float32(std / BANK_SCALE)


def is_identity(pfx) -> bool:
    return (
        pfx.noise_std <= 0
        and pfx.blur_sigma <= 0
        and pfx.brightness == 0
        and pfx.contrast == 1
        and pfx.saturation == 1
        and pfx.hue_shift == 0
    )


def apply_postfx(rgb: np.ndarray, pfx) -> np.ndarray:
    """H x W x 3 uint8 -> H x W x 3 uint8 (a new array; the input is left untouched)."""
    if pfx is None or is_identity(pfx):
        return rgb.copy()
    import cv2

    img = rgb
    if not (
        pfx.brightness == 0 and pfx.contrast == 1 and pfx.saturation == 1 and pfx.hue_shift == 0
    ):
        m, offset = color_transform(pfx)
        img = cv2.transform(img, np.hstack([m, offset[:, None]]).astype(np.float32))  # saturates
    if pfx.blur_sigma > 0:
        img = cv2.GaussianBlur(
            img, (0, 0), sigmaX=float(pfx.blur_sigma), borderType=cv2.BORDER_REFLECT
        )
    if pfx.noise_std > 0:
        img = cv2.add(img, gaussian_noise(img.shape, pfx.noise_std, pfx.seed), dtype=cv2.CV_8U)
    return img if img is not rgb else rgb.copy()
