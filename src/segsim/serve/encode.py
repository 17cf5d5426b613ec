"""Encode masks and images for responses: PNG for exact class ids, JPEG for viewer frames."""

from __future__ import annotations

import numpy as np

from segsim.labels import LabelSet


def png_bytes(img: np.ndarray) -> bytes:
    """HxW uint8 (index mask, stored as 8-bit grey so ids survive exactly) or HxWx3 RGB -> PNG."""
    import cv2

    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(img), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:  # cannot happen for uint8 arrays; fail loudly rather than send garbage
        raise RuntimeError("PNG encoding failed")
    return buf.tobytes()


def jpeg_bytes(rgb: np.ndarray, quality: int = 85) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()


def blend_overlay(rgb: np.ndarray, mask: np.ndarray, labels: LabelSet, alpha: float) -> np.ndarray:
    """The image with the colour mask blended in: the same overlay `segsim predict` writes."""
    from segsim.infer.overlay import overlay

    return overlay(rgb, mask, labels, alpha)
