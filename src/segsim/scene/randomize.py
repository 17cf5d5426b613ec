"""Draw one Scene from (config, seed, frame index) — a pure function.

Every frame has its own generator, `numpy.random.default_rng([seed, index])`, and draws in a fixed
order, so frame i is the same whatever subset, order or worker count produced it. With
`views_per_scene` V > 1, frames k*V .. k*V+V-1 share the arrangement (objects, drop, ground) and
the lights drawn by scene k's generator, and each draws its view (camera, background, effects)
from a sub-stream of its own. World frame:
metres, z up; when a ground is present its top face is the plane z = 0.
"""

from __future__ import annotations

import colorsys
import math
from bisect import bisect_right
from dataclasses import replace
from functools import lru_cache
from itertools import accumulate

import numpy as np

from segsim.draws import hsv_color, uniform
from segsim.scene.config import MaterialConfig, SceneConfig, list_images
from segsim.scene.distractors import add_distractors
from segsim.scene.geometry import (
    bounding_radius,
    depth_below_centre,
    look_at_opencv,
    random_rotation,
    rigid,
    rot_x,
    rot_z,
)
from segsim.scene.postfx import sample_postfx
from segsim.scene.realism import (
    STREAM_DISTRACTORS,
    STREAM_SENSOR,
    STREAM_VIEW,
    STREAM_VIEW_VISIBILITY,
    STREAM_VISIBILITY,
    pick_photo,
    sample_sensor,
    stream,
    turn_camera,
)
from segsim.scene.shapes import get_shape
from segsim.scene.shapes.mesh import LOD_TOLERANCE_PX
from segsim.scene.spec import (
    Background,
    Camera,
    Light,
    Material,
    Scene,
    SceneObject,
    Texture,
)

GROUND_THICKNESS = 0.02


def _pick(rng, weights: dict) -> str:
    # sorted: the same choice whatever order a YAML file (or yaml.safe_dump) listed the keys in
    names = sorted(k for k, w in weights.items() if w > 0)
    cumulative = list(accumulate(weights[k] for k in names))
    i = bisect_right(cumulative, rng.random() * cumulative[-1])
    return names[min(i, len(names) - 1)]


@lru_cache(maxsize=16)
def _images(folder: str, field: str) -> tuple[str, ...]:
    return tuple(list_images(folder, field))


def _material(rng, mc: MaterialConfig, field: str, photos=None) -> Material:
    color = hsv_color(rng, mc.hue, mc.saturation, mc.value)
    texture = None
    tc = mc.texture
    if rng.random() < tc.probability and any(w > 0 for w in tc.kinds.values()):
        kind = _pick(rng, tc.kinds)
        # second colour: a different hue, brightness pushed away from the first for contrast
        h2 = (colorsys.rgb_to_hsv(*color)[0] + rng.uniform(0.15, 0.85)) % 1.0
        color2 = tuple(
            float(c)
            for c in colorsys.hsv_to_rgb(h2, uniform(rng, mc.saturation), uniform(rng, mc.value))
        )
        path = None
        if kind == "image":
            files = _images(tc.image_dir, f"{field}.texture.image_dir")
            path = files[int(rng.integers(len(files)))]
        elif kind == "photo":  # a crop of a library photo (the crop follows from `seed`)
            path = pick_photo(rng, photos)
        texture = Texture(
            kind=kind,
            color2=color2,
            scale=uniform(rng, tc.scale),
            angle=float(rng.uniform(0, np.pi)),
            seed=int(rng.integers(2**31)),
            path=path,
        )
    return Material(
        color=color,
        texture=texture,
        specular=uniform(rng, mc.specular),
        shininess=uniform(rng, mc.shininess),
    )


def _rotation(rng, mode: str) -> np.ndarray:
    if mode == "random":
        return random_rotation(rng)
    yaw = rot_z(rng.uniform(0, 2 * np.pi))
    if mode == "yaw":
        return yaw
    # upright: standing on the base or lying on the side, then a yaw
    return yaw @ (rot_x(np.pi / 2) if rng.random() < 0.3 else np.eye(3))


def _with_lod(shape: dict, oc) -> dict:
    """A mesh shape carries the config's level-of-detail tolerance for the renderer; other
    kinds choose their detail by their own exact bound."""
    if shape["type"] == "mesh" and oc.lod_tolerance_px != LOD_TOLERANCE_PX:
        shape["lod_px"] = oc.lod_tolerance_px
    return shape


def _place(rng, shape: dict, R: np.ndarray, cfg: SceneConfig, placed: list, area_radius: float):
    """Rejection-sample a centre whose bounding sphere overlaps the placed ones by at most
    `overlap_tolerance` of the radii sum; None when no spot was found."""
    oc = cfg.objects
    radius = bounding_radius(shape)
    below = depth_below_centre(shape, R)
    # every candidate is drawn up front (a fixed random stream); the first that fits wins
    n = oc.max_tries
    rho = area_radius * np.sqrt(rng.random(n))
    phi = rng.uniform(0, 2 * np.pi, n)
    lift = rng.uniform(oc.height[0], oc.height[1], n)
    # Candidates are tried in order in plain Python: the first usually fits, so testing them
    # lazily beats any vectorised test of all of them (call overhead dominates at this size).
    keep = 1 - oc.overlap_tolerance
    least = [(*c.tolist(), max((radius + r) * keep, 0.0) ** 2) for c, r in placed]
    for rk, pk, lk in zip(rho.tolist(), phi.tolist(), lift.tolist(), strict=True):
        x, y, z = rk * math.cos(pk), rk * math.sin(pk), below + lk
        if all((x - cx) ** 2 + (y - cy) ** 2 + (z - cz) ** 2 >= d2 for cx, cy, cz, d2 in least):
            break
    else:
        return None
    centre = np.array([x, y, z])
    placed.append((centre, radius))
    return centre


def _objects(rng, cfg: SceneConfig) -> tuple[list[SceneObject], list]:
    oc = cfg.objects
    placed: list = []
    objects: list[SceneObject] = []
    n = int(rng.integers(oc.count[0], oc.count[1] + 1))
    class_weights = {
        f"{i:05d}": c.weight for i, c in enumerate(cfg.classes)
    }  # sorts in class order
    for _ in range(n):
        ci = int(_pick(rng, class_weights))
        spec = cfg.classes[ci]
        shape = _with_lod(
            get_shape(spec.shape).sample(rng, cfg.sizes, uniform(rng, oc.scale), spec), oc
        )
        R = _rotation(rng, spec.rotation or oc.rotation)
        material = _material(rng, cfg.material, "material", cfg.photos)
        centre = _place(rng, shape, R, cfg, placed, oc.area_radius)
        if centre is None:
            continue
        objects.append(
            SceneObject(
                shape=shape,
                object_to_world=rigid(R, centre),
                material=material,
                class_id=ci + 1,
                class_name=spec.name,
                instance_id=len(objects) + 1,
            )
        )
    labelled = list(placed)
    dc = cfg.distractors
    if any(w > 0 for w in dc.shapes.values()):
        for _ in range(int(rng.integers(dc.count[0], dc.count[1] + 1))):
            name = _pick(rng, dc.shapes)
            spec = dc.mesh_class() if get_shape(name).needs_spec else None
            shape = _with_lod(
                get_shape(name).sample(rng, cfg.sizes, uniform(rng, dc.scale), spec), oc
            )
            R = _rotation(rng, spec.rotation if spec else oc.rotation)
            if dc.material is None:
                material = _material(rng, cfg.material, "material", cfg.photos)
            else:
                material = _material(rng, dc.material, "distractors.material", cfg.photos)
            centre = _place(rng, shape, R, cfg, placed, oc.area_radius * 1.3)
            if centre is not None:
                objects.append(
                    SceneObject(
                        shape=shape,
                        object_to_world=rigid(R, centre),
                        material=material,
                        distractor=True,
                    )
                )
    return objects, labelled


def _drop(rng, cfg: SceneConfig, objects: list, labelled: list) -> tuple[list, list]:
    """The sampled poses lifted by a drawn height each and settled by physics; `labelled` (the
    first len(labelled) objects' centres and radii) follows them."""
    from segsim.scene.physics import Body, settle

    oc = cfg.objects
    lifts = rng.uniform(oc.drop_height[0], oc.drop_height[1], len(objects))
    bodies = []
    for obj, lift in zip(objects, lifts.tolist(), strict=True):
        m = np.asarray(obj.object_to_world, float)
        bodies.append(Body(obj.shape, m[:3, :3], m[:3, 3] + np.array([0.0, 0.0, lift])))
    poses = settle(bodies, steps=oc.drop_steps)
    settled = [replace(o, object_to_world=p) for o, p in zip(objects, poses, strict=True)]
    moved = [(p[:3, 3].copy(), r) for p, (_, r) in zip(poses, labelled, strict=False)]
    return settled, moved


def _camera(rng, cfg: SceneConfig, labelled: list, width: int, height: int) -> Camera:
    cc = cfg.camera
    if labelled:
        centres = np.array([c for c, _ in labelled])
        centroid = centres.mean(axis=0)
        extent = max(float(np.linalg.norm(c - centroid)) + r for c, r in labelled)
    else:
        centroid, extent = np.zeros(3), 1.0
    jitter = rng.standard_normal(3)
    target = (
        centroid + jitter / max(np.linalg.norm(jitter), 1e-9) * cc.look_at_jitter * rng.random()
    )
    fov_y = np.radians(uniform(rng, cc.fov_deg))
    fy = 0.5 * height / np.tan(fov_y / 2)
    half_min = np.arctan(0.5 * min(width, height) / fy)
    distance = float(np.clip(extent / (uniform(rng, cc.framing) * np.tan(half_min)), *cc.distance))
    elev = np.radians(uniform(rng, cc.elevation_deg))
    azim = np.radians(uniform(rng, cc.azimuth_deg))
    eye = target + distance * np.array(
        [np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)]
    )
    w2c = look_at_opencv(eye, target, roll=np.radians(uniform(rng, cc.roll_deg)))
    cx = width / 2 + rng.uniform(-1, 1) * cc.principal_jitter * width
    cy = height / 2 + rng.uniform(-1, 1) * cc.principal_jitter * height
    K = np.array([[fy, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return Camera(K=K, world_to_camera=w2c, width=width, height=height, near=cc.near, far=cc.far)


def _lights(rng, cfg: SceneConfig) -> tuple[list[Light], tuple]:
    lc = cfg.lights
    lights = []
    main = uniform(rng, lc.intensity)
    # drawn only when the range allows any: configs without soft light keep their random stream
    wrap = float(uniform(rng, lc.wrap)) if lc.wrap[1] > 0 else 0.0
    for i in range(int(rng.integers(lc.count[0], lc.count[1] + 1))):
        elev, azim = (
            np.radians(uniform(rng, lc.elevation_deg)),
            np.radians(uniform(rng, lc.azimuth_deg)),
        )
        toward_light = np.array(
            [np.cos(elev) * np.cos(azim), np.cos(elev) * np.sin(azim), np.sin(elev)]
        )
        color = hsv_color(rng, (0, 1), lc.saturation, (1, 1))
        intensity = main if i == 0 else main * uniform(rng, lc.fill_fraction)
        lights.append(
            Light(
                direction=tuple(float(x) for x in -toward_light),
                color=color,
                intensity=float(intensity),
                cast_shadows=(i == 0),
                wrap=wrap,
            )
        )
    ambient_color = hsv_color(rng, (0, 1), lc.ambient_saturation, (1, 1))
    ambient = tuple(float(c) * uniform(rng, lc.ambient) for c in ambient_color)
    return lights, ambient


def _background(rng, cfg: SceneConfig) -> Background:
    bc = cfg.background
    kind = _pick(rng, bc.kinds)
    color = hsv_color(rng, (0, 1), bc.saturation, bc.value)
    color2 = hsv_color(rng, (0, 1), bc.saturation, bc.value)
    path = None
    if kind == "image":
        files = _images(bc.image_dir, "background.image_dir")
        path = files[int(rng.integers(len(files)))]
    elif kind == "photo":
        path = pick_photo(rng, cfg.photos)
    background = Background(
        kind=kind,
        color=color,
        color2=color2,
        scale=uniform(rng, bc.scale),
        angle=float(rng.uniform(0, np.pi)),
        seed=int(rng.integers(2**31)),
        path=path,
    )
    if kind == "photo":  # `scale` is the crop: its side as a fraction of the largest that fits
        background = replace(background, scale=uniform(rng, cfg.photos.crop))
    return background


def _ground(rng, cfg: SceneConfig) -> SceneObject | None:
    gc = cfg.ground
    use = rng.random() < gc.probability
    material = _material(rng, gc.material, "ground.material", cfg.photos)  # drawn either way
    if not use:
        return None
    # a thin box whose top face is z = 0 (the oracle ray-casts it like any box)
    shape = {"type": "box", "extents": [gc.size, gc.size, GROUND_THICKNESS]}
    return SceneObject(
        shape=shape,
        object_to_world=rigid(np.eye(3), [0.0, 0.0, -GROUND_THICKNESS / 2]),
        material=material,
        distractor=True,
    )


def _arrangement(rng, seen, cfg: SceneConfig) -> tuple[list, list, SceneObject | None]:
    """The objects where they rest (placed, or dropped by physics), their labelled centres and
    radii, and the ground; `seen` draws whether the frame is left without labelled objects."""
    objects, labelled = _objects(rng, cfg)
    vis = cfg.visibility  # (drawn whenever a knob is on: the frames made so far keep their bytes)
    if (vis.empty or vis.partial) and seen.random() < vis.empty:
        objects, labelled = [o for o in objects if o.instance_id == 0], []
    if cfg.objects.placement == "drop":
        objects, labelled = _drop(rng, cfg, objects, labelled)
    return objects, labelled, _ground(rng, cfg)


_ARRANGED: dict = {}  # (id(cfg), seed, scene) -> (cfg, arrangement): the last few, per process


def _shared_arrangement(cfg: SceneConfig, seed: int, scene: int):
    key = (id(cfg), int(seed), int(scene))
    hit = _ARRANGED.get(key)
    if hit is None or hit[0] is not cfg:  # an id can be reused by a new config
        rng = np.random.default_rng([int(seed), int(scene)])
        arranged = _arrangement(rng, stream(seed, scene, STREAM_VISIBILITY), cfg)
        # the lights too, so the views of a scene share its shadow map (render/passes.py)
        hit = _ARRANGED[key] = (cfg, (*arranged, _lights(rng, cfg)))
        while len(_ARRANGED) > 4:
            del _ARRANGED[next(iter(_ARRANGED))]
    objects, labelled, ground, (lights, ambient) = hit[1]
    return list(objects), list(labelled), ground, list(lights), ambient


def sample_scene(cfg: SceneConfig, seed: int, index: int, width: int, height: int) -> Scene:
    """Scene number `index` of the dataset with this config and seed."""
    if cfg.street is not None:  # driving scenes: a generator of their own
        from segsim.scene.street.generate import sample_street

        return sample_street(cfg, seed, index, width, height)
    views = cfg.views_per_scene
    if views == 1:  # one generator for the arrangement and the view, as before views existed
        rng = np.random.default_rng([int(seed), int(index)])
        seen = stream(seed, index, STREAM_VISIBILITY)
        objects, labelled, ground = _arrangement(rng, seen, cfg)
        camera = _camera(rng, cfg, labelled, int(width), int(height))
        lights, ambient = _lights(rng, cfg)
    else:  # the arrangement and lights of its scene (kept for its next views); the rest its own
        objects, labelled, ground, lights, ambient = _shared_arrangement(cfg, seed, index // views)
        rng, seen = stream(seed, index, STREAM_VIEW), stream(seed, index, STREAM_VIEW_VISIBILITY)
        camera = _camera(rng, cfg, labelled, int(width), int(height))
    vis = cfg.visibility
    if vis.partial and seen.random() < vis.partial:  # objects cut by the frame's edge
        camera = turn_camera(camera, seen, uniform(seen, vis.partial_offset))
    if cfg.distractors.in_front > 0 or cfg.distractors.cards[1] > 0:
        objects = add_distractors(stream(seed, index, STREAM_DISTRACTORS), cfg, objects, camera)
    background = _background(rng, cfg)
    if background.kind == "sky":  # a dome whose sun becomes the key light (scene/sky.py)
        from segsim.scene.sky import sample_sky, sky_class_id, sun_key_light

        background = sample_sky(rng, cfg.background.sky, sky_class_id(cfg))
        if cfg.background.sky.sun_light:
            lights, ambient = sun_key_light(background, lights, ambient)
    postfx = sample_postfx(rng, cfg.postfx)
    sensor = None
    if cfg.postfx.sensor is not None:
        sensor = sample_sensor(stream(seed, index, STREAM_SENSOR), cfg.postfx.sensor, width, height)
    return Scene(
        camera=camera,
        objects=objects,
        lights=lights,
        ambient=ambient,
        background=background,
        postfx=postfx,
        ground=ground,
        sensor=sensor,
    )
