"""Distractors placed with the camera known: some moved in front of the labelled objects (so
they occlude them), and flat photo cut-outs ("cards") in front or behind.

Unlabelled like every distractor (class 0, instance 0, `distractor=True`). Draws come from the
frame's own distractor stream (scene.realism), so turning these on leaves the rest of the
scene as it was.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from segsim.draws import uniform
from segsim.scene.geometry import bounding_radius, random_rotation, rigid
from segsim.scene.spec import Material, SceneObject, Texture

CARD_THICKNESS = 0.006  # metres: a photo print on card
MAX_FRONT_SHARE = 0.45  # a front distractor spans at most this much of the frame's height


def _ray_point(rng, camera, depth: float) -> np.ndarray:
    """A world point `depth` metres in front of the camera, on the ray of a random pixel."""
    K = np.asarray(camera.K, float)
    u, v = rng.uniform(0, camera.width), rng.uniform(0, camera.height)
    d = np.linalg.solve(K, np.array([u, v, 1.0]))  # z = 1: depth is the camera z
    w2c = np.asarray(camera.world_to_camera, float)
    return w2c[:3, :3].T @ (d * depth - w2c[:3, 3])


def _front_depths(camera, radius: float, target_depth: float) -> tuple[float, float] | None:
    """Depth range in which an object of this radius stands in front of the scene and is not
    so close that it covers most of the frame; None when there is no room."""
    fy = float(np.asarray(camera.K, float)[1, 1])
    nearest = max(camera.near + radius, 2 * radius * fy / (MAX_FRONT_SHARE * camera.height))
    farthest = target_depth - radius
    return (nearest, farthest) if farthest > nearest else None


def _target_depth(objects, camera) -> float:
    w2c = np.asarray(camera.world_to_camera, float)
    zs = [
        (w2c[:3, :3] @ np.asarray(o.object_to_world, float)[:3, 3] + w2c[:3, 3])[2]
        for o in objects
        if o.instance_id > 0
    ]
    return float(min(zs)) if zs else float(np.linalg.norm(camera.position))


def _card(rng, cfg) -> dict:
    long = uniform(rng, cfg.distractors.card_size)
    short = long * rng.uniform(0.5, 1.0)
    w, h = (long, short) if rng.random() < 0.5 else (short, long)
    return {"type": "box", "extents": [w, h, CARD_THICKNESS]}


def _card_material(rng, cfg) -> Material:
    from segsim.scene.realism import pick_photo

    path = pick_photo(rng, cfg.photos)
    return Material(
        color=(0.67, 0.67, 0.67),  # the image shader brightens by 1.5: a print at its own colours
        texture=Texture(kind="photo", seed=int(rng.integers(2**31)), path=path, scale=1.0),
        specular=float(rng.uniform(0.0, 0.3)),
        shininess=float(rng.uniform(8, 64)),
    )


def add_distractors(rng, cfg, objects: list, camera) -> list:
    """`objects` with a share of the distractors moved in front of the labelled objects and
    the photo cards added."""
    dc = cfg.distractors
    target = _target_depth(objects, camera)
    out = []
    for obj in objects:
        if obj.distractor and rng.random() < dc.in_front:
            obj = _in_front(rng, obj, camera, target) or obj
        out.append(obj)
    for _ in range(int(rng.integers(dc.cards[0], dc.cards[1] + 1))):
        shape = _card(rng, cfg)
        material = _card_material(rng, cfg)
        w, h = shape["extents"][:2]
        material = replace(
            material, texture=replace(material.texture, scale=0.999 / max(w, h))
        )  # one tile spans the card's longer side (the crop is centred on the card)
        R = random_rotation(rng) if rng.random() < 0.2 else _facing(rng, camera)
        obj = SceneObject(
            shape=shape, object_to_world=rigid(R, np.zeros(3)), material=material, distractor=True
        )
        if rng.random() < dc.in_front:
            placed = _in_front(rng, obj, camera, target)
        else:  # behind the objects: a backdrop between them and the background
            depth = target + rng.uniform(1.0, 6.0) + bounding_radius(shape)
            placed = replace(obj, object_to_world=rigid(R, _ray_point(rng, camera, depth)))
        if placed is not None:
            out.append(placed)
    return out


def _facing(rng, camera) -> np.ndarray:
    """A card turned toward the camera (its face normal, z, back along the view axis), tilted
    by up to 35 degrees and spun about its normal."""
    w2c = np.asarray(camera.world_to_camera, float)
    c2w = w2c[:3, :3].T
    tilt = math.radians(rng.uniform(0, 35))
    axis_angle = rng.uniform(0, 2 * math.pi)
    spin = rng.uniform(-math.pi, math.pi)
    from segsim.scene.geometry import rot_x, rot_z

    local = rot_z(axis_angle) @ rot_x(tilt) @ rot_z(spin - axis_angle)
    return c2w @ local


def _in_front(rng, obj, camera, target: float):
    radius = bounding_radius(obj.shape)
    span = _front_depths(camera, radius, target)
    if span is None:
        return None
    depth = rng.uniform(*span)
    m = np.asarray(obj.object_to_world, float).copy()
    m[:3, 3] = _ray_point(rng, camera, depth)
    return replace(obj, object_to_world=m)
