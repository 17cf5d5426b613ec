"""Label sets of labelled folders: the hand-written label files (`labels.yaml` and friends), a
palette passed in, and Pascal VOC's 21 classes with the devkit's colours."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segsim.errors import SegsimError
from segsim.labels import IGNORE_INDEX, Label, LabelSet, default_color

LABEL_FILES = ("labels.yaml", "labels.yml", "palette.yaml", "palette.yml")

VOC_CLASSES = [
    "background",
    "aeroplane",
    "bicycle",
    "bird",
    "boat",
    "bottle",
    "bus",
    "car",
    "cat",
    "chair",
    "cow",
    "diningtable",
    "dog",
    "horse",
    "motorbike",
    "person",
    "pottedplant",
    "sheep",
    "sofa",
    "train",
    "tvmonitor",
]
VOC_IGNORE_COLOR = (224, 224, 192)


def voc_color(i: int) -> tuple[int, int, int]:
    """Pascal VOC's colour for class i (the bit-interleaving colormap of the VOC devkit)."""
    r = g = b = 0
    c = i
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return (r, g, b)


def voc_labels() -> LabelSet:
    return LabelSet(
        [
            Label(i, n, voc_color(i), "background" if i == 0 else "default")
            for i, n in enumerate(VOC_CLASSES)
        ]
    )


def parse_label_spec(data: Any, source: str) -> tuple[LabelSet, tuple[int, int, int] | None]:
    """A label set from the forms people write by hand; also returns the ignore colour, if any.

    Accepted: a LabelSet dict (`labels: [{id, name, color, group}]`), `labels: [{name, color}]`
    (ids by order), `labels: [name, ...]`, or a plain mapping `{name: [r, g, b], ...}`.
    Optional top-level keys: `ignore_index` (default 255), `ignore_color` ([r, g, b]).
    """
    hint = "write `labels: [{name: background, color: [0, 0, 0]}, ...]` (ids follow the order)"
    ignore_color = None
    ignore_index = IGNORE_INDEX
    items: Any = data
    if isinstance(data, dict) and "labels" in data:
        items = data["labels"]
        ignore_index = int(data.get("ignore_index", IGNORE_INDEX))
        if data.get("ignore_color") is not None:
            ignore_color = _color(data["ignore_color"], source)
    elif isinstance(data, dict):
        items = [{"name": k, "color": v} for k, v in data.items()]
    if not isinstance(items, list) or not items:
        raise SegsimError(f"{source}: no labels found", hint)
    labels = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            labels.append(Label(i, item, default_color(i), "background" if i == 0 else "default"))
        elif isinstance(item, dict) and "name" in item:
            lid = int(item.get("id", i))
            color = (
                _color(item["color"], source)
                if item.get("color") is not None
                else default_color(lid)
            )
            labels.append(Label(lid, str(item["name"]), color, str(item.get("group", "default"))))
        else:
            raise SegsimError(f"{source}: label entry {i} ({item!r}) has no name", hint)
    labels.sort(key=lambda lab: lab.id)
    return LabelSet(labels, ignore_index), ignore_color


def _color(value: Any, source: str) -> tuple[int, int, int]:
    if isinstance(value, str) and value.startswith("#") and len(value) == 7:
        return tuple(int(value[k : k + 2], 16) for k in (1, 3, 5))  # type: ignore[return-value]
    try:
        rgb = tuple(int(c) for c in value)
    except (TypeError, ValueError):
        rgb = ()
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise SegsimError(
            f"{source}: colour {value!r} is not [r, g, b] with values 0..255",
            "write colours as [r, g, b] or '#rrggbb'",
        )
    return rgb  # type: ignore[return-value]


def load_label_file(path: Path) -> tuple[LabelSet, tuple[int, int, int] | None]:
    from segsim.config import load_yaml

    return parse_label_spec(load_yaml(path), str(path))


def given_palette(palette: Any):
    """(labels, ignore colour) of a palette passed in (a label-spec dict/list or a path to a
    label file), or None when none was."""
    if palette is None:
        return None
    if isinstance(palette, (str, Path)):
        return load_label_file(Path(palette).expanduser())
    return parse_label_spec(palette, "data.palette")


def folder_label_file(root: Path):
    """(labels, ignore colour) from the first label file in `root`, or None when it has none."""
    for name in LABEL_FILES:
        if (root / name).is_file():
            return load_label_file(root / name)
    return None
