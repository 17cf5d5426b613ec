"""Distractors in front and behind, photo cut-outs, and the visibility knobs."""

from __future__ import annotations

import numpy as np
import pytest

from segsim.scene.config import load_scene_config
from segsim.scene.randomize import sample_scene
from segsim.scene.spec import scene_to_dict

W = H = 64


@pytest.fixture
def photo_dir(tmp_path, monkeypatch):
    import cv2

    from test_photos import _clear_caches

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(2):
        img = np.random.default_rng(i).integers(0, 255, (80, 80, 3)).astype(np.uint8)
        cv2.imwrite(str(folder / f"n{i}.png"), img)
    monkeypatch.setenv("SEGSIM_CACHE", str(tmp_path / "cache"))
    _clear_caches()
    yield folder
    _clear_caches()


def _camera_z(scene, obj) -> float:
    w2c = np.asarray(scene.camera.world_to_camera, float)
    c = np.asarray(obj.object_to_world, float)[:3, 3]
    return float((w2c[:3, :3] @ c + w2c[:3, 3])[2])


def test_in_front_distractors_stand_between_camera_and_objects():
    """Each distractor is moved in front of the nearest labelled object, or left where it was
    when there is no room for it there (it would fill most of the frame)."""
    base = load_scene_config("shapes", overrides={"distractors": {"count": [4, 6]}})
    cfg = load_scene_config("shapes", overrides={"distractors": {"count": [4, 6], "in_front": 1.0}})
    moved = kept = 0
    for i in range(10):
        scene, before = sample_scene(cfg, 0, i, W, H), sample_scene(base, 0, i, W, H)
        nearest = min(_camera_z(scene, o) for o in scene.labelled_objects())
        pairs = [(o, b) for o, b in zip(scene.objects, before.objects, strict=True) if o.distractor]
        for o, b in pairs:
            assert o.class_id == 0 and o.instance_id == 0
            if np.array_equal(o.object_to_world, b.object_to_world):
                kept += 1
            else:
                assert 0 < _camera_z(scene, o) < nearest
                moved += 1
    assert moved > 2 * kept


def test_new_knobs_off_leave_the_scene_as_it_was():
    base = load_scene_config("shapes")
    same = load_scene_config(
        "shapes",
        overrides={
            "distractors": {"in_front": 0.0, "cards": [0, 0]},
            "visibility": {"empty": 0.0, "partial": 0.0},
        },
    )
    for i in range(3):
        a, b = sample_scene(base, 4, i, W, H), sample_scene(same, 4, i, W, H)
        assert scene_to_dict(a) == scene_to_dict(b)
    assert base.model_dump() == same.model_dump()  # dataset.yaml stays as it was


def test_moving_distractors_in_front_keeps_everything_else():
    """The new knobs draw from their own stream: the labelled objects, lights, background
    and post-effects of a frame do not change when they are turned on."""
    base = load_scene_config("shapes", overrides={"distractors": {"count": [3, 3]}})
    front = load_scene_config(
        "shapes", overrides={"distractors": {"count": [3, 3], "in_front": 0.5}}
    )
    for i in range(4):
        a, b = (
            scene_to_dict(sample_scene(base, 2, i, W, H)),
            scene_to_dict(sample_scene(front, 2, i, W, H)),
        )
        for key in ("camera", "lights", "background", "postfx", "ground"):
            assert a[key] == b[key]
        la = [o for o in a["objects"] if o["instance_id"]]
        lb = [o for o in b["objects"] if o["instance_id"]]
        assert la == lb


def test_photo_cards_are_unlabelled_and_drawn(photo_dir):
    from render_fixtures import get_renderer

    cfg = load_scene_config(
        "shapes",
        overrides={
            "distractors": {"count": [0, 0], "cards": [2, 2], "in_front": 1.0},
            "photos": {
                "sources": {"backgrounds": 0, "sweethome3d": 0, "robosuite": 0, "dirs": 1},
                "dirs": [str(photo_dir)],
            },
        },
    )  # fmt: skip
    r = get_renderer(W, H)
    covered = 0
    for i in range(4):
        scene = sample_scene(cfg, 1, i, W, H)
        cards = [o for o in scene.objects if o.distractor]
        assert len(cards) >= 1
        for c in cards:
            assert c.instance_id == 0 and c.class_id == 0
            assert c.material.texture.kind == "photo"
            assert c.material.texture.path.endswith(".png")
        frame = r.render(scene)
        # where a card is drawn (depth set, closer than any labelled object) the labels are 0
        labelled_ids = set(np.unique(frame.instance_ids)) - {0}
        assert labelled_ids <= {o.instance_id for o in scene.labelled_objects()}
        plain = scene.__class__(**{**scene.__dict__, "objects": scene.labelled_objects()})
        ref = r.render(plain)
        hidden = (ref.class_ids > 0) & (frame.class_ids == 0)  # a card covers an object there
        covered += int(hidden.sum())
        assert not ((ref.class_ids == 0) & (frame.class_ids > 0)).any()  # never adds labels
    assert covered > 0


def test_empty_frames_have_no_class():
    cfg = load_scene_config("shapes", overrides={"visibility": {"empty": 1.0}})
    for i in range(3):
        scene = sample_scene(cfg, 0, i, W, H)
        assert scene.labelled_objects() == []
    cfg = load_scene_config("shapes", overrides={"visibility": {"empty": 0.5}})
    empty = sum(not sample_scene(cfg, 0, i, W, H).labelled_objects() for i in range(40))
    assert 8 <= empty <= 32


def test_partial_framing_puts_the_objects_near_the_edge():
    base = load_scene_config("shapes")
    cfg = load_scene_config(
        "shapes", overrides={"visibility": {"partial": 1.0, "partial_offset": [1.0, 1.0]}}
    )
    for i in range(4):
        a, b = sample_scene(base, 0, i, W, H), sample_scene(cfg, 0, i, W, H)
        # the point the unturned camera looked at (on its axis) now projects onto the border
        c2w = np.linalg.inv(np.asarray(a.camera.world_to_camera, float))
        target = c2w[:3, :3] @ np.array([0.0, 0.0, 5.0]) + c2w[:3, 3]
        w2c = np.asarray(b.camera.world_to_camera, float)
        p = np.asarray(b.camera.K, float) @ (w2c[:3, :3] @ target + w2c[:3, 3])
        u, v = p[:2] / p[2]
        on_border = min(abs(u), abs(u - W), abs(v), abs(v - H))
        assert on_border < 2.5, (u, v)


@pytest.mark.parametrize("index", range(3))
def test_front_distractors_and_turned_cameras_match_the_ray_cast(index):
    """Masks stay exact with occluders in front and objects cut by the frame (the oracle
    ray-casts the same scene from its meta, no GL)."""
    from raycast import raycast
    from render_fixtures import get_renderer
    from test_oracle import compare, meta_of

    cfg = load_scene_config(
        "shapes",
        overrides={
            "distractors": {"count": [3, 5], "in_front": 0.5},
            "visibility": {"partial": 1.0},
        },
    )
    scene = sample_scene(cfg, 9, index, 96, 80)
    stats = compare(get_renderer(96, 80).render(scene), raycast(meta_of(scene)))
    assert stats["class"] >= 0.995 and stats["instance"] >= 0.995, stats
    # close occluders: a tessellated surface is off by a larger share of a small depth
    assert stats["depth_within_1pct"] >= 0.98, stats
