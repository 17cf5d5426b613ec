"""The `street` preset: Cityscapes train ids as its label set, sky for what nothing covers,
determinism per frame, config mistakes named, footprints apart, the compound kind against the
oracle, and the share of frames each class appears in."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from raycast import SHAPES, edge_band, raycast
from render_fixtures import get_renderer
from segsim.cityscapes import train_labelset
from segsim.dataset.meta import dumps_meta, frame_meta
from segsim.errors import SegsimError
from segsim.scene.config import load_scene_config
from segsim.scene.randomize import sample_scene
from segsim.scene.shapes import get_shape, shape_names
from segsim.scene.shapes.compound import compound_shape, part_rotation, top_height
from segsim.scene.street.layout import FLAT_SCENERY_M

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/sweethome3d/furniture").is_dir(),
    reason="Debian's sweethome3d-furniture is not installed (make setup installs it)",
)

SKY, ROAD, IGNORE = 10, 0, 255


@pytest.fixture(scope="module")
def cfg():
    return load_scene_config("street")


def test_label_set_is_the_cityscapes_train_set(cfg):
    labels = cfg.label_set()
    assert labels.to_dict() == train_labelset().to_dict()
    assert labels.ignore_index == 255 and labels.names[SKY] == "sky" and len(labels) == 19


def test_frames_are_a_function_of_seed_and_index(cfg):
    a = dumps_meta(frame_meta(sample_scene(cfg, 3, 5, 128, 64), 5, "train", 3))
    sample_scene(cfg, 3, 4, 128, 64)  # another frame in between changes nothing
    b = dumps_meta(frame_meta(sample_scene(cfg, 3, 5, 128, 64), 5, "train", 3))
    c = dumps_meta(frame_meta(sample_scene(cfg, 3, 6, 128, 64), 6, "train", 3))
    assert a == b and a != c


@pytest.mark.parametrize(
    "override,field",
    [
        ({"street": {"road": {"lanes": [-1, 2]}}}, "street.road.lanes"),
        ({"street": {"road": {"lanes": [1, 9]}}}, "street.road.lanes"),
        ({"street": {"camera": {"hfov_deg": [0.0, 90.0]}}}, "street.camera.hfov_deg"),
        ({"street": {"camera": {"hfov_deg": [60.0, 200.0]}}}, "street.camera.hfov_deg"),
        ({"street": {"buildings": {"looks": {"marble": 1.0}}}}, "street.buildings.looks"),
        ({"street": {"road": {"sidewalk_width": [0.0, 2.0]}}}, "street.road.sidewalk_width"),
        ({"street": {"roads": {}}}, "street.roads"),
    ],
)
def test_out_of_range_fields_are_named(override, field):
    with pytest.raises(SegsimError) as e:
        load_scene_config("street", overrides=override)
    assert field in str(e.value)


def test_unknown_role_is_refused():
    with pytest.raises(SegsimError, match="not street roles"):
        load_scene_config(
            "street",
            overrides={"classes": [{"name": "tram", "shape": "box"}]},
        )


def test_cli_refuses_a_bad_field_with_exit_2(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "segsim",
            "generate",
            "--preset",
            "street",
            "--count",
            "1",
            "--out",
            str(tmp_path / "d"),
            "--set",
            "street.road.lanes=[0,2]",
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2, out.stderr
    assert "street.road.lanes" in out.stderr and "\n" not in out.stderr.strip()


def _footprint(obj):
    size = obj.shape["asset_key"][3]
    k = obj.shape["scale"]
    m = np.asarray(obj.object_to_world)
    return m[:2, 3], m[:2, :2], np.array(size[:2]) * k / 2


def _overlap(a, b, shrink=0.9) -> bool:
    """Separating-axis test of two oriented rectangles (shrunk a little: model bounding boxes
    are loose)."""
    (ca, Ra, ha), (cb, Rb, hb) = a, b
    ha, hb = ha * shrink, hb * shrink
    for axis in (*Ra.T, *Rb.T):
        axis = axis / np.linalg.norm(axis)
        ra = np.abs(Ra.T @ axis) @ ha
        rb = np.abs(Rb.T @ axis) @ hb
        if abs((cb - ca) @ axis) > ra + rb:
            return False
    return True


def test_library_models_do_not_interpenetrate(cfg):
    """Footprints of the library models apart (riders sit on their bikes; library trees hold
    only their trunk's ground, their crowns overhang)."""
    checked = 0
    for i in range(6):
        scene = sample_scene(cfg, 0, i, 128, 64)
        things = [
            o
            for o in scene.objects
            if o.shape["type"] == "mesh" and o.class_name not in ("rider", "vegetation")
        ]
        feet = [_footprint(o) for o in things]
        for a in range(len(feet)):
            for b in range(a + 1, len(feet)):
                assert not _overlap(feet[a], feet[b]), (
                    i,
                    things[a].class_name,
                    things[b].class_name,
                )
                checked += 1
    assert checked > 50


def test_thing_classes_have_instances_and_stuff_none(cfg):
    scene = sample_scene(cfg, 0, 1, 128, 64)
    ids = [o.instance_id for o in scene.objects if o.instance_id]
    assert ids == list(range(1, len(ids) + 1))
    things = {"person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"}
    for o in scene.objects:
        assert (o.instance_id > 0) == (o.class_name in things), o.class_name


def test_generated_dataset_stores_the_label_set_and_train_ids(cfg, tmp_path):
    import cv2

    from segsim.dataset.generate import generate_dataset

    def decode(data: bytes):
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)

    generate_dataset(tmp_path, cfg, 3, 64, 32, seed=2, workers=1, progress=False, preset="street")
    info = yaml.safe_load((tmp_path / "dataset.yaml").read_text())
    assert info["labels"] == train_labelset().to_dict()["labels"]
    assert info["ignore_index"] == 255
    for meta_path in sorted((tmp_path / "meta").rglob("*.json")):
        meta = json.loads(meta_path.read_text())
        assert meta["background"]["class_id"] == SKY
        rel = meta_path.relative_to(tmp_path / "meta").with_suffix(".png")
        labels = decode((tmp_path / "labels" / rel).read_bytes())
        depth = decode((tmp_path / "depth" / rel).read_bytes())
        assert set(np.unique(labels)) <= set(range(19)) | {IGNORE}
        assert (labels[depth == 0] == SKY).all() and (depth == 0).any()
    assert (tmp_path / "CREDITS.md").is_file()


def test_compound_is_not_a_config_kind():
    assert "compound" not in shape_names()
    assert get_shape("compound").name == "compound"


def _hit_compound(o, d, shape):
    """Nearest hit over the parts (each a primitive turned and moved in the object frame)."""
    best = np.full(d.shape[:-1], np.inf)
    for p in shape["primitives"]:
        R = np.asarray(part_rotation(p)).reshape(3, 3)
        at = np.asarray(p["at"], float)
        t = SHAPES[p["type"]]((o - at) @ R, d @ R, p)
        best = np.minimum(best, t)
    return best


def test_street_scenery_matches_the_oracle(cfg, monkeypatch):
    """Roads, kerbs, buildings, poles, signs and procedural trees (the compounds) and the
    terrain: rendered classes against a ray cast of the meta's parts; sky where nothing is."""
    monkeypatch.setitem(SHAPES, "compound", _hit_compound)
    w, h = 96, 48
    scene = sample_scene(cfg, 0, 2, w, h)
    scene.objects = [o for o in scene.objects if o.shape["type"] == "compound"]
    scene.postfx = type(scene.postfx)()
    frame = get_renderer(w, h).render(scene)
    meta = json.loads(dumps_meta(frame_meta(scene, 0, "train", 0)))
    oracle = raycast(meta)
    oracle["class_ids"][oracle["depth"] == 0] = SKY
    keep = ~edge_band(oracle["object_index"], width=1)
    agree = float(np.mean(frame.class_ids[keep] == oracle["class_ids"][keep]))
    assert agree > 0.97, agree
    assert len(set(np.unique(oracle["class_ids"][keep]))) >= 5


def test_compound_parts_turn_as_the_meta_says():
    """A box yawed by 90 degrees and a disc turned onto y: the vertices the renderer draws lie
    where the parts' rotation puts them."""
    shape = compound_shape(
        [
            {"type": "box", "extents": [4.0, 1.0, 1.0], "at": [0.0, 0.0, 0.5], "yaw": math.pi / 2},
            {
                "type": "cylinder",
                "radius": 1.0,
                "height": 0.1,
                "at": [10.0, 0.0, 2.0],
                "rotation": [[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]],
            },
        ]
    )
    kind = get_shape("compound")
    pos, normals, idx = kind.vertex_arrays(kind.unit_key_and_scale(shape)[0], 0)
    box, disc = pos[pos[:, 0] < 5], pos[pos[:, 0] > 5]
    assert np.allclose(np.ptp(box, axis=0), [1.0, 4.0, 1.0], atol=1e-5)
    assert np.allclose(np.ptp(disc, axis=0), [2.0, 0.1, 2.0], atol=1e-2)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert kind.bounding_radius(shape) >= np.linalg.norm(pos, axis=1).max() - 1e-6
    assert top_height(shape) == pytest.approx(float(pos[:, 2].max()), abs=1e-5)


def test_only_scenery_above_the_ground_casts_shadows(cfg):
    scene = sample_scene(cfg, 0, 3, 128, 64)
    scenery = [o for o in scene.objects if o.shape["type"] == "compound"]
    casting = {o.class_name for o in scenery if o.casts_shadow}
    flat = {o.class_name for o in scenery if not o.casts_shadow}
    assert {"road", "sidewalk"} <= flat and "building" in casting
    assert all(top_height(o.shape) <= FLAT_SCENERY_M for o in scenery if not o.casts_shadow)
    assert all(o.casts_shadow for o in scene.objects if o.shape["type"] == "mesh")


def test_trees_take_their_own_level_of_detail_tolerance(cfg):
    cfg = cfg.model_copy(
        update={"street": cfg.street.model_copy(update={"vegetation_lod_tolerance_px": 11.0})}
    )
    tolerance = {}
    for i in range(6):
        for o in sample_scene(cfg, 0, i, 128, 64).objects:
            if o.shape["type"] == "mesh":
                tolerance.setdefault(o.class_name, set()).add(o.shape["lod_px"])
    assert tolerance.pop("vegetation") == {11.0}
    assert tolerance and all(v == {cfg.street.lod_tolerance_px} for v in tolerance.values())


MAJOR = ("road", "sidewalk", "building", "vegetation", "sky", "car", "person")


@pytest.mark.slow
def test_class_presence_in_frames(cfg):
    """On 40 frames at 128x64: every class but train in >= 5% of the frames, the big ones in
    >= 50% (what the issue asks of the preset)."""
    n, w, h = 40, 128, 64
    renderer = get_renderer(w, h)
    present = np.zeros(256, int)
    for i in range(n):
        labels = renderer.render(sample_scene(cfg, 7, i, w, h)).class_ids
        present[np.unique(labels)] += 1
    share = {lab.name: present[lab.id] / n for lab in train_labelset().labels}
    low = {k: v for k, v in share.items() if k != "train" and v < 0.05}
    assert not low, share
    weak = {k: share[k] for k in MAJOR if share[k] < 0.5}
    assert not weak, share
    assert share["train"] == 0


@pytest.mark.slow
def test_worker_count_does_not_change_the_bytes(cfg, tmp_path):
    from segsim.dataset.generate import generate_dataset

    for workers in (1, 2):
        generate_dataset(
            tmp_path / str(workers),
            cfg,
            4,
            64,
            32,
            seed=5,
            workers=workers,
            progress=False,
            preset="street",
        )
    one, two = ((tmp_path / w / "manifest.jsonl").read_bytes() for w in ("1", "2"))
    assert one == two


def test_shadow_stand_ins_change_almost_no_pixel_and_no_label(cfg, monkeypatch):
    """Small models cast their shadows from simplified stand-ins: the picture is all but the
    same as with their own levels, the labels exactly."""
    from segsim.render import meshes
    from segsim.render.gl import Renderer

    scene = sample_scene(cfg, 0, 2, 256, 128)
    with Renderer(256, 128) as r:
        a = r.render(scene)
        used = [p for p in r.meshes._proxies.values() if p is not None]
    monkeypatch.setattr(meshes, "SHADOW_PROXY_TEXELS", 0)  # every model casts as it is drawn
    with Renderer(256, 128) as r:
        b = r.render(scene)
        assert not r.meshes._proxies
    assert used  # cars, people, bikes: a few texels across in a street's map
    assert np.array_equal(a.class_ids, b.class_ids)
    changed = np.abs(a.rgb.astype(int) - b.rgb).sum(axis=-1) > 30
    assert changed.mean() < 0.005, changed.mean()
