"""Images in and out of inference: the arrays the predictor accepts, and mask / overlay PNGs
written atomically (a crash never leaves half a PNG behind). Files a user hands us are read by
segsim.fileio.read_image, the one reader every part uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from segsim.dataset import png
from segsim.errors import SegsimError
from segsim.fileio import write_atomic


def as_rgb_array(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Check an in-memory image handed to the predictor; accept HxW and HxWx4 as well."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise SegsimError(
            f"{name} must be uint8 RGB, got dtype {arr.dtype}",
            "load it with segsim.fileio.read_image or convert to uint8",
        )
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    elif not (arr.ndim == 3 and arr.shape[2] == 3):
        raise SegsimError(f"{name} must have shape HxWx3, got {arr.shape}", "pass an RGB image")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise SegsimError(f"{name} has no pixels (shape {arr.shape})", "pass a non-empty image")
    return np.ascontiguousarray(arr)


def write_png(path: str | Path, array: np.ndarray) -> None:
    """An H x W uint8 mask or H x W x 3 RGB image as a PNG file, written atomically."""
    write_atomic(path, png.encode(array))
