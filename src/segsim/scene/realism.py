"""Knobs for transfer to images segsim did not draw: the photos library the `photo` kinds draw
from, visibility (objects cut by the frame, frames without any class) and sensor effects.

All default off: a config that does not name them draws the scenes (and writes the
dataset.yaml) it did before they existed. Each draws from its own stream,
`default_rng([seed, index, STREAM])`, so turning one on leaves every other draw of the frame
as it was (the ablations of bench_crossdomain compare the same scenes with and without it).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate
from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from segsim.draws import uniform
from segsim.scene.config_base import IntRange, Range, Section, weights_ok

PHOTO_SOURCES = ("backgrounds", "sweethome3d", "robosuite", "dirs")
# the sub-streams of a frame (any fixed numbers; never reuse one for another purpose)
STREAM_PHOTOS, STREAM_VISIBILITY, STREAM_SENSOR, STREAM_DISTRACTORS = 101, 102, 103, 104
# with views_per_scene > 1: a view's own camera, lights, background, effects (and its cut-off)
STREAM_VIEW, STREAM_VIEW_VISIBILITY = 105, 106


def stream(seed: int, index: int, which: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), int(index), which])


class PhotosConfig(Section):
    """Where `photo` backgrounds, textures and cut-outs come from (assets/photos.py)."""

    # share of photo picks per source (a source that is not installed is left out)
    sources: dict[str, float] = {"backgrounds": 1.0, "sweethome3d": 1.0, "robosuite": 1.0}
    dirs: list[str] = []  # folders of your own photos: the `dirs` source (weight 1 unless set)
    exclude: list[str] = []  # origin patterns left out, e.g. "*/abstract/*"
    crop: Range = (0.3, 1.0)  # background crops: side, as a fraction of the largest that fits
    # when no photo is found: "error" (exit 2 with the fix), or "skip": draw every photo kind's
    # weight as 0, with one warning (the shapes preset, so it runs where nothing is installed)
    if_missing: Literal["error", "skip"] = "error"

    @field_validator("sources")
    @classmethod
    def _sources(cls, v):
        return weights_ok(v, PHOTO_SOURCES, "photo sources")

    @field_validator("crop")
    @classmethod
    def _crop(cls, v):
        if not 0 < v[0] <= v[1] <= 1:
            raise ValueError("crop must be within (0, 1]")
        return v


class VisibilityConfig(Section):
    # share of frames whose labelled objects are left out (distractors and ground stay)
    empty: float = Field(0.0, ge=0, le=1)
    # share of frames whose camera turns so the objects' centroid lands `partial_offset` of the
    # way from the frame centre to its edge (1: on the edge, objects cut by it)
    partial: float = Field(0.0, ge=0, le=1)
    partial_offset: Range = (0.5, 1.1)


class SensorConfig(Section):
    """Camera and photo effects on RGB only (render/postfx.py), each drawn per frame."""

    probability: float = Field(1.0, ge=0, le=1)
    exposure: Range = (-0.7, 0.7)  # stops
    white_balance: Range = (-0.2, 0.2)  # log2 gain of red and of blue against green, each drawn
    gamma: Range = (0.8, 1.25)
    vignette: Range = (0.0, 0.5)  # darkening of the corners, fraction
    chromatic: Range = (0.0, 1.5)  # red / blue shift at the corners, pixels at 256 px
    motion_probability: float = Field(0.2, ge=0, le=1)
    motion_length: Range = (2.0, 9.0)  # pixels at 256 px
    defocus_probability: float = Field(0.2, ge=0, le=1)
    defocus_radius: Range = (0.8, 2.5)  # pixels at 256 px
    jpeg_probability: float = Field(0.5, ge=0, le=1)
    jpeg_quality: IntRange = (30, 95)

    @field_validator("jpeg_quality")
    @classmethod
    def _quality(cls, v):
        if not 1 <= v[0] <= v[1] <= 100:
            raise ValueError("JPEG quality is 1..100")
        return v

    @field_validator("gamma")
    @classmethod
    def _gamma(cls, v):
        if v[0] <= 0:
            raise ValueError("gamma must be > 0")
        return v


# --- photos --------------------------------------------------------------------------------


def uses_photos(cfg) -> bool:
    """Whether any part of a scene config draws from the photos library."""
    texs = [cfg.material.texture, cfg.ground.material.texture]
    if cfg.distractors.material is not None:
        texs.append(cfg.distractors.material.texture)
    return (
        cfg.background.kinds.get("photo", 0) > 0
        or any(t.kinds.get("photo", 0) > 0 and t.probability > 0 for t in texs)
        or cfg.distractors.cards[1] > 0
    )


@lru_cache(maxsize=8)
def _pool(sources: tuple, dirs: tuple, exclude: tuple) -> tuple[tuple[str, ...], tuple]:
    """(source names, their photo paths) of a photos config, non-empty sources only."""
    from segsim.assets.photos import folder_photos, select_photos, source_photos

    # fails (one SegsimError) when nothing is left; env folders are already in `dirs`
    select_photos([s for s, _ in sources if s != "dirs"], list(dirs), list(exclude), env=False)
    names, paths = [], []
    for source, _ in sources:
        if source == "dirs":
            found = [p for d in dirs for p in folder_photos(str(d))]
        else:
            found = list(source_photos(source))
        found = [p for p in found if not _excluded(p.origin, exclude)]
        if found:
            names.append(source)
            paths.append(tuple(sorted(p.path for p in found)))
    return tuple(names), tuple(paths)


def _excluded(origin: str, patterns: tuple) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(origin.casefold(), x.casefold()) for x in patterns)


def photo_pool(pc: PhotosConfig) -> tuple[tuple[str, ...], tuple, list[float]]:
    from segsim.assets.photos import env_dirs

    dirs = (*pc.dirs, *env_dirs())  # the config's folders, then $SEGSIM_PHOTO_DIRS
    weights = dict(pc.sources)
    if dirs:
        weights.setdefault("dirs", 1.0)
    key = tuple(sorted((k, w) for k, w in weights.items() if w > 0))
    names, paths = _pool(key, dirs, tuple(pc.exclude))
    return names, paths, [weights[n] for n in names]


def pick_photo(rng, pc: PhotosConfig) -> str:
    """A photo's path: a source by weight, then a photo of it, uniformly."""
    names, paths, weights = photo_pool(pc)
    cumulative = list(accumulate(weights))
    i = min(bisect_right(cumulative, rng.random() * cumulative[-1]), len(names) - 1)
    return paths[i][int(rng.integers(len(paths[i])))]


def check_photos(cfg) -> bool:
    """Build the library (once per machine) and fail now when it is empty, not in a worker.
    False (after one warning) where none of the installed sources has a photo, the config names
    no folder of its own and lets photo kinds drop out then (`if_missing: skip`)."""
    if not uses_photos(cfg):
        return True
    pc = cfg.photos
    if pc.if_missing == "skip" and not installed_photos(pc):
        import logging

        from segsim.assets.photos import INSTALL

        logging.getLogger(__name__).warning(
            "no photos are installed: drawing without photo backgrounds and textures (%s, or set "
            "photos.dirs, for the preset's full randomization)",
            INSTALL,
        )
        return False
    photo_pool(pc)
    return True


def installed_photos(pc: PhotosConfig) -> bool:
    """Whether the config's photo sources (its folders, or else the installed ones) hold any."""
    from segsim.assets.photos import env_dirs, source_photos

    if pc.dirs or env_dirs():
        return True  # a user's folders: an empty one is an error, never skipped
    return any(w > 0 and source_photos(s) for s, w in pc.sources.items() if s != "dirs")


def without_photos(cfg) -> dict | None:
    """Overrides that set every photo kind of a scene config to weight 0, keeping its other
    kinds (whole maps: a map given where the config had none replaces the defaults); None where
    a weight map would be left with none."""

    def off(kinds: dict) -> dict:
        return {**kinds, "photo": 0.0}

    def material(m) -> dict:
        return {"texture": {"kinds": off(m.texture.kinds)}}

    out: dict = {
        "background": {"kinds": off(cfg.background.kinds)},
        "material": material(cfg.material),
        "ground": {"material": material(cfg.ground.material)},
        "distractors": {"cards": [0, 0]},
    }
    if cfg.distractors.material is not None:
        out["distractors"]["material"] = material(cfg.distractors.material)
    maps = [out["background"], out["material"]["texture"], out["ground"]["material"]["texture"]]
    if any(sum(m["kinds"].values()) <= 0 for m in maps):
        return None
    return out


# --- visibility ----------------------------------------------------------------------------


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The rotation taking unit vector a onto unit vector b (Rodrigues)."""
    v = np.cross(a, b)
    c = float(a @ b)
    s = float(np.linalg.norm(v))
    if s < 1e-12:
        return np.eye(3)
    k = v / s
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + s * kx + (1 - c) * kx @ kx


def turn_camera(camera, rng, offset: float):
    """The camera turned about its centre so that what it looked at lands `offset` of the way
    from the image centre to the frame's edge, in a random direction."""
    from dataclasses import replace

    phi = rng.uniform(0, 2 * math.pi)
    w, h = camera.width, camera.height
    K = np.asarray(camera.K, float)
    # the point on the frame's border in direction phi, scaled by offset
    dx, dy = math.cos(phi), math.sin(phi)
    t = min(0.5 * w / max(abs(dx), 1e-9), 0.5 * h / max(abs(dy), 1e-9))
    u, v = w / 2 + dx * t * offset, h / 2 + dy * t * offset
    d = np.linalg.solve(K, np.array([u, v, 1.0]))
    d /= np.linalg.norm(d)
    # looking direction z must be rotated so that the old axis (the target) lies along d
    R = _rotation_between(d, np.array([0.0, 0.0, 1.0])).T
    w2c = np.asarray(camera.world_to_camera, float).copy()
    w2c[:3, :3] = R @ w2c[:3, :3]
    w2c[:3, 3] = R @ w2c[:3, 3]
    return replace(camera, world_to_camera=w2c)


# --- sensor ----------------------------------------------------------------------------------


def sample_sensor(rng, sc: SensorConfig | None, width: int, height: int):
    """A SensorFX drawn from the config, or None (effects off for this frame)."""
    from segsim.scene.spec import SensorFX

    if sc is None or rng.random() >= sc.probability:
        return None
    k = max(width, height) / 256.0  # pixel sizes are given at 256 px
    wb = (uniform(rng, sc.white_balance), uniform(rng, sc.white_balance))
    motion = rng.random() < sc.motion_probability
    defocus = rng.random() < sc.defocus_probability
    jpeg = rng.random() < sc.jpeg_probability
    return SensorFX(
        exposure=uniform(rng, sc.exposure),
        white_balance=(2.0 ** wb[0], 1.0, 2.0 ** wb[1]),
        gamma=uniform(rng, sc.gamma),
        vignette=uniform(rng, sc.vignette),
        chromatic=uniform(rng, sc.chromatic) * k,
        motion_length=uniform(rng, sc.motion_length) * k if motion else 0.0,
        motion_angle=float(rng.uniform(0, 180)),
        defocus_radius=uniform(rng, sc.defocus_radius) * k if defocus else 0.0,
        jpeg_quality=int(rng.integers(sc.jpeg_quality[0], sc.jpeg_quality[1] + 1)) if jpeg else 0,
    )
