"""The **segsim** layout, as `segsim generate` writes it: `dataset.yaml` (label set, splits) +
`images/<split>/<id>.png` and `labels/<split>/<id>.png` (uint8 class index)."""

from __future__ import annotations

from pathlib import Path

from segsim.dataset.index import DatasetIndex, Layout, register_layout
from segsim.dataset.layout import DATASET_YAML, SPLITS
from segsim.dataset.masks import MaskDecoder
from segsim.errors import SegsimError
from segsim.fileio import IMAGE_SUFFIXES
from segsim.labels import IGNORE_INDEX, LabelSet


def open_segsim(
    root: Path, palette=None, split_fractions=None, split_seed: int = 0
) -> DatasetIndex:
    """`palette` and the split arguments do not apply: the folder says both."""
    from segsim.config import load_yaml

    meta = load_yaml(root / DATASET_YAML)
    if "labels" not in meta:
        raise SegsimError(
            f"{root / DATASET_YAML} has no 'labels' list",
            "regenerate the dataset with `segsim generate`",
        )
    labels = LabelSet.from_dict(
        {"labels": meta["labels"], "ignore_index": meta.get("ignore_index", IGNORE_INDEX)}
    )
    splits: dict[str, list[tuple[Path, Path]]] = {}
    for split in SPLITS:
        img_dir = root / "images" / split
        if not img_dir.is_dir():
            continue
        pairs = []
        for img in sorted(img_dir.iterdir()):
            if img.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            mask = root / "labels" / split / f"{img.stem}.png"
            if not mask.is_file():
                raise SegsimError(
                    f"image {img} has no label mask {mask}",
                    "regenerate the frame (`segsim generate` resumes), or delete the image",
                )
            pairs.append((img, mask))
        splits[split] = pairs
    if not any(splits.values()):
        raise SegsimError(
            f"{root} has a dataset.yaml but no images under images/<split>/",
            "generate frames into it with `segsim generate`",
        )
    return DatasetIndex(root, "segsim", labels, splits, MaskDecoder(labels, allow_color=False))


register_layout(
    Layout(
        name="segsim",
        detect=lambda root: (root / DATASET_YAML).is_file(),
        open=open_segsim,
        split_fix=lambda name: "generate the dataset with a non-zero fraction for that split",
        marker=DATASET_YAML,
        description="a folder written by `segsim generate`",
    )
)
