"""Class statistics of a dataset folder (any layout the reader opens): per class the share of
all pixels, the share of frames it appears in, and the number of objects where the layout
keeps instance maps. `segsim stats` prints them as a table and draws them as a bar chart."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from segsim.dataset.convert.source import frames, read_instances
from segsim.dataset.index import DatasetIndex
from segsim.progress import progress_bar


def dataset_stats(index: DatasetIndex, progress: bool = True) -> dict:
    """`{"frames", "pixels", "has_instances", "ignore_share", "classes": [{id, name,
    pixel_share, frame_share, pixels, frames, instances}]}`; `instances` is None without
    instance maps. Shares are of every pixel (the ignored ones included) and of every frame."""
    labels = index.labels
    n = labels.num_classes
    pixels = np.zeros(256, np.int64)
    in_frames = np.zeros(256, np.int64)
    objects = np.zeros(n, np.int64)
    items = list(frames(index))
    with_instances = bool(items) and all(f.instances is not None for f in items)
    with progress_bar(progress, "stats", len(items)) as advance:
        for f in items:
            mask = index.decoder(f.mask)
            counts = np.bincount(mask.reshape(-1), minlength=256)
            pixels += counts
            in_frames += counts > 0
            if with_instances:
                inst = read_instances(index, f.instances, mask.shape)
                keep = (inst > 0) & (mask < n)
                # an object counts once per class it covers (parts may carry their own class)
                pairs = np.unique(np.stack([inst[keep], mask[keep].astype(np.int32)], 1), axis=0)
                objects += np.bincount(pairs[:, 1], minlength=n)[:n] if pairs.size else 0
            advance(1)
    total = int(pixels.sum())
    nf = len(items)
    classes = [
        {
            "id": lab.id,
            "name": lab.name,
            "pixels": int(pixels[lab.id]),
            "pixel_share": pixels[lab.id] / total if total else 0.0,
            "frames": int(in_frames[lab.id]),
            "frame_share": in_frames[lab.id] / nf if nf else 0.0,
            "instances": int(objects[lab.id]) if with_instances else None,
        }
        for lab in labels.labels
    ]
    ign = labels.ignore_index
    return {
        "root": str(index.root),
        "layout": index.layout,
        "frames": nf,
        "pixels": total,
        "has_instances": with_instances,
        "ignore_share": pixels[ign] / total if total else 0.0,
        "classes": classes,
    }


def stats_png(stats: dict, colors: list[tuple[int, int, int]] | None = None) -> bytes:
    """Horizontal bars: pixel share, frame share and (with instance maps) object counts."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = stats["classes"]
    names = [c["name"] for c in classes]
    rgb = [tuple(v / 255 for v in c) for c in colors] if colors else None
    panels = [("share of pixels", [c["pixel_share"] for c in classes], "{:.1%}")]
    panels.append(("share of frames", [c["frame_share"] for c in classes], "{:.0%}"))
    if stats["has_instances"]:
        panels.append(("objects", [c["instances"] for c in classes], "{:d}"))
    height = max(2.5, 0.3 * len(names) + 1.2)
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), height), sharey=True)
    for ax, (title, values, fmt) in zip(np.atleast_1d(axes), panels, strict=True):
        y = np.arange(len(names))
        ax.barh(y, values, color=rgb, edgecolor="0.3", linewidth=0.5)
        ax.set_title(title)
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        top = max(values) if values and max(values) > 0 else 1
        ax.set_xlim(0, top * 1.25)
        for yi, v in zip(y, values, strict=True):
            ax.text(v, yi, " " + fmt.format(v), va="center", fontsize=8)
    fig.suptitle(f"{Path(stats['root']).name}: {stats['frames']} frames ({stats['layout']})")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()
