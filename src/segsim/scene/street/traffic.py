"""Traffic: cars, trucks and buses driving in the lanes (facing along them) and parked at the
kerbs; bicycles and motorcycles, some with a rider (a sitting person on the saddle: rider);
pedestrians on the sidewalks and on the zebra crossings."""

from __future__ import annotations

import math

from segsim.draws import uniform
from segsim.scene.street.context import Ctx

RIDER_LIFT = {"bicycle": 0.3, "motorcycle": 0.25}


def _vehicle_role(ctx: Ctx) -> str:
    tc, r = ctx.street.traffic, ctx.rng.random()
    if r < tc.bus_share and ctx.spec("bus"):
        return "bus"
    if r < tc.bus_share + tc.truck_share and ctx.spec("truck"):
        return "truck"
    return "car"


def _lane_pose(road, lane: int, direction: int, s: float):
    """(x, y, yaw) of lane `lane` (0 = next to the centre line) of the lanes running along
    (direction +1, right of the centre) or against (-1, left) the road's heading."""
    lat = -direction * (lane + 0.5) * road.lane_width
    x, y, h = road.offset(s, lat)
    return x, y, h if direction > 0 else h + math.pi


def build_traffic(ctx: Ctx, near: tuple[float, float]) -> None:
    rng, tc = ctx.rng, ctx.street.traffic
    main = ctx.roads[0]
    for _ in range(int(rng.integers(tc.moving[0], tc.moving[1] + 1))):
        road = main if len(ctx.roads) == 1 or rng.random() < 0.75 else ctx.roads[1]
        direction = 1 if rng.random() < 0.5 else -1
        lane = int(rng.integers(road.lanes))
        if road is main:
            s = uniform(rng, (near[0] + 4.0, near[1] + 30.0))
        else:
            s = uniform(rng, (5.0, road.length - 5.0))
        x, y, yaw = _lane_pose(road, lane, direction, s)
        ctx.place_model(_vehicle_role(ctx), x, y, 0.0, yaw, margin=0.4)
    parked = 0
    for f in ctx.frontages:
        if not f.parking:
            continue
        s = f.s0 + uniform(rng, (0.0, 4.0))
        while s < f.s1 - 3.0 and parked < tc.max_parked:
            if rng.random() < tc.parked_fill:
                x, y, h = f.road.offset(s, f.lateral(f.kerb - 1.15))
                role = "car" if rng.random() > tc.truck_share / 2 else "truck"
                if ctx.place_model(
                    role, x, y, 0.0, h + (math.pi if f.side > 0 else 0.0), margin=0.2
                ):
                    parked += 1
            s += uniform(rng, tc.parked_spacing)
    for _ in range(int(rng.integers(tc.two_wheelers[0], tc.two_wheelers[1] + 1))):
        role = "motorcycle" if rng.random() < tc.motorcycle_share else "bicycle"
        s = uniform(rng, (near[0] + 3.0, near[1]))
        direction = 1 if rng.random() < 0.7 else -1
        x, y, h = main.offset(s, -direction * (main.half_width - 0.9))
        yaw = h if direction > 0 else h + math.pi
        bike = ctx.place_model(role, x, y, 0.0, yaw, margin=0.3)
        if bike is not None and rng.random() < tc.rider_probability:
            # the rider shares the bike's footprint (already taken) and its heading
            ctx.place_model("rider", x, y, 0.0, yaw, lift=RIDER_LIFT[role], check=False)
    walks = [f for f in ctx.frontages if f.road is main] or ctx.frontages
    for _ in range(int(rng.integers(tc.pedestrians[0], tc.pedestrians[1] + 1))):
        if not walks:
            break
        f = walks[int(rng.integers(len(walks)))]
        lo, hi = max(f.walk0, near[0] - 5.0), min(f.walk1, near[1] + 20.0)
        if hi <= lo:
            continue
        s = uniform(rng, (lo, hi))
        lat = uniform(rng, (f.kerb + 0.6, max(f.kerb + 0.6, f.walk_outer - 0.4)))
        x, y, h = f.road.offset(s, f.lateral(lat))
        yaw = h + (0.0 if rng.random() < 0.5 else math.pi) + uniform(rng, (-0.4, 0.4))
        ctx.place_model("person", x, y, f.kerb_height, yaw, along=False, margin=0.05)
    for road, s, half in ctx.crossings:
        for _ in range(
            int(rng.integers(tc.crossing_pedestrians[0], tc.crossing_pedestrians[1] + 1))
        ):
            lat = uniform(rng, (-road.half_width + 0.5, road.half_width - 0.5))
            x, y, h = road.offset(s + uniform(rng, (-half, half)) * 0.6, lat)
            yaw = h + math.pi / 2 * (1 if rng.random() < 0.5 else -1)
            ctx.place_model("person", x, y, 0.0, yaw, along=False, margin=0.05)
