"""Per-mask statistics for the API (class fractions) and the viewer HUD (frame mIoU)."""

from __future__ import annotations

import numpy as np

from segsim.labels import IGNORE_INDEX, LabelSet
from segsim.metrics import confusion_matrix, metrics_from_confusion


def class_fractions(mask: np.ndarray, labels: LabelSet) -> list[dict]:
    """One entry per class present in the mask: id, name, pixel count and fraction of the image."""
    counts = np.bincount(mask.ravel(), minlength=256)
    total = mask.size
    out = []
    for cid in np.flatnonzero(counts):
        name = (
            labels.labels[cid].name
            if cid < labels.num_classes
            else ("ignore" if cid == labels.ignore_index else f"class_{cid}")
        )
        out.append(
            {
                "id": int(cid),
                "name": name,
                "pixels": int(counts[cid]),
                "fraction": float(counts[cid] / total),
            }
        )
    return out


def frame_miou(pred: np.ndarray, gt: np.ndarray, ignore_index: int = IGNORE_INDEX) -> float | None:
    """Mean IoU over the classes present in the ground truth or the prediction of one frame.

    Pixels whose ground truth is `ignore_index` are left out. None when nothing is left to score.
    """
    valid = gt != ignore_index
    if not valid.any():
        return None
    classes = int(max(pred.max(), gt[valid].max())) + 1
    return metrics_from_confusion(confusion_matrix(pred, gt, classes, ignore_index))["miou"]
