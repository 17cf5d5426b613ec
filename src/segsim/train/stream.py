"""Training straight from the renderer (`segsim train --stream PRESET`).

Training frames are drawn and rendered on the fly by the data loader's processes, through the
very frame source `segsim generate` uses (dataset.generate.gl_frame_source: randomizer + one GL
context per process, made lazily after the worker starts), so no frame is ever seen twice.
Validation and test use a fixed split generated once with `generate_dataset` into a cached
folder; its frames are indices 0 .. eval_count-1 of the scene seed, the training frames start
at TRAIN_OFFSET, so the two never share a frame.

Which frames a batch holds is a function of (seed, epoch, batch, rank) alone: batch j of rank r
in epoch e holds frames TRAIN_OFFSET + ((e * steps + j) * world + r) * batch_size + k. Worker w
of W renders batches w, w+W, ..., and the DataLoader hands batches back in that order, so the
training batches are the same for any worker count (and each a function of the seed).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
from pathlib import Path

import numpy as np
from lightning.pytorch.callbacks import Callback
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from segsim.cpus import available_cpus
from segsim.dataset.generate import DEFAULT_FRAME_SOURCE
from segsim.errors import SegsimError
from segsim.train import augment
from segsim.train.config import TrainConfig
from segsim.train.data import _Collate, rank_and_world, to_tensors

TRAIN_OFFSET = 1 << 24  # first training frame index; the eval split lives below it
EVAL_FOLDER = "stream-eval"


def is_stream(cfg: TrainConfig) -> bool:
    return bool(cfg.stream.preset or cfg.stream.scene_config)


def load_stream_scene(cfg: TrainConfig):
    """The scene config the stream draws from: the preset (default shapes) <- scene_config."""
    from segsim.scene.config import load_scene_config

    return load_scene_config(cfg.stream.preset or "shapes", cfg.stream.scene_config)


def batch_frames(epoch: int, j: int, rank: int, world: int, steps: int, batch: int) -> range:
    """Frame indices of batch j of `rank` in `epoch` (see the module doc)."""
    start = TRAIN_OFFSET + ((epoch * steps + j) * world + rank) * batch
    return range(start, start + batch)


def stream_workers(setting, processes: int = 1) -> int:
    """Rendering processes per training process: auto = its share of the cores but one (for
    the training itself), at least one, at most 4; an explicit data.num_workers wins (0 renders
    in the training process)."""
    if setting != "auto":
        return int(setting)
    return max(1, min(4, available_cpus() // max(1, processes) - 1))


def _worker_init(raster_threads: int, worker_id: int) -> None:
    # read by Mesa when this worker makes its GL context (lazily, at its first frame)
    os.environ.setdefault("LP_NUM_THREADS", str(raster_threads))


def stream_share(setting) -> float:
    """`augment.photo_background` for streamed frames: `auto` is off, since backdrops are for
    fixed folders and every streamed frame is new already."""
    return 0.0 if setting == "auto" else float(setting)


class StreamDataset(IterableDataset):
    """Rendered (image, mask) tensors, batch after batch, for one rank. Length: one epoch of
    `steps` batches, so Lightning validates, logs and checkpoints at its end."""

    def __init__(
        self,
        scene_cfg,
        size: int,
        seed: int,
        batch_size: int,
        steps: int,
        train_cfg: TrainConfig,
        ignore_index: int,
        frame_source: str = DEFAULT_FRAME_SOURCE,
        class_names: list[str] | None = None,
    ):
        self.scene_cfg, self.size, self.seed = scene_cfg, size, seed
        self.batch_size, self.steps = batch_size, steps
        share = stream_share(train_cfg.augment.photo_background)
        self.augment_cfg = train_cfg.augment.model_copy(update={"photo_background": share})
        self.input_size = tuple(train_cfg.input.size)
        self.aug_seed = train_cfg.trainer.seed
        self.ignore_index, self.class_names = ignore_index, class_names
        self.frame_source = frame_source
        self.rank, self.world, self.start_epoch = 0, 1, 0
        self._iters = 0  # epochs this copy has run (a persistent worker keeps its own copy)
        self._source = self._transform = None

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_source"] = state["_transform"] = None  # made in the process that renders
        return state

    def __len__(self) -> int:
        return self.steps * self.batch_size

    def bind(self, rank: int, world: int, epoch: int) -> None:
        self.rank, self.world, self.start_epoch, self._iters = rank, world, epoch, 0

    def _frame(self, index: int):
        if self._source is None:
            from segsim.dataset.generate import _load_source

            self._source = _load_source(self.frame_source)(self.scene_cfg, self.size, self.size)
            self._transform = augment.build_train_transform(
                self.augment_cfg, self.input_size, self.ignore_index, self.class_names
            )
        _scene, frame = self._source(self.seed, index)
        return frame.rgb, frame.class_ids

    def __iter__(self):
        info = get_worker_info()
        w, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch = self.start_epoch + self._iters
        self._iters += 1
        for j in range(w, self.steps, n_workers):
            for i in batch_frames(epoch, j, self.rank, self.world, self.steps, self.batch_size):
                image, mask = self._frame(i)
                image, mask = augment.shrink_for_crops(
                    image, mask, size=self.input_size, cfg=self.augment_cfg
                )
                image, mask = augment.apply(
                    self._transform, image, mask, augment.sample_seed(self.aug_seed, epoch, i)
                )
                yield to_tensors(image, mask)

    def release(self) -> None:
        release = getattr(self._source, "release", None)
        if release is not None:
            release()
        self._source = None


class StreamLoader(DataLoader):
    """A DataLoader that tells its dataset the rank and epoch before each pass, and keeps the
    next epoch in Lightning's checkpoints (state_dict), so --resume goes on with new frames."""

    def __init__(self, dataset: StreamDataset, **kwargs):
        super().__init__(dataset, **kwargs)
        self.next_epoch = 0

    def __iter__(self):
        rank, world = rank_and_world()
        # a persistent worker was handed its copy at the first pass and counts on from there
        self.dataset.bind(rank, world, self.next_epoch)
        self.next_epoch += 1
        return super().__iter__()

    def state_dict(self) -> dict:
        return {"next_epoch": self.next_epoch}

    def load_state_dict(self, state: dict) -> None:
        self.next_epoch = int(state.get("next_epoch", 0))


class StreamPosition(Callback):
    """Carries the stream's next epoch through checkpoints (as callback state). Lightning keeps
    a loader's own state_dict too, but reloads it only when resuming mid-epoch, and segsim
    checkpoints at epoch ends: without this a resumed run would draw epoch 0's frames again."""

    def __init__(self, loader: StreamLoader):
        self.loader = loader

    def state_dict(self) -> dict:
        return self.loader.state_dict()

    def load_state_dict(self, state_dict: dict) -> None:
        self.loader.load_state_dict(state_dict)


def eval_key(cfg: TrainConfig, scene_cfg) -> str:
    """What the fixed split depends on: scene config, frame size, seed, count, fractions, and
    the segsim version (its renderer draws the frames)."""
    from segsim import __version__

    s = cfg.stream
    blob = json.dumps(
        {
            "segsim": __version__,
            "scene": scene_cfg.model_dump(mode="json"),
            "size": s.size,
            "seed": s.seed,
            "count": s.eval_count,
            "fractions": list(s.eval_fractions),
        },
        sort_keys=True,
    )
    return f"{cfg.stream.preset or 'custom'}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


def eval_folder(cfg: TrainConfig, scene_cfg) -> Path:
    if cfg.stream.eval_dir:
        return Path(cfg.stream.eval_dir).expanduser()
    from segsim.assets.cache import cache_dir

    return cache_dir() / EVAL_FOLDER / eval_key(cfg, scene_cfg)


def ensure_eval_split(cfg: TrainConfig, scene_cfg, progress: bool = True) -> Path:
    """The fixed validation/test folder, generated on first use. Several processes (DDP ranks,
    parallel runs) may ask at once: one generates under a file lock, the others wait and then
    find the finished manifest."""
    from segsim.dataset.generate import generate_dataset
    from segsim.dataset.layout import MANIFEST

    root = eval_folder(cfg, scene_cfg)
    s = cfg.stream
    if (root / MANIFEST).is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / MANIFEST).is_file():
            generate_dataset(
                root,
                scene_cfg,
                s.eval_count,
                s.size,
                s.size,
                seed=s.seed,
                fractions=tuple(s.eval_fractions),
                progress=progress,
                preset=s.preset,
            )
    return root


def make_stream_loaders(
    cfg: TrainConfig,
    index,
    scene_cfg,
    progress: bool = True,
    frame_source: str = DEFAULT_FRAME_SOURCE,
    processes: int = 1,
):
    """(streamed train loader, val loader over the fixed split) for the config; `processes`:
    training processes on this machine (DDP), which share its cores."""
    import multiprocessing as mp

    import torch

    from segsim.dataset.pool import raster_threads
    from segsim.train.data import make_eval_loader

    if not index.splits.get(cfg.data.val_split):
        raise SegsimError(
            f"the fixed eval split has no {cfg.data.val_split!r} frames",
            "raise stream.eval_count or the val share of stream.eval_fractions",
        )
    ignore = index.labels.ignore_index
    workers = stream_workers(cfg.data.num_workers, processes)
    bs = cfg.trainer.batch_size
    dataset = StreamDataset(
        scene_cfg,
        cfg.stream.size,
        cfg.stream.seed,
        bs,
        cfg.stream.steps_per_epoch,
        cfg,
        ignore,
        frame_source,
        index.labels.names,
    )
    if cfg.augment.enabled:  # a photo backdrop fails (or builds its library) here, not in a worker
        from segsim.train.backdrop import photo_backdrop

        photo_backdrop(dataset.augment_cfg.photo_background, index.labels.names)
    extra = {}
    if workers > 0:
        extra = dict(
            # spawn, not fork: a forked child would inherit GL/EGL state, which is not fork-safe
            multiprocessing_context=mp.get_context("spawn"),
            persistent_workers=True,
            # each renderer one core's share; the training process counts as one more consumer
            worker_init_fn=functools.partial(_worker_init, raster_threads(workers + 1)),
            prefetch_factor=2,
        )
    train = StreamLoader(
        dataset,
        batch_size=bs,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        collate_fn=_Collate(ignore),
        **extra,
    )
    # data.num_workers counts renderers here; the fixed split is decoded as --data would be
    val = make_eval_loader(cfg, index, cfg.data.val_split, progress=progress, workers="auto")
    return train, val


def stream_class_counts(index, num_classes: int, ignore_index: int) -> np.ndarray:
    """Pixels per class over the fixed folder's small train share (loss.class_weights=auto):
    frames of the same distribution the stream draws from, none of them validated on."""
    counts = np.zeros(num_classes, np.int64)
    pairs = index.splits.get("train")
    if not pairs:
        raise SegsimError(
            "loss.class_weights=auto with --stream needs frames in the eval folder's train share",
            "raise the first of stream.eval_fractions, or give loss.class_weights as a list",
        )
    for pair in pairs:
        mask = index.load(*pair)[1]
        counts += np.bincount(mask.reshape(-1), minlength=256)[:num_classes]
    return counts
