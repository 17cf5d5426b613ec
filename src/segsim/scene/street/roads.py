"""Road layouts (straight, curved, T and X junctions), their surfaces, lane markings, zebra
crossings, kerbs, sidewalks and verges. Right-hand traffic: the lanes right of a road's centre
line run along its heading."""

from __future__ import annotations

import math

from segsim.draws import uniform
from segsim.scene.street.context import Ctx, Frontage
from segsim.scene.street.layout import Road, polyline

BEHIND = 30.0  # metres of road behind the camera
ROAD_DEPTH = 0.1  # road boxes reach this far below z = 0
MARK_TOP = 0.012  # markings: thin boxes whose top is this far above the road


def _pick(rng, weights: dict) -> str:
    names = sorted(k for k, w in weights.items() if w > 0)
    total = sum(weights[k] for k in names)
    r, acc = rng.random() * total, 0.0
    for k in names:
        acc += weights[k]
        if r < acc:
            return k
    return names[-1]


def _road(ctx: Ctx, start, heading, segments) -> Road:
    rc = ctx.street.road
    lanes = int(ctx.rng.integers(rc.lanes[0], rc.lanes[1] + 1))
    lane_w = uniform(ctx.rng, rc.lane_width)
    pts, hds = polyline(start, heading, segments)
    return Road(pts, hds, lanes * lane_w, lanes, lane_w, 2.0)


def build_layout(ctx: Ctx) -> str:
    """Roads, their surfaces and markings, and the frontages along them; the layout's name."""
    rng, rc = ctx.rng, ctx.street.road
    layout = _pick(rng, rc.layouts)
    if layout == "curve":
        start = uniform(rng, rc.curve_start)
        turn = math.radians(uniform(rng, rc.curve_angle_deg)) * (1 if rng.random() < 0.5 else -1)
        arc = uniform(rng, rc.curve_radius) * abs(turn)
        rest = max(rc.length - start - arc, 10.0)
        main = _road(ctx, (-BEHIND, 0.0), 0.0, [(BEHIND + start, 0.0), (arc, turn), (rest, 0.0)])
    else:
        main = _road(ctx, (-BEHIND, 0.0), 0.0, [(BEHIND + rc.length, 0.0)])
    ctx.roads.append(main)
    walks = {r: uniform(rng, rc.sidewalk_width) for r in ("main", "cross")}
    kerb_h = uniform(rng, rc.kerb_height)

    # junction: a straight road across the main one at s_j, on one side (T) or both (X)
    cross, s_j, sides_cut = None, None, ()
    if layout in ("t_junction", "x_junction"):
        s_j = BEHIND + uniform(rng, rc.junction_distance)
        x, y, h = main.at(s_j)
        length = 70.0
        if layout == "x_junction":
            nx, ny = -math.sin(h), math.cos(h)
            start = (x - nx * length, y - ny * length)
            cross = _road(ctx, start, h + math.pi / 2, [(2 * length, 0.0)])
            sides_cut = (1, -1)
        else:
            side = 1 if rng.random() < 0.5 else -1
            cross = _road(ctx, (x, y), h + side * math.pi / 2, [(length, 0.0)])
            sides_cut = (side,)
        ctx.roads.append(cross)
        ctx.junctions.append((x, y, h, max(main.half_width, cross.half_width)))

    m = ctx.material
    m("road", (0.0, 1.0), (0.0, 0.08), (0.16, 0.34), texture="noise", scale=(0.5, 3.0))
    m(
        "marking",
        (0.1, 0.16),
        (0.0, 0.05) if rng.random() < 0.85 else (0.7, 0.9),
        (0.8, 0.95),
        specular=(0.1, 0.3),
    )
    m(
        "walk",
        (0.0, 0.12),
        (0.0, 0.25),
        (0.35, 0.7),
        texture="checker" if rng.random() < 0.5 else "noise",
        scale=(0.8, 3.0),
        contrast=0.12,
    )
    m("kerb", (0.0, 1.0), (0.0, 0.05), (0.5, 0.75))
    m("verge", (0.2, 0.3), (0.4, 0.7), (0.25, 0.5), texture="noise", scale=(1.0, 5.0))

    sc = ctx.scenery
    for road in ctx.roads:
        sc.strip(
            "road",
            "road",
            road,
            0.0,
            road.length,
            -road.half_width,
            road.half_width,
            -ROAD_DEPTH,
            0.0,
        )
        ctx.grid.mark_strip(road, 0.0, road.length, -road.half_width, road.half_width)

    def frontage(road, side, walk0, walk1, plot0, plot1, walk_w):
        verge = uniform(rng, rc.verge_width) if rng.random() < rc.verge_probability else 0.0
        kerb_w = 0.2
        hw = road.half_width
        lo, hi = hw, hw + kerb_w + verge + walk_w
        lat = (lambda a, b: (a, b)) if side > 0 else (lambda a, b: (-b, -a))
        sc.strip("sidewalk", "kerb", road, walk0, walk1, *lat(hw, hw + kerb_w), -ROAD_DEPTH, kerb_h)
        if verge:
            sc.strip(
                "terrain",
                "verge",
                road,
                plot0,
                plot1,
                *lat(hw + kerb_w, hw + kerb_w + verge),
                -ROAD_DEPTH,
                kerb_h - 0.03,
            )
            # the walk still meets the kerb at the corners, where the verge stops
            for a, b in ((walk0, plot0), (plot1, walk1)):
                sc.strip(
                    "sidewalk",
                    "walk",
                    road,
                    a,
                    b,
                    *lat(hw + kerb_w, hw + kerb_w + verge),
                    -ROAD_DEPTH,
                    kerb_h - 0.01,
                )
        sc.strip(
            "sidewalk",
            "walk",
            road,
            walk0,
            walk1,
            *lat(hw + kerb_w + verge, hi),
            -ROAD_DEPTH,
            kerb_h - 0.01,
        )
        ctx.grid.mark_strip(road, walk0, walk1, *lat(lo, hi))
        parking = rng.random() < rc.parking_probability
        trees = rng.random() < ctx.street.nature.tree_side_probability
        ctx.frontages.append(
            Frontage(road, side, plot0, plot1, hw, hi, kerb_h, parking, trees, walk0, walk1, verge)
        )

    # main road frontages, cut where the crossing road meets them
    for side in (1, -1):
        if cross is not None and side in sides_cut:
            reach = cross.half_width
            gap = reach + walks["cross"] + 0.2
            frontage(main, side, 0.0, s_j - reach, 0.0, s_j - gap, walks["main"])
            frontage(main, side, s_j + reach, main.length, s_j + gap, main.length, walks["main"])
        else:
            frontage(main, side, 0.0, main.length, 0.0, main.length, walks["main"])
    if cross is not None:
        reach = main.half_width
        gap = reach + walks["main"] + 0.2
        if layout == "x_junction":
            mid = cross.length / 2
            for side in (1, -1):
                frontage(cross, side, 0.0, mid - reach, 0.0, mid - gap, walks["cross"])
                frontage(
                    cross, side, mid + reach, cross.length, mid + gap, cross.length, walks["cross"]
                )
        else:
            for side in (1, -1):
                frontage(cross, side, reach, cross.length, gap, cross.length, walks["cross"])

    _markings(ctx, main, cross, layout, s_j)
    return layout


def _dashes(ctx, road, lat, s0, s1, dash, gap, width=0.14):
    s = s0
    while s < s1:
        e = min(s + dash, s1)
        x, y, h = road.offset((s + e) / 2, lat)
        ctx.scenery.box("road", "marking", (x, y, MARK_TOP - 0.01), (e - s, width, 0.02), h)
        s += dash + gap


def _line(ctx, road, lat, s0, s1, width=0.14):
    if s1 - s0 > 0.1:
        ctx.scenery.strip(
            "road",
            "marking",
            road,
            s0,
            s1,
            lat - width / 2,
            lat + width / 2,
            MARK_TOP - 0.02,
            MARK_TOP,
        )


def _markings(ctx: Ctx, main: Road, cross: Road | None, layout: str, s_j: float | None):
    rng, rc = ctx.rng, ctx.street.road
    spans = {}
    if cross is None:
        spans[id(main)] = [(0.0, main.length)]
    else:
        reach = cross.half_width + 0.5
        spans[id(main)] = [(0.0, s_j - reach), (s_j + reach, main.length)]
        r2 = main.half_width + 0.5
        if layout == "x_junction":
            mid = cross.length / 2
            spans[id(cross)] = [(0.0, mid - r2), (mid + r2, cross.length)]
        else:
            spans[id(cross)] = [(r2, cross.length)]
    dash, gap = uniform(rng, (2.0, 4.0)), uniform(rng, (4.0, 8.0))
    for road in [main] + ([cross] if cross is not None else []):
        centre = (
            "dashed"
            if rng.random() < rc.dashed_centre
            else ("double" if rng.random() < 0.4 else "solid")
        )
        edges = rng.random() < 0.5
        for s0, s1 in spans[id(road)]:
            if centre == "dashed":
                _dashes(ctx, road, 0.0, s0, s1, dash, gap)
            elif centre == "double":
                _line(ctx, road, -0.12, s0, s1, 0.12)
                _line(ctx, road, 0.12, s0, s1, 0.12)
            else:
                _line(ctx, road, 0.0, s0, s1)
            for k in range(1, road.lanes):
                for sign in (1, -1):
                    _dashes(ctx, road, sign * k * road.lane_width, s0, s1, dash * 0.8, gap)
            if edges:
                for sign in (1, -1):
                    _line(ctx, road, sign * (road.half_width - 0.3), s0, s1, 0.15)
    if cross is None:
        if rng.random() < ctx.street.furniture.street_traffic_lights:
            s_c = BEHIND + uniform(rng, (15.0, 45.0))
            _crossing(ctx, main, s_c)
        return
    # stop line and zebra before the junction, on the camera's side of the main road
    zebra = rng.random() < rc.crossing_probability
    s_edge = s_j - cross.half_width - 0.8
    if zebra:
        _crossing(ctx, main, s_edge - 2.0)
        s_edge -= 4.5
    x, y, h = main.offset(s_edge, -main.half_width / 2)
    ctx.scenery.box("road", "marking", (x, y, MARK_TOP - 0.01), (0.4, main.half_width, 0.02), h)
    if zebra and rng.random() < 0.6:
        s_c = (
            main.half_width + 2.5
            if layout == "t_junction"
            else cross.length / 2 + (main.half_width + 2.5) * (1 if rng.random() < 0.5 else -1)
        )
        _crossing(ctx, cross, s_c)


def _crossing(ctx: Ctx, road: Road, s: float, length: float = 3.0):
    """A zebra crossing at s: stripes across the whole road."""
    lat = -road.half_width + 0.4
    while lat + 0.5 < road.half_width - 0.2:
        x, y, h = road.offset(s, lat + 0.25)
        ctx.scenery.box("road", "marking", (x, y, MARK_TOP - 0.01), (length, 0.5, 0.02), h)
        lat += 1.0
    ctx.crossings.append((road, s, length / 2))
