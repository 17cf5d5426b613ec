"""`segsim demo`: the whole mission in one command.

It runs the very commands a user would type (printed before each step), in this process:
generate a `shapes` dataset -> train the default CPU model -> evaluate -> export to ONNX ->
serve the model with the live viewer. `--no-serve` stops after the export (the tests use it,
with a smaller budget).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import typer

from segsim.cli import app
from segsim.errors import SegsimError


def _step(title: str, argv: list[str]) -> None:
    from segsim.cli import main

    typer.secho(f"\n==> {title}", fg="cyan", bold=True)
    typer.secho("$ segsim " + " ".join(shlex.quote(a) for a in argv), fg="bright_black")
    t0 = time.time()
    rc = main(argv)
    if rc != 0:
        raise SegsimError(f"demo step '{title}' failed (exit {rc})",
                          "read the message above; `segsim demo --help` lists the budget options")
    typer.secho(f"    done in {time.time() - t0:.0f} s", fg="green")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo"), help="folder for data/, run/, model.onnx and eval/"),
    count: int = typer.Option(2000, min=1, help="frames to generate"),
    size: int = typer.Option(256, min=32, help="frame size in pixels"),
    minutes: float = typer.Option(None, min=0.02, help="training time budget in minutes "
                                  "(default: the training config's trainer.max_minutes)"),
    seed: int = typer.Option(0, help="seed for generation and training"),
    workers: int = typer.Option(0, min=0, help="generator worker processes (0 = all cores)"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="start the server and viewer at the end"),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    train_args: list[str] = typer.Option([], "--train-arg", help="extra key=value overrides for training"),
) -> None:
    """Generate -> train -> evaluate -> export -> serve, with progress at every step."""
    t0 = time.time()
    data, run, onnx, evaldir = out / "data", out / "run", out / "model.onnx", out / "eval"
    gen = ["generate", "--preset", "shapes", "--count", str(count), "--size", str(size),
           "--seed", str(seed), "--out", str(data)]
    if workers:
        gen += ["--workers", str(workers)]
    _step("1/5 generate a labelled dataset", gen)
    _step("2/5 train the default CPU model",
          ["train", "--data", str(data), "--out", str(run), "--seed", str(seed),
           *(["--max-minutes", str(minutes)] if minutes else []), *train_args])
    _step("3/5 evaluate on the test split", ["evaluate", "--model", str(run), "--data", str(data),
                                             "--split", "test", "--out", str(evaldir)])
    _step("4/5 export to ONNX", ["export", "--model", str(run / "best.ckpt"), "--out", str(onnx)])
    typer.secho(f"\nall steps done in {time.time() - t0:.0f} s; results under {out}/ "
                f"(metrics: {evaldir / 'metrics.json'})", fg="green", bold=True)
    if serve:
        typer.secho(f"\n==> 5/5 serve: open http://{host}:{port}/ (Ctrl+C to stop)", fg="cyan", bold=True)
        _step("5/5 serve the model with the live viewer",
              ["serve", "--model", str(run / "best.ckpt"), "--host", host, "--port", str(port)])
