"""`shape: mesh`: the user's own mesh files as objects, at a real size, with the meta contract
(path, sha256, file_to_object) checked by recomputing masks and depth from the meta alone."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh
import trimesh.creation as tc

from raycast import edge_band, raycast
from render_fixtures import get_renderer
from segsim.cli import main
from segsim.dataset.meta import dumps_meta, frame_meta
from segsim.errors import SegsimError
from segsim.scene.config import load_scene_config
from segsim.scene.geometry import random_rotation
from segsim.scene.randomize import sample_scene
from segsim.scene.shapes import get_shape

Y_UP = np.array([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 0], [0, 0, 0, 1]])  # file y = world z


def widget(units: float = 100.0) -> trimesh.Trimesh:
    """A non-convex part: a post with a ring around it, y-up, in `units` per metre (cm)."""
    post = tc.box(extents=(0.2, 0.2, 1.0))
    ring = tc.torus(major_radius=0.35, minor_radius=0.08, major_sections=32, minor_sections=12)
    ring.apply_translation((0, 0, 0.2))
    part = trimesh.util.concatenate([post, ring])
    part.apply_transform(Y_UP)
    part.apply_scale(units)
    return part


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("assets")
    widget().export(root / "widget.obj")
    cone = tc.cone(radius=0.3, height=0.8, sections=24)
    cone.apply_transform(Y_UP)
    cone.export(root / "cone.ply")
    (root / "notes.txt").write_text("not a mesh")
    return root


def mesh_config(assets, **extra):
    widget_class = {
        "name": "widget",
        "shape": "mesh",
        "assets": str(assets),
        "height": [0.6, 0.9],
        "rotation": "yaw",
        **extra,
    }
    return load_scene_config(
        "shapes", overrides={"classes": [widget_class], "objects": {"count": [2, 4]}}
    )


def test_a_mesh_class_samples_files_at_their_real_size(assets):
    cfg = mesh_config(assets)
    seen = set()
    for i in range(12):
        scene = sample_scene(cfg, 3, i, 64, 64)
        for obj in scene.labelled_objects():
            s = obj.shape
            seen.add(s["path"])
            verts = trimesh.load(s["path"], force="mesh").vertices
            f2o = np.asarray(s["file_to_object"])
            local = verts @ f2o[:3, :3].T + f2o[:3, 3]
            # centimetres in the file, metres in the scene: the height is what the config says
            # (times objects.scale, 0.8-1.25 in the preset)
            assert 0.6 * 0.8 - 1e-9 <= np.ptp(local[:, 2]) <= 0.9 * 1.25 + 1e-9
            world = local @ np.asarray(obj.object_to_world)[:3, :3].T + obj.object_to_world[:3, 3]
            assert world[:, 2].min() >= -1e-6  # set on the ground (or above it), never into it
            kind = get_shape("mesh")
            assert np.linalg.norm(local, axis=1).max() <= kind.bounding_radius(s) * (1 + 1e-9)
    assert {p.rsplit("/", 1)[-1] for p in seen} == {"widget.obj", "cone.ply"}


def test_units_in_the_file_do_not_leak_into_the_scene(tmp_path):
    for units, name in ((1000.0, "mm"), (1.0, "m")):
        (tmp_path / name).mkdir()
        widget(units).export(tmp_path / name / "widget.obj")
    shapes = [
        sample_scene(mesh_config(tmp_path / name), 0, 0, 32, 32).labelled_objects()[0].shape
        for name in ("mm", "m")
    ]
    local = []
    for s in shapes:
        f2o = np.asarray(s["file_to_object"])
        local.append(trimesh.load(s["path"], force="mesh").vertices @ f2o[:3, :3].T + f2o[:3, 3])
    assert np.allclose(local[0], local[1], atol=1e-9)


def test_support_below_the_centre_matches_the_vertices(assets):
    rng = np.random.default_rng(5)
    shape = sample_scene(mesh_config(assets), 1, 0, 32, 32).labelled_objects()[0].shape
    f2o = np.asarray(shape["file_to_object"])
    local = trimesh.load(shape["path"], force="mesh").vertices @ f2o[:3, :3].T + f2o[:3, 3]
    for _ in range(20):
        R = random_rotation(rng)
        expected = -(local @ R.T)[:, 2].min()
        assert get_shape("mesh").depth_below_centre(shape, R) == pytest.approx(expected, abs=1e-9)


def test_the_meta_holds_the_contract_and_masks_recompute_from_it(assets):
    cfg = mesh_config(assets)
    checked = 0
    for index in range(4):
        scene = sample_scene(cfg, 7, index, 96, 80)
        frame = get_renderer(96, 80).render(scene)
        meta = json.loads(dumps_meta(frame_meta(scene, index, "train", 7)))
        for obj in meta["objects"]:
            if obj["shape"]["type"] == "mesh":
                shape = obj["shape"]
                assert set(shape) == {"type", "path", "sha256", "file_to_object"}
                digest = hashlib.sha256(Path(shape["path"]).read_bytes()).hexdigest()
                assert digest == shape["sha256"]
        oracle = raycast(meta)
        keep = ~edge_band(oracle["object_index"], width=1)
        hit = keep & (oracle["depth"] > 0)
        assert keep.mean() > 0.5
        assert np.mean(frame.class_ids[keep] == oracle["class_ids"][keep]) >= 0.995
        assert np.mean(frame.instance_ids[keep] == oracle["instance_ids"][keep]) >= 0.995
        rel = np.abs(frame.depth[hit] - oracle["depth"][hit]) / oracle["depth"][hit]
        assert np.mean(rel < 0.01) >= 0.995
        checked += int((frame.class_ids == 1).sum() > 0)
    assert checked >= 3  # the widgets were really in view


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "no triangles"),
        (b"v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no triangles"),  # a point cloud
        (b"v nan 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nv 1 1 1\nf 1 2 3\nf 2 3 4\nf 3 4 5\n", "NaN"),
        (b"\x00\x01garbage\xff" * 50, "mesh"),
    ],
)
def test_broken_mesh_files_are_clear_errors(tmp_path, content, words):
    (tmp_path / "bad.obj").write_bytes(content)
    with pytest.raises(SegsimError, match=words) as err:
        sample_scene(mesh_config(tmp_path), 0, 0, 32, 32)
    assert "bad.obj" in str(err.value)


def test_mesh_config_mistakes_name_the_field(tmp_path):
    with pytest.raises(SegsimError, match="no such file or folder"):
        sample_scene(mesh_config(tmp_path / "missing"), 0, 0, 32, 32)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SegsimError, match="names no mesh file"):
        sample_scene(mesh_config(tmp_path / "empty"), 0, 0, 32, 32)
    with pytest.raises(SegsimError, match="no height"):
        load_scene_config(
            "shapes",
            overrides={"classes": [{"name": "w", "shape": "mesh", "assets": str(tmp_path)}]},
        )
    with pytest.raises(SegsimError, match="for shape mesh only"):
        load_scene_config(
            "shapes",
            overrides={"classes": [{"name": "w", "shape": "box", "assets": str(tmp_path)}]},
        )
    with pytest.raises(SegsimError, match="mesh weight but no library"):
        load_scene_config("shapes", overrides={"distractors": {"shapes": {"mesh": 1.0}}})


def test_generate_with_a_users_mesh_class_from_the_cli(assets, tmp_path, capsys):
    config = tmp_path / "mine.yaml"
    config.write_text(
        f"classes:\n  - {{name: widget, shape: mesh, assets: '{assets}', "
        "height: [0.6, 0.9], rotation: yaw}\n"
    )
    out = tmp_path / "ds"
    assert (
        main(
            [
                "generate",
                "--config",
                str(config),
                "--count",
                "6",
                "--size",
                "48",
                "--out",
                str(out),
                "--workers",
                "1",
                "-q",
            ]
        )
        == 0
    )
    import yaml

    info = yaml.safe_load((out / "dataset.yaml").read_text())
    # the user's classes replace the preset's
    assert [lab["name"] for lab in info["labels"]] == ["background", "widget"]
    metas = [json.loads(p.read_text()) for p in sorted((out / "meta").rglob("*.json"))]
    kinds = {o["shape"]["type"] for m in metas for o in m["objects"] if not o["distractor"]}
    assert kinds == {"mesh"}
    assert main(["verify", str(out)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"classes:\n  - {{name: widget, shape: mesh, assets: '{tmp_path}/nothing*'}}\n")
    capsys.readouterr()
    assert (
        main(
            ["generate", "--config", str(bad), "--count", "2", "--out", str(tmp_path / "ds2"), "-q"]
        )
        == 2
    )
    assert "no height" in capsys.readouterr().err


ASSIMP = Path("/usr/share/assimp/models")


@pytest.mark.skipif(
    not ASSIMP.is_dir(), reason="Debian's assimp-testmodels (make setup installs it)"
)
@pytest.mark.parametrize(
    "relative",
    [
        "invalid/empty.obj",
        "invalid/malformed.obj",
        "invalid/empty.ply",
        "invalid/empty.off",
        "invalid/OutOfMemory.off",
        "invalid/empty.3ds",
        "OFF/invalid.off",
        "glTF2/BoxWithInfinites-glTF-Binary/BoxWithInfinites.glb",
        "glTF2/MissingBin/BoxTextured.gltf",
        "glTF2/wrongTypes/badArray.gltf",
    ],
)
def test_deliberately_broken_files_of_assimp_are_one_line_errors(tmp_path, relative):
    """assimp's own test models for broken input: each a SegsimError naming the file."""
    from segsim.assets.meshfile import MeshFiles

    with pytest.raises(SegsimError) as err:
        MeshFiles().get(str(ASSIMP / relative))
    assert Path(relative).name in err.value.problem and "\n" not in err.value.message


def test_a_truncated_glb_is_an_error_and_the_cli_exits_2(tmp_path, capsys):
    good = tmp_path / "box.glb"
    tc.box().export(good)
    data = good.read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "box.glb").write_bytes(data[: len(data) // 2])
    config = tmp_path / "c.yaml"
    config.write_text(f"classes:\n  - {{name: b, shape: mesh, assets: '{bad}', height: [1, 1]}}\n")
    out = tmp_path / "ds"
    assert (
        main(
            [
                "generate",
                "--config",
                str(config),
                "--count",
                "3",
                "--size",
                "32",
                "--out",
                str(out),
                "--workers",
                "1",
                "-q",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "box.glb" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (out / "manifest.jsonl").exists()  # nothing `segsim verify` would pass
    assert main(["verify", str(out)]) != 0


@pytest.fixture(scope="module")
def stool(tmp_path_factory):
    """A glTF file with two named parts: a seat and three legs (one geometry, instanced)."""
    seat = tc.cylinder(radius=0.35, height=0.08, sections=32)
    seat.apply_translation((0, 0, 0.7))
    leg = tc.cylinder(radius=0.04, height=0.7, sections=12)
    scene = trimesh.Scene()
    scene.add_geometry(seat, geom_name="seat_top", node_name="seat")
    for i, a in enumerate((0.0, 2.1, 4.2)):
        m = np.eye(4)
        m[:3, 3] = (0.25 * np.cos(a), 0.25 * np.sin(a), 0.35)
        scene.add_geometry(leg, geom_name="leg_geom", node_name=f"leg{i}", transform=m)
    path = tmp_path_factory.mktemp("stool") / "stool.glb"
    scene.export(path)
    return path


def parts_config(path):
    return load_scene_config(
        "shapes",
        overrides={
            "classes": [
                {
                    "name": "stool",
                    "shape": "mesh",
                    "assets": str(path),
                    "height": [0.8, 0.8],
                    "up": "z",
                    "rotation": "yaw",
                    "parts": {"leg*": "leg"},
                },
                {"name": "leg", "weight": 0},  # a label only: what the stool's legs are drawn as
            ],
            "objects": {"count": [2, 3]},
            "distractors": {"count": [0, 0]},
        },
    )


def test_parts_get_their_own_class_and_masks_recompute_from_the_meta(stool):
    cfg = parts_config(stool)
    assert [lab.name for lab in cfg.label_set().labels] == ["background", "stool", "leg"]
    seen = set()
    for index in range(3):
        scene = sample_scene(cfg, 2, index, 96, 80)
        frame = get_renderer(96, 80).render(scene)
        meta = json.loads(dumps_meta(frame_meta(scene, index, "train", 2)))
        for obj in meta["objects"]:
            if obj["shape"]["type"] == "mesh":
                parts = obj["shape"]["parts"]
                assert {p["name"]: p["class_id"] for p in parts}["seat_top"] == 1
                legs = [p for p in parts if p["name"].startswith("leg")]
                assert legs and all(p["class_id"] == 2 for p in legs)
        seen |= set(np.unique(frame.class_ids).tolist())
        oracle = raycast(meta)
        keep = ~(edge_band(oracle["object_index"], 1) | edge_band(oracle["class_ids"], 1))
        assert np.mean(frame.class_ids[keep] == oracle["class_ids"][keep]) >= 0.995
        assert np.mean(frame.instance_ids[keep] == oracle["instance_ids"][keep]) >= 0.995
    assert {1, 2} <= seen  # seats and legs were both in view, with their own classes
    # one object, two labels: the legs share the stool's instance id
    scene = sample_scene(cfg, 2, 0, 96, 80)
    frame = get_renderer(96, 80).render(scene)
    for inst in set(np.unique(frame.instance_ids).tolist()) - {0}:
        assert set(np.unique(frame.class_ids[frame.instance_ids == inst]).tolist()) <= {1, 2}


def test_part_mistakes_are_clear_errors(stool):
    with pytest.raises(SegsimError, match="not in classes"):
        load_scene_config(
            "shapes",
            overrides={
                "classes": [
                    {
                        "name": "stool",
                        "shape": "mesh",
                        "assets": str(stool),
                        "height": [1, 1],
                        "parts": {"leg*": "leg"},
                    }
                ]
            },
        )
    with pytest.raises(SegsimError, match="weight: 0"):
        load_scene_config("shapes", overrides={"classes": [{"name": "leg"}]})
    with pytest.raises(SegsimError, match="parts are for shape mesh only"):
        load_scene_config(
            "shapes",
            overrides={"classes": [{"name": "box", "shape": "box", "parts": {"a": "box"}}]},
        )
