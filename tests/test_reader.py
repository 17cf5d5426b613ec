"""Readers for the three layouts (segsim, Pascal VOC, images/ + masks/) and every bad-data path."""

from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml
from PIL import Image

from segsim.dataset.reader import (
    VOC_CLASSES,
    open_dataset,
    random_split,
    read_split,
    voc_color,
)
from segsim.errors import SegsimError
from segsim.labels import LabelSet

H, W = 12, 16


def _img(seed):
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _mask(seed, n):
    return np.random.default_rng(seed + 100).integers(0, n, (H, W), dtype=np.uint8)


def _write_rgb(path: Path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))


def _write_gray(path: Path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def make_segsim(root: Path, counts=None, n=3):
    counts = counts or {"train": 3, "val": 2, "test": 1}
    labels = LabelSet.from_names(["background", "cube", "ball"][:n])
    (root).mkdir(parents=True, exist_ok=True)
    (root / "dataset.yaml").write_text(
        yaml.safe_dump(
            {
                "segsim_version": "0.1.0",
                "labels": labels.to_dict()["labels"],
                "ignore_index": 255,
                "splits": counts,
                "width": W,
                "height": H,
            }
        )
    )
    k = 0
    for split, c in counts.items():
        for _ in range(c):
            _write_rgb(root / "images" / split / f"{k:06d}.png", _img(k))
            _write_gray(root / "labels" / split / f"{k:06d}.png", _mask(k, n))
            k += 1
    return labels


def test_segsim_layout_reads_pairs_and_labels(tmp_path):
    labels = make_segsim(tmp_path / "ds")
    ds = open_dataset(tmp_path / "ds")
    assert ds.layout == "segsim"
    assert ds.labels.names == labels.names
    assert [len(ds.split(s)) for s in ("train", "val", "test")] == [3, 2, 1]
    img_p, mask_p = ds.split("val")[0]
    assert img_p.stem == mask_p.stem == "000003"
    image, mask = ds.load(img_p, mask_p)
    np.testing.assert_array_equal(image, _img(3))  # RGB order kept (cv2 decodes BGR)
    np.testing.assert_array_equal(mask, _mask(3, 3))
    lab, pairs = read_split(tmp_path / "ds", "train")
    assert lab.num_classes == 3 and len(pairs) == 3


def test_segsim_missing_mask_is_named(tmp_path):
    make_segsim(tmp_path / "ds")
    victim = tmp_path / "ds" / "labels" / "train" / "000001.png"
    victim.unlink()
    with pytest.raises(SegsimError, match="000001.png"):
        open_dataset(tmp_path / "ds")


def test_missing_split_is_an_error(tmp_path):
    make_segsim(tmp_path / "ds", counts={"train": 2})
    ds = open_dataset(tmp_path / "ds")
    with pytest.raises(SegsimError, match="no 'val' split") as e:
        ds.split("val")
    assert e.value.fix


def test_segsim_mask_with_unknown_class_id(tmp_path):
    make_segsim(tmp_path / "ds")
    bad = tmp_path / "ds" / "labels" / "train" / "000000.png"
    m = _mask(0, 3)
    m[0, 0] = 9
    _write_gray(bad, m)
    ds = open_dataset(tmp_path / "ds")
    with pytest.raises(SegsimError, match=r"000000\.png holds class id 9"):
        ds.load(*ds.split("train")[0])


def test_size_mismatch_names_both_files(tmp_path):
    make_segsim(tmp_path / "ds")
    _write_gray(tmp_path / "ds" / "labels" / "train" / "000002.png", np.zeros((H + 1, W), np.uint8))
    ds = open_dataset(tmp_path / "ds")
    with pytest.raises(SegsimError, match="000002.png") as e:
        ds.load(*ds.split("train")[2])
    assert "16x12" in e.value.problem and "16x13" in e.value.problem


def test_unreadable_image_and_mask(tmp_path):
    make_segsim(tmp_path / "ds")
    (tmp_path / "ds" / "images" / "train" / "000000.png").write_bytes(b"not a png")
    (tmp_path / "ds" / "labels" / "train" / "000001.png").write_bytes(b"\x89PNG broken")
    ds = open_dataset(tmp_path / "ds")
    with pytest.raises(SegsimError, match="cannot read image .*000000.png"):
        ds.load(*ds.split("train")[0])
    with pytest.raises(SegsimError, match="cannot read mask .*000001.png"):
        ds.load(*ds.split("train")[1])


def test_unknown_folder_and_missing_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SegsimError, match="not a dataset folder"):
        open_dataset(tmp_path / "empty")
    with pytest.raises(SegsimError, match="not found"):
        open_dataset(tmp_path / "nope")


# --- Pascal VOC ---------------------------------------------------------------------------------


def _write_voc_mask(path: Path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    im = Image.fromarray(arr, mode="P")
    pal = []
    for i in range(256):
        pal.extend(voc_color(i) if i != 255 else (224, 224, 192))
    im.putpalette(pal)
    im.save(path)


def make_voc(root: Path, ids_by_split=None):
    ids_by_split = ids_by_split or {"train": ["a", "b"], "val": ["c"]}
    for split, ids in ids_by_split.items():
        (root / "ImageSets" / "Segmentation").mkdir(parents=True, exist_ok=True)
        (root / "ImageSets" / "Segmentation" / f"{split}.txt").write_text("\n".join(ids) + "\n")
        for k, fid in enumerate(ids):
            (root / "JPEGImages").mkdir(parents=True, exist_ok=True)
            assert cv2.imwrite(str(root / "JPEGImages" / f"{fid}.jpg"), _img(k))
            m = _mask(k, 21)
            m[0, :] = 255  # VOC's object borders are 255 = ignore
            _write_voc_mask(root / "SegmentationClass" / f"{fid}.png", m)


def test_voc_layout_palette_indices_and_ignore(tmp_path):
    make_voc(tmp_path / "VOCdevkit" / "VOC2012")
    ds = open_dataset(tmp_path)  # the devkit's parent folder is accepted too
    assert ds.layout == "voc"
    assert ds.labels.names == VOC_CLASSES and ds.labels.num_classes == 21
    assert ds.labels.labels[15].color == (192, 128, 128)  # person, as in the VOC devkit
    assert [p[0].name for p in ds.split("train")] == ["a.jpg", "b.jpg"]
    image, mask = ds.load(*ds.split("train")[1])
    expected = _mask(1, 21)
    expected[0, :] = 255
    np.testing.assert_array_equal(mask, expected)
    assert image.shape == (H, W, 3)


def test_voc_colour_mask_is_mapped_through_voc_palette(tmp_path):
    make_voc(tmp_path / "voc", {"train": ["a"]})
    m = np.zeros((H, W), np.uint8)
    m[2:5, 3:9] = 15
    m[0, 0] = 255
    rgb = np.array([voc_color(i) if i != 255 else (224, 224, 192) for i in range(256)], np.uint8)[m]
    _write_rgb(tmp_path / "voc" / "SegmentationClass" / "a.png", rgb)
    ds = open_dataset(tmp_path / "voc")
    _, got = ds.load(*ds.split("train")[0])
    np.testing.assert_array_equal(got, m)


def test_voc_listed_id_without_files(tmp_path):
    make_voc(tmp_path / "voc")
    with open(tmp_path / "voc" / "ImageSets" / "Segmentation" / "val.txt", "a") as f:
        f.write("ghost\n")
    with pytest.raises(SegsimError, match="ghost"):
        open_dataset(tmp_path / "voc")
    (tmp_path / "voc" / "ImageSets" / "Segmentation" / "val.txt").write_text("c\n")
    (tmp_path / "voc" / "SegmentationClass" / "c.png").unlink()
    with pytest.raises(SegsimError, match="c.png"):
        open_dataset(tmp_path / "voc")


def test_voc_missing_test_split(tmp_path):
    make_voc(tmp_path / "voc")
    with pytest.raises(SegsimError, match="test.txt"):
        open_dataset(tmp_path / "voc").split("test")


# --- images/ + masks/ ---------------------------------------------------------------------------


def test_folder_index_masks_flat_seeded_split(tmp_path):
    root = tmp_path / "f"
    for k in range(10):
        _write_rgb(root / "images" / f"img{k}.jpg", _img(k))
        _write_gray(root / "masks" / f"img{k}.png", _mask(k, 4))
    ds = open_dataset(root, split_fractions=(0.6, 0.2, 0.2), split_seed=3)
    sizes = {s: len(p) for s, p in ds.splits.items()}
    assert sizes == {"train": 6, "val": 2, "test": 2}
    all_stems = sorted(p[0].stem for v in ds.splits.values() for p in v)
    assert all_stems == sorted(f"img{k}" for k in range(10))
    again = open_dataset(root, split_fractions=(0.6, 0.2, 0.2), split_seed=3)
    assert again.splits == ds.splits  # same seed, same split
    other = open_dataset(root, split_fractions=(0.6, 0.2, 0.2), split_seed=4)
    assert other.splits != ds.splits
    # no labels.yaml: classes inferred from the largest id in the masks
    top = max(int(_mask(k, 4).max()) for k in range(10))
    assert ds.labels.num_classes == top + 1
    _, m = ds.load(*ds.split("val")[0])
    stem = ds.split("val")[0][0].stem
    np.testing.assert_array_equal(m, _mask(int(stem[3:]), 4))


def test_folder_with_split_subfolders_and_colour_palette(tmp_path):
    root = tmp_path / "f"
    colors = {"background": [0, 0, 0], "road": [128, 64, 128], "car": [0, 0, 142]}
    (root).mkdir()
    (root / "labels.yaml").write_text(
        yaml.safe_dump(
            {
                "labels": [{"name": k, "color": v} for k, v in colors.items()],
                "ignore_color": [255, 255, 255],
            }
        )
    )
    lut = np.array(list(colors.values()) + [[255, 255, 255]], np.uint8)
    truth = {}
    for split in ("train", "val"):
        for k in range(2):
            stem = f"{split}{k}"
            m = _mask(k + (10 if split == "val" else 0), 3)
            m[0, 0] = 3  # -> white -> ignore
            truth[stem] = np.where(m == 3, 255, m)
            _write_rgb(root / "images" / split / f"{stem}.png", _img(k))
            _write_rgb(root / "masks" / split / f"{stem}.png", lut[m])
    ds = open_dataset(root)
    assert ds.layout == "folder" and ds.labels.names == list(colors)
    assert set(k for k, v in ds.splits.items() if v) == {"train", "val"}
    for img_p, mask_p in ds.split("val"):
        _, m = ds.load(img_p, mask_p)
        np.testing.assert_array_equal(m, truth[img_p.stem])


def test_folder_unknown_colour_names_file_and_colour(tmp_path):
    root = tmp_path / "f"
    _write_rgb(root / "images" / "x.png", _img(0))
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[3, 3] = (10, 20, 30)
    _write_rgb(root / "masks" / "x.png", rgb)
    palette = {"background": [0, 0, 0], "thing": [255, 0, 0]}
    ds = open_dataset(root, palette=palette, split_fractions=(1, 0, 0))
    with pytest.raises(SegsimError, match=r"x\.png has colour \[10, 20, 30\]"):
        ds.load(*ds.split("train")[0])


def test_folder_colour_masks_without_palette(tmp_path):
    root = tmp_path / "f"
    _write_rgb(root / "images" / "x.png", _img(0))
    rgb = np.zeros((H, W, 3), np.uint8)
    rgb[3, 3] = (10, 20, 30)
    _write_rgb(root / "masks" / "x.png", rgb)
    with pytest.raises(SegsimError, match="no labels.yaml") as e:
        open_dataset(root)
    assert "palette" in e.value.fix


def test_folder_image_without_mask_and_no_pairs(tmp_path):
    root = tmp_path / "f"
    _write_rgb(root / "images" / "a.png", _img(0))
    _write_rgb(root / "images" / "b.png", _img(1))
    _write_gray(root / "masks" / "a.png", _mask(0, 2))
    with pytest.raises(SegsimError, match="b.png has no mask"):
        open_dataset(root)
    (root / "images" / "a.png").unlink()
    (root / "images" / "b.png").unlink()
    with pytest.raises(SegsimError, match="no images"):
        open_dataset(root)


def test_folder_split_dir_without_masks(tmp_path):
    root = tmp_path / "f"
    _write_rgb(root / "images" / "train" / "a.png", _img(0))
    (root / "masks").mkdir()
    with pytest.raises(SegsimError, match="masks/train"):
        open_dataset(root)


def test_bad_palette_entry(tmp_path):
    root = tmp_path / "f"
    _write_rgb(root / "images" / "a.png", _img(0))
    _write_gray(root / "masks" / "a.png", _mask(0, 2))
    with pytest.raises(SegsimError, match="colour"):
        open_dataset(root, palette={"bg": [0, 0, 300]})


def test_random_split_is_a_partition():
    pairs = list(range(17))
    s = random_split(pairs, (0.8, 0.1, 0.1), 0)
    assert sorted(s["train"] + s["val"] + s["test"]) == pairs
    assert len(s["val"]) == 2 and len(s["test"]) == 2
    with pytest.raises(SegsimError):
        random_split(pairs, (1, -1, 0), 0)


def test_flat_folder_splits_are_marked_made_up_and_all_pairs_lists_every_pair(tmp_path):
    root = tmp_path / "f"
    for k in range(10):
        _write_rgb(root / "images" / f"img{k}.png", _img(k))
        _write_gray(root / "masks" / f"img{k}.png", _mask(k, 4))
    flat = open_dataset(root)
    assert flat.made_up_splits
    assert [p[0].stem for p in flat.all_pairs()] == [f"img{k}" for k in range(10)]
    make_segsim(tmp_path / "ds")
    own = open_dataset(tmp_path / "ds")
    assert not own.made_up_splits
    assert [p[0].stem for p in own.all_pairs()] == [f"{k:06d}" for k in range(6)]


def test_layouts_are_registered_in_detection_order():
    from segsim.dataset.reader import LAYOUTS

    assert list(LAYOUTS) == ["segsim", "voc", "cityscapes", "carla", "folder"]
