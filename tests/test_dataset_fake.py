"""A tiny stand-in for the randomizer + renderer: spheres ray-cast in numpy.

Used by the dataset tests that exercise the writer, splits, resume logic and worker pool
without paying for an EGL context per process. Its frames are a pure function of
(seed, index), like the real pipeline's. Spawned workers import it by module name
(`test_dataset_fake:fake_source`): pytest puts tests/ on sys.path and spawn passes it on.
"""

from __future__ import annotations

import time

import numpy as np
from pydantic import BaseModel, ConfigDict

from segsim.labels import LabelSet
from segsim.scene.spec import Camera, Material, Scene, SceneObject

FAKE_SOURCE = "test_dataset_fake:fake_source"


class FakeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    balls: int = 3
    delay: float = 0.0  # seconds per frame, so a test can kill a run half-way

    def label_set(self) -> LabelSet:
        return LabelSet.from_names(["background", "ball"])


class FakeFrame:
    def __init__(self, rgb, class_ids, instance_ids, depth):
        self.rgb, self.class_ids, self.instance_ids, self.depth, self.normals = (
            rgb,
            class_ids,
            instance_ids,
            depth,
            None,
        )


def fake_scene(cfg: FakeConfig, seed: int, index: int, width: int, height: int) -> Scene:
    rng = np.random.default_rng([seed, index])
    f = 1.2 * width
    K = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    objects = []
    for k in range(cfg.balls):
        pose = np.eye(4)
        pose[:3, 3] = [rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), rng.uniform(2.5, 4.0)]
        distractor = k == cfg.balls - 1
        objects.append(
            SceneObject(
                shape={"type": "sphere", "radius": float(rng.uniform(0.2, 0.5))},
                object_to_world=pose,
                material=Material(color=tuple(rng.uniform(0, 1, 3).tolist())),
                class_id=0 if distractor else 1,
                class_name="background" if distractor else "ball",
                instance_id=0 if distractor else k + 1,
                distractor=distractor,
            )
        )
    return Scene(camera=Camera(K, np.eye(4), width, height), objects=objects, lights=[])


def fake_render(scene: Scene, rng_seed) -> FakeFrame:
    cam = scene.camera
    h, w = cam.height, cam.width
    u, v = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    rays = np.stack(
        [(u - cam.K[0, 2]) / cam.K[0, 0], (v - cam.K[1, 2]) / cam.K[1, 1], np.ones_like(u)], -1
    )
    depth = np.full((h, w), np.inf)
    cls = np.zeros((h, w), np.uint8)
    inst = np.zeros((h, w), np.uint16)
    rgb = np.full((h, w, 3), 90, np.uint8)
    for obj in scene.objects:
        c, r = obj.object_to_world[:3, 3], obj.shape["radius"]
        a = (rays**2).sum(-1)
        b = -2 * (rays @ c)
        disc = b * b - 4 * a * (c @ c - r * r)
        t = np.where(disc >= 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf)
        hit = t < depth
        depth[hit], cls[hit], inst[hit] = t[hit], obj.class_id, obj.instance_id
        rgb[hit] = (np.array(obj.material.color) * 255).astype(np.uint8)
    noise = np.random.default_rng(rng_seed).integers(0, 20, rgb.shape, dtype=np.uint8)
    depth = np.where(np.isfinite(depth), depth, 0).astype(np.float32)
    return FakeFrame(rgb + noise, cls, inst, depth)


def fake_source(cfg, width, height):
    def render(seed, index):
        time.sleep(cfg.delay)
        scene = fake_scene(cfg, seed, index, width, height)
        return scene, fake_render(scene, [seed, index])

    return render


def failing_source(cfg, width, height):
    """Like a Renderer whose EGL context cannot start: fails in the worker, not the parent."""
    from segsim.errors import SegsimError

    raise SegsimError("EGL could not start", "install libegl1")
