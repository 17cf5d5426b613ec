"""Tiny segsim-format datasets for the training tests, drawn with OpenCV (no renderer needed)."""

from pathlib import Path

import cv2
import numpy as np
import yaml

from segsim.labels import LabelSet

NAMES = ["background", "square", "disc"]


def draw_frame(seed: int, size: int):
    """A dark noisy background with a red square (class 1) and a green disc (class 2)."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
    mask = np.zeros((size, size), np.uint8)
    r = max(size // 6, 2)
    x, y = (int(v) for v in rng.integers(r, size - r, 2))
    cv2.rectangle(img, (x - r, y - r), (x + r, y + r), (200, 60, 60), -1)
    cv2.rectangle(mask, (x - r, y - r), (x + r, y + r), 1, -1)
    x2, y2 = (int(v) for v in rng.integers(0, size, 2))
    cv2.circle(img, (x2, y2), r, (60, 200, 90), -1)
    cv2.circle(mask, (x2, y2), r, 2, -1)
    return img, mask


def make_dataset(root: Path, counts=(8, 4, 4), size: int = 32) -> LabelSet:
    labels = LabelSet.from_names(NAMES)
    splits = dict(zip(("train", "val", "test"), counts, strict=True))
    root.mkdir(parents=True, exist_ok=True)
    (root / "dataset.yaml").write_text(
        yaml.safe_dump(
            {
                "labels": labels.to_dict()["labels"],
                "ignore_index": 255,
                "splits": splits,
                "width": size,
                "height": size,
            }
        )
    )
    k = 0
    for split, n in splits.items():
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for _ in range(n):
            img, mask = draw_frame(k, size)
            cv2.imwrite(
                str(root / "images" / split / f"{k:06d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
            )
            cv2.imwrite(str(root / "labels" / split / f"{k:06d}.png"), mask)
            k += 1
    return labels
