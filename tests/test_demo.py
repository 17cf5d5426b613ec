"""`segsim demo --no-serve`: the whole mission on a small budget, through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_demo_no_serve_leaves_data_run_onnx_and_eval(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "segsim",
            "demo",
            "--no-serve",
            "--out",
            str(out),
            "--count",
            "40",
            "--size",
            "64",
            "--minutes",
            "0.15",
            "--workers",
            "1",
            "--train-arg",
            "input.size=64",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # Every step announced itself with the command a user would type.
    for cmd in ("segsim generate", "segsim train", "segsim evaluate", "segsim export"):
        assert cmd in proc.stdout
    assert (out / "data" / "dataset.yaml").is_file() and (out / "data" / "manifest.jsonl").is_file()
    assert (out / "run" / "best.ckpt").is_file()
    assert (out / "model.onnx").stat().st_size > 1000
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    assert set(metrics["per_class"]) == {"background", "cube", "sphere", "cylinder"}
    assert 0.0 <= metrics["miou"] <= 1.0 and 0.0 <= metrics["pixel_accuracy"] <= 1.0
    assert (out / "eval" / "confusion.png").is_file() and (out / "eval" / "samples.png").is_file()

    # The exported model serves the same predictions as the checkpoint it came from.
    from segsim.fileio import read_image
    from segsim.infer.predictor import Predictor

    image = read_image(next((out / "data" / "images" / "test").glob("*.png")))
    torch_mask = Predictor.load(out / "run").predict(image)
    onnx_mask = Predictor.load(out / "model.onnx").predict(image)
    assert (torch_mask == onnx_mask).mean() > 0.999
    assert np.unique(torch_mask).max() < 4


def test_demo_bad_budget_is_a_usage_error(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "segsim",
            "demo",
            "--no-serve",
            "--out",
            str(tmp_path / "d"),
            "--count",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "d" / "data").exists()
