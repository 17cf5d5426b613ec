"""Trees: street trees on the sidewalks (library models, or procedural ones: a cylinder trunk
and a sphere or cone crown, all vegetation) and procedural trees in yards and the distance."""

from __future__ import annotations

from segsim.draws import uniform
from segsim.scene.street.context import Ctx


def procedural_tree(ctx: Ctx, x: float, y: float, z: float = 0.0, check: bool = True) -> bool:
    rng, nc = ctx.rng, ctx.street.nature
    height = uniform(rng, nc.tree_height)
    conifer = rng.random() < 0.3
    crown_r = height * uniform(rng, (0.16, 0.22) if conifer else (0.22, 0.34))
    if check and not ctx.grid.place(x, y, 0.5, 0.5, 0.0, off_road=True):
        return False
    trunk_r = uniform(rng, (0.1, 0.22))
    crown = f"crown{int(rng.integers(2))}"
    sc = ctx.scenery
    if conifer:
        trunk_h = height * 0.3
        sc.add(
            "vegetation",
            "trunk",
            {
                "type": "cylinder",
                "radius": trunk_r,
                "height": trunk_h + 0.5,
                "at": [x, y, z + trunk_h / 2],
            },
        )
        sc.add(
            "vegetation",
            crown,
            {
                "type": "cone",
                "radius": crown_r,
                "height": height - trunk_h + 0.3,
                "at": [x, y, z + (height + trunk_h) / 2],
            },
        )
    else:
        trunk_h = height - 1.4 * crown_r
        sc.add(
            "vegetation",
            "trunk",
            {
                "type": "cylinder",
                "radius": trunk_r,
                "height": trunk_h + 0.3,
                "at": [x, y, z + trunk_h / 2],
            },
        )
        sc.add(
            "vegetation",
            crown,
            {"type": "sphere", "radius": crown_r, "at": [x, y, z + height - crown_r]},
        )
    return True


def build_trees(ctx: Ctx, near: tuple[float, float]) -> None:
    """Street trees along the frontages that have them, yard trees behind the plots, and a row
    of distant trees; `near` is the arc-length window the camera sees best."""
    rng, nc = ctx.rng, ctx.street.nature
    m = ctx.material
    m("trunk", (0.05, 0.1), (0.3, 0.6), (0.15, 0.35))
    for i in range(2):
        m(
            f"crown{i}",
            (0.2, 0.35),
            (0.4, 0.8),
            (0.15, 0.45),
            texture="noise",
            scale=(0.8, 3.0),
            contrast=0.35,
        )
    library_left = nc.max_library_trees
    for f in ctx.frontages:
        if not f.has_trees:
            continue
        lat = f.kerb + 0.2 + (f.verge / 2 if f.verge else 0.9)
        s = f.s0 + uniform(rng, (1.0, 6.0))
        while s < f.s1 - 1.0:
            x, y, h = f.road.offset(s, f.lateral(lat))
            seen = near[0] < s < near[1] and f.road is ctx.roads[0]
            if library_left > 0 and seen and rng.random() < nc.library_tree_share:
                if ctx.place_model(
                    "tree",
                    x,
                    y,
                    f.kerb_height,
                    h,
                    along=False,
                    margin=-0.3,
                    check=ctx.grid.free(x, y, 0.6, 0.6, h),
                ):
                    ctx.grid.mark(x, y, 0.6, 0.6, h)
                    library_left -= 1
            else:
                procedural_tree(ctx, x, y, f.kerb_height, check=False)
                ctx.grid.mark(x, y, 0.5, 0.5, h)
            s += uniform(rng, nc.tree_spacing)
    # yard trees: behind a random frontage's sidewalk, where there is room
    count = int(rng.integers(nc.yard_trees[0], nc.yard_trees[1] + 1))
    for _ in range(count):
        if not ctx.frontages:
            break
        f = ctx.frontages[int(rng.integers(len(ctx.frontages)))]
        s = uniform(rng, (f.s0, max(f.s0, f.s1)))
        x, y, _ = f.road.offset(s, f.lateral(f.walk_outer + uniform(rng, (2.0, 8.0))))
        procedural_tree(ctx, x, y)
    # far trees along the end of the main road, past the buildings
    main = ctx.roads[0]
    for _ in range(int(rng.integers(4, 12))):
        s = uniform(rng, (main.length * 0.5, main.length))
        side = 1 if rng.random() < 0.5 else -1
        x, y, _ = main.offset(s, side * (main.half_width + uniform(rng, (8.0, 35.0))))
        procedural_tree(ctx, x, y)
