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


def apply_postfx(rgb: np.ndarray, pfx, sensor=None) -> np.ndarray:
    """H x W x 3 uint8 -> H x W x 3 uint8 (a new array; the input is left untouched).

    With `sensor` (a SensorFX): its optics and tone first (what the lens and sensor do), then
    the colour jitter, blur and noise of `pfx`, then its JPEG re-compression (what a camera's
    or a website's encoder does last)."""
    if sensor is not None:
        rgb = sensor_optics(rgb, sensor)
    out = _postfx(rgb, pfx)
    if sensor is not None and sensor.jpeg_quality > 0:
        out = jpeg(out, sensor.jpeg_quality)
    return out


def _postfx(rgb: np.ndarray, pfx) -> np.ndarray:
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


# --- sensor / photo effects (SensorFX) --------------------------------------------------------


def jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Encode as JPEG at `quality` and decode again (libjpeg is deterministic)."""
    import cv2

    ok, buf = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def motion_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalized line kernel `length` pixels long at `angle_deg`, anti-aliased."""
    import cv2

    size = int(np.ceil(length)) | 1
    k = np.zeros((size * 4, size * 4), np.float32)  # drawn 4x larger, then area-shrunk
    c, t = size * 2, np.radians(angle_deg)
    dx, dy = np.cos(t) * length * 2, np.sin(t) * length * 2
    cv2.line(k, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1.0, 4)
    k = cv2.resize(k, (size, size), interpolation=cv2.INTER_AREA)
    return k / max(float(k.sum()), 1e-12)


def disc_kernel(radius: float) -> np.ndarray:
    """A normalized disc (defocus) kernel with soft edges."""
    r = int(np.ceil(radius))
    y, x = np.mgrid[-r : r + 1, -r : r + 1].astype(np.float32)
    k = np.clip(radius + 0.5 - np.sqrt(x * x + y * y), 0, 1)
    return k / k.sum()


def sensor_optics(rgb: np.ndarray, s) -> np.ndarray:
    """Defocus, motion blur, chromatic aberration, vignetting, then exposure, white balance
    and gamma; uint8 in and out."""
    import cv2

    img = rgb.astype(np.float32) * np.float32(1 / 255)
    lin = img**2.2  # blur and exposure act on light, not on encoded values
    if s.defocus_radius > 0.25:
        lin = cv2.filter2D(lin, -1, disc_kernel(s.defocus_radius), borderType=cv2.BORDER_REFLECT)
    if s.motion_length > 1:
        k = motion_kernel(s.motion_length, s.motion_angle)
        lin = cv2.filter2D(lin, -1, k, borderType=cv2.BORDER_REFLECT)
    h, w = lin.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = (w - 1) / 2, (h - 1) / 2
    half_diag = float(np.hypot(cx, cy)) or 1.0
    if s.chromatic > 0:
        # red magnified, blue shrunk about the centre: the lateral colour of a cheap lens
        for ch, sign in ((0, 1.0), (2, -1.0)):
            k = 1 + sign * s.chromatic / half_diag
            mx = (cx + (xx - cx) / k).astype(np.float32)
            my = (cy + (yy - cy) / k).astype(np.float32)
            lin[..., ch] = cv2.remap(lin[..., ch], mx, my, cv2.INTER_LINEAR, cv2.BORDER_REFLECT)
    gain = np.float32(2.0**s.exposure) * np.asarray(s.white_balance, np.float32)
    if s.vignette > 0:
        r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / np.float32(half_diag**2)
        lin *= (1 - np.float32(s.vignette) * r2 * r2 ** np.float32(0.5))[..., None]
    lin *= gain
    out = np.clip(lin, 0, 1) ** np.float32(1 / (2.2 * s.gamma))
    return (out * 255 + 0.5).astype(np.uint8)
