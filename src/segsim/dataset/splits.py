"""Which split a frame belongs to: a pure function of its index and the split fractions.

A golden-ratio (Weyl) sequence u_i = frac((i + 1) * 0.618...) is spread so evenly over [0, 1)
that the first N frames land in each split within a frame or two of the exact fraction, for any N.
Because a frame's split never depends on the total count, generating more frames later (or
resuming) never moves a frame that already exists to another split.
"""

from __future__ import annotations

import math

import numpy as np

from segsim.dataset.layout import SPLITS
from segsim.errors import SegsimError

DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def check_fractions(fractions) -> tuple[float, float, float]:
    """Validate user-given split fractions (train, val, test) and return them as floats."""
    try:
        fr = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        raise SegsimError(
            f"split fractions must be three numbers, got {fractions!r}",
            "pass e.g. fractions=0.8,0.1,0.1",
            param="fractions",
        ) from None
    if len(fr) != len(SPLITS):
        raise SegsimError(
            f"split fractions need one number per split {SPLITS}, got {len(fr)}",
            "pass e.g. fractions=0.8,0.1,0.1",
            param="fractions",
        )
    if any(not math.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1.0) > 1e-6 or fr[0] <= 0:
        raise SegsimError(
            f"split fractions {list(fr)} must be >= 0, sum to 1, and give train a share",
            "pass e.g. fractions=0.8,0.1,0.1",
            param="fractions",
        )
    return fr


def _u(index):
    return np.mod((np.asarray(index, dtype=np.float64) + 1.0) * _GOLDEN, 1.0)


def _split_index(u, fractions):
    train, _val, test = fractions
    # Compare against 1 - test (not train + val) so a zero test share is never chosen by rounding.
    return np.where(u < train, 0, np.where((u < 1.0 - test) | (test == 0), 1, 2))


def split_of(index: int, fractions=DEFAULT_FRACTIONS, group: int = 1) -> str:
    """The split of frame `index`; frames that share a scene (`group` consecutive frames: the
    config's views_per_scene) share their split, so no scene is seen in training and in test."""
    return SPLITS[int(_split_index(_u(index // group), fractions))]


def split_counts(count: int, fractions=DEFAULT_FRACTIONS, group: int = 1) -> dict[str, int]:
    ids = _split_index(_u(np.arange(count) // group), fractions)
    return {s: int((ids == k).sum()) for k, s in enumerate(SPLITS)}


def splits_of(count: int, fractions=DEFAULT_FRACTIONS, group: int = 1) -> list[str]:
    """Split name of every frame 0..count-1 (vectorised split_of)."""
    ids = _split_index(_u(np.arange(count) // group), fractions)
    return [SPLITS[k] for k in ids.tolist()]


def scene_group(config: dict | None) -> int:
    """Frames per scene of a dataset, from the scene config its dataset.yaml records."""
    return int((config or {}).get("views_per_scene", 1))
