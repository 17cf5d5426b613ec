"""What a labelled folder holds (DatasetIndex) and the registry of folder layouts.

A layout is one module under dataset/layouts/ that builds a `Layout` and passes it to
`register_layout`; dataset/layouts/__init__.py imports each, in the order detection tries them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from segsim.dataset.masks import MaskDecoder, load_pair
from segsim.errors import SegsimError
from segsim.labels import LabelSet

Pairs = list[tuple[Path, Path]]


@dataclass
class DatasetIndex:
    """What a folder holds: its layout, label set, mask decoder and the pairs of every split.

    `made_up_splits` is True when the folder has no splits of its own and `splits` is a seeded
    random split of its pairs (see layouts/folder.py).
    """

    root: Path
    layout: str
    labels: LabelSet
    splits: dict[str, Pairs]
    decoder: MaskDecoder
    made_up_splits: bool = False

    def split(self, name: str) -> Pairs:
        pairs = self.splits.get(name)
        if not pairs:
            have = ", ".join(f"{k} ({len(v)})" for k, v in self.splits.items() if v) or "none"
            raise SegsimError(
                f"{self.root} has no '{name}' split (splits found: {have})",
                LAYOUTS[self.layout].split_fix(name),
            )
        return pairs

    def all_pairs(self) -> Pairs:
        """Every pair the folder holds: split by split, or in file order when the splits are
        made up (so the order does not depend on the split seed)."""
        pairs = [p for v in self.splits.values() for p in v]
        return sorted(pairs) if self.made_up_splits else pairs

    def load(self, image_path: Path, mask_path: Path) -> tuple[np.ndarray, np.ndarray]:
        return load_pair(image_path, mask_path, self.decoder)


# open(root, palette, split_fractions, split_seed) -> DatasetIndex, where palette is the
# (LabelSet, ignore colour) passed in by the caller, or None
Opener = Callable[[Path, Any, tuple[float, float, float], int], DatasetIndex]


@dataclass(frozen=True)
class Layout:
    name: str
    detect: Callable[[Path], bool]  # does this folder have the layout?
    open: Opener
    split_fix: Callable[[str], str]  # how to add a missing split, for the error message
    marker: str  # what detect looks for, e.g. "dataset.yaml"
    description: str  # e.g. "a Pascal VOC folder"
    locate: Callable[[Path], Path] | None = None  # the layout's root when given a parent folder


LAYOUTS: dict[str, Layout] = {}


def register_layout(layout: Layout) -> Layout:
    if layout.name in LAYOUTS or layout.name == "auto":
        raise ValueError(f"dataset layout {layout.name!r} is registered twice")
    LAYOUTS[layout.name] = layout
    return layout
