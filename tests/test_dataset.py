"""Dataset folder: splits, encoding, meta, manifest, verify, resume rules, contact sheet.

Uses the numpy sphere fake (test_dataset_fake) in this process, so these run in about a second;
tests/test_generate_workers.py and tests/test_cli_generate.py cover processes and the real renderer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image

from segsim.dataset.generate import generate_dataset
from segsim.dataset.layout import PASSES, SPLITS, frame_id, frame_paths
from segsim.dataset.meta import dumps_meta, frame_meta
from segsim.dataset.show import sheet_size, tile_size, write_contact_sheet
from segsim.dataset.splits import check_fractions, split_counts, split_of, splits_of
from segsim.dataset.verify import verify_dataset
from segsim.dataset.writer import depth_to_mm, encode_frame
from segsim.errors import SegsimError
from segsim.scene.spec import Camera, Scene
from test_dataset_fake import FAKE_SOURCE, FakeConfig, fake_render, fake_scene


def gen(out, count=12, w=40, h=30, seed=1, cfg=None, **kw):
    kw.setdefault("workers", 1)
    return generate_dataset(
        out,
        cfg or FakeConfig(),
        count,
        w,
        h,
        seed=seed,
        progress=False,
        frame_source=FAKE_SOURCE,
        **kw,
    )


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- splits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fractions", [(0.8, 0.1, 0.1), (0.5, 0.5, 0.0), (0.7, 0.0, 0.3), (1.0, 0.0, 0.0)]
)
def test_split_counts_are_close_to_exact_for_every_prefix(fractions):
    names = [split_of(i, fractions) for i in range(600)]
    for n in range(1, 601):
        for k, split in enumerate(SPLITS):
            got = names[:n].count(split)
            assert abs(got - fractions[k] * n) <= 2.5, (n, split, got)
            if fractions[k] == 0:
                assert got == 0
    assert split_counts(600, fractions) == {s: names.count(s) for s in SPLITS}


def test_adding_frames_never_moves_old_ones():
    assert splits_of(1000)[:137] == splits_of(137) == [split_of(i) for i in range(137)]


@pytest.mark.parametrize(
    "bad", [(0.8, 0.1), (0.8, 0.3, 0.1), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1), ("a", 1, 2)]
)
def test_bad_fractions_are_user_errors(bad):
    with pytest.raises(SegsimError, match="split fractions"):
        check_fractions(bad)


# --- encoding ---------------------------------------------------------------------------------


def test_depth_to_mm_rounds_clips_and_keeps_misses_zero():
    d = np.array([[0.0, 1.2346, 70.0], [1e-5, np.nan, -1.0]], np.float32)
    assert depth_to_mm(d).tolist() == [[0, 1235, 65535], [1, 0, 0]]
    assert depth_to_mm(d).dtype == np.uint16


def test_encoded_files_decode_to_the_frame():
    cfg = FakeConfig()
    scene = fake_scene(cfg, 5, 3, 48, 32)
    frame = fake_render(scene, [5, 3])
    files = encode_frame(frame, frame_meta(scene, 3, "train", 5))

    def decode(b):
        return cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_UNCHANGED)

    # RGB order checked with an independent decoder (PIL), ids and depth with OpenCV.
    import io

    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(files["images"])).convert("RGB")), frame.rgb
    )
    assert np.array_equal(decode(files["labels"]), frame.class_ids)
    inst = decode(files["instances"])
    assert inst.dtype == np.uint16 and np.array_equal(inst, frame.instance_ids)
    depth = decode(files["depth"])
    hit = frame.depth > 0
    assert depth.dtype == np.uint16 and np.array_equal(depth == 0, ~hit)
    assert np.abs(depth[hit] / 1000.0 - frame.depth[hit]).max() <= 0.0005 + 1e-6


def test_meta_lists_every_object_and_recomputes_the_masks():
    cfg = FakeConfig(balls=4)
    scene = fake_scene(cfg, 9, 2, 64, 48)
    meta = json.loads(dumps_meta(frame_meta(scene, 2, "val", 9)))
    assert [o["instance_id"] for o in meta["objects"]] == [o.instance_id for o in scene.objects]
    assert any(o["distractor"] and o["class_id"] == 0 for o in meta["objects"])
    assert (
        np.allclose(meta["camera"]["K"], scene.camera.K)
        and meta["width"] == 64
        and meta["height"] == 48
    )
    # Rebuild the scene from the JSON alone and ray-cast it: the masks must match exactly.
    from segsim.scene.spec import Material, SceneObject

    objs = [
        SceneObject(
            o["shape"],
            np.array(o["object_to_world"]),
            Material(tuple(o["material"]["color"])),
            o["class_id"],
            o["class"],
            o["instance_id"],
            o["distractor"],
        )
        for o in meta["objects"]
    ]
    cam = Camera(np.array(meta["camera"]["K"]), np.array(meta["camera"]["world_to_camera"]), 64, 48)
    again = fake_render(Scene(cam, objs, []), [9, 2])
    first = fake_render(scene, [9, 2])
    assert np.array_equal(again.class_ids, first.class_ids)
    assert np.array_equal(again.instance_ids, first.instance_ids)
    assert np.abs(again.depth - first.depth).max() < 1e-5


def test_meta_bytes_are_canonical():
    scene = fake_scene(FakeConfig(), 1, 1, 32, 32)
    scene.objects[0].object_to_world[0, 1] = -0.0
    scene.objects[0].object_to_world[0, 0] = 1.0 + 1e-15  # below the fixed precision
    text = dumps_meta(frame_meta(scene, 1, "train", 1)).decode()
    assert text == dumps_meta(json.loads(text)).decode()  # sorted keys, stable floats
    import re

    assert not re.search(r"-0\.0[,\]]", text) and "1.000000000000001" not in text
    assert json.loads(text)["objects"][0]["object_to_world"][0][:2] == [1.0, 0.0]
    # the cached encoder writes exactly what json.dumps with the documented options writes
    meta = frame_meta(scene, 1, "train", 1)
    meta["objects"][0]["class"] = 'bôte "à" lettres'
    assert (
        dumps_meta(meta)
        == (
            json.dumps(meta, sort_keys=True, separators=(",", ":"), allow_nan=False) + "\n"
        ).encode()
    )


# --- the folder -------------------------------------------------------------------------------


def test_folder_layout_dataset_yaml_and_manifest(tmp_path):
    res = gen(tmp_path / "ds", count=20, fractions=(0.6, 0.2, 0.2))
    root = tmp_path / "ds"
    info = yaml.safe_load((root / "dataset.yaml").read_text())
    assert set(info) >= {
        "segsim_version",
        "preset",
        "seed",
        "width",
        "height",
        "count",
        "labels",
        "ignore_index",
        "splits",
        "split_fractions",
        "config",
    }
    assert info["splits"] == split_counts(20, (0.6, 0.2, 0.2)) == res.splits
    assert [lab["name"] for lab in info["labels"]] == ["background", "ball"]
    assert (
        info["config"] == FakeConfig().model_dump()
        and info["seed"] == 1
        and (info["width"], info["height"]) == (40, 30)
    )
    lines = (root / "manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == list(range(20))
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} - {
        "dataset.yaml",
        "manifest.jsonl",
    }
    listed = {}
    for line in lines:
        e = json.loads(line)
        assert e["split"] == split_of(e["index"], (0.6, 0.2, 0.2))
        listed.update(e["files"])
        for path in frame_paths(root, e["split"], frame_id(e["index"])).values():
            assert path.is_file(), path
    assert set(listed) == on_disk and len(on_disk) == 20 * len(PASSES)
    for rel, digest in listed.items():
        assert hashlib.sha256((root / rel).read_bytes()).hexdigest() == digest
    img = cv2.imread(str(root / next(r for r in listed if r.startswith("images/"))))
    assert img.shape == (30, 40, 3)


def test_different_seeds_differ_and_same_seed_repeats(tmp_path):
    gen(tmp_path / "a", seed=1)
    gen(tmp_path / "b", seed=1)
    gen(tmp_path / "c", seed=2)
    a, b, c = (tree_bytes(tmp_path / n) for n in "abc")
    assert a == b
    labels = [k for k in a if k.startswith("labels/")]
    assert sum(a[k] != c[k] for k in labels) >= len(labels) - 1


def test_verify_names_deleted_and_corrupted_files(tmp_path):
    root = tmp_path / "ds"
    gen(root)
    assert verify_dataset(root).ok
    gone = frame_paths(root, split_of(3), frame_id(3))["labels"]
    bad = frame_paths(root, split_of(5), frame_id(5))["depth"]
    gone.unlink()
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0x01
    bad.write_bytes(bytes(data))
    rep = verify_dataset(root)
    assert not rep.ok
    assert rep.missing == [gone.relative_to(root).as_posix()]
    assert rep.corrupt == [bad.relative_to(root).as_posix()]


def test_verify_reports_an_unfinished_dataset_and_refuses_other_folders(tmp_path):
    root = tmp_path / "ds"
    gen(root)
    (root / "manifest.jsonl").unlink()
    rep = verify_dataset(root)
    assert not rep.ok and "did not finish" in rep.problems[0]
    with pytest.raises(SegsimError, match="not a segsim dataset"):
        verify_dataset(tmp_path)


@pytest.mark.parametrize(
    "change, field",
    [
        (dict(seed=2), "seed"),
        (dict(w=41), "width"),
        (dict(h=31), "height"),
        (dict(cfg=FakeConfig(balls=4)), "config.balls"),
        (dict(fractions=(0.7, 0.2, 0.1)), "split_fractions"),
    ],
)
def test_resume_with_other_settings_is_refused_naming_the_setting(tmp_path, change, field):
    root = tmp_path / "ds"
    gen(root)
    before = tree_bytes(root)
    with pytest.raises(SegsimError, match=f"different settings: {field}"):
        gen(root, **change)
    assert tree_bytes(root) == before  # nothing touched


def test_foreign_or_shrinking_out_folder_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SegsimError, match="not empty and is not a segsim dataset"):
        gen(tmp_path)
    gen(tmp_path / "ds", count=12)
    with pytest.raises(SegsimError, match="would shrink"):
        gen(tmp_path / "ds", count=5)


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(count=0), "count"),
        (dict(w=4), "width"),
        (dict(h=99999), "height"),
        (dict(seed=-1), "seed"),
        (dict(workers=-2), "workers"),
    ],
)
def test_bad_arguments_are_user_errors(tmp_path, kw, match):
    # the library names its parameter (the CLI shows its flag instead: test_cli_generate)
    with pytest.raises(SegsimError, match=f"^{match} must be") as caught:
        gen(tmp_path / "ds", **kw)
    assert caught.value.param == match and caught.value.renamed(f"--{match}").problem.startswith(
        f"--{match} "
    )
    assert not (tmp_path / "ds").exists()


def test_extending_the_count_gives_the_same_bytes_as_one_run(tmp_path):
    gen(tmp_path / "once", count=20)
    gen(tmp_path / "twice", count=11)
    res = gen(tmp_path / "twice", count=20)
    assert (res.reused, res.rendered) == (11, 9)
    assert tree_bytes(tmp_path / "once") == tree_bytes(tmp_path / "twice")


def test_resume_redoes_frames_without_meta_and_drops_temp_files(tmp_path):
    ref, root = tmp_path / "ref", tmp_path / "ds"
    gen(ref)
    gen(root)
    # What a kill leaves behind: a frame whose meta never got written (its image half-replaced
    # by junk from elsewhere), a stray temp file, and no manifest.
    paths = frame_paths(root, split_of(4), frame_id(4))
    paths["meta"].unlink()
    paths["images"].write_bytes(b"junk")
    (paths["labels"].parent / ".000004.png.999.tmp").write_bytes(b"half")
    (root / "manifest.jsonl").unlink()
    res = gen(root)
    assert res.rendered == 1 and res.reused == 11
    assert tree_bytes(root) == tree_bytes(ref)


def test_resume_redoes_frames_whose_files_are_damaged(tmp_path):
    ref, root = tmp_path / "ref", tmp_path / "ds"
    gen(ref)
    gen(root)
    # What a power cut without fsync can leave: renamed files that are empty or cut short.
    frame_paths(root, split_of(2), frame_id(2))["depth"].write_bytes(b"")
    img = frame_paths(root, split_of(6), frame_id(6))["images"]
    img.write_bytes(img.read_bytes()[:-20])
    meta = frame_paths(root, split_of(9), frame_id(9))["meta"]
    meta.write_bytes(meta.read_bytes()[:10])
    (root / "manifest.jsonl").unlink()
    res = gen(root)
    assert (res.rendered, res.reused) == (3, 9)
    assert tree_bytes(root) == tree_bytes(ref)


def test_show_writes_a_sheet_of_the_right_size(tmp_path):
    root = tmp_path / "ds"
    gen(root, count=12, w=40, h=30)
    out = write_contact_sheet(root, tmp_path / "sheet.png", count=5, split="train")
    sheet = np.asarray(Image.open(out))
    w, h = sheet_size(40, 30, 5)
    assert sheet.shape == (h, w, 3) and (w, h) == (4 * 40, 24 + 5 * 30)
    # Row 0 starts with the first train frame's image, unscaled.
    first = next(i for i in range(12) if split_of(i) == "train")
    img = np.asarray(
        Image.open(frame_paths(root, "train", frame_id(first))["images"]).convert("RGB")
    )
    assert np.array_equal(sheet[24:54, 0:40], img)
    assert tile_size(1024, 512) == (256, 128)
    with pytest.raises(SegsimError, match="split"):
        write_contact_sheet(root, tmp_path / "s.png", split="nope")
