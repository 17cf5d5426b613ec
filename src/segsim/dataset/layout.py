"""Where every file of a segsim dataset folder lives. The one place paths are spelled.

DIR/dataset.yaml                  label set, splits and counts, resolved config, seed, version
DIR/images/<split>/<id>.png       RGB
DIR/labels/<split>/<id>.png       uint8 class index
DIR/instances/<split>/<id>.png    uint16 instance id, 0 = none
DIR/depth/<split>/<id>.png        uint16 millimetres, 0 = nothing hit
DIR/meta/<split>/<id>.json        camera and objects (see scene/spec.py)
DIR/manifest.jsonl                one line per frame: id, split, relative path -> sha256
"""

from __future__ import annotations

from pathlib import Path

SPLITS = ("train", "val", "test")
PASSES = ("images", "labels", "instances", "depth", "meta")
EXTENSIONS = {
    "images": ".png",
    "labels": ".png",
    "instances": ".png",
    "depth": ".png",
    "meta": ".json",
}
DATASET_YAML = "dataset.yaml"
MANIFEST = "manifest.jsonl"
DEPTH_SCALE = 1000.0  # depth PNG stores millimetres


def frame_id(index: int) -> str:
    """Stable, sortable file stem for frame `index`."""
    return f"{index:06d}"


def relative_frame_paths(split: str, fid: str) -> dict[str, str]:
    """Each pass's file of a frame, relative to the dataset folder, as POSIX strings (the
    manifest's keys). Plain strings: the generator builds them for every frame, where pathlib
    costs show."""
    return {p: f"{p}/{split}/{fid}{EXTENSIONS[p]}" for p in PASSES}


def frame_paths(root: Path, split: str, fid: str) -> dict[str, Path]:
    return {p: Path(root) / rel for p, rel in relative_frame_paths(split, fid).items()}
