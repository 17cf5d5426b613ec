"""Turn one rendered frame into the bytes of its five files, and write them.

PNGs come from segsim.dataset.png's one entry, `encode` (numpy row filters + libdeflate, or fpng
for RGB when it is installed), whose bytes depend on the pixels alone. Every file is written
atomically (segsim.fileio.write_atomic) and a frame's meta last, so a crash (even kill -9)
leaves whole files only, and a frame without its meta is redone.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from segsim.dataset import png
from segsim.dataset.layout import DEPTH_SCALE, PASSES, relative_frame_paths
from segsim.dataset.meta import dumps_meta
from segsim.fileio import write_atomic


def depth_to_mm(depth: np.ndarray) -> np.ndarray:
    """float32 metres (0 = nothing hit) -> uint16 millimetres, clipped to 1..65535 where hit."""
    d = np.asarray(depth, dtype=np.float32)
    mm = np.rint(d * np.float32(DEPTH_SCALE))
    # A hit closer than half a millimetre must not read as "nothing hit". In place, float32:
    # this runs for every frame written.
    np.clip(mm, 1, 65535, out=mm)
    mm[~((d > 0) & (d < np.inf))] = 0  # nothing hit, and NaN / inf
    return mm.astype(np.uint16)


def encode_frame(frame, meta: dict) -> dict[str, bytes]:
    """Frame (rgb, class_ids, instance_ids, depth) + meta dict -> {pass name: file bytes}."""
    rgb = np.ascontiguousarray(frame.rgb, dtype=np.uint8)
    return {
        "images": png.encode(rgb),
        "labels": png.encode(np.ascontiguousarray(frame.class_ids, dtype=np.uint8)),
        "instances": png.encode(np.ascontiguousarray(frame.instance_ids, dtype=np.uint16)),
        "depth": png.encode(depth_to_mm(frame.depth)),
        "meta": dumps_meta(meta),
    }


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_frame(root: Path, split: str, fid: str, files: dict[str, bytes]) -> dict[str, str]:
    """Write a frame's files, meta last (its presence marks the frame complete).

    Returns {path relative to root: sha256} for the manifest."""
    rel = relative_frame_paths(split, fid)
    base = os.fspath(root)
    sums = {}
    for name in [p for p in PASSES if p != "meta"] + ["meta"]:
        write_atomic(os.path.join(base, rel[name]), files[name])
        sums[rel[name]] = sha256(files[name])
    return sums
