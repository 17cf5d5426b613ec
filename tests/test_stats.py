"""segsim stats: class shares and object counts on folders whose counts are known."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PIL import Image

from segsim.cli import main
from segsim.dataset import png
from segsim.dataset.reader import open_dataset
from segsim.dataset.stats import dataset_stats
from segsim.fileio import write_atomic
from segsim.labels import LabelSet

FRAMES = {  # split: (mask, instances)
    "train": ([[0, 0, 1, 1], [0, 0, 1, 1]], [[0, 0, 1, 1], [0, 0, 1, 1]]),
    "val": ([[1, 0, 2, 2], [1, 0, 255, 255]], [[1, 0, 2, 2], [1, 0, 0, 0]]),
    "test": ([[2, 2, 2, 2], [2, 2, 0, 0]], [[1, 1, 2, 2], [1, 1, 0, 0]]),
}


def _dataset(root, with_instances=True):
    labels = LabelSet.from_names(["background", "a", "b"])
    root.mkdir(parents=True)
    (root / "dataset.yaml").write_text(yaml.safe_dump({"labels": labels.to_dict()["labels"]}))
    for k, (split, (mask, inst)) in enumerate(FRAMES.items()):
        write_atomic(
            root / "images" / split / f"{k:06d}.png", png.encode(np.zeros((2, 4, 3), np.uint8))
        )
        write_atomic(root / "labels" / split / f"{k:06d}.png", png.encode(np.array(mask, np.uint8)))
        if with_instances:
            write_atomic(
                root / "instances" / split / f"{k:06d}.png", png.encode(np.array(inst, np.uint16))
            )
    return root


def test_counts(tmp_path):
    stats = dataset_stats(open_dataset(_dataset(tmp_path / "d")), progress=False)
    assert stats["frames"] == 3 and stats["pixels"] == 24 and stats["has_instances"]
    assert stats["ignore_share"] == pytest.approx(2 / 24)
    got = {
        c["name"]: (c["pixels"], c["pixel_share"], c["frames"], c["frame_share"], c["instances"])
        for c in stats["classes"]
    }
    assert got == {
        "background": (8, pytest.approx(8 / 24), 3, pytest.approx(1.0), 0),
        "a": (6, pytest.approx(0.25), 2, pytest.approx(2 / 3), 2),
        "b": (8, pytest.approx(8 / 24), 2, pytest.approx(2 / 3), 3),
    }


def test_without_instance_maps(tmp_path):
    stats = dataset_stats(open_dataset(_dataset(tmp_path / "d", False)), progress=False)
    assert not stats["has_instances"]
    assert [c["instances"] for c in stats["classes"]] == [None, None, None]
    assert [c["pixels"] for c in stats["classes"]] == [8, 6, 8]


def test_cli_table_and_chart(tmp_path, capsys):
    root = _dataset(tmp_path / "d")
    assert main(["stats", str(root), "-q"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if " b " in line)
    assert [c.strip() for c in row.split("│")[1:-1]] == ["2", "b", "33.33%", "67%", "3"]
    assert "ignored pixels: 8.33%" in out
    with Image.open(root / "stats.png") as im:
        assert im.format == "PNG" and im.size[0] > 600  # three panels
    chart = tmp_path / "charts" / "s.png"
    assert main(["stats", str(root), "-q", "--out", str(chart)]) == 0 and chart.is_file()


def test_street_fixture_through_cityscapes_export(tmp_path):
    """The same figures from the segsim folder and from its Cityscapes export."""
    from test_convert_fixtures import make_street_dataset

    data = tmp_path / "data"
    make_street_dataset(data)
    assert (
        main(["convert", str(data), "--format", "cityscapes", "--out", str(tmp_path / "cs"), "-q"])
        == 0
    )
    a = dataset_stats(open_dataset(data), progress=False)
    b = dataset_stats(open_dataset(tmp_path / "cs"), progress=False)
    assert b["layout"] == "cityscapes" and b["has_instances"]
    for ca, cb in zip(a["classes"], b["classes"], strict=True):
        assert (ca["name"], ca["pixels"], ca["frames"], ca["instances"]) == (
            cb["name"],
            cb["pixels"],
            cb["frames"],
            cb["instances"],
        )
    assert a["ignore_share"] == b["ignore_share"] > 0
