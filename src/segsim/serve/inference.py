"""Run the predictor off the event loop, a bounded number at a time.

torch (or ONNX Runtime) already spreads one prediction over every core; running several at once
only makes them fight, so a semaphore (ServeLimits.inference_slots, default 1) queues requests
while the event loop keeps serving. The viewer shares the same gate as the API.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from segsim.errors import SegsimError


class InferenceGate:
    def __init__(self, predictor, slots: int = 1):
        self.predictor = predictor
        self._slots = threading.BoundedSemaphore(slots)

    def predict(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """Blocking: (HxW uint8 mask, seconds spent in the model). Call from a worker thread."""
        with self._slots:
            t0 = time.perf_counter()
            mask = self.predictor.predict(rgb)
            seconds = time.perf_counter() - t0
        mask = np.asarray(mask)
        if mask.shape != rgb.shape[:2]:
            raise SegsimError(
                f"the model returned a {mask.shape} mask for a {rgb.shape[:2]} image",
                "check that the model outputs logits at the input size",
                status_code=500,
            )
        return mask.astype(np.uint8, copy=False), seconds
