"""The **folder** layout: `images/` + `masks/` paired by file stem, either with split subfolders
(`images/train`, `masks/train`, ...) or flat, when its pairs are split at random with a fixed
seed (`made_up_splits`). Masks are class indices (grayscale or palette PNG) or colours mapped
through a palette: a `labels.yaml` in the folder, or one passed in."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segsim.dataset.index import DatasetIndex, Layout, register_layout
from segsim.dataset.labelspec import folder_label_file
from segsim.dataset.layout import SPLITS
from segsim.dataset.masks import MASK_EXTS, MaskDecoder
from segsim.errors import SegsimError
from segsim.fileio import IMAGE_SUFFIXES
from segsim.labels import IGNORE_INDEX, LabelSet

DEFAULT_SPLIT_FRACTIONS = (0.8, 0.1, 0.1)


def open_folder(
    root: Path, palette=None, split_fractions=DEFAULT_SPLIT_FRACTIONS, split_seed: int = 0
) -> DatasetIndex:
    img_root, mask_root = root / "images", root / "masks"
    split_dirs = [s for s in SPLITS if (img_root / s).is_dir()]
    splits: dict[str, list[tuple[Path, Path]]] = {}
    if split_dirs:
        for split in split_dirs:
            if not (mask_root / split).is_dir():
                raise SegsimError(
                    f"{img_root / split} has no matching {mask_root / split}",
                    f"put the masks of the {split} images in {mask_root / split}",
                )
            splits[split] = _pairs_by_stem(img_root / split, mask_root / split)
    else:
        pairs = _pairs_by_stem(img_root, mask_root)
        splits = random_split(pairs, split_fractions, split_seed)
    found = palette or folder_label_file(root)
    if found is None:
        labels, ignore_color = _infer_index_labels(root, splits), None
    else:
        labels, ignore_color = found
    return DatasetIndex(
        root,
        "folder",
        labels,
        splits,
        MaskDecoder(labels, ignore_color),
        made_up_splits=not split_dirs,
    )


def _pairs_by_stem(img_dir: Path, mask_dir: Path) -> list[tuple[Path, Path]]:
    images = {
        p.stem: p
        for p in sorted(img_dir.iterdir())
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    }
    masks = {
        p.stem: p
        for p in sorted(mask_dir.iterdir())
        if p.is_file() and p.suffix.lower() in MASK_EXTS
    }
    if not images:
        raise SegsimError(
            f"no images in {img_dir}", f"put images ({', '.join(IMAGE_SUFFIXES)}) there"
        )
    lonely = sorted(set(images) - set(masks))
    if lonely:
        raise SegsimError(
            f"image {images[lonely[0]]} has no mask in {mask_dir} "
            f"({len(lonely)} image(s) without a mask)",
            f"add {mask_dir / (lonely[0] + '.png')} or remove the image; masks pair "
            "with images by file name without extension",
        )
    return [(images[s], masks[s]) for s in sorted(images)]


def random_split(pairs: list, fractions, seed: int) -> dict[str, list]:
    """Shuffle with a fixed seed and cut into train/val/test (each non-empty fraction gets >= 1)."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise SegsimError(
            f"split fractions {list(fractions)} must be three non-negative numbers",
            "write e.g. data.split_fractions=[0.8,0.1,0.1]",
        )
    total = float(sum(fractions))
    order = np.random.default_rng(seed).permutation(len(pairs))
    n = len(pairs)
    n_val = max(1, round(n * fractions[1] / total)) if fractions[1] > 0 and n >= 3 else 0
    n_test = max(1, round(n * fractions[2] / total)) if fractions[2] > 0 and n >= 3 else 0
    n_train = n - n_val - n_test
    idx = {
        "train": order[:n_train],
        "val": order[n_train : n_train + n_val],
        "test": order[n_train + n_val :],
    }
    return {k: [pairs[i] for i in sorted(v)] for k, v in idx.items()}


def _infer_index_labels(root: Path, splits) -> LabelSet:
    """No labels.yaml: masks must be class indices; the classes are 0..max id seen."""
    from PIL import Image

    top = 0
    for pairs in splits.values():
        for _, mask in pairs:
            try:
                with Image.open(mask) as im:
                    if im.mode not in ("L", "P", "I", "I;16"):
                        raise SegsimError(
                            f"mask {mask} is a colour image ({im.mode}) but {root} "
                            "has no labels.yaml saying which colour is which class",
                            f"write {root / 'labels.yaml'} with `labels: [{{name: "
                            "..., color: [r, g, b]}, ...]`, or pass data.palette",
                        )
                    arr = np.asarray(im)
            except OSError as e:
                raise SegsimError(
                    f"cannot read mask {mask}: {e}", "replace or delete the file"
                ) from e
            values = arr[arr != IGNORE_INDEX]
            if values.size:
                top = max(top, int(values.max()))
    return LabelSet.from_names([f"class_{i}" for i in range(top + 1)])


register_layout(
    Layout(
        name="folder",
        detect=lambda root: (root / "images").is_dir() and (root / "masks").is_dir(),
        open=open_folder,
        split_fix=lambda name: (
            f"add images/{name} and masks/{name}, or use flat images/ + masks/ "
            "folders to have them split at random"
        ),
        marker="images/ + masks/",
        description="one with images/ and masks/ paired by file name",
    )
)
