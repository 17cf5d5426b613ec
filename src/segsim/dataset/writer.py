"""Turn one rendered frame into the bytes of its five files, and write files atomically.

PNGs come from segsim.dataset.png (numpy row filters + libdeflate, several times faster than
libpng at the same size), with one fixed row filter per pass: SUB for RGB (photo-like rows), UP for
depth and instance ids (smooth or constant down the columns), none for class ids (long constant
runs that deflate already squeezes). RGB goes to the fpng extension instead when it is
installed (png.encode_photo: ~3x faster, files ~10% bigger). Every file is written to a hidden
temp name in the same folder and renamed into place, so a crash (even kill -9) leaves the old
file, the new file, or nothing.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from segsim.dataset import png
from segsim.dataset.layout import DEPTH_SCALE, PASSES, relative_frame_paths
from segsim.dataset.meta import dumps_meta

ROW_FILTERS = {"labels": png.FILTER_NONE, "instances": png.FILTER_UP, "depth": png.FILTER_UP}  # RGB: encode_photo
TMP_SUFFIX = ".tmp"


def depth_to_mm(depth: np.ndarray) -> np.ndarray:
    """float32 metres (0 = nothing hit) -> uint16 millimetres, clipped to 1..65535 where hit."""
    d = np.asarray(depth, dtype=np.float32)
    mm = np.rint(d * np.float32(DEPTH_SCALE))
    # A hit closer than half a millimetre must not read as "nothing hit". In place, float32:
    # this runs for every frame written (about 3x faster than the np.where version).
    np.clip(mm, 1, 65535, out=mm)
    mm[~((d > 0) & (d < np.inf))] = 0      # nothing hit, and NaN / inf
    return mm.astype(np.uint16)


def encode_png(img: np.ndarray, kind: str = "images") -> bytes:
    """PNG bytes of an RGB (HxWx3 uint8, RGB order), class (uint8) or id/depth (uint16) image."""
    if kind == "images":
        return png.encode_photo(img)
    return png.encode_png(img, ROW_FILTERS[kind])


def encode_frame(frame, meta: dict) -> dict[str, bytes]:
    """Frame (rgb, class_ids, instance_ids, depth) + meta dict -> {pass name: file bytes}."""
    rgb = np.ascontiguousarray(frame.rgb, dtype=np.uint8)
    return {
        "images": encode_png(rgb, "images"),
        "labels": encode_png(np.ascontiguousarray(frame.class_ids, dtype=np.uint8), "labels"),
        "instances": encode_png(np.ascontiguousarray(frame.instance_ids, dtype=np.uint16), "instances"),
        "depth": encode_png(depth_to_mm(frame.depth), "depth"),
        "meta": dumps_meta(meta),
    }


def write_atomic(path: Path | str, data: bytes) -> None:
    # The temp name is hidden and per process, so two processes writing the same frame never
    # share a temp file. os-level calls on str paths: this runs five times per generated frame.
    path = os.fspath(path)
    head, name = os.path.split(path)
    tmp = os.path.join(head, f".{name}.{os.getpid()}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, path)


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
