"""Segmentation metrics from ONE confusion matrix accumulated over a whole split.

Averaging per-batch IoUs weights small batches and rare classes wrongly, so every figure here
comes from a single C x C matrix of pixel counts (rows = ground truth, columns = prediction)
summed over all images first. Pixels whose ground truth is `ignore_index` are left out.

Works on numpy arrays and torch tensors alike (the trainer accumulates on the device; the
evaluator on numpy), and never imports torch unless it is handed a tensor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from segsim.errors import SegsimError
from segsim.labels import IGNORE_INDEX


def _is_torch(x: Any) -> bool:
    return type(x).__module__.startswith("torch")


def confusion_matrix(pred, target, num_classes: int, ignore_index: int | None = IGNORE_INDEX):
    """C x C int64 pixel counts, rows = ground truth class, columns = predicted class.

    `pred` and `target` are integer class maps of the same shape (any shape: H x W, B x H x W).
    Returns a torch tensor (on the same device) when given tensors, else a numpy array.
    Ground-truth pixels equal to `ignore_index` are excluded; any other value outside
    0..num_classes-1 (in either map) is a data error and raises SegsimError.
    """
    if tuple(pred.shape) != tuple(target.shape):
        raise SegsimError(
            f"prediction shape {tuple(pred.shape)} differs from ground truth shape "
            f"{tuple(target.shape)}",
            "resize the prediction to the mask's size",
        )
    if _is_torch(target):
        import torch

        if target.device.type == "cpu" and pred.device.type == "cpu":
            # numpy's bincount is several times faster than torch's on a CPU
            cm = _confusion_numpy(
                pred.detach().numpy(), target.detach().numpy(), num_classes, ignore_index
            )
            return torch.from_numpy(cm)
        t = target.reshape(-1).long()
        p = pred.reshape(-1).long()
        if ignore_index is not None:
            keep = t != ignore_index
            t, p = t[keep], p[keep]
        if t.numel():
            _check_range(int(t.min()), int(t.max()), num_classes, "ground truth", ignore_index)
            _check_range(int(p.min()), int(p.max()), num_classes, "prediction", None)
        counts = torch.bincount(t * num_classes + p, minlength=num_classes * num_classes)
        return counts.reshape(num_classes, num_classes)
    return _confusion_numpy(np.asarray(pred), np.asarray(target), num_classes, ignore_index)


def _confusion_numpy(pred: np.ndarray, target: np.ndarray, n: int, ignore_index) -> np.ndarray:
    p = pred.reshape(-1)
    t = target.reshape(-1)
    if p.size == 0:
        return np.zeros((n, n), np.int64)
    _check_range(int(p.min()), int(p.max()), n, "prediction", None)
    if t.dtype == np.uint8 and n <= 256:
        # Fast path for uint8 masks: count every (gt value 0..255, pred) pair in one bincount,
        # then drop the ignore row and reject any other row past the label set.
        full = np.bincount(t.astype(np.int32) * n + p.astype(np.int32), minlength=256 * n).reshape(
            256, n
        )
        if ignore_index is not None and 0 <= ignore_index < 256:
            full[ignore_index] = 0
        bad = np.flatnonzero(full[n:].sum(axis=1))
        if bad.size:
            _check_range(0, n + int(bad[0]), n, "ground truth", ignore_index)
        return full[:n].astype(np.int64)
    t = t.astype(np.int64)
    p = p.astype(np.int64)
    if ignore_index is not None:
        keep = t != ignore_index
        t, p = t[keep], p[keep]
    if t.size:
        _check_range(int(t.min()), int(t.max()), n, "ground truth", ignore_index)
    counts = np.bincount(t * n + p, minlength=n * n)
    return counts.reshape(n, n)


def _check_range(lo: int, hi: int, num_classes: int, what: str, ignore_index) -> None:
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        extra = f" and {ignore_index} (ignore)" if ignore_index is not None else ""
        raise SegsimError(
            f"{what} holds class id {bad}, but the label set has {num_classes} classes "
            f"(ids 0..{num_classes - 1}{extra})",
            "check that the masks and the model use the same label set",
        )


def _nan_to_none(x: float) -> float | None:
    return None if (x is None or math.isnan(x)) else float(x)


def metrics_from_confusion(cm, names: Sequence[str] | None = None) -> dict:
    """Every figure from one confusion matrix (rows = ground truth, columns = prediction).

    Returns `{"miou", "mean_dice", "pixel_accuracy", "mean_accuracy", "num_pixels",
    "per_class": {name: {"iou", "dice", "accuracy", "present", "gt_pixels", "pred_pixels"}}}`.
    A class counts towards the means only when it is *present*: it occurs in the ground truth
    or in the prediction. An absent class has iou/dice None (JSON null), not 0 or 1, because
    there is nothing to score. `mean_accuracy` averages recall over classes in the ground truth.
    """
    cm = cm.detach().cpu().numpy() if _is_torch(cm) else np.asarray(cm)
    cm = cm.astype(np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square, got shape {cm.shape}")
    n = cm.shape[0]
    names = list(names) if names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{len(names)} class names for a {n}x{n} confusion matrix")
    tp = np.diag(cm)
    gt = cm.sum(axis=1)
    pr = cm.sum(axis=0)
    union = gt + pr - tp
    present = union > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(present, tp / union, np.nan)
        dice = np.where(present, 2 * tp / (gt + pr), np.nan)
        acc = np.where(gt > 0, tp / gt, np.nan)
    total = cm.sum()
    per_class = {
        name: {
            "iou": _nan_to_none(iou[i]),
            "dice": _nan_to_none(dice[i]),
            "accuracy": _nan_to_none(acc[i]),
            "present": bool(present[i]),
            "gt_pixels": int(gt[i]),
            "pred_pixels": int(pr[i]),
        }
        for i, name in enumerate(names)
    }
    return {
        "miou": float(iou[present].mean()) if present.any() else 0.0,
        "mean_dice": float(dice[present].mean()) if present.any() else 0.0,
        "pixel_accuracy": float(tp.sum() / total) if total > 0 else 0.0,
        "mean_accuracy": float(acc[gt > 0].mean()) if (gt > 0).any() else 0.0,
        "num_pixels": int(total),
        "per_class": per_class,
    }


def normalized_confusion(cm) -> np.ndarray:
    """Row-normalized confusion matrix (each ground-truth row sums to 1; empty rows stay 0)."""
    cm = cm.detach().cpu().numpy() if _is_torch(cm) else np.asarray(cm)
    cm = cm.astype(np.float64)
    rows = cm.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rows > 0, cm / np.maximum(rows, 1), 0.0)


class ConfusionAccumulator:
    """Sums confusion matrices batch by batch; `compute(names)` gives the split's metrics."""

    def __init__(self, num_classes: int, ignore_index: int | None = IGNORE_INDEX):
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.cm = None

    def reset(self) -> None:
        self.cm = None

    def update(self, pred, target) -> None:
        cm = confusion_matrix(pred, target, self.num_classes, self.ignore_index)
        self.cm = cm if self.cm is None else self.cm + cm

    def matrix(self) -> np.ndarray:
        if self.cm is None:
            return np.zeros((self.num_classes, self.num_classes), np.int64)
        return self.cm.detach().cpu().numpy() if _is_torch(self.cm) else np.asarray(self.cm)

    def compute(self, names: Sequence[str] | None = None) -> dict:
        return metrics_from_confusion(self.matrix(), names)
