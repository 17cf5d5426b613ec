"""The **cityscapes** layout: `leftImg8bit/<split>/<city>/<name>_leftImg8bit.png` with
`gtFine/<split>/<city>/<name>_gtFine_labelIds.png`. Label ids are mapped to the 19 train ids
(segsim.cityscapes), everything else to 255 (ignore), as the Cityscapes benchmark trains."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segsim.cityscapes import label_to_train_id_lut, train_labelset
from segsim.dataset.index import DatasetIndex, Layout, register_layout
from segsim.dataset.layout import SPLITS
from segsim.dataset.masks import MaskDecoder
from segsim.errors import SegsimError

IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"


@dataclass
class LabelIdDecoder(MaskDecoder):
    """Reads a labelIds PNG (uint8 Cityscapes label ids) and gives train ids."""

    def __call__(self, path) -> np.ndarray:
        from PIL import Image

        try:
            with Image.open(path) as im:
                arr = np.array(im)
        except (OSError, ValueError, SyntaxError) as e:
            raise SegsimError(f"cannot read mask {path}: {e}", "replace or delete the file") from e
        if arr.ndim != 2 or arr.dtype != np.uint8:
            raise SegsimError(
                f"mask {path} is not a 1-channel 8-bit labelIds PNG",
                "pass Cityscapes' *_gtFine_labelIds.png files (not *_color.png)",
            )
        return label_to_train_id_lut()[arr]


def open_cityscapes(
    root: Path, palette=None, split_fractions=None, split_seed: int = 0
) -> DatasetIndex:
    """The label set is Cityscapes' 19 train classes; `palette` and split arguments do not apply."""
    labels = train_labelset()
    splits: dict[str, list[tuple[Path, Path]]] = {}
    for split in SPLITS:
        img_dir = root / "leftImg8bit" / split
        if not img_dir.is_dir():
            continue
        pairs = []
        for img in sorted(img_dir.glob(f"*/*{IMAGE_SUFFIX}")):
            name = img.name[: -len(IMAGE_SUFFIX)]
            mask = root / "gtFine" / split / img.parent.name / f"{name}{LABEL_SUFFIX}"
            if not mask.is_file():
                raise SegsimError(
                    f"image {img} has no label file {mask}",
                    "add the gtFine file (unpack gtFine_trainvaltest.zip beside leftImg8bit/), "
                    "or delete the image",
                )
            pairs.append((img, mask))
        splits[split] = pairs
    if not any(splits.values()):
        raise SegsimError(
            f"{root} has leftImg8bit/ but no <split>/<city>/*{IMAGE_SUFFIX} under it",
            "unpack leftImg8bit_trainvaltest.zip so that leftImg8bit/train/<city>/ exists",
        )
    return DatasetIndex(root, "cityscapes", labels, splits, LabelIdDecoder(labels))


register_layout(
    Layout(
        name="cityscapes",
        detect=lambda root: (root / "leftImg8bit").is_dir() and (root / "gtFine").is_dir(),
        open=open_cityscapes,
        split_fix=lambda name: f"add leftImg8bit/{name}/<city>/ and gtFine/{name}/<city>/",
        marker="leftImg8bit/ + gtFine/",
        description="a Cityscapes folder",
    )
)
