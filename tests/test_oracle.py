"""Oracle test: rendered class / instance masks and depth against an independent ray cast of
the frame's analytic shapes (tests/raycast.py: numpy, no GL)."""

from __future__ import annotations

import numpy as np
import pytest

from raycast import edge_band, raycast
from render_fixtures import get_renderer
from segsim.scene.config import load_scene_config
from segsim.scene.geometry import look_at_opencv, random_rotation, rigid
from segsim.scene.randomize import sample_scene
from segsim.scene.spec import Camera, Light, Material, Scene, SceneObject


@pytest.fixture
def renderer_factory():
    return get_renderer


def meta_of(scene: Scene) -> dict:
    """The meta fields the oracle needs (what the dataset writes per frame)."""

    def obj(o):
        return {
            "shape": o.shape,
            "object_to_world": np.asarray(o.object_to_world).tolist(),
            "class_id": o.class_id,
            "instance_id": o.instance_id,
        }

    cam = scene.camera
    return {
        "camera": {
            "K": np.asarray(cam.K).tolist(),
            "world_to_camera": np.asarray(cam.world_to_camera).tolist(),
            "width": cam.width,
            "height": cam.height,
            "near": cam.near,
            "far": cam.far,
        },
        "objects": [obj(o) for o in scene.objects],
        "ground": obj(scene.ground) if scene.ground is not None else None,
    }


def compare(frame, oracle) -> dict:
    band = edge_band(oracle["object_index"], width=1)  # 1 px either side of every boundary
    keep = ~band
    hit = keep & (oracle["depth"] > 0)
    rel = np.abs(frame.depth[hit] - oracle["depth"][hit]) / oracle["depth"][hit]
    return {
        "class": float(np.mean(frame.class_ids[keep] == oracle["class_ids"][keep])),
        "instance": float(np.mean(frame.instance_ids[keep] == oracle["instance_ids"][keep])),
        "depth_within_1pct": float(np.mean(rel < 0.01)) if rel.size else 1.0,
        "empty_agrees": float(np.mean((frame.depth[keep] == 0) == (oracle["depth"][keep] == 0))),
        "kept": float(keep.mean()),
    }


def assert_agrees(frame, scene):
    stats = compare(frame, raycast(meta_of(scene)))
    assert stats["kept"] > 0.5, stats
    assert stats["class"] >= 0.995, stats
    assert stats["instance"] >= 0.995, stats
    assert stats["depth_within_1pct"] >= 0.995, stats
    assert stats["empty_agrees"] >= 0.995, stats
    return stats


@pytest.fixture(scope="module")
def shapes_cfg():
    return load_scene_config("shapes")


@pytest.mark.parametrize("index", range(6))
@pytest.mark.parametrize("size", [(128, 128), (160, 120), (48, 40)])  # non-square and tiny too
def test_shapes_preset_frames_match_ray_cast(renderer_factory, shapes_cfg, index, size):
    w, h = size
    scene = sample_scene(shapes_cfg, seed=11 + w, index=index, width=w, height=h)
    frame = renderer_factory(w, h).render(scene)
    assert scene.labelled_objects(), "the preset should always place labelled objects"
    assert_agrees(frame, scene)


def _all_shapes_scene(width, height, seed=0):
    """Every shape type, randomly rotated, with a ground and an off-centre principal point."""
    rng = np.random.default_rng(seed)
    shapes = [
        {"type": "box", "extents": [0.8, 0.5, 0.6]},
        {"type": "sphere", "radius": 0.45},
        {"type": "cylinder", "radius": 0.3, "height": 0.9},
        {"type": "cone", "radius": 0.35, "height": 0.8},
        {"type": "torus", "radius": 0.4, "tube": 0.12},
        {"type": "capsule", "radius": 0.2, "height": 0.5},
    ]
    objects = []
    for i, shape in enumerate(shapes):
        pos = [(i % 3 - 1) * 1.1, (i // 3 - 0.5) * 1.2, 0.7]
        objects.append(
            SceneObject(
                shape,
                rigid(random_rotation(rng), pos),
                Material((0.8, 0.3, 0.2)),
                class_id=i + 1,
                class_name=shape["type"],
                instance_id=i + 1,
            )
        )
    f = 0.9 * width
    K = np.array([[f, 0, width * 0.47], [0, f * 1.02, height * 0.53], [0, 0, 1]])
    cam = Camera(
        K,
        look_at_opencv(np.array([0.5, -4.0, 3.0]), np.array([0, 0, 0.5]), roll=0.2),
        width,
        height,
    )
    ground = SceneObject(
        {"type": "box", "extents": [30, 30, 0.02]},
        rigid(np.eye(3), [0, 0, -0.01]),
        Material((0.5, 0.5, 0.5)),
        distractor=True,
    )
    return Scene(cam, objects, [Light((0.3, 0.4, -1.0))], ground=ground)


def test_every_shape_matches_ray_cast(renderer_factory):
    scene = _all_shapes_scene(200, 150)
    frame = renderer_factory(200, 150).render(scene)
    stats = assert_agrees(frame, scene)
    # every shape is really in view, so every one was checked
    assert set(np.unique(frame.instance_ids)) == set(range(7)), stats


def test_silhouette_centroids_are_subpixel_exact(renderer_factory):
    """The edge band hides sub-pixel offsets from the agreement figures; centroids do not:
    a half-pixel slip in the K -> GL conversion moves every centroid by 0.5 px."""
    scene = _all_shapes_scene(200, 150, seed=3)
    frame = renderer_factory(200, 150).render(scene)
    oracle = raycast(meta_of(scene))
    ys, xs = np.mgrid[:150, :200]
    for inst in range(1, 7):
        mine, theirs = frame.instance_ids == inst, oracle["instance_ids"] == inst
        assert theirs.sum() > 100
        assert abs(xs[mine].mean() - xs[theirs].mean()) < 0.15, inst
        assert abs(ys[mine].mean() - ys[theirs].mean()) < 0.15, inst
        assert abs(int(mine.sum()) - int(theirs.sum())) / theirs.sum() < 0.02, inst


def test_oracle_catches_a_wrong_camera(renderer_factory):
    """The comparison must be able to fail: shift the principal point by 3 px and it does."""
    scene = _all_shapes_scene(200, 150)
    frame = renderer_factory(200, 150).render(scene)
    shifted = meta_of(scene)
    shifted["camera"]["K"][0][2] += 3.0
    stats = compare(frame, raycast(shifted))
    assert stats["class"] < 0.995 or stats["depth_within_1pct"] < 0.995
