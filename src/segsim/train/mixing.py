"""Training on several datasets at once, by weight (`data.mix`).

data.root stays the dataset that validation and the label set come from; each `data.mix`
entry adds the training split of another dataset whose label set must be the same (names in
the same order). One epoch holds len(data.root's train split) / share(data.root) samples, each
dataset taking slots in proportion to its weight: a dataset with more slots than frames repeats
its frames (each time with a new augmentation), one with fewer uses an evenly spread subset.
The mapping from a slot to a frame is fixed, so the sampler's seeded shuffle and per-sample
augmentation stay functions of (seed, epoch) as without mixing.
"""

from __future__ import annotations

import numpy as np

from segsim.errors import SegsimError


class MixedStore:
    """Slots 0..N-1 over several FrameStores: `get(slot)` is a frame of one of them."""

    def __init__(self, stores: list, weights: list[float]):
        if not stores or len(stores) != len(weights):
            raise ValueError("one weight per store")
        share = np.asarray(weights, float) / float(sum(weights))
        total = len(stores[0]) / share[0] if len(stores[0]) else 0
        self.slots = [
            max(1, round(total * s)) if len(st) else 0 for st, s in zip(stores, share, strict=True)
        ]
        self.stores = stores
        self.starts = np.cumsum([0, *self.slots])
        self.cached = None  # class_pixel_counts: sample frames, never walk a cache

    def __len__(self) -> int:
        return int(self.starts[-1])

    def locate(self, slot: int) -> tuple[int, int]:
        """(store, frame) of a slot."""
        if not 0 <= slot < len(self):
            raise IndexError(slot)
        d = int(np.searchsorted(self.starts, slot, side="right") - 1)
        local, n, k = slot - int(self.starts[d]), len(self.stores[d]), self.slots[d]
        return d, (local % n if k >= n else local * n // k)

    def get(self, slot: int):
        d, i = self.locate(int(slot))
        return self.stores[d].get(i)


def open_mix(cfg, labels) -> list:
    """The DatasetIndex of every data.mix entry, checked against data.root's label set."""
    from segsim.dataset.reader import open_dataset

    out = []
    for k, m in enumerate(cfg.data.mix):
        index = open_dataset(
            m.root, m.layout, m.palette, tuple(cfg.data.split_fractions), cfg.data.split_seed
        )
        if index.labels.names != labels.names:
            raise SegsimError(
                f"data.mix[{k}] ({m.root}) has classes {index.labels.names}, data.root has "
                f"{labels.names}",
                "mix only datasets with the same label set (names in the same order)",
            )
        if not index.split(m.split):
            raise SegsimError(
                f"data.mix[{k}] ({m.root}) has no {m.split!r} images",
                "set data.mix[].split to a split the folder has",
            )
        out.append(index)
    return out


def mix_stores(cfg, index, train_store, make_store):
    """The training store of data.root with the data.mix datasets mixed in by weight;
    `make_store(index, pairs, what)` builds a store as data.root's was built (train/data.py)."""
    stores, weights = [train_store], [cfg.data.mix_weight]
    for m, mix_index in zip(cfg.data.mix, open_mix(cfg, index.labels), strict=True):
        stores.append(make_store(mix_index, mix_index.split(m.split), f"{m.root} frames"))
        weights.append(m.weight)
    return MixedStore(stores, weights)
