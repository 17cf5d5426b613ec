"""Evaluate a model on one split of a labelled folder: metrics from one confusion matrix
accumulated over every pixel of the split, plus the pictures people look at.

A folder without splits of its own (flat images/ + masks/) is scored whole unless a made-up
split is asked for; either way the result says how many images were scored of how many found.

EVALDIR/metrics.json     miou, pixel_accuracy, per_class {name: {iou, dice, ...}}, + extras
EVALDIR/confusion.png    row-normalized confusion matrix (rows = ground truth)
EVALDIR/samples.png      image | ground truth | prediction for a few frames of the split
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from segsim.dataset.reader import DEFAULT_SPLIT_FRACTIONS, open_dataset
from segsim.errors import SegsimError
from segsim.fileio import write_atomic
from segsim.infer.predictor import Predictor
from segsim.labels import LabelSet
from segsim.progress import progress_bar

BATCH = 4  # images per predict_batch call: one forward pass in whole mode


def check_label_sets(model_labels: LabelSet, data_labels: LabelSet, data: str) -> list[str]:
    """An error when the dataset has classes the model cannot predict; warnings for renames."""
    if data_labels.num_classes > model_labels.num_classes:
        raise SegsimError(
            f"{data} has {data_labels.num_classes} classes but the model predicts "
            f"{model_labels.num_classes} ({', '.join(model_labels.names)})",
            "evaluate on a dataset with the model's label set",
        )
    pairs = zip(data_labels.names, model_labels.names, strict=False)  # the model may have more
    renamed = [f"{i}: {a!r} vs {b!r}" for i, (a, b) in enumerate(pairs) if a != b]
    if not renamed:
        return []
    return [f"class names differ between dataset and model ({'; '.join(renamed[:5])})"]


def sample_indices(n: int, k: int) -> list[int]:
    """k indices spread evenly over 0..n-1 (deterministic, so reruns show the same frames)."""
    if n <= 0 or k <= 0:
        return []
    return sorted({round(float(i)) for i in np.linspace(0, n - 1, min(k, n))})


def parse_fractions(text: str | None) -> tuple[float, float, float] | None:
    """'0.8,0.1,0.1' -> (0.8, 0.1, 0.1); None or '' -> None."""
    if text is None or not text.strip():
        return None
    try:
        values = tuple(float(t) for t in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3 or any(v < 0 for v in values) or sum(values) <= 0:
        raise SegsimError(
            f"split_fractions {text!r} is not three non-negative numbers",
            "write train,val,test fractions, e.g. split_fractions=0.8,0.1,0.1",
            param="split_fractions",
        )
    return values  # type: ignore[return-value]


def select_pairs(index, split: str | None, split_fractions, split_seed) -> tuple[str, list, str]:
    """(split name, pairs to score, how they were chosen) for `split` of `index`.

    `split` is a split name, "all", or None: "test" when the folder has splits of its own, else
    all of it. A folder without splits of its own is split at random only when asked: a split
    named, or `split_fractions`/`split_seed` given."""
    asked = split_fractions is not None or split_seed is not None
    if not index.made_up_splits:
        if asked:
            raise SegsimError(
                f"a made-up split (fractions, seed) only applies to a folder without "
                f"splits of its own, and {index.root} has its own",
                "leave the fractions and seed out and pick a split by name",
                param="split",
            )
        split = split or "test"
        pairs = index.all_pairs() if split == "all" else index.split(split)
        return split, pairs, f"split: {split}"
    if split is None:
        split = "test" if asked else "all"
    if split == "all":
        return split, index.all_pairs(), "split: all; the folder has no splits of its own"
    fractions = ",".join(f"{f:g}" for f in split_fractions or DEFAULT_SPLIT_FRACTIONS)
    how = f"split: {split}, made up at random with fractions {fractions}, seed {split_seed or 0}"
    return split, index.split(split), how


def evaluate(
    predictor: Predictor,
    data: str | Path,
    split: str | None = None,
    out: str | Path | None = None,
    tta: str | None = None,
    scales: list[float] | None = None,
    mode: str = "whole",
    samples: int = 4,
    progress: bool = True,
    limit: int | None = None,
    split_fractions: tuple[float, float, float] | None = None,
    split_seed: int | None = None,
) -> dict:
    """Metrics of `predictor` on `split` of the folder `data` (any layout the reader knows).

    `split`: a split name, "all", or None (see select_pairs). A folder without splits of its
    own is cut with `split_fractions` (default 0.8,0.1,0.1) and `split_seed` (default 0), the
    split `segsim train` makes of it with the same settings.
    Returns the metrics dict written to metrics.json (with a `files` entry when `out` is given);
    its `scored` line says how many images were scored of how many found, and from which split.
    """
    from segsim.metrics import ConfusionAccumulator, metrics_from_confusion

    index = open_dataset(
        data, split_fractions=split_fractions or DEFAULT_SPLIT_FRACTIONS, split_seed=split_seed or 0
    )
    split, pairs, how = select_pairs(index, split, split_fractions, split_seed)
    found = len(index.all_pairs())
    if limit is not None:
        pairs = pairs[:limit]
    labels = predictor.labels
    warnings = check_label_sets(labels, index.labels, str(data))
    acc = ConfusionAccumulator(labels.num_classes, labels.ignore_index)
    keep = set(sample_indices(len(pairs), samples))
    shown: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []

    with progress_bar(progress, f"evaluating {split}", len(pairs)) as advance:
        for start in range(0, len(pairs), BATCH):
            chunk = pairs[start : start + BATCH]
            loaded = [index.load(img, mask) for img, mask in chunk]
            preds = predictor.predict_batch(
                [im for im, _ in loaded], tta=tta, scales=scales, mode=mode
            )
            for j, ((image, gt), pred) in enumerate(zip(loaded, preds, strict=True)):
                acc.update(pred, gt)
                if start + j in keep:
                    shown.append((chunk[j][0].stem, image, gt, pred))
            advance(len(chunk))

    cm = acc.matrix()
    m = metrics_from_confusion(cm, labels.names)
    result = {
        "miou": m["miou"],
        "pixel_accuracy": m["pixel_accuracy"],
        "per_class": m["per_class"],
        "mean_dice": m["mean_dice"],
        "mean_accuracy": m["mean_accuracy"],
        "num_pixels": m["num_pixels"],
        "num_images": len(pairs),
        "num_found": found,
        "scored": f"scored {len(pairs)} of {found} images found ({how})",
        "split": split,
        "split_made_up": index.made_up_splits and split != "all",
        "data": str(data),
        "layout": index.layout,
        "model": str(predictor.source) if predictor.source else None,
        "backend": predictor.backend,
        "tta": tta,
        "scales": scales,
        "mode": mode,
        "class_names": labels.names,
        "confusion_matrix": cm.tolist(),
        "warnings": warnings,
    }
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "metrics": out / "metrics.json",
            "confusion": out / "confusion.png",
            "samples": out / "samples.png",
        }
        write_atomic(
            files["confusion"], confusion_png(cm, labels.names, f"{split}: mIoU {m['miou']:.3f}")
        )
        write_atomic(files["samples"], samples_png(shown, labels))
        result["files"] = {k: str(v) for k, v in files.items()}
        write_atomic(files["metrics"], (json.dumps(result, indent=2) + "\n").encode())
    return result


# --- pictures ------------------------------------------------------------------------------------


def _figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def confusion_png(cm: np.ndarray, names: list[str], title: str = "") -> bytes:
    """Row-normalized confusion matrix as a PNG, rows = ground truth, columns = prediction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from segsim.metrics import normalized_confusion

    norm = normalized_confusion(cm)
    n = len(names)
    side = max(4.0, 0.55 * n + 2.0)
    fig, ax = plt.subplots(figsize=(side + 1.0, side))
    im = ax.imshow(norm, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of the true class's pixels")
    ax.set_xticks(range(n), names, rotation=45, ha="right")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("ground-truth class")
    ax.set_title(title or "normalized confusion matrix")
    if n <= 25:  # numbers stay legible up to about this many classes
        for i in range(n):
            for j in range(n):
                ax.text(
                    j,
                    i,
                    f"{norm[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    return _figure_png(fig)


def samples_png(
    shown: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], labels: LabelSet
) -> bytes:
    """A grid with one row per sample: image | ground truth | prediction."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.patches
    import matplotlib.pyplot as plt

    rows = max(1, len(shown))
    fig, axes = plt.subplots(rows, 3, figsize=(9, 3 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for r, (name, image, gt, pred) in enumerate(shown):
        row = (
            (image, f"{name}: image"),
            (labels.colorize(gt), "ground truth"),
            (labels.colorize(pred), "prediction"),
        )
        for c, (picture, title) in enumerate(row):
            axes[r, c].imshow(picture)
            axes[r, c].set_title(title, fontsize=9)
    if not shown:
        axes[0, 1].text(0.5, 0.5, "no samples", ha="center", va="center")
    handles = [
        matplotlib.patches.Patch(color=np.asarray(lab.color) / 255.0, label=lab.name)
        for lab in labels.labels
    ]
    fig.legend(
        handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=8, frameon=False
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _figure_png(fig)
