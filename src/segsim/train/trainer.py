"""`segsim train` as a library call: dataset -> loaders -> model -> Lightning fit -> RUN folder.

RUN/config.yaml      the resolved config (defaults <- --config <- overrides)
RUN/best.ckpt        best validation mIoU; RUN/last.ckpt the latest (what --resume reads)
RUN/history.json     one row per epoch (losses, mIoUs, lr, minutes); RUN/curves.png its plot
RUN/metrics.json     the best checkpoint's validation metrics
RUN/tb/, RUN/csv/    TensorBoard and CSV logs
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from pathlib import Path

import yaml

from segsim.errors import SegsimError
from segsim.fileio import write_atomic
from segsim.models.checkpoint import BEST_CHECKPOINT, LAST_CHECKPOINT
from segsim.train.config import TrainConfig, dump_config


def _quiet_lightning() -> None:
    # Lightning's banners ("GPU available", tips, the num_workers advice we decided against on
    # two cores) drown the progress bar; errors and real warnings still show.
    for name in ("lightning.pytorch", "lightning.fabric", "pytorch_lightning", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings(
        "ignore", message=".*number of training batches.*smaller than the logging interval.*"
    )
    warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
    warnings.filterwarnings("ignore", message=".*tensorboardX.*")
    # the stream's length is exact for any worker count (train/stream.py shards by batch)
    warnings.filterwarnings("ignore", message=".*IterableDataset.*has `__len__` defined.*")
    # epoch metrics are summed over ranks by the module itself before they are logged
    warnings.filterwarnings("ignore", message=".*sync_dist=True.*")


def resolve_devices(cfg: TrainConfig) -> tuple[str, str, bool, object]:
    """(accelerator, precision, channels_last, deterministic) for this machine and config."""
    import torch

    cuda = torch.cuda.is_available()
    t = cfg.trainer
    if t.accelerator == "gpu" and not cuda:
        raise SegsimError(
            "trainer.accelerator=gpu but no CUDA GPU is available", "use trainer.accelerator=auto"
        )
    on_gpu = cuda and t.accelerator != "cpu"
    precision = t.precision
    if precision == "auto":
        precision = (
            ("bf16-mixed" if torch.cuda.is_bf16_supported() else "16-mixed")
            if on_gpu
            else "32-true"
        )
    elif precision == "32":
        precision = "32-true"
    elif not on_gpu:
        raise SegsimError(
            f"trainer.precision={precision} needs a CUDA GPU (mixed precision on CPU is slower)",
            "use trainer.precision=auto or 32",
        )
    channels_last = on_gpu if t.channels_last == "auto" else bool(t.channels_last)
    # CUDA has no deterministic kernel for some backward passes (bilinear upsampling): warn there.
    deterministic = ("warn" if on_gpu else True) if t.deterministic else False
    return ("gpu" if on_gpu else "cpu"), precision, channels_last, deterministic


def resolve_parallel(cfg: TrainConfig, accelerator: str) -> tuple[int, int, object, int]:
    """(devices, num_nodes, strategy, world size): Lightning DDP (gloo on CPU, NCCL on GPU)
    whenever more than one process trains, or when trainer.strategy=ddp asks for it."""
    import torch

    from segsim.cpus import available_cpus

    t = cfg.trainer
    gpu = accelerator == "gpu"
    have, what = (torch.cuda.device_count(), "CUDA GPUs") if gpu else (available_cpus(), "cores")
    devices = t.devices if t.devices != "auto" else (have if gpu else 1)
    if devices > have:
        raise SegsimError(
            f"trainer.devices={devices} but this machine has {have} {what}",
            f"use trainer.devices={have} or fewer (more machines: trainer.num_nodes)",
            param="trainer.devices",
        )
    world = devices * t.num_nodes
    if world == 1 and t.strategy == "auto":
        return devices, t.num_nodes, "auto", 1
    from lightning.pytorch.strategies import DDPStrategy

    return devices, t.num_nodes, DDPStrategy(process_group_backend="nccl" if gpu else "gloo"), world


def _launch_rank() -> int:
    """This process's global rank as its launcher (Lightning, torchrun, SLURM) set it, read
    before DDP starts: only rank 0 writes the run's files."""
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return int(getattr(rank_zero_only, "rank", 0) or 0)


def open_training_data(cfg: TrainConfig):
    from segsim.dataset.reader import open_dataset

    if not cfg.data.root:
        raise SegsimError(
            "no training data given", "set data.root to a segsim, VOC or images/+masks/ folder"
        )
    return open_dataset(
        cfg.data.root,
        cfg.data.layout,
        cfg.data.palette,
        tuple(cfg.data.split_fractions),
        cfg.data.split_seed,
    )


def train(cfg: TrainConfig, out: str | Path, resume: bool = False, progress: bool = True) -> dict:
    """Train per `cfg` into folder `out`; returns a summary (best val mIoU, epochs, minutes...)."""
    import lightning as L
    import torch
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    from segsim.models.checkpoint import read_checkpoint
    from segsim.models.registry import DEFAULT_MODEL, create_model
    from segsim.train.callbacks import ProgressWithEta, TimeBudget
    from segsim.train.data import class_pixel_counts, make_loaders
    from segsim.train.losses import class_weights_from_counts
    from segsim.train.module import SegModule
    from segsim.train.stream import (
        StreamPosition,
        ensure_eval_split,
        is_stream,
        load_stream_scene,
        make_stream_loaders,
        stream_class_counts,
    )

    _quiet_lightning()
    out = Path(out).expanduser()
    last = out / LAST_CHECKPOINT
    if resume and not last.is_file():
        raise SegsimError(
            f"nothing to resume: {last} does not exist",
            "leave out resume to start a new run in that folder",
            param="resume",
        )
    if not resume and (last.is_file() or (out / BEST_CHECKPOINT).is_file()):
        raise SegsimError(
            f"{out} already holds a training run",
            "pass resume to continue it, or train into a new folder",
            param="resume",
        )

    if cfg.model.name is None:
        cfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"name": DEFAULT_MODEL})})
    accelerator, precision, channels_last, deterministic = resolve_devices(cfg)
    devices, num_nodes, strategy, world = resolve_parallel(cfg, accelerator)
    L.seed_everything(cfg.trainer.seed, workers=True, verbose=False)

    stream = is_stream(cfg)
    if stream and (cfg.data.root or cfg.data.mix):
        raise SegsimError(
            "both a dataset (data.root / data.mix) and a stream were given",
            "train on dataset folders (data.*) or straight from the renderer (stream.*)",
        )
    if stream:
        from segsim.dataset.reader import open_dataset

        scene_cfg = load_stream_scene(cfg)
        eval_root = ensure_eval_split(cfg, scene_cfg, progress=progress and _launch_rank() == 0)
        index = open_dataset(eval_root)
    else:
        index = open_training_data(cfg)
    labels = index.labels
    if resume:
        saved = read_checkpoint(last)["segsim"]
        if saved["labels"] != labels.to_dict():
            raise SegsimError(
                f"the label set of {index.root} differs from the one {out} was trained on",
                "resume with the same training data, or start a new run",
            )
        if saved["model"]["name"] != cfg.model.name:
            raise SegsimError(
                f"{out} trained model {saved['model']['name']!r}, not {cfg.model.name!r}",
                "resume with the same model, or start a new run",
            )
    out.mkdir(parents=True, exist_ok=True)
    if _launch_rank() == 0:
        write_atomic(out / "config.yaml", yaml.safe_dump(dump_config(cfg), sort_keys=False))

    bs = cfg.trainer.batch_size
    if stream:
        train_loader, val_loader = make_stream_loaders(
            cfg, index, scene_cfg, progress=progress, processes=devices
        )
        steps_per_epoch = cfg.stream.steps_per_epoch
    else:
        train_loader, val_loader, train_store = make_loaders(cfg, index, progress=progress)
        # the sampler shards by rank once DDP runs; plan the schedule for that shard now
        steps_per_epoch = -(-train_loader.sampler.per_rank(world) // bs)
    if world > 1 and len(val_loader.sampler) < world:
        raise SegsimError(
            f"{len(val_loader.sampler)} validation frames for {world} processes",
            "validate on at least one frame per process, or train with fewer trainer.devices",
        )
    weights = cfg.loss.class_weights
    if weights == "auto":
        if stream:
            counts = stream_class_counts(index, labels.num_classes, labels.ignore_index)
        else:
            counts = class_pixel_counts(train_store, labels.num_classes, labels.ignore_index)
        weights = class_weights_from_counts(counts, cfg.loss.weighting)
    model = create_model(cfg.model.name, labels.num_classes, **cfg.model.kwargs)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    module = SegModule(
        model,
        cfg.model.name,
        cfg.model.kwargs,
        labels,
        cfg,
        total_steps=steps_per_epoch * cfg.trainer.epochs,
        class_weights=weights,
        channels_last=channels_last,
    )

    checkpoint = ModelCheckpoint(
        dirpath=out,
        filename="best",
        monitor="val/miou",
        mode="max",
        save_top_k=1,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    # last.ckpt its own callback: Lightning's save_last only refreshes it when the best improves,
    # which would leave --resume (and a streamed run's next frames) behind the run
    latest = ModelCheckpoint(
        dirpath=out, filename="last", monitor=None, save_top_k=1, enable_version_counter=False
    )
    callbacks = [checkpoint, latest, TimeBudget(module.clock)]
    if stream:
        callbacks.append(StreamPosition(train_loader))
    if cfg.trainer.early_stopping:
        callbacks.append(
            EarlyStopping(monitor="val/miou", mode="max", patience=cfg.trainer.early_stopping)
        )
    if progress and cfg.trainer.progress:
        callbacks.append(ProgressWithEta(module.clock, cfg.trainer.epochs))
    # One version folder per session (tb/version_0, version_1 after a resume ...): Lightning's
    # CSV logger would otherwise wipe the earlier session's metrics.csv.
    loggers = [
        TensorBoardLogger(save_dir=str(out), name="tb", default_hp_metric=False),
        CSVLogger(save_dir=str(out), name="csv"),
    ]
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
        max_epochs=cfg.trainer.epochs,
        gradient_clip_val=cfg.trainer.grad_clip,
        deterministic=deterministic,
        callbacks=callbacks,
        logger=loggers,
        log_every_n_steps=min(cfg.trainer.log_every, max(steps_per_epoch, 1)),
        check_val_every_n_epoch=cfg.trainer.val_every,
        num_sanity_val_steps=0,
        enable_progress_bar=progress and cfg.trainer.progress,
        enable_model_summary=False,
        default_root_dir=str(out),
        use_distributed_sampler=False,
    )
    t0 = time.monotonic()
    try:
        trainer.fit(module, train_loader, val_loader, ckpt_path=str(last) if resume else None)
    finally:
        if stream:  # a renderer in this process (data.num_workers=0) gives its context back
            train_loader.dataset.release()
    wall = time.monotonic() - t0

    history = module.history
    best_path = out / BEST_CHECKPOINT
    best_metrics = {}
    if trainer.is_global_zero and best_path.is_file():
        best_metrics = read_checkpoint(best_path)["segsim"]["metrics"]
    if trainer.is_global_zero:  # one writer; checkpoints and logs are rank 0's already
        write_atomic(out / "history.json", json.dumps(history, indent=1))
        write_atomic(out / "metrics.json", json.dumps(best_metrics, indent=1))
        if cfg.trainer.plot and history:
            from segsim.train.plots import plot_history

            plot_history(history, out / "curves.png")
    return {
        "run": str(out),
        "best_checkpoint": str(best_path),
        "best_val_miou": best_metrics.get("miou"),
        "best_epoch": best_metrics.get("epoch"),
        "epochs_done": int(trainer.current_epoch),
        "steps": int(trainer.global_step),
        "train_minutes": module.clock.elapsed() / 60,
        "session_minutes": wall / 60,
        "stopped_by": module.clock.stopped_by
        or (
            "early stopping"
            if trainer.should_stop and trainer.current_epoch < cfg.trainer.epochs
            else "epochs"
        ),
        "model": cfg.model.name,
        "num_classes": labels.num_classes,
        "world_size": world,
        "global_rank": int(trainer.global_rank),
        # streamed runs: the fixed folder their val/test frames are in (`segsim evaluate --data`)
        "eval_data": str(index.root) if stream else None,
    }
