"""Read labelled image folders into (LabelSet, [(image_path, mask_path), ...]) per split.

The front door: `open_dataset` finds the folder's layout and indexes it. Layouts, each one
module under dataset/layouts/ registered with dataset/index.py:

* **segsim**: `dataset.yaml` + `images/<split>/<id>.png` + `labels/<split>/<id>.png`, as
  written by `segsim generate`.
* **voc** (Pascal VOC style): `JPEGImages/`, `SegmentationClass/`, `ImageSets/Segmentation/`.
* **folder**: `images/` + `masks/` paired by file stem, with split subfolders or flat (then
  split at random with a fixed seed).

Label files and palettes are in dataset/labelspec.py, image and mask decoding in
dataset/masks.py. Every problem a user can fix (no pairs, an image without a mask, a size
mismatch, an unknown colour, an unreadable file, a missing split) raises SegsimError naming the
file and the fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import segsim.dataset.layouts  # noqa: F401 (registers every layout)
from segsim.dataset.index import LAYOUTS, DatasetIndex, Layout, register_layout
from segsim.dataset.labelspec import (
    LABEL_FILES,
    VOC_CLASSES,
    given_palette,
    parse_label_spec,
    voc_color,
    voc_labels,
)
from segsim.dataset.layouts.folder import DEFAULT_SPLIT_FRACTIONS, random_split
from segsim.dataset.masks import MASK_EXTS, MaskDecoder, load_pair, read_image
from segsim.errors import SegsimError
from segsim.labels import LabelSet

__all__ = [
    "DEFAULT_SPLIT_FRACTIONS",
    "LABEL_FILES",
    "LAYOUTS",
    "MASK_EXTS",
    "VOC_CLASSES",
    "DatasetIndex",
    "Layout",
    "MaskDecoder",
    "detect_layout",
    "load_pair",
    "open_dataset",
    "parse_label_spec",
    "random_split",
    "read_image",
    "read_split",
    "register_layout",
    "voc_color",
    "voc_labels",
]


def detect_layout(root: Path) -> str:
    for layout in LAYOUTS.values():
        if layout.detect(root):
            return layout.name
    found_no = ", ".join(f"no {layout.marker}" for layout in LAYOUTS.values())
    kinds = [layout.description for layout in LAYOUTS.values()]
    raise SegsimError(
        f"{root} is not a dataset folder I know (found {found_no})",
        f"pass {', '.join(kinds[:-1])}, or {kinds[-1]}",
    )


def open_dataset(
    root: str | Path,
    layout: str = "auto",
    palette: Any = None,
    split_fractions: tuple[float, float, float] = DEFAULT_SPLIT_FRACTIONS,
    split_seed: int = 0,
) -> DatasetIndex:
    """Index a dataset folder. `palette` (a label-spec dict/list or a path to one) overrides the
    folder's own label set for voc/folder layouts; `split_fractions`/`split_seed` split a flat
    images/ + masks/ folder into train/val/test (marked `made_up_splits`)."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise SegsimError(f"dataset folder not found: {root}", "pass an existing dataset folder")
    if layout != "auto" and layout not in LAYOUTS:
        raise SegsimError(
            f"unknown dataset layout {layout!r}", f"use one of auto, {', '.join(LAYOUTS)}"
        )
    for candidate in LAYOUTS.values() if layout == "auto" else [LAYOUTS[layout]]:
        if candidate.locate is not None:
            root = candidate.locate(root)
    if layout == "auto":
        layout = detect_layout(root)
    given = given_palette(palette)
    return LAYOUTS[layout].open(root, given, split_fractions, split_seed)


def read_split(root: str | Path, split: str, **kwargs) -> tuple[LabelSet, list[tuple[Path, Path]]]:
    """The contract's short form: (label set, [(image_path, mask_path), ...]) of one split."""
    index = open_dataset(root, **kwargs)
    return index.labels, index.split(split)
