"""`segsim demo`: the whole mission in one command.

Each step prints the command a user would type for it, then does the same work through the
library functions those commands call: generate a `shapes` dataset -> train the default CPU
model -> evaluate -> export to ONNX -> serve the model with the live viewer. `--no-serve` stops
after the export (the tests use it, with a smaller budget).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import typer

from segsim.commands.app import app


def _announce(title: str, argv: list[str]) -> float:
    typer.secho(f"\n==> {title}", fg="cyan", bold=True)
    typer.secho("$ segsim " + " ".join(shlex.quote(a) for a in argv), fg="bright_black")
    return time.time()


def _done(t0: float, what: str) -> None:
    typer.secho(f"    {what}; done in {time.time() - t0:.0f} s", fg="green")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo"), help="folder for data/, run/, model.onnx and eval/"),
    count: int = typer.Option(2000, min=1, help="frames to generate"),
    size: int = typer.Option(256, min=32, help="frame size in pixels"),
    minutes: float = typer.Option(
        None,
        min=0.02,
        help="training time budget in minutes (default: the training config's trainer.max_minutes)",
    ),
    seed: int = typer.Option(0, help="seed for generation and training"),
    workers: int = typer.Option(0, min=0, help="generator worker processes (0 = all cores)"),
    serve: bool = typer.Option(
        True, "--serve/--no-serve", help="start the server and viewer at the end"
    ),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    train_args: list[str] = typer.Option(
        [], "--train-arg", help="extra key=value overrides for training"
    ),
) -> None:
    """Generate -> train -> evaluate -> export -> serve, with progress at every step."""
    from segsim.config import deep_merge, parse_overrides
    from segsim.dataset.generate import generate_dataset
    from segsim.infer.evaluate import evaluate
    from segsim.infer.export import export_onnx
    from segsim.infer.predictor import Predictor
    from segsim.models.checkpoint import BEST_CHECKPOINT
    from segsim.scene.config import load_scene_config
    from segsim.train.config import load_train_config
    from segsim.train.trainer import train

    start = time.time()
    data, run, onnx, evaldir = out / "data", out / "run", out / "model.onnx", out / "eval"
    best = run / BEST_CHECKPOINT

    t0 = _announce(
        "1/5 generate a labelled dataset",
        [
            "generate",
            "--preset",
            "shapes",
            "--count",
            str(count),
            "--size",
            str(size),
            "--seed",
            str(seed),
            "--out",
            str(data),
            *(["--workers", str(workers)] if workers else []),
        ],
    )
    result = generate_dataset(
        data,
        load_scene_config("shapes"),
        count,
        size,
        size,
        seed=seed,
        workers=workers or None,
        preset="shapes",
    )
    _done(t0, f"{result.count} frames in {data}")

    budget = {"trainer": {"max_minutes": minutes}} if minutes else {}
    t0 = _announce(
        "2/5 train the default CPU model",
        [
            "train",
            "--data",
            str(data),
            "--out",
            str(run),
            "--seed",
            str(seed),
            *(["--max-minutes", str(minutes)] if minutes else []),
            *train_args,
        ],
    )
    overrides = deep_merge(
        parse_overrides(train_args),
        {"data": {"root": str(data)}, "trainer": {"seed": seed}, **budget},
    )
    summary = train(load_train_config(None, overrides), run)
    _done(
        t0,
        f"best val mIoU {summary['best_val_miou']}"
        if summary["best_val_miou"] is not None
        else "no validation ran",
    )

    t0 = _announce(
        "3/5 evaluate on the test split",
        [
            "evaluate",
            "--model",
            str(run),
            "--data",
            str(data),
            "--split",
            "test",
            "--out",
            str(evaldir),
        ],
    )
    scores = evaluate(Predictor.load(run), data, split="test", out=evaldir)
    _done(t0, f"test mIoU {scores['miou']:.4f}")

    t0 = _announce("4/5 export to ONNX", ["export", "--model", str(best), "--out", str(onnx)])
    exported = export_onnx(best, onnx)
    _done(t0, f"argmax agreement with PyTorch {exported['argmax_agreement_pct']:.3f}%")

    typer.secho(
        f"\nall steps done in {time.time() - start:.0f} s; results under {out}/ "
        f"(metrics: {evaldir / 'metrics.json'})",
        fg="green",
        bold=True,
    )
    if serve:
        from segsim.serve.server import serve_model

        _announce(
            "5/5 serve the model with the live viewer: "
            f"open http://{host}:{port}/ (Ctrl+C to stop)",
            ["serve", "--model", str(best), "--host", host, "--port", str(port)],
        )
        serve_model(str(best), host, port, echo=typer.echo)
