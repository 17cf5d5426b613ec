"""Resizing shared by training, inference and the viewer, so each sees the same pixels.

Images shrink with area averaging (no aliasing) and grow bilinearly; probabilities are resized
bilinearly (a convex mix still sums to 1); class maps only ever with nearest neighbour, so no
new class ids appear.
"""

from __future__ import annotations

import cv2
import numpy as np


def resize_image(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """HxWx3 uint8 -> size (h, w); area averaging when shrinking avoids aliasing."""
    h, w = size
    if rgb.shape[:2] == (h, w):
        return rgb
    shrinking = h * w < rgb.shape[0] * rgb.shape[1]
    return cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def resize_probs(probs: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """C x h x w -> C x H x W, bilinear (probabilities stay a convex mix, so they still sum
    to 1)."""
    h, w = size
    if probs.shape[1:] == (h, w):
        return probs
    # cv2 resizes channels-last arrays with up to 512 channels in one call
    hwc = np.ascontiguousarray(probs.transpose(1, 2, 0))
    out = cv2.resize(hwc, (w, h), interpolation=cv2.INTER_LINEAR)
    if out.ndim == 2:  # cv2 drops a single channel axis
        out = out[:, :, None]
    return np.ascontiguousarray(out.transpose(2, 0, 1))


def resize_mask(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """H x W class ids -> size (h, w), nearest neighbour."""
    h, w = size
    if mask.shape[:2] == (h, w):
        return mask
    return cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
