"""Test-time views of an image: resizing, horizontal flip, multi-scale and sliding windows.

Everything here is numpy on probabilities (C x H x W float32), independent of the backend:
the predictor hands in `run(batch) -> logits` and gets probabilities back. Views are
combined by averaging softmax probabilities, never logits, so a confident view and an
unsure one weigh in on the same scale.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from segsim.errors import SegsimError
from segsim.imaging import resize_probs

TTA_CHOICES = (None, "flip")
MODES = ("whole", "sliding")
MAX_SCALE = 4.0
MIN_SIDE = 8  # smaller views carry no information after a network's downsampling

# run(normalized float32 B x 3 x H x W) -> logits float32 B x C x h x w
RunFn = Callable[[np.ndarray], np.ndarray]


def check_options(tta, scales, mode) -> list[float]:
    """Validate the inference options; returns the scales to use (default [1.0])."""
    if tta not in TTA_CHOICES:
        raise SegsimError(f"unknown tta {tta!r}", "use tta=None or 'flip'")
    if mode not in MODES:
        raise SegsimError(f"unknown mode {mode!r}", f"use one of {', '.join(MODES)}")
    if scales is None:
        return [1.0]
    try:
        out = [float(s) for s in scales]
    except (TypeError, ValueError) as e:
        raise SegsimError(
            f"scales must be numbers, got {scales!r}", "e.g. scales=[0.75, 1, 1.25]"
        ) from e
    if not out or any(not np.isfinite(s) or s <= 0 or s > MAX_SCALE for s in out):
        raise SegsimError(
            f"scales must be a non-empty list of numbers in (0, {MAX_SCALE}], got {scales!r}",
            "e.g. 0.75,1,1.25",
        )
    return out


def parse_scales(text: str | None) -> list[float] | None:
    """'0.75,1,1.25' -> [0.75, 1.0, 1.25]; None or '' -> None."""
    if text is None or not text.strip():
        return None
    try:
        values = [float(t) for t in text.split(",") if t.strip()]
    except ValueError as e:
        raise SegsimError(
            f"scales {text!r} is not a comma-separated list of numbers",
            "write e.g. scales=0.75,1,1.25",
            param="scales",
        ) from e
    return check_options(None, values, "whole")


def softmax(logits: np.ndarray, axis: int = 1) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    return max(MIN_SIDE, round(size[0] * scale)), max(MIN_SIDE, round(size[1] * scale))


def probs_of_views(run: RunFn, batch: np.ndarray, flip: bool) -> np.ndarray:
    """Softmax of one same-sized batch (B x 3 x H x W normalized), averaged with its mirror if
    `flip`. The mirrored copies ride in the same forward pass (one batch of 2B)."""
    if flip:
        both = np.concatenate([batch, batch[..., ::-1]], axis=0)
        probs = softmax(run(np.ascontiguousarray(both)))
        n = batch.shape[0]
        return 0.5 * (probs[:n] + probs[n:][..., ::-1])
    return softmax(run(batch))


def window_starts(length: int, tile: int, stride: int) -> list[int]:
    """Start offsets covering [0, length) with windows of `tile`; the last one flush with the
    end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] != length - tile:
        starts.append(length - tile)
    return starts


def sliding_probs(
    run: RunFn,
    image: np.ndarray,
    tile: tuple[int, int],
    flip: bool,
    overlap: float = 1 / 3,
    max_batch: int = 8,
) -> np.ndarray:
    """Probabilities for a normalized 3 x H x W image from overlapping tile x tile windows.

    Windows overlap by `overlap` of a tile and their softmax is averaged where they overlap,
    which hides the seams of each window's border effects. An image smaller than a tile in
    either direction is padded with zeros (the normalized mean colour) and cropped back.
    """
    _, h, w = image.shape
    th, tw = tile
    ph, pw = max(h, th), max(w, tw)
    if (ph, pw) != (h, w):
        padded = np.zeros((3, ph, pw), np.float32)
        padded[:, :h, :w] = image
        image = padded
    ys = window_starts(ph, th, max(1, int(th * (1 - overlap))))
    xs = window_starts(pw, tw, max(1, int(tw * (1 - overlap))))
    corners = [(y, x) for y in ys for x in xs]
    total = None
    count = np.zeros((ph, pw), np.float32)
    for i in range(0, len(corners), max_batch):
        chunk = corners[i : i + max_batch]
        batch = np.stack([image[:, y : y + th, x : x + tw] for y, x in chunk])
        probs = probs_of_views(run, batch, flip)
        if probs.shape[2:] != (th, tw):
            probs = np.stack([resize_probs(p, (th, tw)) for p in probs])
        if total is None:
            total = np.zeros((probs.shape[1], ph, pw), np.float32)
        for (y, x), p in zip(chunk, probs, strict=True):
            total[:, y : y + th, x : x + tw] += p
            count[y : y + th, x : x + tw] += 1
    return (total / count)[:, :h, :w]
