"""One street frame from (config, seed, index): the layout, then what stands along it, then
the traffic; the camera in a lane of the main road; sky, sun and haze from the config's
`background.sky` (scene/sky.py), its pixels labelled sky.

Order of the draws is fixed (layout, ego, furniture, buildings, trees, traffic, ground, sky,
lights, post-effects, camera), each from the frame's own generator, so frame i depends on
(config, seed, i) alone (with views_per_scene V > 1, frames k*V .. k*V+V-1 share the street of
scene k, its sky and lights, and draw effects and camera each from its own sub-stream).
Everything that stands keeps its footprint on an occupancy grid, so nothing interpenetrates
(roads are kept free of buildings, trees and furniture).
"""

from __future__ import annotations

import math

import numpy as np

from segsim.draws import hsv_color, uniform
from segsim.scene.geometry import look_at_opencv, rigid
from segsim.scene.postfx import sample_postfx
from segsim.scene.realism import STREAM_VIEW
from segsim.scene.spec import Camera, Light, Material, Scene, SceneObject, Texture
from segsim.scene.street.buildings import build_buildings
from segsim.scene.street.context import Ctx
from segsim.scene.street.furniture import build_furniture
from segsim.scene.street.layout import Occupancy, Scenery, train_id
from segsim.scene.street.nature import build_trees
from segsim.scene.street.roads import BEHIND, build_layout
from segsim.scene.street.traffic import _lane_pose, build_traffic

SEEN = (BEHIND, BEHIND + 60.0)  # main-road arc lengths the camera sees best
GROUND_SIZE = 700.0


def _street(rng, cfg) -> tuple:
    """What stands in the street (objects, ground), the main road and the ego car's lane; the
    sky and the lights (the sun's direction is the shadow map's)."""
    from segsim.scene.sky import sample_sky, sun_key_light

    ctx = Ctx(rng, cfg, Scenery(), Occupancy((-50.0, -230.0), (250.0, 230.0)))
    build_layout(ctx)
    main = ctx.roads[0]
    lane = int(rng.integers(main.lanes))
    ex, ey, eyaw = _lane_pose(main, lane, 1, BEHIND)
    ctx.grid.mark(ex, ey, 3.0, 1.2, eyaw)  # the ego car: nothing stands on it
    build_furniture(ctx, SEEN)
    build_buildings(ctx)
    build_trees(ctx, SEEN)
    build_traffic(ctx, SEEN)
    objects, ground = ctx.scenery.objects() + ctx.things, _ground(rng)
    background = sample_sky(rng, cfg.background.sky, train_id("sky"))
    lights, ambient = sun_key_light(background, *_lights(rng, cfg))
    return objects, ground, main, lane, background, lights, ambient


_BUILT: dict = {}  # (id(cfg), seed, scene) -> (cfg, street): the last few, per process


def _shared_street(cfg, seed: int, scene: int):
    key = (id(cfg), int(seed), int(scene))
    hit = _BUILT.get(key)
    if hit is None or hit[0] is not cfg:  # an id can be reused by a new config
        hit = _BUILT[key] = (cfg, _street(np.random.default_rng([int(seed), int(scene)]), cfg))
        while len(_BUILT) > 2:
            del _BUILT[next(iter(_BUILT))]
    objects, *rest = hit[1]
    return list(objects), *rest


def sample_street(cfg, seed: int, index: int, width: int, height: int) -> Scene:
    views = cfg.views_per_scene
    if views == 1:
        rng = np.random.default_rng([int(seed), int(index)])
        objects, ground, main, lane, background, lights, ambient = _street(rng, cfg)
    else:  # the street and sky of scene index // views; the effects and camera of this view
        objects, ground, main, lane, background, lights, ambient = _shared_street(
            cfg, seed, index // views
        )
        rng = np.random.default_rng([int(seed), int(index), STREAM_VIEW])
    postfx = sample_postfx(rng, cfg.postfx)
    camera = _camera(rng, cfg, main, lane, width, height)
    return Scene(
        camera=camera,
        objects=objects,
        lights=lights,
        ambient=ambient,
        background=background,
        postfx=postfx,
        ground=ground,
    )


def _ground(rng) -> SceneObject:
    """Terrain under everything: grass or soil, its top a little below the road's."""
    grass = rng.random() < 0.75
    hue = (0.2, 0.3) if grass else (0.06, 0.1)
    color = hsv_color(rng, hue, (0.35, 0.65), (0.2, 0.45))
    texture = Texture(
        kind="noise",
        color2=tuple(float(c) * 0.7 for c in color),
        scale=uniform(rng, (0.3, 1.5)),
        seed=int(rng.integers(2**31)),
    )
    return SceneObject(
        shape={"type": "box", "extents": [GROUND_SIZE, GROUND_SIZE, 0.02]},
        object_to_world=rigid(np.eye(3), [100.0, 0.0, -0.05]),
        material=Material(color=color, texture=texture, specular=0.05, shininess=8.0),
        class_id=train_id("terrain"),
        class_name="terrain",
    )


def _lights(rng, cfg) -> tuple[list[Light], tuple]:
    lc = cfg.lights
    key = uniform(rng, lc.intensity)
    shadows = bool(cfg.street.shadows)
    lights = [
        Light(direction=(0.0, -0.5, -1.0), intensity=key, cast_shadows=shadows),
        Light(
            direction=(0.2, 0.3, -1.0),
            intensity=key * uniform(rng, lc.fill_fraction),
            cast_shadows=False,
        ),
    ]
    level = uniform(rng, lc.ambient)
    return lights, (level, level, level)


def _camera(rng, cfg, main, lane: int, width: int, height: int) -> Camera:
    cc = cfg.street.camera
    x, y, yaw = _lane_pose(main, lane, 1, BEHIND)
    side = uniform(rng, cc.lateral_jitter)
    x, y = x - math.sin(yaw) * side, y + math.cos(yaw) * side
    eye = np.array([x, y, uniform(rng, cc.height)])
    yaw += math.radians(uniform(rng, cc.yaw_jitter_deg))
    pitch = math.radians(uniform(rng, cc.pitch_deg))
    forward = np.array(
        [math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)]
    )
    w2c = look_at_opencv(eye, eye + forward, roll=math.radians(uniform(rng, cc.roll_deg)))
    f = 0.5 * width / math.tan(math.radians(uniform(rng, cc.hfov_deg)) / 2)
    K = np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])
    return Camera(K=K, world_to_camera=w2c, width=width, height=height, near=cc.near, far=cc.far)
