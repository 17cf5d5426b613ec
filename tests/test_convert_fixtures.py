"""A tiny street dataset in segsim's layout (Cityscapes train classes, instance maps) and
imperfect predictions for it, shared by the convert, layout and stats tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import yaml

from segsim.cityscapes import train_labelset
from segsim.dataset import png
from segsim.fileio import write_atomic

W, H = 64, 48
SPLITS = {"train": 2, "val": 3, "test": 1}
CAR, PERSON = 13, 11


def street_frame(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rgb, train-id mask, uint16 instances): sky, building, pole, sidewalk/terrain, road,
    two cars and a person at places drawn from k, an ignored corner."""
    rng = np.random.default_rng([7, k])
    mask = np.zeros((H, W), np.uint8)
    mask[:12] = 10  # sky
    mask[12:24] = 2  # building
    mask[24:36, : W // 2] = 1  # sidewalk
    mask[24:36, W // 2 :] = 9  # terrain
    mask[36:] = 0  # road
    px = int(rng.integers(4, W - 6))
    mask[12:36, px : px + 2] = 5  # pole
    inst = np.zeros((H, W), np.uint16)
    for obj, (cls, w, h) in enumerate([(CAR, 14, 8), (CAR, 10, 7), (PERSON, 4, 12)], 1):
        x = int(rng.integers(0, W - w))
        y = int(rng.integers(28, H - h))
        mask[y : y + h, x : x + w] = cls
        inst[y : y + h, x : x + w] = obj  # later objects occlude earlier ones
    inst[~np.isin(mask, [CAR, PERSON])] = 0
    mask[-3:, :6] = 255  # ignored (as an ego-vehicle bonnet would be)
    inst[-3:, :6] = 0
    palette = train_labelset().palette()
    noise = rng.integers(-20, 21, (H, W, 3))
    rgb = np.clip(palette[mask].astype(int) + noise, 0, 255).astype(np.uint8)
    return rgb, mask, inst


def make_street_dataset(root: Path) -> dict[str, np.ndarray]:
    """Writes the dataset; returns {frame id: mask} for the tests to compare against."""
    labels = train_labelset()
    (root).mkdir(parents=True, exist_ok=True)
    (root / "dataset.yaml").write_text(
        yaml.safe_dump(
            {
                "labels": labels.to_dict()["labels"],
                "ignore_index": 255,
                "splits": SPLITS,
                "width": W,
                "height": H,
            }
        )
    )
    masks = {}
    k = 0
    for split, n in SPLITS.items():
        for _ in range(n):
            rgb, mask, inst = street_frame(k)
            fid = f"{k:06d}"
            write_atomic(root / "images" / split / f"{fid}.png", png.encode(rgb))
            write_atomic(root / "labels" / split / f"{fid}.png", png.encode(mask))
            write_atomic(root / "instances" / split / f"{fid}.png", png.encode(inst))
            masks[fid] = mask
            k += 1
    return masks


def perturb(mask: np.ndarray, k: int, num_classes: int = 19) -> np.ndarray:
    """An imperfect prediction: shifted by two pixels, some blocks of wrong classes, no 255."""
    rng = np.random.default_rng([11, k])
    pred = np.roll(mask, 2, axis=1).copy()
    pred[pred == 255] = 0
    for _ in range(4):
        y, x = int(rng.integers(0, H - 8)), int(rng.integers(0, W - 8))
        pred[y : y + 8, x : x + 8] = int(rng.integers(0, num_classes))
    return pred


def image_key(rgb: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest()


class FakePredictor:
    """Stands in for segsim's Predictor in evaluate(): returns fixed masks per image."""

    backend = "fake"
    source = None

    def __init__(self, labels, by_image: dict[str, np.ndarray]):
        self.labels = labels
        self.by_image = by_image

    def predict_batch(self, images, **_):
        return [self.by_image[image_key(im)] for im in images]
