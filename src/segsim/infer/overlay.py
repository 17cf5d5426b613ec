"""Colour overlays: the image with the class colours of a mask blended over it."""

from __future__ import annotations

import numpy as np

from segsim.errors import SegsimError
from segsim.labels import LabelSet


def overlay(rgb: np.ndarray, mask: np.ndarray, labels: LabelSet, alpha: float = 0.5) -> np.ndarray:
    """HxWx3 uint8 image blended with the label colours of `mask` (HxW class ids).

    `alpha` is the weight of the colours (0 = the image, 1 = the colour mask). Pixels holding the
    ignore index keep the image's own colour, so "unknown" never reads as a class.
    """
    if not (isinstance(alpha, (int, float)) and 0.0 <= float(alpha) <= 1.0):
        raise SegsimError(
            f"overlay alpha must be a number in [0, 1], got {alpha!r}", "e.g. alpha=0.5"
        )
    rgb = np.asarray(rgb)
    mask = np.asarray(mask)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"overlay needs an HxWx3 uint8 image, got {rgb.shape} {rgb.dtype}")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {rgb.shape[:2]}")
    colours = labels.colorize(mask).astype(np.float32)
    blended = rgb.astype(np.float32) * (1.0 - alpha) + colours * alpha
    out = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    ignored = mask == labels.ignore_index
    out[ignored] = rgb[ignored]
    return out
