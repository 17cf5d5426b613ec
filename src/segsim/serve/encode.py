"""JPEG for the viewer's frames (masks and API images are PNGs from segsim.dataset.png)."""

from __future__ import annotations

import numpy as np


def jpeg_bytes(rgb: np.ndarray, quality: int = 85) -> bytes:
    import cv2

    ok, buf = cv2.imencode(
        ".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buf.tobytes()
