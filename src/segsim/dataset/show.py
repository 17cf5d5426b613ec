"""Contact sheet of a dataset: one row per frame, image | coloured labels | instances | depth."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from segsim.dataset import png
from segsim.dataset.info import read_info
from segsim.dataset.layout import SPLITS, frame_id, frame_paths
from segsim.dataset.splits import scene_group, splits_of
from segsim.errors import SegsimError
from segsim.fileio import write_atomic
from segsim.labels import LabelSet

COLUMNS = ("image", "labels", "instances", "depth")
HEADER = 24  # pixels of column titles above the first row
MAX_TILE = 256  # tiles larger than this (long side) are scaled down, never up


def tile_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, MAX_TILE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def sheet_size(width: int, height: int, rows: int) -> tuple[int, int]:
    """(width, height) in pixels of a sheet of `rows` frames of a width x height dataset."""
    tw, th = tile_size(width, height)
    return tw * len(COLUMNS), HEADER + th * rows


def instance_colors(ids: np.ndarray) -> np.ndarray:
    """HxW instance ids -> HxWx3 RGB, a stable random colour per id, 0 black."""
    return _instance_lut()[ids]


@lru_cache(maxsize=1)
def _instance_lut() -> np.ndarray:
    lut = np.random.default_rng(12345).integers(60, 256, (65536, 3), dtype=np.uint8)
    lut[0] = 0
    return lut


def depth_colors(depth_mm: np.ndarray) -> np.ndarray:
    """Turbo colour map over this frame's hit range (near red... far blue), nothing hit black."""
    hit = depth_mm > 0
    out = np.zeros(depth_mm.shape + (3,), np.uint8)
    if hit.any():
        lo, hi = float(depth_mm[hit].min()), float(depth_mm[hit].max())
        norm = (1.0 - (depth_mm.astype(np.float32) - lo) / max(hi - lo, 1.0)) * 255
        bgr = cv2.applyColorMap(np.clip(norm, 0, 255).astype(np.uint8), cv2.COLORMAP_TURBO)
        out[hit] = bgr[..., ::-1][hit]
    return out


def _read(path: Path, flags) -> np.ndarray:
    img = cv2.imread(str(path), flags)
    if img is None:
        raise SegsimError(f"cannot read {path}", "run `segsim verify` on the dataset")
    return img


def frame_tiles(root: Path, split: str, fid: str, labels: LabelSet) -> list[np.ndarray]:
    p = frame_paths(root, split, fid)
    rgb = _read(p["images"], cv2.IMREAD_COLOR)[..., ::-1]
    cls = _read(p["labels"], cv2.IMREAD_UNCHANGED)
    inst = _read(p["instances"], cv2.IMREAD_UNCHANGED)
    depth = _read(p["depth"], cv2.IMREAD_UNCHANGED)
    return [rgb, labels.colorize(cls), instance_colors(inst), depth_colors(depth)]


def contact_sheet(root, count: int = 16, split: str | None = None) -> np.ndarray:
    """RGB sheet of the first `count` frames (of `split`, or of all splits in index order)."""
    root = Path(root)
    info = read_info(root)
    if count < 1:
        raise SegsimError(
            f"count must be at least 1, got {count}", "pass e.g. count=16", param="count"
        )
    if split is not None and split not in SPLITS:
        raise SegsimError(f"unknown split {split!r}", f"use one of {', '.join(SPLITS)}")
    labels = LabelSet.from_dict(info)
    chosen = [
        (i, s)
        for i, s in enumerate(
            splits_of(info["count"], info["split_fractions"], scene_group(info.get("config")))
        )
        if split is None or s == split
    ][:count]
    if not chosen:
        raise SegsimError(
            f"split {split!r} of {root} has no frames", "pick another split", param="split"
        )
    tw, th = tile_size(info["width"], info["height"])
    sw, sh = sheet_size(info["width"], info["height"], len(chosen))
    sheet = np.full((sh, sw, 3), 255, np.uint8)
    for c, title in enumerate(COLUMNS):
        cv2.putText(
            sheet,
            title,
            (c * tw + 4, HEADER - 7),
            cv2.FONT_HERSHEY_SIMPLEX,
            min(0.5, tw / 150),
            (0, 0, 0),
            1,
            cv2.LINE_AA,
        )
    for r, (i, s) in enumerate(chosen):
        for c, tile in enumerate(frame_tiles(root, s, frame_id(i), labels)):
            interp = cv2.INTER_AREA if c == 0 else cv2.INTER_NEAREST  # never blend ids
            if tile.shape[:2] != (th, tw):
                tile = cv2.resize(tile, (tw, th), interpolation=interp)
            sheet[HEADER + r * th : HEADER + (r + 1) * th, c * tw : (c + 1) * tw] = tile
    return sheet


def write_contact_sheet(root, out, count: int = 16, split: str | None = None) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise SegsimError(f"out {out} must end in .png", "pass e.g. out=sheet.png", param="out")
    sheet = contact_sheet(root, count, split)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, png.encode(sheet))
    return out
