"""segsim convert --format cityscapes, checked with Cityscapes' own evaluation script."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segsim.cityscapes import train_labelset, train_to_label_id_lut
from segsim.cli import main
from segsim.dataset.convert.cityscapes import instance_ids, label_id_lut
from segsim.errors import SegsimError
from segsim.infer.evaluate import evaluate
from segsim.infer.images import write_png
from segsim.labels import LabelSet
from test_convert_fixtures import (
    CAR,
    PERSON,
    FakePredictor,
    image_key,
    make_street_dataset,
    perturb,
    street_frame,
)

CITY_GT = "gtFine/val/segsim"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("street")
    data, out = root / "data", root / "cs"
    masks = make_street_dataset(data)
    assert main(["convert", str(data), "--format", "cityscapes", "--out", str(out), "-q"]) == 0
    return data, out, masks


def test_files_and_ids(exported):
    data, out, masks = exported
    lut = train_to_label_id_lut()
    for split, first, n in (("train", 0, 2), ("val", 2, 3), ("test", 5, 1)):
        for k in range(first, first + n):
            name = f"segsim_000000_{k:06d}"
            gt = out / "gtFine" / split / "segsim"
            rgb = np.array(
                Image.open(out / "leftImg8bit" / split / "segsim" / f"{name}_leftImg8bit.png")
            )
            assert np.array_equal(rgb, street_frame(k)[0])
            ids = np.array(Image.open(gt / f"{name}_gtFine_labelIds.png"))
            mask = masks[f"{k:06d}"]
            assert np.array_equal(ids, lut[mask])
            assert (ids[mask == 255] == 0).all()  # ignore -> unlabeled
            color = np.array(Image.open(gt / f"{name}_gtFine_color.png"))
            assert tuple(color[0, 0]) == (70, 130, 180)  # sky
            inst = np.array(Image.open(gt / f"{name}_gtFine_instanceIds.png"))
            _, _, objects = street_frame(k)
            # stuff keeps the plain label id; cars are 26000, 26001, the person 24000
            assert np.array_equal(
                inst[~np.isin(mask, [CAR, PERSON])], ids[~np.isin(mask, [CAR, PERSON])]
            )
            cars = sorted(np.unique(inst[mask == CAR]).tolist())
            assert cars == [26000 + i for i in range(len(cars))] and 1 <= len(cars) <= 2
            assert np.unique(inst[mask == PERSON]).tolist() == [24000]
            # every object keeps its own region
            for obj in np.unique(objects[objects > 0]):
                assert len(np.unique(inst[objects == obj])) == 1


def test_official_evaluation_agrees_with_segsim_evaluate(exported, tmp_path, monkeypatch):
    ev = pytest.importorskip("cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling")
    if not hasattr(np, "in1d"):  # cityscapesscripts 2.3 still calls it; numpy 2.4 removed it
        monkeypatch.setattr(np, "in1d", np.isin, raising=False)
    data, out, masks = exported
    labels = train_labelset()
    # predictions as `segsim predict -i OUT/leftImg8bit/val/segsim -o PRED` names them
    pred_dir = tmp_path / "pred"
    by_image = {}
    for img in sorted((out / "leftImg8bit/val/segsim").glob("*.png")):
        k = int(img.name.split("_")[2])
        pred = perturb(masks[f"{k:06d}"], k)
        by_image[image_key(np.array(Image.open(img).convert("RGB")))] = pred
        write_png(pred_dir / f"{img.stem}.png", pred)
    results = tmp_path / "results"
    rc = main(
        [
            "convert",
            str(pred_dir),
            "--format",
            "cityscapes",
            "--predictions",
            "--labels",
            str(data),
            "--out",
            str(results),
        ]
    )
    assert rc == 0

    ev.args.quiet = True
    ev.args.JSONOutput = False
    ev.args.predictionPath = str(results)
    ev.args.predictionWalk = None
    gts = sorted(str(p) for p in (out / CITY_GT).glob("*_gtFine_labelIds.png"))
    assert len(gts) == 3
    preds = [ev.getPrediction(ev.args, g) for g in gts]  # found by Cityscapes' file naming
    official = ev.evaluateImgLists(preds, gts, ev.args)
    theirs = official["averageScoreClasses"]

    fake = FakePredictor(labels, by_image)
    ours = evaluate(fake, data, split="val", progress=False)
    assert 0.2 < ours["miou"] < 0.95  # imperfect, so the comparison means something
    print(f"mIoU segsim evaluate {ours['miou']:.6f}, cityscapesscripts {theirs:.6f}")
    assert abs(ours["miou"] - theirs) < 0.005
    for name, score in official["classScores"].items():
        if name in labels.names:
            mine = ours["per_class"][name]["iou"]
            assert (mine is None and np.isnan(score)) or abs(mine - score) < 1e-9, name
    # the exported folder read back by segsim's cityscapes layout scores the same
    again = evaluate(fake, out, split="val", progress=False)
    assert again["layout"] == "cityscapes"
    assert abs(again["miou"] - ours["miou"]) < 1e-12
    assert official["averageScoreInstClasses"] > 0  # instanceIds were read


def test_instance_ids_plain_id_off_objects():
    ids = np.array([[26, 26, 7], [24, 24, 7]], np.uint8)
    inst = np.array([[5, 9, 0], [5, 0, 0]], np.int32)
    got = instance_ids(ids, inst)
    # object 5 is both car and person pixels (parts): one instance per (label, object)
    assert got.tolist() == [[26000, 26001, 7], [24000, 24, 7]]


def test_unknown_class_names_are_named():
    labels = LabelSet.from_names(["background", "ball", "floor"])
    with pytest.raises(SegsimError) as e:
        label_id_lut(labels)
    assert "ball, floor" in e.value.problem and "--label-map" in e.value.fix
    lut = label_id_lut(labels, {"ball": "car", "floor": "road"})
    assert lut[:3].tolist() == [0, 26, 7] and lut[255] == 0


def test_cli_errors(tmp_path, capsys):
    data = tmp_path / "data"
    from train_fixtures import make_dataset

    make_dataset(data, counts=(1, 1, 1), size=16)
    out = tmp_path / "cs"
    assert main(["convert", str(data), "--format", "cityscapes", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "square, disc" in err and "--label-map" in err and len(err.strip().splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".cs*"))
    assert main(["convert", str(data), "--format", "kitti", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "cityscapes, coco, voc" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
    rc = main(
        [
            "convert",
            str(data),
            "--format",
            "cityscapes",
            "--label-map",
            "square=car,disc=person",
            "--out",
            str(out),
            "-q",
        ]
    )
    assert rc == 0 and (out / "gtFine/train/segsim").is_dir()
    assert main(["convert", str(data), "--format", "cityscapes", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    (out / "stale.txt").write_text("from before")
    rc = main(
        [
            "convert",
            str(data),
            "-f",
            "cityscapes",
            "--label-map",
            "square=car,disc=person",
            "--out",
            str(out),
            "--overwrite",
            "-q",
        ]
    )
    assert rc == 0 and not (out / "stale.txt").exists() and (out / "gtFine").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cs", "data"]  # no temp left


@pytest.mark.slow  # torch and two CLI runs: 4-10 s here
def test_official_evaluation_of_segsim_predict_output(exported, tmp_path, monkeypatch):
    """The real commands end to end: `segsim predict` on the exported images with a checkpoint
    (a nearest-colour probe, imperfect on the noisy images), its masks converted, scored by
    Cityscapes' script, against `segsim evaluate` of the same checkpoint on the segsim folder."""
    import json

    from test_infer_helpers import PROBE, write_checkpoint

    ev = pytest.importorskip("cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling")
    if not hasattr(np, "in1d"):  # cityscapesscripts 2.3 still calls it; numpy 2.4 removed it
        monkeypatch.setattr(np, "in1d", np.isin, raising=False)
    data, out, _ = exported
    labels = train_labelset()
    colours = [list(lab.color) for lab in labels.labels]
    ckpt = write_checkpoint(
        tmp_path / "run" / "best.ckpt", PROBE, labels, (48, 64), {"colours": colours}
    )
    pred, results, scores = tmp_path / "pred", tmp_path / "results", tmp_path / "eval"
    images = out / "leftImg8bit/val/segsim"
    assert main(["predict", "-m", str(ckpt), "-i", str(images), "-o", str(pred), "-q"]) == 0
    assert len(list(pred.glob("*_leftImg8bit.png"))) == 3
    args = ["convert", str(pred), "-f", "cityscapes", "--predictions", "--labels", str(data)]
    assert main([*args, "--out", str(results)]) == 0
    ev.args.quiet, ev.args.JSONOutput = True, False
    ev.args.predictionPath, ev.args.predictionWalk = str(results), None
    gts = sorted(str(p) for p in (out / CITY_GT).glob("*_gtFine_labelIds.png"))
    theirs = ev.evaluateImgLists([ev.getPrediction(ev.args, g) for g in gts], gts, ev.args)
    rc = main(
        ["evaluate", "-m", str(ckpt), "-d", str(data), "--split", "val", "-o", str(scores), "-q"]
    )
    assert rc == 0
    ours = json.loads((scores / "metrics.json").read_text())["miou"]
    print(f"mIoU segsim evaluate {ours:.6f}, cityscapesscripts {theirs['averageScoreClasses']:.6f}")
    assert ours < 0.99  # the probe errs on the noisy pixels
    assert abs(ours - theirs["averageScoreClasses"]) < 0.005
