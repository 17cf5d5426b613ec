"""Datasets and loaders for training: decoding with OpenCV, an optional in-RAM cache of decoded
frames, per-sample seeded augmentation, and a sampler whose order is a function of (seed, epoch).

Batches carry images as uint8 (B x 3 x H x W) and masks as uint8 (B x H x W): four times less to
copy than float, and normalization happens on the device in the LightningModule.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from segsim.cpus import available_cpus
from segsim.dataset.reader import DatasetIndex
from segsim.errors import SegsimError
from segsim.progress import progress_bar
from segsim.train import augment
from segsim.train.backdrop import resolve_share
from segsim.train.config import TrainConfig


class FrameStore:
    """Gives (image, mask) for index i: from RAM when cached, else decoded from disk; either way
    passed once through `prepare` (a per-frame resize, see make_loaders)."""

    def __init__(
        self,
        index: DatasetIndex,
        pairs: list[tuple[Path, Path]],
        cache: bool,
        progress: bool = False,
        what: str = "frames",
        prepare=None,
    ):
        self.index = index
        self.pairs = pairs
        self.prepare = prepare
        self.cached: list[tuple[np.ndarray, np.ndarray]] | None = None
        if cache:
            self.cached = self._decode_all(progress, what)

    def __len__(self) -> int:
        return len(self.pairs)

    def get(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if self.cached is not None:
            return self.cached[i]
        return self._load(i)

    def _load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        image, mask = self.index.load(*self.pairs[i])
        return self.prepare(image, mask) if self.prepare is not None else (image, mask)

    def _decode_all(self, progress: bool, what: str):
        out = []
        with progress_bar(progress, f"caching {what}", len(self.pairs), transient=True) as advance:
            for i in range(len(self.pairs)):
                out.append(self._load(i))
                advance(1)
        return out


def kept_bytes(image: np.ndarray, mask: np.ndarray, prepare=None) -> int:
    """RAM one cached frame takes: the frame as a store with this `prepare` keeps it."""
    if prepare is not None:
        image, mask = prepare(image, mask)
    return image.nbytes + mask.nbytes


def should_cache(cfg: TrainConfig, index: DatasetIndex, stores: list[tuple[int, object]]) -> bool:
    """cache=auto: cache when every frame fits data.cache_max_mb at the size it is kept in.

    `stores` holds (frame count, prepare) for each store: the first training frame is put through
    each store's own `prepare` and measured (segsim datasets have one size), so the estimate
    follows whatever the stores keep (training frames shrunk for their crops, validation images
    at the model size) instead of restating it."""
    if cfg.data.cache != "auto":
        return bool(cfg.data.cache)
    if sum(n for n, _ in stores) == 0:
        return False
    image, mask = index.load(*next(iter(index.split(cfg.data.train_split))))
    total = sum(n * kept_bytes(image, mask, prepare) for n, prepare in stores if n)
    return total / 2**20 <= cfg.data.cache_max_mb


class TrainDataset(Dataset):
    """Items are (epoch, index) pairs from EpochSampler; augmentation is seeded by both."""

    def __init__(self, store: FrameStore, transform, seed: int):
        self.store, self.transform, self.seed = store, transform, seed

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, item):
        epoch, i = item if isinstance(item, tuple) else (0, item)
        image, mask = self.store.get(i)
        image, mask = augment.apply(
            self.transform, image, mask, augment.sample_seed(self.seed, epoch, i)
        )
        return to_tensors(image, mask)


class EvalDataset(Dataset):
    """Whole frames, no augmentation. In "whole" validation the store's `prepare` has resized
    the image to the model's input size as the predictor does, and the mask stays at full size
    (the module resizes the logits back), so validation mIoU is the figure `segsim evaluate`
    will report."""

    def __init__(self, store: FrameStore):
        self.store = store

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, i):
        return to_tensors(*self.store.get(i))


def to_tensors(image: np.ndarray, mask: np.ndarray):
    img = torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))
    return img, torch.from_numpy(np.ascontiguousarray(mask))


def rank_and_world() -> tuple[int, int]:
    """(rank, world size) of the running torch.distributed group, else (0, 1). Read when a
    loader is iterated: loaders are built before Lightning starts DDP."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EpochSampler(Sampler):
    """Shuffles with numpy.random.default_rng([seed, epoch]) and yields (epoch, index), so the
    order and each sample's augmentation depend on (seed, epoch) only. Lightning calls
    set_epoch() before every epoch (resume included).

    Under DDP rank r of R takes positions r, r+R, ... of that one order: shards never overlap
    and are the same length on every rank (the n % R left over wait for another epoch's
    order), as DDP needs the same number of steps everywhere. With `batch_size`, a lone last
    sample is left out (a batch of one breaks BatchNorm)."""

    def __init__(self, n: int, seed: int, batch_size: int | None = None):
        self.n, self.seed, self.epoch, self.batch_size = n, seed, 0, batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def per_rank(self, world: int) -> int:
        m = self.n // world
        return m - 1 if self.batch_size and m % self.batch_size == 1 else m

    def __len__(self) -> int:
        return self.per_rank(rank_and_world()[1])

    def __iter__(self):
        rank, world = rank_and_world()
        order = np.random.default_rng([self.seed, self.epoch]).permutation(self.n)
        mine = order[rank::world][: self.per_rank(world)]
        return iter([(self.epoch, int(i)) for i in mine])


class ShardSampler(Sampler):
    """Evaluation order: rank r of R scores frames r, r+R, ...: every frame exactly once over
    all ranks, so the confusion matrices summed over ranks are the single-process one."""

    def __init__(self, n: int):
        self.n = n

    def __len__(self) -> int:
        rank, world = rank_and_world()
        return len(range(rank, self.n, world))

    def __iter__(self):
        rank, world = rank_and_world()
        return iter(range(rank, self.n, world))


def pad_collate(batch, ignore_index: int = 255):
    """Stack frames of different sizes by padding bottom/right (image 0, mask ignore).

    Returns (images, masks), plus each mask's true (h, w) as a third item when the masks differ
    in size and not like their images ("whole" validation of mixed-size frames): the module
    then resizes each item's logits to its own size."""
    images = _pad_stack([img for img, _ in batch], 0)
    masks = _pad_stack([m for _, m in batch], ignore_index)
    if all(m.shape == batch[0][1].shape for _, m in batch) or all(
        img.shape[1:] == m.shape for img, m in batch
    ):
        return images, masks
    sizes = torch.tensor([list(m.shape) for _, m in batch])
    return images, masks, sizes


def _pad_stack(arrays: list, fill: int):
    if all(a.shape == arrays[0].shape for a in arrays):
        return torch.stack(arrays)
    h = max(a.shape[-2] for a in arrays)
    w = max(a.shape[-1] for a in arrays)
    out = torch.full((len(arrays), *arrays[0].shape[:-2], h, w), fill, dtype=arrays[0].dtype)
    for k, a in enumerate(arrays):
        out[k, ..., : a.shape[-2], : a.shape[-1]] = a
    return out


def resolve_workers(setting) -> int:
    """auto: on <= 2 cores decode and augment in the training process (a worker would take a
    core from the model's two threads, and frames are cached decoded); with more, up to 4."""
    if setting != "auto":
        return int(setting)
    cpus = available_cpus()
    return 0 if cpus <= 2 else min(4, cpus - 1)


def make_loaders(cfg: TrainConfig, index: DatasetIndex, progress: bool = True):
    """(train loader, val loader, train FrameStore) for the config's splits."""
    train_pairs = index.split(cfg.data.train_split)
    val_pairs = index.split(cfg.data.val_split)
    if cfg.data.val_max_images:
        val_pairs = val_pairs[: cfg.data.val_max_images]
    size = tuple(cfg.input.size)
    train_prepare = functools.partial(augment.shrink_for_crops, size=size, cfg=cfg.augment)
    val_prepare = (
        functools.partial(_model_size_image, size=size) if cfg.input.val_mode == "whole" else None
    )
    cache = should_cache(
        cfg, index, [(len(train_pairs), train_prepare), (len(val_pairs), val_prepare)]
    )
    train_store = FrameStore(
        index, train_pairs, cache, progress, "train frames", prepare=train_prepare
    )
    val_store = FrameStore(index, val_pairs, cache, progress, "val frames", prepare=val_prepare)
    if cfg.data.mix:  # more datasets in training, by weight (train/mixing.py)
        from segsim.train.mixing import mix_stores

        train_store = mix_stores(
            cfg,
            index,
            train_store,
            lambda ix, pairs, what: FrameStore(ix, pairs, cache, progress, what, train_prepare),
        )
    ignore = index.labels.ignore_index
    share = resolve_share(cfg.augment.photo_background, index, mixed=bool(cfg.data.mix))
    aug = cfg.augment.model_copy(update={"photo_background": share})
    transform = augment.build_train_transform(aug, size, ignore, index.labels.names)
    workers = resolve_workers(cfg.data.num_workers)
    bs = cfg.trainer.batch_size
    common = dict(
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        collate_fn=_Collate(ignore),
    )
    # No worker_init_fn: augmentation is seeded per sample, and calling cv2.setNumThreads in a
    # forked worker deadlocks once the parent has used OpenCV's thread pool (seen in tests).
    train = DataLoader(
        TrainDataset(train_store, transform, cfg.trainer.seed),
        batch_size=bs,
        sampler=EpochSampler(len(train_store), cfg.trainer.seed, batch_size=bs),
        **common,
    )
    val = DataLoader(
        EvalDataset(val_store), batch_size=bs, sampler=ShardSampler(len(val_store)), **common
    )
    return train, val, train_store


def make_eval_loader(
    cfg: TrainConfig, index: DatasetIndex, split: str, progress: bool = True, workers=None
):
    """A validation loader (as make_loaders builds it) over `split` of `index` alone: what
    streamed training validates on, the frames rendered once into a fixed folder. `workers`
    (default data.num_workers) decode and resize the frames."""
    pairs = index.split(split)
    if cfg.data.val_max_images:
        pairs = pairs[: cfg.data.val_max_images]
    size = tuple(cfg.input.size)
    prepare = (
        functools.partial(_model_size_image, size=size) if cfg.input.val_mode == "whole" else None
    )
    cache = should_cache(cfg, index, [(len(pairs), prepare)])
    store = FrameStore(index, pairs, cache, progress, f"{split} frames", prepare=prepare)
    workers = resolve_workers(cfg.data.num_workers if workers is None else workers)
    return DataLoader(
        EvalDataset(store),
        batch_size=cfg.trainer.batch_size,
        sampler=ShardSampler(len(store)),
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        persistent_workers=workers > 0,
        collate_fn=_Collate(index.labels.ignore_index),
    )


def _model_size_image(image: np.ndarray, mask: np.ndarray, size: tuple[int, int]):
    return augment.resize_for_model(image, size), mask


class _Collate:
    """Picklable collate (workers need it): same-size frames stack, others pad."""

    def __init__(self, ignore_index: int):
        self.ignore_index = ignore_index

    def __call__(self, batch):
        return pad_collate(batch, self.ignore_index)


def class_pixel_counts(
    store: FrameStore, num_classes: int, ignore_index: int, max_frames: int = 500
) -> np.ndarray:
    """Pixels per class over the training split (all frames when cached, else up to max_frames
    spread evenly over the split, so "auto" class weights stay cheap on big folders)."""
    n = len(store)
    if n == 0:
        raise SegsimError("the training split is empty", "add training frames")
    picks = (
        range(n)
        if store.cached is not None or n <= max_frames
        else np.linspace(0, n - 1, max_frames).astype(int)
    )
    counts = np.zeros(num_classes, np.int64)
    for i in picks:
        m = store.get(int(i))[1]
        c = np.bincount(m.reshape(-1), minlength=256)
        counts += c[:num_classes]
    return counts
