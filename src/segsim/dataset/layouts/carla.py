"""The **carla** layout, as CARLA's segmentation camera writes raw frames and the Lyft-Udacity
set ships them: `CameraRGB/<name>.png` beside `CameraSeg/<name>.png`, whose red channel is the
CARLA semantic tag. Tags map to Cityscapes' 19 train ids through `data/carla_tags.yaml`
(or a `carla_tags.yaml` in the dataset folder, same form). Flat folders are split at random
with a fixed seed; `train/`, `val/`, `test/` subfolders (any case) each with the two folders
are taken as the splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segsim.cityscapes import train_labelset
from segsim.dataset.index import DatasetIndex, Layout, register_layout
from segsim.dataset.layout import SPLITS
from segsim.dataset.masks import MaskDecoder
from segsim.errors import SegsimError

RGB_DIR, SEG_DIR = "CameraRGB", "CameraSeg"
TAGS_FILE = "carla_tags.yaml"
DEFAULT_TAGS = Path(__file__).with_name("data") / TAGS_FILE


def load_tag_map(path: Path = DEFAULT_TAGS) -> np.ndarray:
    """256-entry uint8 table: CARLA tag -> train id; tags the file does not list -> 255."""
    from segsim.config import load_yaml

    data = load_yaml(path)
    lut = np.full(256, 255, np.uint8)
    try:
        for tag, (_name, train_id) in data.items():
            if not (0 <= int(tag) < 256 and (0 <= int(train_id) < 19 or int(train_id) == 255)):
                raise ValueError
            lut[int(tag)] = int(train_id)
    except (TypeError, ValueError, AttributeError) as e:
        raise SegsimError(
            f"{path}: every entry must be `tag: [name, train id]` (train id 0..18 or 255)",
            f"fix the file; {DEFAULT_TAGS} is an example",
        ) from e
    return lut


@dataclass
class CarlaTagDecoder(MaskDecoder):
    """Reads a CameraSeg PNG (RGB, tag in red) and gives Cityscapes train ids."""

    lut: np.ndarray = field(default_factory=load_tag_map, repr=False)

    def __call__(self, path) -> np.ndarray:
        from PIL import Image

        try:
            with Image.open(path) as im:
                mode = im.mode
                arr = np.array(im)
        except (OSError, ValueError, SyntaxError) as e:
            raise SegsimError(f"cannot read mask {path}: {e}", "replace or delete the file") from e
        if mode not in ("RGB", "RGBA") or arr.dtype != np.uint8:
            raise SegsimError(
                f"segmentation {path} is a mode {mode} image, not RGB with the CARLA tag in red",
                "save CARLA's raw segmentation (cc.Raw), not the CityScapesPalette colours, "
                "or use --layout folder for class-index masks",
            )
        return self.lut[arr[..., 0]]


def _pairs(rgb_dir: Path, seg_dir: Path) -> list[tuple[Path, Path]]:
    images = sorted(p for p in rgb_dir.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    pairs = []
    for img in images:
        seg = seg_dir / f"{img.stem}.png"
        if not seg.is_file():
            raise SegsimError(
                f"image {img} has no segmentation {seg}",
                f"add it to {seg_dir} (same file name as the image) or delete the image",
            )
        pairs.append((img, seg))
    if not pairs:
        raise SegsimError(f"no images in {rgb_dir}", "put CARLA's RGB frames (.png) there")
    return pairs


def _split_dirs(root: Path) -> dict[str, Path]:
    found = {}
    for sub in root.iterdir() if root.is_dir() else []:
        if sub.name.lower() in SPLITS and (sub / RGB_DIR).is_dir():
            found[sub.name.lower()] = sub
    return found


def open_carla(
    root: Path, palette=None, split_fractions=(0.8, 0.1, 0.1), split_seed: int = 0
) -> DatasetIndex:
    from segsim.dataset.layouts.folder import random_split

    labels = train_labelset()
    tags = root / TAGS_FILE
    decoder = CarlaTagDecoder(labels, lut=load_tag_map(tags if tags.is_file() else DEFAULT_TAGS))
    if (root / RGB_DIR).is_dir():
        if not (root / SEG_DIR).is_dir():
            raise SegsimError(f"{root} has {RGB_DIR}/ but no {SEG_DIR}/", f"add {root / SEG_DIR}")
        splits = random_split(_pairs(root / RGB_DIR, root / SEG_DIR), split_fractions, split_seed)
        return DatasetIndex(root, "carla", labels, splits, decoder, made_up_splits=True)
    splits = {
        split: _pairs(sub / RGB_DIR, sub / SEG_DIR) for split, sub in _split_dirs(root).items()
    }
    return DatasetIndex(root, "carla", labels, splits, decoder)


register_layout(
    Layout(
        name="carla",
        detect=lambda root: (root / RGB_DIR).is_dir() or bool(_split_dirs(root)),
        open=open_carla,
        split_fix=lambda name: f"add {name}/{RGB_DIR}/ and {name}/{SEG_DIR}/",
        marker=f"{RGB_DIR}/ + {SEG_DIR}/",
        description="a CARLA folder (CameraRGB/ + CameraSeg/)",
    )
)
