"""segsim evaluate on a tiny dataset whose confusion matrix is worked out by hand."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from segsim.cli import main
from segsim.infer.evaluate import evaluate
from segsim.infer.export import export_onnx
from segsim.infer.images import write_png
from segsim.infer.predictor import Predictor
from test_infer_helpers import paint, probe_labels, write_checkpoint

H, W = 32, 48  # the checkpoint's input size, so the probe's predictions are exactly the paint
BG, RED, GREEN, BLUE = 0, 1, 2, 3


def _frames():
    """(painted classes = what the probe predicts, ground truth) for two frames."""
    paint1 = np.full((H, W), GREEN, np.uint8)
    paint1[:, :24] = RED
    gt1 = paint1.copy()
    gt1[16:, 24:] = BLUE  # 16 x 24 = 384 blue pixels predicted green

    paint2 = np.full((H, W), BG, np.uint8)
    paint2[:8, :8] = BLUE
    gt2 = paint2.copy()
    gt2[:4, :8] = 255  # 32 pixels ignored
    gt2[20:24, 20:24] = RED  # 16 red pixels predicted background
    return [(paint1, gt1), (paint2, gt2)]


def _write_dataset(root, labels):
    (root / "dataset.yaml").parent.mkdir(parents=True, exist_ok=True)
    (root / "dataset.yaml").write_text(
        yaml.safe_dump(
            {"labels": labels.to_dict()["labels"], "ignore_index": 255, "width": W, "height": H}
        )
    )
    for i, (p, gt) in enumerate(_frames()):
        write_png(root / "images" / "test" / f"{i:06d}.png", paint(p))
        write_png(root / "labels" / "test" / f"{i:06d}.png", gt)
    return root


# Hand-computed from the regions above: rows = ground truth, columns = prediction.
#   background: 48*32 - 64 - 16 = 1456 predicted background
#   red:        32*24 = 768 predicted red (frame 1) + 16 predicted background (frame 2)
#   green:      16*24 = 384 predicted green
#   blue:       384 predicted green (frame 1) + 4*8 = 32 predicted blue (frame 2)
TP = {"background": 1456, "red": 768, "green": 384, "blue": 32}
GT = {"background": 1456, "red": 784, "green": 384, "blue": 416}
PRED = {"background": 1472, "red": 768, "green": 768, "blue": 32}


def _expected():
    iou = {c: TP[c] / (GT[c] + PRED[c] - TP[c]) for c in TP}
    dice = {c: 2 * TP[c] / (GT[c] + PRED[c]) for c in TP}
    return iou, dice, sum(TP.values()) / sum(GT.values())


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("eval")
    data = _write_dataset(d / "data", probe_labels())
    ckpt = write_checkpoint(d / "run" / "best.ckpt", input_size=(H, W))
    return data, ckpt


def test_metrics_match_the_hand_computation(setup, tmp_path):
    data, ckpt = setup
    iou, dice, acc = _expected()
    r = evaluate(Predictor.load(ckpt), data, split="test", out=tmp_path / "ev", progress=False)
    assert r["miou"] == pytest.approx(sum(iou.values()) / 4)
    assert r["pixel_accuracy"] == pytest.approx(acc)
    for c in TP:
        assert r["per_class"][c]["iou"] == pytest.approx(iou[c]), c
        assert r["per_class"][c]["dice"] == pytest.approx(dice[c]), c
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert {"miou", "pixel_accuracy", "per_class"} <= set(saved)
    assert set(saved["per_class"]) == set(TP)
    assert all({"iou", "dice"} <= set(v) for v in saved["per_class"].values())
    assert saved["miou"] == pytest.approx(r["miou"])
    for name in ("confusion.png", "samples.png"):
        with Image.open(tmp_path / "ev" / name) as im:
            assert im.width > 200 and im.height > 200


def test_onnx_model_and_cli_give_the_same_numbers(setup, tmp_path, capsys):
    data, ckpt = setup
    onnx_path = tmp_path / "m.onnx"
    export_onnx(ckpt, onnx_path)
    out = tmp_path / "ev"
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(onnx_path),
                "--data",
                str(data),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "green" in printed and "mIoU" in printed
    saved = json.loads((out / "metrics.json").read_text())
    iou, _, acc = _expected()
    assert saved["miou"] == pytest.approx(sum(iou.values()) / 4)
    assert saved["pixel_accuracy"] == pytest.approx(acc)
    assert saved["backend"] == "onnx"
    # flip TTA on a per-pixel model changes nothing
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(ckpt.parent),
                "--data",
                str(data),
                "--out",
                str(tmp_path / "f"),
                "--tta",
                "flip",
                "--quiet",
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "f" / "metrics.json").read_text())["miou"] == pytest.approx(
        saved["miou"]
    )


def test_evaluate_errors_exit_2(setup, tmp_path, capsys):
    data, ckpt = setup
    assert (
        main(["evaluate", "--model", str(tmp_path / "none.ckpt"), "--data", str(data), "--quiet"])
        == 2
    )
    assert (
        main(["evaluate", "--model", str(ckpt), "--data", str(tmp_path / "nodata"), "--quiet"]) == 2
    )
    assert (
        main(["evaluate", "--model", str(ckpt), "--data", str(data), "--split", "val", "--quiet"])
        == 2
    )
    assert (
        main(["evaluate", "--model", str(ckpt), "--data", str(data), "--tta", "spin", "--quiet"])
        == 2
    )
    from segsim.labels import LabelSet

    more = _write_dataset(tmp_path / "more", LabelSet.from_names(["a", "b", "c", "d", "e", "f"]))
    assert main(["evaluate", "--model", str(ckpt), "--data", str(more), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


# --- folders without splits of their own --------------------------------------------------------

FLAT = 150


@pytest.fixture(scope="module")
def flat(tmp_path_factory, setup):
    """A flat images/ + masks/ folder of 150 frames (no split subfolders), probe labels."""
    root = tmp_path_factory.mktemp("flat")
    labels = [{"name": lab.name, "color": list(lab.color)} for lab in probe_labels().labels]
    (root / "labels.yaml").write_text(yaml.safe_dump({"labels": labels}))
    frames = _frames()
    for i in range(FLAT):
        p, gt = frames[i % 2]
        write_png(root / "images" / f"f{i:03d}.png", paint(p))
        write_png(root / "masks" / f"f{i:03d}.png", gt)
    return root, setup[1]


def test_a_folder_without_splits_is_scored_whole_by_default(flat, tmp_path):
    data, ckpt = flat
    r = evaluate(Predictor.load(ckpt), data, out=tmp_path / "ev", progress=False)
    assert r["num_images"] == FLAT and r["num_found"] == FLAT and r["split"] == "all"
    assert not r["split_made_up"]
    assert r["scored"].startswith(f"scored {FLAT} of {FLAT} images found (split: all")
    saved = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert saved["scored"] == r["scored"] and saved["num_images"] == FLAT
    assert r["pixel_accuracy"] == pytest.approx(_expected()[2], rel=0.02)  # both frames, 75 each


def test_a_made_up_split_is_scored_only_when_asked_for(flat):
    data, ckpt = flat
    predictor = Predictor.load(ckpt)
    r = evaluate(predictor, data, split="test", progress=False)
    assert r["num_images"] == 15 and r["num_found"] == FLAT and r["split_made_up"]
    assert r["scored"].startswith(f"scored 15 of {FLAT} images found (split: test, made up")
    r = evaluate(predictor, data, split_fractions=(0.6, 0.2, 0.2), split_seed=3, progress=False)
    assert r["split"] == "test" and r["num_images"] == 30
    assert "fractions 0.6,0.2,0.2, seed 3" in r["scored"]
    assert evaluate(predictor, data, split="train", progress=False)["num_images"] == 120


def test_cli_prints_how_many_images_were_scored(flat, setup, capsys):
    data, ckpt = flat
    assert main(["evaluate", "--model", str(ckpt), "--data", str(data), "--quiet"]) == 0
    assert f"scored {FLAT} of {FLAT} images found (split: all" in capsys.readouterr().out
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(ckpt),
                "--data",
                str(data),
                "--split",
                "test",
                "--split-fractions",
                "0.8,0.1,0.1",
                "--quiet",
            ]
        )
        == 0
    )
    assert f"scored 15 of {FLAT} images found (split: test, made up" in capsys.readouterr().out
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(ckpt),
                "--data",
                str(data),
                "--split-fractions",
                "0.8,x",
                "--quiet",
            ]
        )
        == 2
    )
    own, _ = setup  # a segsim folder: its own test split, and no made-up split on top of it
    assert main(["evaluate", "--model", str(ckpt), "--data", str(own), "--quiet"]) == 0
    assert "scored 2 of 2 images found (split: test)" in capsys.readouterr().out
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(ckpt),
                "--data",
                str(own),
                "--split-fractions",
                "0.8,0.1,0.1",
                "--quiet",
            ]
        )
        == 2
    )
    assert "splits of its own" in capsys.readouterr().err
