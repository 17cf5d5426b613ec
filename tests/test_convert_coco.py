"""segsim convert --format coco, read back with pycocotools."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segsim.cli import main
from segsim.dataset.convert.coco import categories
from segsim.labels import LabelSet
from test_convert_fixtures import CAR, PERSON, make_street_dataset, street_frame

coco_api = pytest.importorskip("pycocotools.coco")
# pycocotools 2.0 passes copy=False to numpy's __array__ (its own warning, not ours)
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_masks_round_trip(tmp_path):
    data, out = tmp_path / "data", tmp_path / "coco"
    masks = make_street_dataset(data)
    assert main(["convert", str(data), "--format", "coco", "--out", str(out), "-q"]) == 0
    seen = 0
    for split, first, n in (("train", 0, 2), ("val", 2, 3), ("test", 5, 1)):
        coco = coco_api.COCO(str(out / "annotations" / f"instances_{split}.json"))
        cats = {c["id"]: c for c in coco.loadCats(coco.getCatIds())}
        # road (train id 0) is a real class: ids move up by one, COCO keeps 0 free
        assert len(cats) == 19 and cats[1]["name"] == "road" and cats[CAR + 1]["name"] == "car"
        assert sorted(coco.getImgIds()) == list(range(first + 1, first + n + 1))
        for img in coco.loadImgs(coco.getImgIds()):
            k = int(img["file_name"][:6])
            rgb, mask, inst = street_frame(k)
            assert np.array_equal(
                np.array(Image.open(out / "images" / split / img["file_name"])), rgb
            )
            assert (img["width"], img["height"]) == (64, 48)
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img["id"]))
            # one annotation per visible object, each mask exactly the object's pixels
            objects = [o for o in np.unique(inst[inst > 0]).tolist()]
            assert len(anns) == len(objects)
            for ann in anns:
                m = coco.annToMask(ann).astype(bool)
                obj = int(np.unique(inst[m])[0])
                assert np.array_equal(m, inst == obj)
                assert cats[ann["category_id"]]["segsim_id"] in (CAR, PERSON)
                assert (mask[m] == cats[ann["category_id"]]["segsim_id"]).all()
                assert ann["area"] == m.sum() and ann["iscrowd"] == 0
                ys, xs = np.nonzero(m)
                assert ann["bbox"] == [
                    xs.min(),
                    ys.min(),
                    xs.max() - xs.min() + 1,
                    ys.max() - ys.min() + 1,
                ]
                seen += 1
    assert seen >= 12 and len(masks) == 6


def test_without_instance_maps_one_crowd_region_per_class(tmp_path):
    from train_fixtures import make_dataset

    data, out = tmp_path / "data", tmp_path / "coco"
    make_dataset(data, counts=(2, 1, 1), size=16)
    assert main(["convert", str(data), "--format", "coco", "--out", str(out), "-q"]) == 0
    coco = coco_api.COCO(str(out / "annotations" / "instances_train.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["square", "disc"]
    assert coco.getCatIds() == [1, 2]  # background skipped, ids stay the class ids
    for ann in coco.loadAnns(coco.getAnnIds()):
        img = coco.loadImgs(ann["image_id"])[0]
        mask = np.array(Image.open(data / "labels" / "train" / img["file_name"]))
        assert ann["iscrowd"] == 1
        assert np.array_equal(coco.annToMask(ann).astype(bool), mask == ann["category_id"])


def test_categories_offset():
    cats, ids = categories(LabelSet.from_names(["background", "a"]))
    assert ids == {1: 1} and cats[0]["name"] == "a"
    cats, ids = categories(LabelSet.from_names(["a", "b"], groups=["x", "x"]))
    assert ids == {0: 1, 1: 2}


def test_panoptic(tmp_path):
    import json

    data, out = tmp_path / "data", tmp_path / "coco"
    make_street_dataset(data)
    args = ["convert", str(data), "--format", "coco", "--panoptic", "--out", str(out), "-q"]
    assert main(args) == 0
    doc = json.loads((out / "annotations" / "panoptic_val.json").read_text())
    cats = {c["id"]: c for c in doc["categories"]}
    assert {c["name"] for c in cats.values() if c["isthing"]} == {"car", "person"}
    assert len(doc["annotations"]) == 3
    for ann in doc["annotations"]:
        rgb = np.array(Image.open(out / "annotations" / "panoptic_val" / ann["file_name"]))
        seg = rgb[..., 0] + 256 * rgb[..., 1].astype(int) + 65536 * rgb[..., 2].astype(int)
        _, mask, inst = street_frame(int(ann["file_name"][:6]))
        assert (seg[mask == 255] == 0).all() and (seg[mask != 255] > 0).all()
        infos = {s["id"]: s for s in ann["segments_info"]}
        assert set(np.unique(seg[seg > 0]).tolist()) == set(infos)
        for sid, s in infos.items():
            region = seg == sid
            cls = cats[s["category_id"]]["segsim_id"]
            assert (mask[region] == cls).all() and s["area"] == region.sum()
            if cats[s["category_id"]]["isthing"]:  # one object, all of it
                objs = np.unique(inst[region])
                assert len(objs) == 1 and np.array_equal(region, inst == objs[0])
            else:  # stuff: the whole class
                assert np.array_equal(region, mask == cls)
            assert s["iscrowd"] == 0
