"""The cityscapes and carla readers, on tiny folders written here."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from segsim.cli import main
from segsim.dataset.reader import open_dataset
from segsim.errors import SegsimError

# Cityscapes label ids -> train ids: road 7->0, static 4->255, car 26->13, sky 23->10,
# caravan 29->255 (an instance class that is not trained)
LABEL_IDS = np.array([[7, 7, 4, 26], [23, 29, 26, 26], [0, 7, 7, 23]], np.uint8)
TRAIN_IDS = np.array([[0, 0, 255, 13], [10, 255, 13, 13], [255, 0, 0, 10]], np.uint8)


def _png(path, arr, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode).save(path)


def _cityscapes(root, splits=("train", "val")):
    for split in splits:
        for frame in (19, 20):
            name = f"aachen_000000_{frame:06d}"
            _png(
                root / "leftImg8bit" / split / "aachen" / f"{name}_leftImg8bit.png",
                np.full((3, 4, 3), frame, np.uint8),
            )
            _png(root / "gtFine" / split / "aachen" / f"{name}_gtFine_labelIds.png", LABEL_IDS)
    return root


def test_cityscapes_reader(tmp_path):
    index = open_dataset(_cityscapes(tmp_path / "cs"))
    assert index.layout == "cityscapes" and index.labels.num_classes == 19
    assert index.labels.names[13] == "car"
    assert {k: len(v) for k, v in index.splits.items()} == {"train": 2, "val": 2}
    img, mask = index.load(*index.split("val")[1])
    assert img[0, 0].tolist() == [20, 20, 20]
    assert np.array_equal(mask, TRAIN_IDS)


def test_cityscapes_missing_gtfine_is_one_line(tmp_path, capsys):
    root = _cityscapes(tmp_path / "cs")
    gone = root / "gtFine/val/aachen/aachen_000000_000020_gtFine_labelIds.png"
    gone.unlink()
    assert main(["stats", str(root), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(gone) in err and "fix:" in err


def test_cityscapes_layout_is_a_training_option():
    from segsim.config import validate
    from segsim.train.config import DataConfig

    for name in ("cityscapes", "carla"):
        assert validate(DataConfig, {"layout": name}).layout == name


def _carla(root, tags, mode="RGB"):
    h, w = tags.shape
    for i in range(3):
        _png(root / "CameraRGB" / f"{i:02d}.png", np.full((h, w, 3), 40 * i, np.uint8))
        seg = np.zeros((h, w, 3), np.uint8)
        seg[..., 0] = tags  # CARLA's raw format: the tag in red, green and blue unused
        _png(root / "CameraSeg" / f"{i:02d}.png", seg if mode == "RGB" else tags, mode)
    return root


def test_carla_reader_maps_tags_to_train_ids(tmp_path):
    tags = np.array([[0, 1, 2, 4, 5, 6], [7, 8, 9, 10, 11, 12], [13, 14, 18, 19, 22, 3]], np.uint8)
    want = np.array(
        [[255, 2, 4, 11, 5, 0], [0, 1, 8, 13, 3, 7], [10, 255, 6, 255, 9, 255]], np.uint8
    )
    index = open_dataset(_carla(tmp_path / "carla", tags))
    assert index.layout == "carla" and index.made_up_splits
    assert len(index.all_pairs()) == 3
    for img, seg in index.all_pairs():
        assert np.array_equal(index.load(img, seg)[1], want)


def test_carla_split_folders_and_own_tag_file(tmp_path):
    root = tmp_path / "carla"
    tags = np.array([[7, 10], [13, 23]], np.uint8)
    _carla(root / "Train", tags)
    _carla(root / "val", tags)
    (root / "carla_tags.yaml").write_text("7: [road, 0]\n10: [car, 13]\n23: [new thing, 1]\n")
    index = open_dataset(root)
    assert index.layout == "carla" and not index.made_up_splits
    assert set(index.splits) == {"train", "val"}
    mask = index.load(*index.split("train")[0])[1]
    assert mask.tolist() == [[0, 13], [255, 1]]  # 13 (sky) is not in this folder's own map


def test_carla_segmentation_not_rgb_is_one_line(tmp_path, capsys):
    root = _carla(tmp_path / "carla", np.array([[7, 8]], np.uint8), mode="L")
    assert main(["stats", str(root), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not RGB" in err
    assert re.search(r"CameraSeg/0[0-2]\.png is a mode L image", err)


def test_carla_missing_segmentation(tmp_path):
    root = _carla(tmp_path / "carla", np.array([[7, 8]], np.uint8))
    (root / "CameraSeg/01.png").unlink()
    with pytest.raises(SegsimError, match="01.png"):
        open_dataset(root)
