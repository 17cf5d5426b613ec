"""HDR skies for the sky dome: the CC0 equirectangular skies of Debian's `blender-data`
(Greg Zaal, HDRI Haven), read with OpenEXR, cleaned, tone-mapped to 8-bit and cached on disk.

An equirectangular sky is indexed by a world direction d (z up), as Blender maps its world
textures: column u = 0.5 - atan2(d.y, d.x) / 2pi, row v = 0.5 - asin(d.z) / pi (row 0 is the
zenith). The renderer's dome shader (background.frag.glsl, BG_SKY) uses the same mapping.

Pixels are stored "gamma 2" encoded (sqrt of linear), the encoding the shaders decode with
`srgb_to_linear` (common.glsl), so a sky texel looks the same drawn as read here.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from segsim.assets.cache import cache_dir
from segsim.errors import SegsimError
from segsim.fileio import write_atomic

SKY_DIR = Path("/usr/share/blender/datafiles/studiolights/world")
DEBIAN_PACKAGE = "blender-data"
SKY_WIDTH = 1024  # equirect width after downsampling (height is half); the files are 1024 wide
CACHE_VERSION = 1  # bump when the decoding below changes: cached skies are then rebuilt
# the skies with a real horizon and sky; interior and studio are rooms
OUTDOOR_SKIES = ("city", "courtyard", "forest", "night", "sunrise", "sunset")
CREDIT = (
    "HDR skies from Blender's studio lights (Debian package blender-data), "
    "created by Greg Zaal (HDRI Haven, https://hdrihaven.com), CC0."
)


@dataclass(frozen=True)
class Sky:
    name: str
    path: str
    sha256: str
    image: np.ndarray  # H x W x 3 uint8, gamma-2 encoded, row 0 = zenith
    sun: tuple[float, float, float]  # unit direction toward the brightest spot, sky frame
    horizon: tuple[float, float, float]  # mean colour of the band just above the horizon, 0..1

    @property
    def sun_azimuth(self) -> float:
        return math.atan2(self.sun[1], self.sun[0])

    @property
    def sun_elevation(self) -> float:
        return math.asin(max(-1.0, min(1.0, self.sun[2])))


def sky_folder(folder: str | Path | None = None) -> Path:
    return Path(folder).expanduser() if folder else SKY_DIR


def list_skies(folder: str | Path | None = None) -> list[Path]:
    """The .exr files of the folder (default: blender-data's), sorted by name."""
    root = sky_folder(folder)
    files = sorted(root.glob("*.exr")) if root.is_dir() else []
    if not files:
        raise SegsimError(
            f"no HDR skies (*.exr) in {root}",
            f"install them with `apt-get install {DEBIAN_PACKAGE}`"
            if folder is None
            else f"put .exr skies in {root} or leave the sky folder unset",
        )
    return files


def sky_path(name: str, folder: str | Path | None = None) -> Path:
    """A sky by file path, or by name (the file stem) in the sky folder."""
    p = Path(name).expanduser()
    if p.suffix.lower() == ".exr" and p.is_file():
        return p
    files = list_skies(folder)
    by_name = {f.stem: f for f in files}
    if name not in by_name:
        raise SegsimError(
            f"unknown sky {name!r}",
            f"use one of {', '.join(by_name)} or the path of an .exr file",
        )
    return by_name[name]


def read_exr(path: str | Path) -> np.ndarray:
    """H x W x 3 float32 linear RGB; NaN, infinities and negatives replaced (the files hold a few
    NaNs: they would poison every average and filter)."""
    try:
        import OpenEXR
    except ImportError as e:
        raise SegsimError(
            "reading HDR skies needs the OpenEXR package", "pip install OpenEXR"
        ) from e
    try:
        with OpenEXR.File(str(path)) as f:
            channels = f.channels()
            if "RGB" in channels:
                rgb = np.asarray(channels["RGB"].pixels, np.float32)
            elif all(c in channels for c in "RGB"):
                rgb = np.stack([np.asarray(channels[c].pixels, np.float32) for c in "RGB"], -1)
            else:
                raise SegsimError(
                    f"{path}: no RGB channels (has {', '.join(channels)})",
                    "use an RGB equirectangular .exr sky",
                )
    except SegsimError:
        raise
    except Exception as e:  # noqa: BLE001 -- OpenEXR raises bare RuntimeErrors on bad files
        raise SegsimError(f"cannot read the sky {path}: {e}", "use a valid .exr file") from e
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise SegsimError(f"{path}: not an RGB image", "use an RGB equirectangular .exr sky")
    rgb = np.ascontiguousarray(rgb[..., :3], np.float32)
    finite = np.isfinite(rgb)
    top = float(rgb[finite].max()) if finite.any() else 0.0
    rgb = np.nan_to_num(rgb, nan=0.0, posinf=top, neginf=0.0)
    return np.maximum(rgb, 0.0)


def tone_map(hdr: np.ndarray) -> np.ndarray:
    """Linear HDR -> gamma-2 uint8: exposed so the log-average luminance sits at middle grey,
    then Reinhard on the luminance (hues kept) with white at the brightest 0.1% (the sun)."""
    lum = hdr @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    log_avg = float(np.exp(np.mean(np.log(lum + 1e-4))))
    scaled = lum * (0.18 / max(log_avg, 1e-6))
    white = max(float(np.quantile(scaled, 0.999)), 1.0)
    mapped = scaled * (1 + scaled / white**2) / (1 + scaled)
    ratio = np.where(lum > 1e-8, mapped / np.maximum(lum, 1e-8), 0.0)[..., None]
    linear = np.clip(hdr * ratio, 0.0, 1.0)
    return np.round(np.sqrt(linear) * 255).astype(np.uint8)


def _downsample(hdr: np.ndarray, width: int) -> np.ndarray:
    import cv2

    h, w = hdr.shape[:2]
    if w == width and h == width // 2:
        return hdr
    # area filter in linear light, before tone mapping, so the sun's energy is averaged right
    return cv2.resize(hdr, (width, width // 2), interpolation=cv2.INTER_AREA)


def direction_of(row: float, col: float, height: int, width: int) -> np.ndarray:
    """World (sky frame) unit direction of the centre of equirect pixel (row, col)."""
    az = (0.5 - (col + 0.5) / width) * 2 * math.pi
    el = (0.5 - (row + 0.5) / height) * math.pi
    return np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


def _sun(hdr: np.ndarray) -> tuple[float, float, float]:
    import cv2

    h, w = hdr.shape[:2]
    lum = cv2.GaussianBlur(hdr @ np.array([0.2126, 0.7152, 0.0722], np.float32), (0, 0), 2.0)
    lum[h // 2 :] = -1  # the sun is above the horizon
    row, col = np.unravel_index(int(np.argmax(lum)), lum.shape)
    return tuple(float(x) for x in direction_of(row, col, h, w))


def _horizon(image: np.ndarray) -> tuple[float, float, float]:
    # rows from the horizon up to ~6 degrees, averaged in linear light
    h = image.shape[0]
    band = image[max(0, h // 2 - max(1, h // 30)) : h // 2].astype(np.float32) / 255
    mean = np.sqrt((band**2).reshape(-1, 3).mean(axis=0))
    return tuple(round(float(c), 6) for c in mean)


def decode_sky(path: str | Path, width: int = SKY_WIDTH) -> tuple[np.ndarray, tuple, tuple]:
    """(uint8 image, sun direction, horizon colour) of an .exr sky, without the cache."""
    hdr = _downsample(read_exr(path), width)
    image = tone_map(hdr)
    return image, _sun(hdr), _horizon(image)


def _cache_file(path: Path, sha: str, width: int) -> Path:
    return cache_dir() / "skies" / f"{path.stem}-{sha[:16]}-{width}-v{CACHE_VERSION}.npz"


@lru_cache(maxsize=16)
def load_sky(name: str, width: int = SKY_WIDTH, folder: str | None = None) -> Sky:
    """A sky by name or path, decoded once per machine ($SEGSIM_CACHE/skies/) and per process."""
    path = sky_path(name, folder)
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    cached = _cache_file(path, sha, width)
    try:
        with np.load(cached) as z:
            image, sun, horizon = z["image"], tuple(z["sun"].tolist()), tuple(z["horizon"].tolist())
    except (OSError, KeyError, ValueError):
        image, sun, horizon = decode_sky(path, width)
        buf = io.BytesIO()
        np.savez(buf, image=image, sun=np.asarray(sun), horizon=np.asarray(horizon))
        write_atomic(cached, buf.getvalue())
    image.setflags(write=False)
    return Sky(path.stem, str(path), sha, image, sun, horizon)


def sky_credits(names) -> str:
    """The CREDITS.md paragraph for the skies a dataset drew (empty when none)."""
    names = sorted(set(names))
    if not names:
        return ""
    return f"## Skies\n\n{CREDIT}\n\nUsed: {', '.join(names)}.\n"
