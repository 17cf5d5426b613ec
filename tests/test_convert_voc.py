"""segsim convert --format voc, read back by segsim's own voc layout."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from segsim.cli import main
from segsim.dataset.reader import open_dataset
from test_convert_fixtures import make_street_dataset, street_frame


@pytest.mark.parametrize("image_format", ["jpg", "png"])
def test_reads_back_identically(tmp_path, image_format):
    data, out = tmp_path / "data", tmp_path / "voc"
    masks = make_street_dataset(data)
    args = ["convert", str(data), "--format", "voc", "--out", str(out), "-q"]
    assert main([*args, "--image-format", image_format]) == 0
    src, back = open_dataset(data), open_dataset(out)
    assert back.layout == "voc" and back.labels == src.labels
    assert {k: len(v) for k, v in back.splits.items()} == {"train": 2, "val": 3, "test": 1}
    assert (out / "ImageSets/Segmentation/val.txt").read_text().split() == [
        "000002",
        "000003",
        "000004",
    ]
    for split, pairs in back.splits.items():
        for (img_path, mask_path), _src in zip(pairs, src.splits[split], strict=True):
            assert img_path.suffix == f".{image_format}"
            rgb, mask = back.load(img_path, mask_path)
            k = int(img_path.stem)
            assert np.array_equal(mask, masks[f"{k:06d}"])  # masks exactly, ignore included
            want = street_frame(k)[0]
            if image_format == "png":
                assert np.array_equal(rgb, want)
            else:  # JPEG is lossy: close, not equal
                assert np.abs(rgb.astype(int) - want).mean() < 8
            with Image.open(mask_path) as im:
                assert im.mode == "P"
            obj = np.array(Image.open(out / "SegmentationObject" / f"{img_path.stem}.png"))
            inst = street_frame(k)[2]
            assert sorted(np.unique(obj[obj < 255]).tolist()) == list(range(len(np.unique(inst))))
            for o in np.unique(inst[inst > 0]):  # objects 1..N keep their own regions
                assert len(np.unique(obj[inst == o])) == 1
            assert (obj[mask == 255] == 255).all()


def test_bad_image_format_writes_nothing(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "voc"
    make_street_dataset(data)
    rc = main(["convert", str(data), "--format", "voc", "--out", str(out), "--image-format", "gif"])
    assert rc == 2 and "--image-format" in capsys.readouterr().err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["data"]
    rc = main(
        ["convert", str(data), "--format", "coco", "--out", str(out), "--image-format", "png"]
    )
    assert rc == 2 and "does not apply" in capsys.readouterr().err


def test_failure_half_way_leaves_nothing(tmp_path, capsys):
    data, out = tmp_path / "data", tmp_path / "voc"
    make_street_dataset(data)
    (data / "labels/val/000003.png").write_bytes(b"not a png")
    stale = tmp_path / ".voc.999999999.convert.tmp"  # a killed run's leftovers (no such pid)
    stale.mkdir()
    assert main(["convert", str(data), "--format", "voc", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "000003.png" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
