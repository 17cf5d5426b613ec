"""Several views of one scene (`views_per_scene`): frames k*V .. k*V+V-1 share the arrangement
(objects, drop, ground, lights) and draw their own camera, background and effects; the physics
runs once per scene and its shadow map is drawn once; the views of a scene share a split; bytes
do not depend on workers or on which frames a run had already made."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segsim.dataset.generate import generate_dataset
from segsim.dataset.meta import frame_meta
from segsim.dataset.splits import split_counts, split_of, splits_of
from segsim.errors import SegsimError
from segsim.scene import randomize
from segsim.scene.config import load_scene_config
from segsim.scene.randomize import sample_scene


def poses(scene) -> list:
    return [np.asarray(o.object_to_world).round(9).tolist() for o in scene.objects]


def meta_text(scene, i: int) -> str:
    return json.dumps(frame_meta(scene, i, "train", 3), sort_keys=True)


def test_views_share_the_arrangement_and_draw_their_own_view():
    cfg = load_scene_config("shapes", overrides={"views_per_scene": 3})
    scenes = [sample_scene(cfg, 3, i, 64, 64) for i in range(9)]
    for k in range(3):
        first, *rest = scenes[3 * k : 3 * k + 3]
        for other in rest:
            assert poses(other) == poses(first)
            assert not np.allclose(other.camera.world_to_camera, first.camera.world_to_camera)
            assert other.lights == first.lights  # shared: one shadow map per scene
            assert other.background != first.background
    assert poses(scenes[0]) != poses(scenes[3]) != poses(scenes[6])
    # a view made alone (nothing kept from the frames before it) is the same frame
    randomize._ARRANGED.clear()
    assert meta_text(sample_scene(cfg, 3, 5, 64, 64), 5) == meta_text(scenes[5], 5)
    # one view per scene is the frame as it always was
    one = load_scene_config("shapes")
    assert "views_per_scene" not in one.model_dump()
    assert poses(sample_scene(one, 3, 2, 64, 64)) != poses(scenes[2])


def test_a_view_drawn_after_another_of_its_scene_is_the_frame_drawn_alone():
    """The second view reuses the first one's shadow map (same light, same casters): its
    pixels must be those of the same frame drawn by a fresh renderer."""
    from segsim.render.gl import Renderer

    over = {"views_per_scene": 2, "ground": {"probability": 1}}
    cfg = load_scene_config("shapes", overrides=over)
    scenes = [sample_scene(cfg, 4, i, 96, 96) for i in range(3)]
    assert scenes[0].lights == scenes[1].lights and scenes[0].lights[0].cast_shadows
    with Renderer(96, 96) as r:
        frames, maps = [], []
        for s in scenes:
            frames.append(r.render(s))
            maps.append(r.shadow._drawn)
    assert maps[1] is maps[0] and maps[2] is not maps[1]  # drawn once for the first scene
    with Renderer(96, 96) as r:
        alone = r.render(scenes[1])
    for name in ("rgb", "class_ids", "instance_ids", "depth"):
        assert np.array_equal(getattr(frames[1], name), getattr(alone, name)), name
    assert not np.array_equal(frames[1].rgb, frames[0].rgb)


def test_physics_runs_once_per_scene(monkeypatch):
    import segsim.scene.physics as physics

    calls = []
    real = physics.settle

    def counting(bodies, **kw):
        calls.append(len(bodies))
        return real(bodies, **kw)

    monkeypatch.setattr(physics, "settle", counting)
    randomize._ARRANGED.clear()
    cfg = load_scene_config(
        "shapes", overrides={"views_per_scene": 4, "objects": {"placement": "drop"}}
    )
    scenes = [sample_scene(cfg, 0, i, 48, 48) for i in range(8)]
    assert len(calls) == 2
    assert poses(scenes[1]) == poses(scenes[3]) != poses(scenes[4])


def test_views_of_a_scene_share_a_split():
    fr = (0.6, 0.2, 0.2)
    names = splits_of(60, fr, 3)
    assert names == [split_of(i, fr, 3) for i in range(60)]
    assert all(len(set(names[k : k + 3])) == 1 for k in range(0, 60, 3))
    assert len(set(names)) == 3
    assert split_counts(60, fr, 3) == {s: names.count(s) for s in ("train", "val", "test")}
    assert splits_of(60, fr) != names  # one view per scene: the frames' own splits


def tree(root) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_a_dataset_of_views_is_the_same_for_any_workers_and_after_a_resume(tmp_path):
    cfg = load_scene_config("shapes", overrides={"views_per_scene": 4})
    fr = (0.5, 0.25, 0.25)
    runs = {}
    for w in (1, 2):
        generate_dataset(tmp_path / f"w{w}", cfg, 16, 32, 32, seed=1, workers=w,
                         fractions=fr, progress=False)  # fmt: skip
        runs[w] = tree(tmp_path / f"w{w}")
    assert runs[1] == runs[2]
    metas = {k: json.loads(v) for k, v in runs[1].items() if k.endswith(".json") and "/" in k}
    assert len(metas) == 16
    for name, meta in metas.items():
        assert name.split("/")[1] == split_of(meta["index"], fr, 4)
    info = (tmp_path / "w1" / "dataset.yaml").read_text()
    assert "views_per_scene: 4" in info
    # a frame in the middle of a scene lost: the rerun makes it again, the same bytes
    lost = next(k for k, m in metas.items() if m["index"] == 6)
    (tmp_path / "w1" / lost).unlink()
    randomize._ARRANGED.clear()
    res = generate_dataset(tmp_path / "w1", cfg, 16, 32, 32, seed=1, workers=1,
                           fractions=fr, progress=False)  # fmt: skip
    assert res.rendered == 1
    assert tree(tmp_path / "w1") == runs[2]


def test_street_views_share_the_street():
    cfg = load_scene_config("street", overrides={"views_per_scene": 2})
    a, b, c = (sample_scene(cfg, 0, i, 64, 32) for i in range(3))
    assert len(a.objects) == len(b.objects) and poses(a) == poses(b)
    assert not np.allclose(a.camera.world_to_camera, b.camera.world_to_camera)
    assert poses(c) != poses(a)


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_a_views_per_scene_that_is_not_a_positive_whole_number_is_refused(bad):
    with pytest.raises(SegsimError, match="views_per_scene"):
        load_scene_config("shapes", overrides={"views_per_scene": bad})


def test_the_views_of_a_scene_go_to_one_worker_batch():
    from segsim.dataset.pool import _batches

    todo = [i for i in range(300) if i % 7]  # a resume: some frames already made
    batches = _batches(todo, 2, 4)
    assert [i for b in batches for i in b] == todo
    scenes = [{i // 4 for i in b} for b in batches]
    assert all(not (a & b) for a, b in zip(scenes, scenes[1:], strict=False))


def test_a_shape_described_once_for_a_scene_matches_it_described_afresh():
    from segsim.dataset import meta

    cfg = load_scene_config("street", overrides={"views_per_scene": 2})
    first, second = (sample_scene(cfg, 4, i, 64, 32) for i in (0, 1))
    assert second.objects[0].shape is first.objects[0].shape  # what the cache keys on
    meta_text(first, 0)
    cached = meta_text(second, 1)
    meta._SHAPES.clear()
    assert cached == meta_text(second, 1)
    # another scene's shapes are not taken for these
    other = meta_text(sample_scene(cfg, 4, 2, 64, 32), 2)
    assert '"compound"' in other and other != cached
