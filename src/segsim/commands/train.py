"""CLI: segsim train | models. Thin wrappers over segsim.train and segsim.models."""

from __future__ import annotations

from pathlib import Path

import typer

from segsim.commands.app import app
from segsim.errors import SegsimError


def _flag_overrides(**flags) -> dict:
    """Common flags -> the nested config fields they stand for (only the flags given)."""
    where = {
        "data": ("data", "root"),
        "seed": ("trainer", "seed"),
        "epochs": ("trainer", "epochs"),
        "model": ("model", "name"),
        "size": ("input", "size"),
        "batch_size": ("trainer", "batch_size"),
        "lr": ("optim", "lr"),
        "max_minutes": ("trainer", "max_minutes"),
        "loss": ("loss", "name"),
        "workers": ("data", "num_workers"),
        "stream": ("stream", "preset"),
    }
    out: dict = {}
    for key, value in flags.items():
        if value is None:
            continue
        if key == "encoder_weights":
            out.setdefault("model", {}).setdefault("kwargs", {})["encoder_weights"] = value
            continue
        section, field = where[key]
        out.setdefault(section, {})[field] = str(value) if isinstance(value, Path) else value
    return out


@app.command(context_settings={"allow_extra_args": False})
def train(
    overrides: list[str] | None = typer.Argument(
        None,
        help="Config overrides key=value, e.g. optim.lr=0.001 loss.name=lovasz augment.rotate=0",
    ),
    data: Path | None = typer.Option(
        None, "--data", "-d", help="Dataset folder (segsim, Pascal VOC, or images/ + masks/)."
    ),
    stream: str | None = typer.Option(
        None,
        "--stream",
        help="Train on frames rendered on the fly from this scene preset (stream.*), instead "
        "of --data; validation uses a fixed split generated once.",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="Run folder: checkpoints, logs, curves, config.yaml."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="Training config YAML (any field)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue the run in --out from its last.ckpt."
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="Seed for weights, order and augmentation."
    ),
    epochs: int | None = typer.Option(None, "--epochs", help="trainer.epochs"),
    model: str | None = typer.Option(
        None, "--model", "-m", help="model.name (see `segsim models`)."
    ),
    size: int | None = typer.Option(
        None, "--size", help="input.size: square training crop in pixels."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", "-b", help="trainer.batch_size"),
    lr: float | None = typer.Option(None, "--lr", help="optim.lr"),
    max_minutes: float | None = typer.Option(
        None, "--max-minutes", help="trainer.max_minutes (wall-time budget)."
    ),
    loss: str | None = typer.Option(
        None, "--loss", help="loss.name: ce, dice, ce_dice, focal, lovasz."
    ),
    workers: int | None = typer.Option(None, "--workers", help="data.num_workers (default: auto)."),
    encoder_weights: str | None = typer.Option(
        None,
        "--encoder-weights",
        help="model.kwargs.encoder_weights: "
        "'imagenet' or a local .pth (models with an encoder; see `segsim models`).",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Train a segmentation model; writes RUN/best.ckpt (best val mIoU) and RUN/last.ckpt.

    With no flags but --data and --out this is the documented recipe for the `shapes` preset."""
    from segsim.config import deep_merge, parse_overrides
    from segsim.train.config import load_train_config
    from segsim.train.trainer import train as run_training

    flags = _flag_overrides(
        data=data,
        seed=seed,
        epochs=epochs,
        model=model,
        size=size,
        batch_size=batch_size,
        lr=lr,
        max_minutes=max_minutes,
        loss=loss,
        workers=workers,
        encoder_weights=encoder_weights,
        stream=stream,
    )
    merged = deep_merge(parse_overrides(overrides or []), flags)
    base = config
    saved = Path(out) / "config.yaml"
    if resume and base is None and saved.is_file():
        base = saved  # a resumed run keeps its own config unless told otherwise
    cfg = load_train_config(base, merged)
    if not cfg.data.root and not (cfg.stream.preset or cfg.stream.scene_config):
        raise SegsimError("no training data given", "pass --data DIR or --stream PRESET")
    if cfg.data.root and cfg.stream.preset:
        raise SegsimError("--data and --stream both given", "pass one of them")
    summary = run_training(cfg, out, resume=resume, progress=not quiet)
    if summary.get("global_rank"):
        return  # DDP: rank 0 reports for every process
    best = summary["best_val_miou"]
    typer.echo(
        f"{summary['run']}: {summary['epochs_done']} epochs, {summary['steps']} steps in "
        f"{summary['train_minutes']:.1f} min (stopped by {summary['stopped_by']}); best val mIoU "
        f"{best:.4f} at epoch {summary['best_epoch'] + 1} -> {summary['best_checkpoint']}"
        if best is not None
        else f"{summary['run']}: no validation ran"
    )
    if summary.get("eval_data"):
        typer.echo(f"fixed val/test frames: {summary['eval_data']} (segsim evaluate --data)")


@app.command()
def models(
    name: str | None = typer.Argument(
        None, help="A model's name: print its options with defaults and what each does."
    ),
):
    """List the registered models (name and description) and the losses; with NAME, that
    model's options."""
    from segsim.models.encoders import ENCODERS
    from segsim.models.options import format_default, model_options
    from segsim.models.registry import DEFAULT_MODEL, list_models, model_kwargs
    from segsim.train.losses import list_losses

    entries = list_models()
    if name is not None:
        options = model_options(name)  # an unknown name is a SegsimError listing the models
        typer.echo(f"{name}: {entries[name]}")
        if not options:
            typer.echo("  (no options)")
        width = max((len(o.name) + len(format_default(o.default)) for o in options), default=0)
        for o in options:
            setting = f"{o.name}={format_default(o.default)}"
            typer.echo(f"  {setting:<{width + 1}}  {o.description}".rstrip())
        if any(o.name == "encoder" for o in options):
            typer.echo(f"encoders: {', '.join(ENCODERS)}")
        typer.echo(
            "(set as model.kwargs.<option>=value; training controls: model.freeze_encoder, "
            "model.freeze_bn, optim.encoder_lr_mult)"
        )
        return
    width = max(len(n) for n in entries)
    for model_name, desc in entries.items():
        star = "*" if model_name == DEFAULT_MODEL else " "
        typer.echo(f"{star} {model_name:<{width}}  {desc}")
        opts = ", ".join(f"{k}={format_default(v)}" for k, v in model_kwargs(model_name).items())
        if opts:
            typer.echo(f"  {'':<{width}}  options: {opts}")
    typer.echo(
        "(* = default; pass options as model.kwargs.<name>=value; "
        "`segsim models NAME` describes them)\n"
        f"losses: {', '.join(list_losses())}"
    )
