"""Sky backgrounds drawn from a SkyConfig: an HDR sky turned about the up axis, or a gradient
for a time of day; and the sun of either as the scene's key light.

Pure and seeded like the rest of the randomizer: `sample_sky(rng, ...)` draws a fixed sequence.
Generators of their own (the street scenes) call `sample_sky` and `sun_key_light` directly.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from segsim.draws import uniform
from segsim.scene.spec import Background, Light

# time-of-day palettes by sun elevation (degrees): (elevation, horizon, zenith, sun colour)
_DAY = (
    (0.0, (0.95, 0.55, 0.32), (0.12, 0.16, 0.36), (1.0, 0.5, 0.25)),
    (10.0, (0.95, 0.78, 0.6), (0.2, 0.32, 0.62), (1.0, 0.78, 0.55)),
    (30.0, (0.8, 0.86, 0.93), (0.26, 0.46, 0.84), (1.0, 0.95, 0.88)),
    (90.0, (0.78, 0.85, 0.94), (0.22, 0.42, 0.86), (1.0, 0.98, 0.95)),
)


def daylight(elevation_deg: float) -> tuple[tuple, tuple, tuple]:
    """(horizon, zenith, sun colour), sRGB 0..1, for a sun this high: warm and dark near the
    horizon, blue and white at noon (linear in elevation between the table's rows)."""
    e = float(np.clip(elevation_deg, _DAY[0][0], _DAY[-1][0]))
    for (e0, *a), (e1, *b) in zip(_DAY, _DAY[1:], strict=False):
        if e <= e1:
            t = (e - e0) / (e1 - e0)
            return tuple(
                tuple(float(x + (y - x) * t) for x, y in zip(ca, cb, strict=True))
                for ca, cb in zip(a, b, strict=True)
            )
    raise AssertionError("unreachable")


def _pick(rng, weights: dict) -> str:
    names = sorted(k for k, w in weights.items() if w > 0)
    cum = np.cumsum([weights[k] for k in names])
    return names[
        min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(names) - 1)
    ]


def _direction(azimuth: float, elevation: float) -> tuple[float, float, float]:
    return (
        math.cos(elevation) * math.cos(azimuth),
        math.cos(elevation) * math.sin(azimuth),
        math.sin(elevation),
    )


def sample_sky(rng, sc, class_id: int = 0) -> Background:
    """A `sky` Background from a SkyConfig (scene/config.py), with `class_id` for its pixels."""
    from segsim.assets.skies import load_sky, sky_path

    kind = _pick(rng, sc.kinds)
    exposure = uniform(rng, sc.exposure)
    haze = uniform(rng, sc.haze)
    angle = float(rng.uniform(0, 2 * math.pi))
    if kind == "hdr":
        name = sc.skies[int(rng.integers(len(sc.skies)))]
        sky = load_sky(str(sky_path(name, sc.folder)))
        az = sky.sun_azimuth + angle  # the sky's features turn with it (background.frag.glsl)
        elev = sky.sun_elevation
        _, _, sun_color = daylight(math.degrees(elev))
        return Background(
            kind="sky",
            color=sky.horizon,
            color2=sky.horizon,
            angle=angle,
            path=sky.path,
            exposure=exposure,
            sun=_direction(az, elev),
            sun_color=sun_color,
            haze=haze,
            class_id=int(class_id),
        )
    elev_deg = uniform(rng, sc.sun_elevation_deg)
    horizon, zenith, sun_color = daylight(elev_deg)
    return Background(
        kind="sky",
        color=horizon,
        color2=zenith,
        angle=angle,
        exposure=exposure,
        sun=_direction(angle, math.radians(elev_deg)),
        sun_color=sun_color,
        haze=haze,
        class_id=int(class_id),
    )


def sun_key_light(bg: Background, lights: list[Light], ambient) -> tuple[list[Light], tuple]:
    """The key light (lights[0]) shining from the sky's sun in its colour, dimmer as the sun
    sets; the ambient tinted by the horizon. Fills are kept."""
    if bg.sun is None or not lights:
        return lights, ambient
    sun = np.asarray(bg.sun, float)
    elev = math.asin(float(np.clip(sun[2] / np.linalg.norm(sun), -1, 1)))
    # a sun at the horizon lights the ground at a grazing angle: keep it a few degrees up
    elev = max(elev, math.radians(8.0))
    az = math.atan2(sun[1], sun[0])
    dim = 0.55 + 0.45 * min(1.0, math.degrees(elev) / 30.0)
    key = replace(
        lights[0],
        direction=tuple(-x for x in _direction(az, elev)),
        color=tuple(float(c) for c in bg.sun_color),
        intensity=float(lights[0].intensity * dim),
    )
    tint = np.asarray(bg.color, float)
    tint = tint / max(float(tint.max()), 1e-6)
    level = float(np.mean(ambient))
    return [key, *lights[1:]], tuple(float(level * c) for c in tint)


def sky_class_id(cfg) -> int:
    """The class id sky pixels get under a SceneConfig: its background.sky.label's id in the
    config's label set (a class of its own; Cityscapes' `sky` in street scenes), else 0."""
    label = cfg.background.sky.label
    if label is None:
        return 0
    return {lab.name: lab.id for lab in cfg.label_set().labels}[label]
