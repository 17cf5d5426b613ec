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
    L.seed_everything(cfg.trainer.seed, workers=True, verbose=False)

    index = open_training_data(cfg)
    labels = index.labels
    if resume:
        saved = read_checkpoint(last)["segsim"]
        if saved["labels"] != labels.to_dict():
            raise SegsimError(
                f"the label set of {cfg.data.root} differs from the one {out} was trained on",
                "resume with the same training data, or start a new run",
            )
        if saved["model"]["name"] != cfg.model.name:
            raise SegsimError(
                f"{out} trained model {saved['model']['name']!r}, not {cfg.model.name!r}",
                "resume with the same model, or start a new run",
            )
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "config.yaml", yaml.safe_dump(dump_config(cfg), sort_keys=False))

    train_loader, val_loader, train_store = make_loaders(cfg, index, progress=progress)
    weights = cfg.loss.class_weights
    if weights == "auto":
        counts = class_pixel_counts(train_store, labels.num_classes, labels.ignore_index)
        weights = class_weights_from_counts(counts, cfg.loss.weighting)
    model = create_model(cfg.model.name, labels.num_classes, **cfg.model.kwargs)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    steps_per_epoch = len(train_loader)
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
        save_last=True,
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    checkpoint.CHECKPOINT_NAME_LAST = "last"
    callbacks = [checkpoint, TimeBudget(module.clock)]
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
        devices=1,
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
    trainer.fit(module, train_loader, val_loader, ckpt_path=str(last) if resume else None)
    wall = time.monotonic() - t0

    history = module.history
    write_atomic(out / "history.json", json.dumps(history, indent=1))
    best_path = out / BEST_CHECKPOINT
    best_metrics = read_checkpoint(best_path)["segsim"]["metrics"] if best_path.is_file() else {}
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
    }
