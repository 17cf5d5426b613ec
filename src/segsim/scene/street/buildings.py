"""Buildings along the plots of each frontage (boxes of varied width, depth, height and
set-back, with windows, doors, storey bands and cornices on the street side), plot boundaries
(walls, fences, hedges) and driveways."""

from __future__ import annotations

import math

from segsim.draws import uniform
from segsim.scene.street.context import Ctx, Frontage
from segsim.scene.street.roads import _pick

MAX_FACADES = 4  # facade materials per frame (one compound each)


def _looks(ctx: Ctx) -> list[tuple[str, str]]:
    """(material name, look) of this frame's facades."""
    out = []
    bc = ctx.street.buildings
    for i in range(1 + int(ctx.rng.integers(MAX_FACADES))):
        look = _pick(ctx.rng, bc.looks)
        name = f"facade{i}"
        m = ctx.material
        if look == "brick":
            m(
                name,
                (0.0, 0.07),
                (0.4, 0.75),
                (0.28, 0.6),
                texture="noise",
                scale=(2.0, 8.0),
                contrast=0.25,
            )
        elif look == "plaster":
            m(
                name,
                (0.0, 1.0),
                (0.04, 0.35),
                (0.6, 0.92),
                texture="noise",
                scale=(0.5, 2.0),
                contrast=0.08,
            )
        elif look == "stone":
            m(
                name,
                (0.07, 0.14),
                (0.05, 0.25),
                (0.45, 0.75),
                texture="checker",
                scale=(0.8, 2.0),
                contrast=0.12,
            )
        else:
            m(
                name,
                (0.5, 0.62),
                (0.1, 0.4),
                (0.22, 0.5),
                specular=(0.6, 0.9),
                shininess=(64.0, 128.0),
            )
        out.append((name, look))
    return out


def build_buildings(ctx: Ctx) -> None:
    looks = _looks(ctx)
    m = ctx.material
    m(
        "window",
        (0.52, 0.65),
        (0.1, 0.35),
        (0.08, 0.25),
        specular=(0.6, 0.95),
        shininess=(64.0, 128.0),
    )
    m("door", (0.03, 0.1), (0.2, 0.6), (0.12, 0.4))
    m("band", (0.0, 1.0), (0.0, 0.1), (0.55, 0.9))
    m("wall", (0.05, 0.12), (0.0, 0.3), (0.35, 0.75), texture="noise", scale=(1.0, 4.0))
    m("fence", (0.0, 1.0), (0.0, 0.4), (0.1, 0.5), specular=(0.2, 0.6))
    m(
        "hedge",
        (0.22, 0.33),
        (0.45, 0.8),
        (0.15, 0.4),
        texture="noise",
        scale=(1.5, 5.0),
        contrast=0.3,
    )
    m("driveway", (0.0, 0.1), (0.0, 0.15), (0.3, 0.55), texture="noise", scale=(1.0, 4.0))
    for f in ctx.frontages:
        _plots(ctx, f, looks)


def _plots(ctx: Ctx, f: Frontage, looks):
    rng, bc = ctx.rng, ctx.street.buildings
    s = f.s0 + uniform(rng, bc.gap)
    while s < f.s1 - 4.0:
        w = min(uniform(rng, bc.width), f.s1 - s)
        if w < 4.0:
            break
        centre = s + w / 2
        setback = uniform(rng, bc.setback)
        boundary = _pick(rng, bc.boundaries) if setback > 1.2 else "none"
        driveway = setback > 3.0 and rng.random() < ctx.street.road.driveway_probability
        if rng.random() < bc.probability:
            _building(ctx, f, centre, w, setback, looks[int(rng.integers(len(looks)))])
        if boundary != "none":
            _boundary(ctx, f, s, w, boundary, driveway)
        if driveway:
            lat = f.walk_outer + setback / 2
            x, y, h = f.road.offset(centre, f.lateral(lat))
            ctx.scenery.box("ground", "driveway", (x, y, 0.01), (3.0, setback, 0.04), h)
        s += w + uniform(rng, bc.gap)


def _building(ctx: Ctx, f: Frontage, centre: float, w: float, setback: float, look):
    rng, bc = ctx.rng, ctx.street.buildings
    depth = uniform(rng, bc.depth)
    lat = f.walk_outer + setback + depth / 2
    x, y, h = f.road.offset(centre, f.lateral(lat))
    if not ctx.grid.place(x, y, w / 2, depth / 2, h, off_road=True):
        return
    storeys = int(rng.integers(bc.storeys[0], bc.storeys[1] + 1))
    sh = uniform(rng, bc.storey_height)
    height = storeys * sh + uniform(rng, (0.2, 1.2))
    material, kind = look
    sc = ctx.scenery
    sc.box("building", material, (x, y, height / 2), (w, depth, height), h)
    # the street-facing side: -side across the road's heading
    ax, ay = math.cos(h), math.sin(h)  # along the street
    nx, ny = -math.sin(h) * -f.side, math.cos(h) * -f.side  # out of the facade, toward the road
    face = depth / 2 + 0.03

    def on_facade(u, z, ext, mat):
        px, py = x + ax * u + nx * face, y + ay * u + ny * face
        sc.box("building", mat, (px, py, z), ext, h)

    ww = uniform(rng, bc.window_width)
    spacing = max(uniform(rng, bc.window_spacing), ww + 0.5)
    cols = int((w - 1.0) // spacing)
    wh = min(uniform(rng, (1.1, 1.9)), sh - 0.9)
    if kind == "glass":  # storey bands across a curtain wall
        for k in range(1, storeys + 1):
            on_facade(0.0, k * sh - 0.2, (w + 0.04, 0.08, 0.4), "band")
    elif cols > 0:
        us = [(c - (cols - 1) / 2) * spacing for c in range(cols)]
        shop = storeys > 1 and rng.random() < 0.4
        door = int(rng.integers(cols))
        for k in range(storeys):
            if k == 0 and shop:
                on_facade(0.0, 1.6, (w - 1.2, 0.08, 2.2), "window")
                continue
            for c, u in enumerate(us):
                if k == 0 and c == door:
                    on_facade(u, 1.1, (1.2, 0.1, 2.2), "door")
                else:
                    on_facade(u, k * sh + 0.9 + wh / 2, (ww, 0.08, wh), "window")
        if rng.random() < 0.5:
            on_facade(0.0, height - 0.12, (w + 0.3, 0.4, 0.24), material)
    else:
        on_facade(0.0, 1.1, (1.2, 0.1, 2.2), "door")


def _boundary(ctx: Ctx, f: Frontage, s: float, w: float, kind: str, driveway: bool):
    """A wall, fence or hedge along the plot's front, just behind the sidewalk (a gap for the
    driveway in the middle)."""
    rng, bc = ctx.rng, ctx.street.buildings
    lat = f.walk_outer + 0.35
    pieces = (
        [(s + 0.2, s + w / 2 - 1.6), (s + w / 2 + 1.6, s + w - 0.2)]
        if driveway
        else [(s + 0.2, s + w - 0.2)]
    )
    sc = ctx.scenery
    height = uniform(rng, bc.wall_height if kind == "wall" else bc.fence_height)
    library_hedge = kind == "hedge" and rng.random() < ctx.street.nature.hedge_library_share
    for a, b in pieces:
        if b - a < 0.8:
            continue
        mid = (a + b) / 2
        x, y, h = f.road.offset(mid, f.lateral(lat))
        if kind == "wall":
            sc.box("wall", "wall", (x, y, height / 2), (b - a, 0.25, height), h)
        elif kind == "hedge" and not library_hedge:
            sc.box("vegetation", "hedge", (x, y, height / 2), (b - a, 0.8, height), h)
        elif kind == "hedge":
            u, placed = a + 0.8, 0
            while u < b - 0.8 and placed < 3:  # a few models, then the rest procedural
                placed += 1
                hx, hy, hh = f.road.offset(u, f.lateral(lat + 0.2))
                ctx.place_model("hedge", hx, hy, 0.0, hh, off_road=True, margin=-0.1)
                u += 1.6
            if u - 0.8 < b - 0.8:
                hx, hy, hh = f.road.offset((u - 0.8 + b) / 2, f.lateral(lat))
                sc.box("vegetation", "hedge", (hx, hy, height / 2), (b - u + 0.8, 0.8, height), hh)
        else:
            sc.box("fence", "fence", (x, y, height - 0.1), (b - a, 0.05, 0.08), h)
            sc.box("fence", "fence", (x, y, 0.3), (b - a, 0.05, 0.08), h)
            n = max(2, int((b - a) / 1.5) + 1)
            for k in range(n):
                u = a + (b - a) * k / (n - 1)
                px, py, _ = f.road.offset(u, f.lateral(lat))
                sc.box("fence", "fence", (px, py, height / 2), (0.07, 0.07, height), h)
            if rng.random() < 0.5:  # pickets
                k = max(2, int((b - a) / 0.25))
                for j in range(k):
                    u = a + (b - a) * (j + 0.5) / k
                    px, py, _ = f.road.offset(u, f.lateral(lat))
                    sc.box(
                        "fence", "fence", (px, py, height / 2 - 0.05), (0.05, 0.03, height - 0.2), h
                    )
        ctx.grid.mark(x, y, (b - a) / 2, 0.45, h)
