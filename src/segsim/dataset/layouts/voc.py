"""The **voc** layout (Pascal VOC style): `JPEGImages/<id>.jpg`, `SegmentationClass/<id>.png`
(palette PNG whose indices are the classes, 255 = ignore), `ImageSets/Segmentation/<split>.txt`.
The label set is VOC's 21 classes unless a `labels.yaml` in the folder (or a palette passed in)
says otherwise."""

from __future__ import annotations

from pathlib import Path

from segsim.dataset.index import DatasetIndex, Layout, register_layout
from segsim.dataset.labelspec import VOC_IGNORE_COLOR, folder_label_file, voc_labels
from segsim.dataset.layout import SPLITS
from segsim.dataset.masks import MaskDecoder
from segsim.errors import SegsimError
from segsim.fileio import IMAGE_SUFFIXES


def open_voc(root: Path, palette=None, split_fractions=None, split_seed: int = 0) -> DatasetIndex:
    """The split arguments do not apply: ImageSets/Segmentation/ lists the splits."""
    labels, ignore_color = palette or folder_label_file(root) or (voc_labels(), VOC_IGNORE_COLOR)
    sets = root / "ImageSets" / "Segmentation"
    splits: dict[str, list[tuple[Path, Path]]] = {}
    for split in SPLITS:
        listing = sets / f"{split}.txt"
        if not listing.is_file():
            continue
        pairs = []
        for line_no, line in enumerate(listing.read_text().splitlines(), 1):
            fid = line.strip().split(" ")[0]
            if not fid:
                continue
            img = _find_with_ext(root / "JPEGImages", fid, IMAGE_SUFFIXES)
            if img is None:
                raise SegsimError(
                    f"{listing} line {line_no} names {fid!r}, but "
                    f"JPEGImages/{fid}.jpg does not exist",
                    "add the image or remove the line",
                )
            mask = root / "SegmentationClass" / f"{fid}.png"
            if not mask.is_file():
                raise SegsimError(
                    f"{listing} line {line_no} names {fid!r}, but its mask {mask} does not exist",
                    "add the mask or remove the line",
                )
            pairs.append((img, mask))
        splits[split] = pairs
    if not any(splits.values()):
        raise SegsimError(
            f"{sets} has no train.txt/val.txt/test.txt listing images",
            "add ImageSets/Segmentation/train.txt and val.txt (one image id per line)",
        )
    return DatasetIndex(root, "voc", labels, splits, MaskDecoder(labels, ignore_color))


def _find_with_ext(folder: Path, stem: str, exts) -> Path | None:
    for ext in exts:
        for cand in (folder / f"{stem}{ext}", folder / f"{stem}{ext.upper()}"):
            if cand.is_file():
                return cand
    return None


def _detect(root: Path) -> bool:
    return (root / "JPEGImages").is_dir() and (root / "SegmentationClass").is_dir()


def _locate(root: Path) -> Path:
    """Accept the devkit's parent folders too."""
    for sub in ("VOC2012", "VOCdevkit/VOC2012"):
        if not (root / "JPEGImages").is_dir() and (root / sub / "JPEGImages").is_dir():
            root = root / sub
    return root


register_layout(
    Layout(
        name="voc",
        detect=_detect,
        open=open_voc,
        split_fix=lambda name: (
            f"add ImageSets/Segmentation/{name}.txt listing the image ids of that split"
        ),
        marker="JPEGImages/ + SegmentationClass/",
        description="a Pascal VOC folder",
        locate=_locate,
    )
)
