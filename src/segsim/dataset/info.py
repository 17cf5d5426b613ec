"""dataset.yaml: what a dataset is (labels, splits, resolved config, seed, size, version).

It is written first, before any frame, so that a later `segsim generate` into the same folder
can tell whether it is resuming the same dataset (allowed, and may add frames) or about to mix
two different ones into one folder (refused, naming the setting that differs).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from segsim import __version__
from segsim.dataset.layout import DATASET_YAML
from segsim.dataset.splits import split_counts
from segsim.errors import SegsimError
from segsim.fileio import write_atomic

# Settings that change the bytes of existing frames: a resume must match them exactly.
IDENTITY_KEYS = (
    "segsim_version",
    "preset",
    "seed",
    "width",
    "height",
    "split_fractions",
    "labels",
    "ignore_index",
    "config",
)


def build_info(
    *,
    labels: dict,
    config: dict,
    preset: str | None,
    seed: int,
    width: int,
    height: int,
    count: int,
    fractions,
    group: int = 1,
) -> dict:
    doc = {
        "segsim_version": __version__,
        "preset": preset,
        "seed": int(seed),
        "width": int(width),
        "height": int(height),
        "count": int(count),
        "labels": labels["labels"],
        "ignore_index": labels["ignore_index"],
        "splits": split_counts(count, fractions, group),
        "split_fractions": [float(f) for f in fractions],
        "config": config,
    }
    # Round-trip so the dict compares equal to what a later read of the file gives back.
    return yaml.safe_load(dump_info(doc))


def dump_info(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100)


def write_info(root: Path, doc: dict) -> None:
    write_atomic(Path(root) / DATASET_YAML, dump_info(doc).encode())


def read_info(root: Path) -> dict:
    path = Path(root) / DATASET_YAML
    if not path.is_file():
        raise SegsimError(
            f"{root} is not a segsim dataset (no {DATASET_YAML})",
            "pass a folder made by `segsim generate`",
        )
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise SegsimError(f"{path} is not valid YAML: {e}", "regenerate the dataset") from None
    missing = [
        k for k in IDENTITY_KEYS + ("count", "splits") if not isinstance(doc, dict) or k not in doc
    ]
    if missing:
        raise SegsimError(
            f"{path} is not a segsim dataset.yaml (missing {', '.join(missing)})",
            "pass a folder made by `segsim generate`",
        )
    return doc


def _short(v) -> str:
    s = repr(v)
    return s if len(s) <= 80 else s[:77] + "..."


def _first_difference(a, b, path: str) -> str:
    """Dotted path of the first place two nested values differ, e.g. 'config.camera.fov'."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}")
    return f"{path} (dataset has {_short(a)}, this command gives {_short(b)})"


def check_resume(old: dict, new: dict, root: Path) -> None:
    """Refuse to continue a dataset with settings that would give different frames."""
    for key in IDENTITY_KEYS:
        if old.get(key) != new.get(key):
            raise SegsimError(
                f"{root} already holds a dataset made with different settings: "
                + _first_difference(old.get(key), new.get(key), key),
                "re-run with the dataset's original settings to resume it, or generate into a new, "
                "empty folder",
            )
    if new["count"] < old["count"]:
        raise SegsimError(
            f"{root} already holds {old['count']} frames; count {new['count']} would shrink it",
            f"pass count={old['count']} or more (more frames extend the "
            "dataset), or generate into a new, empty folder",
            param="count",
        )
