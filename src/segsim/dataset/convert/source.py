"""The frames a converter or `segsim stats` walks: every pair of a dataset folder (any layout the
reader opens) with its instance map, where the layout has one.

Instance maps come back as H x W int32 with 0 = no instance; any other value names one object of
that frame (segsim's `instances/`, VOC's `SegmentationObject/`, Cityscapes' `instanceIds`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segsim.dataset.index import DatasetIndex
from segsim.errors import SegsimError


@dataclass(frozen=True)
class FrameFiles:
    split: str
    stem: str
    image: Path
    mask: Path
    instances: Path | None  # None: the layout has no instance maps (or this frame lacks one)


def instance_path(index: DatasetIndex, split: str, image: Path, mask: Path) -> Path | None:
    """The instance map beside a pair, by layout; None where the layout keeps none."""
    if index.layout == "segsim":
        p = index.root / "instances" / split / f"{image.stem}.png"
    elif index.layout == "voc":
        p = index.root / "SegmentationObject" / f"{mask.stem}.png"
    elif index.layout == "cityscapes":
        p = mask.with_name(mask.name.replace("_labelIds.png", "_instanceIds.png"))
    else:
        return None
    return p if p.is_file() else None


def frames(index: DatasetIndex) -> Iterator[FrameFiles]:
    for split, pairs in index.splits.items():
        for image, mask in pairs:
            yield FrameFiles(
                split, image.stem, image, mask, instance_path(index, split, image, mask)
            )


def read_instances(index: DatasetIndex, path: Path, shape: tuple[int, int]) -> np.ndarray:
    """H x W int32, 0 = no instance, checked against the mask's size."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            arr = np.array(im).astype(np.int32)
    except (OSError, ValueError) as e:
        raise SegsimError(f"cannot read instance map {path}: {e}", "replace or delete it") from e
    if arr.ndim != 2:
        raise SegsimError(
            f"instance map {path} has {arr.shape[2]} channels", "write it as a 1-channel PNG"
        )
    if arr.shape != tuple(shape):
        raise SegsimError(
            f"instance map {path} is {arr.shape[1]}x{arr.shape[0]}, its mask {shape[1]}x{shape[0]}",
            "re-export the instance map at the mask's size",
        )
    if index.layout == "voc":
        arr[arr == 255] = 0  # VOC's object boundary band, not an object
    elif index.layout == "cityscapes":
        arr[arr < 1000] = 0  # below 1000: a plain label id, a region without instances
    return arr
