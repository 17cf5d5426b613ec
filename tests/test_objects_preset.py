"""Library models as classes: the `objects` preset (Debian's sweethome3d-furniture), catalog
sizes, patterns and exclusions, and the CREDITS.md a dataset drawn with them carries."""

from __future__ import annotations

import fnmatch
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from segsim.dataset.generate import generate_dataset
from segsim.scene.config import load_scene_config
from segsim.scene.randomize import sample_scene

pytestmark = pytest.mark.skipif(
    not Path("/usr/share/sweethome3d/furniture").is_dir(),
    reason="Debian's sweethome3d-furniture is not installed (make setup installs it)",
)


@pytest.fixture(scope="module")
def cfg():
    return load_scene_config("objects")


def object_frame_vertices(shape) -> np.ndarray:
    f2o = np.asarray(shape["file_to_object"])
    return trimesh.load(shape["path"], force="mesh").vertices @ f2o[:3, :3].T + f2o[:3, 3]


def test_objects_preset_draws_library_models_at_their_catalog_size(cfg):
    from segsim.assets.library import list_libraries

    by_id = {e.id: e for e in list_libraries()["sweethome3d"]}
    checked = 0
    for i in range(6):
        scene = sample_scene(cfg, 1, i, 128, 128)
        assert scene.ground is not None and len(scene.labelled_objects()) >= 1
        for obj in scene.labelled_objects()[:2]:
            shape = obj.shape
            entry = by_id[shape["asset"]["id"]]
            extent = np.ptp(object_frame_vertices(shape), axis=0)
            w, d, h = (v / 100 for v in entry.size_cm)
            # width along x, depth along y, height up; times objects.scale (0.9-1.1)
            ratio = extent / np.array([w, d, h])
            assert 0.9 - 1e-6 <= ratio.min() and ratio.max() <= 1.1 + 1e-6, (entry.name, ratio)
            assert np.ptp(ratio) < 1e-6  # one uniform scale on top of the catalog's size
            checked += 1
    assert checked >= 6


def test_distractors_leave_out_the_labelled_kinds(cfg):
    excluded = cfg.distractors.library.exclude
    names = []
    for i in range(10):
        for obj in sample_scene(cfg, 2, i, 64, 64).objects:
            if obj.distractor and obj.shape["type"] == "mesh":
                names.append(obj.shape["asset"]["name"].casefold())
    assert names, "the preset should draw library distractors"
    assert not [n for n in names if any(fnmatch.fnmatchcase(n, x.casefold()) for x in excluded)]


def test_the_level_of_detail_tolerance_reaches_every_model_drawn(cfg):
    """objects.lod_tolerance_px is on every mesh shape, labelled or distractor; at the
    renderer's own bound the shapes carry nothing (and are as before the setting existed)."""
    from segsim.scene.shapes.mesh import LOD_TOLERANCE_PX

    assert cfg.objects.lod_tolerance_px == 1.0
    own = cfg.model_copy(
        update={"objects": cfg.objects.model_copy(update={"lod_tolerance_px": LOD_TOLERANCE_PX})}
    )
    seen = {True: set(), False: set()}
    for i in range(6):
        for o in sample_scene(cfg, 0, i, 64, 64).objects:
            if o.shape["type"] == "mesh":
                seen[o.distractor].add(o.shape["lod_px"])
        for o in sample_scene(own, 0, i, 64, 64).objects:
            assert "lod_px" not in o.shape
    assert seen == {True: {1.0}, False: {1.0}}
    assert "lod_tolerance_px" not in own.model_dump(mode="json")["objects"]


def test_a_dataset_of_library_models_credits_every_model_it_used(cfg, tmp_path):
    out = tmp_path / "ds"
    generate_dataset(out, cfg, 5, 96, 96, seed=4, workers=1, progress=False, preset="objects")
    used = set()
    for meta in (out / "meta").rglob("*.json"):
        for obj in json.loads(meta.read_text())["objects"]:
            if "asset" in obj["shape"]:
                used.add(obj["shape"]["asset"]["id"])
                assert set(obj["shape"]) == {"type", "path", "sha256", "file_to_object", "asset"}
    credits = (out / "CREDITS.md").read_text()
    lines = [line for line in credits.splitlines() if line.startswith("- ")]
    assert len(lines) == len(used) and all(any(f"({i})" in line for line in lines) for i in used)
    assert "Creative Commons Attribution" in credits and (out / "manifest.jsonl").is_file()


def test_segsim_assets_lists_and_shows_a_category(tmp_path, capsys):
    from PIL import Image

    from segsim.cli import main

    assert main(["assets"]) == 0
    text = capsys.readouterr().out
    assert "sweethome3d: 820 models" in text and "Living room" in text and "Vehicles" in text
    sheet = tmp_path / "lamps.png"
    assert (
        main(
            [
                "assets",
                "show",
                "Lights",
                "--name",
                "*lamp*",
                "--count",
                "4",
                "--tile",
                "64",
                "--out",
                str(sheet),
            ]
        )
        == 0
    )
    img = np.asarray(Image.open(sheet))
    assert img.shape[1] == 4 * 64 and img.std() > 5  # four tiles, with something drawn in them
    capsys.readouterr()
    assert main(["assets", "show", "No such category"]) == 2
    err = capsys.readouterr().err
    assert "no sweethome3d model matches" in err and "Living room" in err  # lists what exists
