"""Street furniture: lamps (pole, arm and head: all pole), traffic lights (heads on poles, the
heads traffic light, the rest pole), traffic signs (plates of several shapes on poles),
bollards, and library benches, bins and hydrants (Cityscapes 'static': ignored)."""

from __future__ import annotations

import math

import numpy as np

from segsim.draws import uniform
from segsim.scene.street.context import Ctx, Frontage


def _rot(yaw: float, about_normal: float = 0.0, disc: bool = False) -> list:
    """Rotation of a plate facing along local y, turned about y by `about_normal` (diamonds),
    or a disc (cylinder axis turned onto y), then yawed."""
    c, s = math.cos(yaw), math.sin(yaw)
    Rz = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    if disc:
        R = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    else:
        a, b = math.cos(about_normal), math.sin(about_normal)
        R = np.array([[a, 0.0, b], [0.0, 1.0, 0.0], [-b, 0.0, a]])
    return (Rz @ R).tolist()


def _pole(ctx: Ctx, x, y, z, height, radius=0.08):
    ctx.scenery.add(
        "pole",
        "metal",
        {"type": "cylinder", "radius": radius, "height": height, "at": [x, y, z + height / 2]},
    )


def street_lamp(ctx: Ctx, f: Frontage, s: float) -> None:
    rng, fc = ctx.rng, ctx.street.furniture
    lat = f.kerb + 0.5
    x, y, h = f.road.offset(s, f.lateral(lat))
    if not ctx.grid.place(x, y, 0.25, 0.25, h):
        return
    height = uniform(rng, fc.lamp_height)
    z = f.kerb_height
    _pole(ctx, x, y, z, height, uniform(rng, (0.06, 0.11)))
    arm = uniform(rng, (0.8, 2.5))
    nx, ny = math.sin(h) * f.side, -math.cos(h) * f.side  # toward the road
    ax, ay = x + nx * arm / 2, y + ny * arm / 2
    ctx.scenery.box("pole", "metal", (ax, ay, z + height - 0.05), (0.08, arm, 0.08), h)
    ctx.scenery.box(
        "pole", "metal", (x + nx * arm, y + ny * arm, z + height - 0.15), (0.3, 0.6, 0.16), h
    )


def traffic_light(ctx: Ctx, x, y, z, facing: float, mast: float = 0.0, toward=(0.0, 0.0)):
    """A pole at (x, y) with a head facing along `facing` (the way the traffic it serves
    comes from); with `mast` > 0 a mast arm reaching that far along `toward` with a second
    head."""
    rng = ctx.rng
    height = uniform(rng, (2.4, 3.6))
    _pole(ctx, x, y, z, height + 0.6 if mast else height, 0.07)
    heads = [(x, y, z + height + 0.05)]
    if mast:
        top = z + height + 0.5
        ax, ay = x + toward[0] * mast / 2, y + toward[1] * mast / 2
        ctx.scenery.box(
            "pole",
            "metal",
            (ax, ay, top),
            (0.09, mast, 0.09),
            math.atan2(toward[1], toward[0]) - math.pi / 2,
        )
        heads.append((x + toward[0] * mast, y + toward[1] * mast, top - 0.55))
    fx, fy = math.cos(facing), math.sin(facing)
    for hx, hy, hz in heads:
        ctx.scenery.box(
            "traffic light",
            "housing",
            (hx, hy, hz + 0.45),
            (0.32, 0.25, 0.95),
            facing + math.pi / 2,
        )
        lit = int(rng.integers(3))
        for k in range(3):
            ctx.scenery.add(
                "traffic light",
                "lamp_on" if k == lit else "lamp_off",
                {
                    "type": "cylinder",
                    "radius": 0.1,
                    "height": 0.04,
                    "at": [hx + fx * 0.13, hy + fy * 0.13, hz + 0.75 - 0.28 * k],
                    "rotation": _rot(facing + math.pi / 2, disc=True),
                },
            )
    ctx.grid.mark(x, y, 0.25, 0.25, 0.0)


def sign(ctx: Ctx, f: Frontage, s: float) -> None:
    rng = ctx.rng
    lat = f.kerb + uniform(rng, (0.35, 0.9))
    x, y, h = f.road.offset(s, f.lateral(lat))
    if not ctx.grid.place(x, y, 0.2, 0.2, h):
        return
    z = f.kerb_height
    top = uniform(rng, (2.0, 3.0))
    _pole(ctx, x, y, z, top, 0.04)
    facing = h + math.pi  # toward the traffic coming along the heading (the camera's)
    fx, fy = math.cos(facing), math.sin(facing)
    plates = 1 + int(rng.random() < 0.3)
    for k in range(plates):
        kind = int(rng.integers(4))
        size = uniform(rng, (0.5, 0.8))
        pz = z + top - size / 2 - k * (size + 0.1)
        at = [x + fx * 0.06, y + fy * 0.06, pz]
        mat = f"sign{int(rng.integers(3))}"
        yaw = facing + math.pi / 2  # the plate's local y onto the facing direction
        if kind == 0:  # round
            part = {
                "type": "cylinder",
                "radius": size / 2,
                "height": 0.03,
                "rotation": _rot(yaw, disc=True),
            }
        elif kind == 1:  # diamond
            part = {
                "type": "box",
                "extents": [size * 0.7, 0.03, size * 0.7],
                "rotation": _rot(yaw, math.pi / 4),
            }
        elif kind == 2:  # rectangle, taller or wider
            wide = rng.random() < 0.5
            part = {
                "type": "box",
                "extents": [size * (1.3 if wide else 0.7), 0.03, size * (0.7 if wide else 1.2)],
                "yaw": yaw,
            }
        else:  # square
            part = {"type": "box", "extents": [size * 0.8, 0.03, size * 0.8], "yaw": yaw}
        ctx.scenery.add("traffic sign", mat, {**part, "at": at})


def build_furniture(ctx: Ctx, near: tuple[float, float]) -> None:
    rng, fc = ctx.rng, ctx.street.furniture
    m = ctx.material
    m("metal", (0.0, 1.0), (0.0, 0.15), (0.25, 0.6), specular=(0.3, 0.7))
    m("housing", (0.1, 0.15), (0.0, 0.6), (0.05, 0.25))
    on = [(0.0, 0.02), (0.1, 0.13), (0.3, 0.4)][int(rng.integers(3))]
    m("lamp_on", on, (0.8, 1.0), (0.9, 1.0), specular=(0.5, 0.9))
    m("lamp_off", (0.0, 1.0), (0.0, 0.2), (0.05, 0.15))
    for i, hue in enumerate(((0.98, 1.0), (0.58, 0.64), (0.12, 0.16))):
        m(f"sign{i}", hue, (0.6, 0.9), (0.55, 0.9), specular=(0.2, 0.5))
    main = ctx.roads[0]
    for f in ctx.frontages:
        s = f.s0 + uniform(rng, (0.0, fc.lamp_spacing[0]))
        while s < f.s1:
            street_lamp(ctx, f, s)
            s += uniform(rng, fc.lamp_spacing)
    seen = [f for f in ctx.frontages if f.road is main and f.s1 > near[0] and f.s0 < near[1]]
    for _ in range(int(rng.integers(fc.signs[0], fc.signs[1] + 1))):
        if seen:
            f = seen[int(rng.integers(len(seen)))]
            sign(ctx, f, uniform(rng, (max(f.s0, near[0]), min(f.s1, near[1]))))
    # traffic lights: at the junction's corners, and at a mid-block zebra
    for x, y, h, half in ctx.junctions:
        if rng.random() >= fc.traffic_light_probability:
            continue
        for corner in range(4):
            if corner and rng.random() < 0.35:
                continue
            a = h + corner * math.pi / 2  # the approach this light serves
            d = half + 1.5
            # kerb corner on the right of that approach, before the junction
            cx = x - math.cos(a) * d + math.sin(a) * (half + 0.8)
            cy = y - math.sin(a) * d - math.cos(a) * (half + 0.8)
            mast = uniform(rng, (2.5, half)) if rng.random() < 0.4 else 0.0
            traffic_light(ctx, cx, cy, 0.12, a + math.pi, mast, (-math.sin(a), math.cos(a)))
    for road, s, _ in ctx.crossings:
        if road is main and not ctx.junctions:
            for side in (1, -1):
                x, y, h = road.offset(s + 2.5 * -side, side * (road.half_width + 0.7))
                traffic_light(ctx, x, y, 0.12, h + (math.pi if side < 0 else 0.0))
    # bollards at the kerb, and library statics on the sidewalks
    for _ in range(int(rng.integers(fc.bollards[0], fc.bollards[1] + 1))):
        f = seen[int(rng.integers(len(seen)))] if seen else None
        if f is None:
            break
        s = uniform(rng, (max(f.s0, near[0]), min(f.s1, near[1])))
        x, y, h = f.road.offset(s, f.lateral(f.kerb + 0.35))
        if ctx.grid.place(x, y, 0.12, 0.12, 0.0):
            _pole(ctx, x, y, f.kerb_height, uniform(rng, (0.7, 1.1)), uniform(rng, (0.05, 0.1)))
    for _ in range(int(rng.integers(fc.statics[0], fc.statics[1] + 1))):
        if not seen:
            break
        f = seen[int(rng.integers(len(seen)))]
        s = uniform(rng, (max(f.s0, near[0]), min(f.s1, near[1])))
        lat = f.kerb + 0.6 if rng.random() < 0.5 else f.walk_outer - 0.6
        x, y, h = f.road.offset(s, f.lateral(lat))
        ctx.place_model("static", x, y, f.kerb_height, h + (math.pi if f.side > 0 else 0.0))
