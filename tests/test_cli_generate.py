"""`segsim generate | verify | show | presets` end to end, with the real randomizer and renderer.

Small frames and counts so the whole file runs in seconds even on a busy 2-core machine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segsim.cli import main
from segsim.dataset.layout import frame_id, frame_paths
from segsim.dataset.show import sheet_size
from segsim.dataset.splits import split_of

SIZE = ["--width", "48", "--height", "40"]


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def run(capsys, *args) -> tuple[int, str]:
    rc = main([str(a) for a in args])
    cap = capsys.readouterr()
    return rc, cap.out + cap.err


def generate(capsys, out, count=8, *extra):
    rc, text = run(
        capsys, "generate", "--count", count, *SIZE, "--seed", 5, "--out", out, "-q", *extra
    )
    assert rc == 0, text
    return text


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The same 8 frames made by 1 worker (in this process) and by 2 spawned workers."""
    tmp = tmp_path_factory.mktemp("determinism")
    for w in (1, 2):
        assert (
            main(
                [
                    "generate",
                    "--count",
                    "8",
                    *SIZE,
                    "--seed",
                    "5",
                    "--out",
                    str(tmp / f"w{w}"),
                    "-q",
                    "--workers",
                    str(w),
                ]
            )
            == 0
        )
    return tmp / "w1", tmp / "w2"


def test_worker_counts_give_identical_bytes(two_runs, tmp_path, capsys):
    one, two = (tree_bytes(r) for r in two_runs)
    # 5 files a frame, dataset.yaml, the manifest and CREDITS.md (the preset's photo backgrounds)
    assert len(one) == 8 * 5 + 3 and "CREDITS.md" in one
    for kind in (
        "labels/",
        "instances/",
        "depth/",
        "meta/",
        "images/",
        "manifest",
        "dataset.yaml",
        "CREDITS.md",
    ):
        assert {k: v for k, v in one.items() if k.startswith(kind)} == {
            k: v for k, v in two.items() if k.startswith(kind)
        }, kind
    generate(capsys, tmp_path / "s6", 8, "--seed", 6, "--workers", 1)
    six = tree_bytes(tmp_path / "s6")
    labels = [k for k in one if k.startswith("labels/")]
    assert sum(one[k] != six[k] for k in labels) >= len(labels) - 1


def test_kill_9_mid_run_then_same_command_finishes_with_identical_bytes(tmp_path, capsys):
    out, count = tmp_path / "killed", 16
    cmd = [
        sys.executable,
        "-m",
        "segsim",
        "generate",
        "--count",
        str(count),
        *SIZE,
        "--seed",
        "5",
        "--out",
        str(out),
        "--workers",
        "2",
        "-q",
    ]
    proc = subprocess.Popen(
        cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.time() + 120
        while len(list(out.glob("meta/*/*.json"))) < 3:
            assert proc.poll() is None, (
                f"generate ended before the kill: {proc.stderr.read().decode()}"
            )
            assert time.time() < deadline, "generate never wrote a frame"
            time.sleep(0.01)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # parent and workers, wherever they are
        proc.wait()
    assert not (out / "manifest.jsonl").exists()
    assert len(list(out.glob("meta/*/*.json"))) < count
    rc, text = run(capsys, "verify", out)
    assert rc == 1 and "did not finish" in text

    text = generate(
        capsys, out, count, "--workers", 1
    )  # in this process: no second start-up to pay
    assert "kept from an earlier run" in text
    generate(capsys, tmp_path / "ref", count, "--workers", 1)
    assert tree_bytes(out) == tree_bytes(tmp_path / "ref")  # RGB included
    assert run(capsys, "verify", out)[0] == 0


def test_verify_names_missing_and_corrupt_files(tmp_path, capsys):
    root = tmp_path / "ds"
    generate(capsys, root, 6, "--workers", 1)
    rc, text = run(capsys, "verify", root)
    assert rc == 0 and "ok, 6 frames, 30 files" in text
    gone = frame_paths(root, split_of(1), frame_id(1))["instances"]
    bad = frame_paths(root, split_of(2), frame_id(2))["meta"]
    gone.unlink()
    bad.write_text(bad.read_text().replace('"index":2', '"index":3'))
    rc, text = run(capsys, "verify", root)
    assert rc == 1
    assert f"missing: {gone.relative_to(root).as_posix()}" in text
    assert f"corrupt: {bad.relative_to(root).as_posix()}" in text
    assert "1 missing, 1 corrupt of 30 files" in text


def test_show_and_presets(tmp_path, capsys):
    root = tmp_path / "ds"
    generate(capsys, root, 6, "--workers", 1)
    rc, text = run(capsys, "show", root, "--count", 4, "--out", tmp_path / "sheet.png")
    assert rc == 0, text
    w, h = sheet_size(48, 40, 4)
    assert np.asarray(Image.open(tmp_path / "sheet.png")).shape == (h, w, 3)
    rc, text = run(capsys, "presets")
    assert rc == 0 and "shapes" in text and "cube" in text


def _bad_config(tmp_path: Path) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text("objects:\n  cuont: [1, 2]\n")
    return p


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--count", 0], "--count"),
        (["--count", 4, "--size", 4], "--width"),
        (["--count", 4, "--height", 100000], "--height"),
        (["--count", 4, "--seed", -3], "--seed"),
        (["--count", 4, "--workers", -1], "--workers"),
        (["--count", 4, "--splits", "0.5,0.6,0.1"], "split fractions"),
        (["--count", 4, "--splits", "a,b,c"], "--splits"),
        (["--count", 4, "--preset", "nosuchpreset"], "nosuchpreset"),
        (["--count", 4, "--config", "CONFIG"], "objects.cuont"),
        (["--count", 4, "--config", "/nonexistent/x.yaml"], "config file not found"),
        (["--count", 4, "--set", "camera.fov_deg=banana"], "camera.fov_deg"),
        (["--count", 4, "--set", "nonsense"], "key=value"),
        (["--count", "four"], "--count"),
    ],
)
def test_flag_and_config_errors_exit_2_naming_the_problem(tmp_path, capsys, args, needle):
    args = [_bad_config(tmp_path) if a == "CONFIG" else a for a in args]
    rc, text = run(capsys, "generate", "--out", tmp_path / "ds", "-q", *args)
    assert rc == 2, text
    assert needle in text and "Traceback" not in text
    assert not (tmp_path / "ds").exists()


def test_a_bad_mesh_cache_bound_exits_2_before_anything_is_written(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SEGSIM_MESH_CACHE_MB", "lots")
    rc, text = run(capsys, "generate", "--count", 2, *SIZE, "--out", tmp_path / "ds", "-q")
    assert rc == 2 and "SEGSIM_MESH_CACHE_MB='lots'" in text and "Traceback" not in text
    assert not (tmp_path / "ds").exists()


def test_out_folder_errors_exit_2(tmp_path, capsys):
    (tmp_path / "stuff").mkdir()
    (tmp_path / "stuff" / "x.txt").write_text("mine")
    rc, text = run(capsys, "generate", "--count", 2, *SIZE, "--out", tmp_path / "stuff", "-q")
    assert rc == 2 and "not empty and is not a segsim dataset" in text
    generate(capsys, tmp_path / "ds", 3, "--workers", 1)
    rc, text = run(
        capsys, "generate", "--count", 3, *SIZE, "--seed", 9, "--out", tmp_path / "ds", "-q"
    )
    assert rc == 2 and "different settings: seed" in text
    rc, text = run(
        capsys,
        "generate",
        "--count",
        3,
        *SIZE,
        "--seed",
        5,
        "--out",
        tmp_path / "ds",
        "-q",
        "--set",
        "objects.count=[1,1]",
    )
    assert rc == 2 and "different settings: config.objects.count" in text


@pytest.mark.parametrize(
    "cmd",
    [
        ["verify", "HERE"],
        ["show", "HERE", "--out", "OUT/s.png"],
        ["show", "DS", "--count", "0", "--out", "OUT/s.png"],
        ["show", "DS", "--out", "OUT/s.jpg"],
        ["show", "DS", "--split", "dev", "--out", "OUT/s.png"],
    ],
)
def test_verify_and_show_refuse_bad_input_with_exit_2(tmp_path, capsys, cmd):
    if "DS" in cmd:
        generate(capsys, tmp_path / "ds", 2, "--workers", 1)
    args = [
        str(tmp_path)
        if a == "HERE"
        else str(tmp_path / "ds")
        if a == "DS"
        else a.replace("OUT", str(tmp_path))
        for a in cmd
    ]
    rc, text = run(capsys, *args)
    assert rc == 2, text
    assert "error:" in text and "Traceback" not in text


def test_python_m_segsim_exits_2_without_a_traceback(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "segsim", "generate", "--count", "0", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "--count" in r.stderr and "Traceback" not in r.stderr


def test_masks_and_depth_on_disk_are_recomputed_from_the_meta_json_alone(two_runs):
    """The dataset's promise: meta JSON -> independent ray cast (tests/raycast.py, no renderer
    code) -> the class, instance and depth PNGs, away from 1-pixel edges."""
    import json

    import cv2

    from raycast import edge_band, raycast

    root = two_runs[0]
    checked = 0
    for meta_path in sorted(root.glob("meta/*/*.json")):
        meta = json.loads(meta_path.read_text())
        paths = frame_paths(root, meta["split"], meta["id"])
        read = lambda p: cv2.imread(str(p), cv2.IMREAD_UNCHANGED)  # noqa: E731
        labels, inst, depth_mm = (
            read(paths["labels"]),
            read(paths["instances"]),
            read(paths["depth"]),
        )
        assert labels.shape == (meta["height"], meta["width"])
        oracle = raycast(meta)
        keep = ~edge_band(oracle["object_index"], width=1)
        hit = keep & (oracle["depth"] > 0)
        assert keep.mean() > 0.5
        assert np.mean(labels[keep] == oracle["class_ids"][keep]) >= 0.995
        assert np.mean(inst[keep] == oracle["instance_ids"][keep]) >= 0.995
        assert np.mean((depth_mm[keep] == 0) == (oracle["depth"][keep] == 0)) >= 0.995
        rel = np.abs(depth_mm[hit] / 1000.0 - oracle["depth"][hit]) / oracle["depth"][hit]
        assert np.mean(rel < 0.01) >= 0.995
        checked += 1
    assert checked == 8
