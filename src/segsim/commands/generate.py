"""CLI: segsim generate | verify | show | presets. Thin wrappers over segsim.dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from segsim.commands.app import app
from segsim.errors import SegsimError


def _parse_fractions(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise SegsimError(
            f"--splits {text!r} is not three comma-separated numbers",
            "pass e.g. --splits 0.8,0.1,0.1",
        ) from None


@app.command()
def generate(
    out: Path = typer.Option(..., "--out", "-o", help="Dataset folder to create (or resume)."),
    count: int = typer.Option(..., "--count", "-n", help="Number of frames."),
    preset: str = typer.Option(
        "shapes", "--preset", "-p", help="Scene preset (see `segsim presets`)."
    ),
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML overriding any field of the preset."
    ),
    set_: list[str] = typer.Option(
        [], "--set", help="Override one config field, e.g. --set objects.count=[2,8] (repeatable)."
    ),
    size: int | None = typer.Option(
        None,
        "--size",
        help="Square frame size in pixels (default 256; the street preset: 512x256; see "
        "--width/--height).",
    ),
    width: int | None = typer.Option(None, "--width", help="Frame width (default: --size)."),
    height: int | None = typer.Option(None, "--height", help="Frame height (default: --size)."),
    seed: int = typer.Option(
        0, "--seed", help="Dataset seed; frame i depends on (config, seed, i) only."
    ),
    workers: int = typer.Option(
        0, "--workers", "-w", help="Render processes (0 = all cores); with --ray, Ray actors."
    ),
    ray: str | None = typer.Option(
        None,
        "--ray",
        help="Render on a Ray cluster: auto (this node's) or host:port; --out must be on "
        "storage every node shares (docs/ray.md). Needs the ray extra.",
    ),
    fractions: str = typer.Option("0.8,0.1,0.1", "--splits", help="train,val,test fractions."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Render a labelled dataset: images, class labels, instances, depth and meta per frame.

    Deterministic and resumable: re-running the same command after an interruption finishes
    the dataset with the same bytes; a larger --count extends it."""
    from segsim.config import parse_overrides
    from segsim.dataset.generate import generate_dataset
    from segsim.scene.config import load_scene_config

    cfg = load_scene_config(preset, config, parse_overrides(set_) if set_ else None)
    default = (512, 256) if cfg.street is not None else (256, 256)  # street: 2:1 frames
    w, h = width or size or default[0], height or size or default[1]
    result = generate_dataset(
        out,
        cfg,
        count,
        w,
        h,
        seed=seed,
        workers=workers,
        fractions=_parse_fractions(fractions),
        progress=not quiet,
        preset=preset,
        ray=ray,
    )
    msg = (
        f"{out}: {result.count} frames ({', '.join(f'{k} {v}' for k, v in result.splits.items())})"
    )
    if result.reused:
        msg += f"; {result.reused} kept from an earlier run"
    if result.rendered:
        msg += f"; rendered {result.rendered} in {result.seconds:.1f} s"
        if (
            result.steady_frames_per_second and result.rendered >= 20
        ):  # too few frames: no steady rate
            msg += f" ({result.steady_frames_per_second:.0f} frames/s once the workers were up)"
    if result.retried:
        msg += f"; {result.retried} Ray actors replaced after they died (their batches redone)"
    typer.echo(msg)


@app.command()
def verify(path: Path = typer.Argument(..., help="Dataset folder.")):
    """Check every file of a dataset against its manifest checksums (exit 1 if any problem)."""
    from segsim.dataset.verify import verify_dataset

    report = verify_dataset(path, progress=True)
    for problem in report.problems:
        typer.echo(f"problem: {problem}", err=True)
    for rel in report.missing:
        typer.echo(f"missing: {rel}", err=True)
    for rel in report.corrupt:
        typer.echo(f"corrupt: {rel} (checksum differs from the manifest)", err=True)
    if not report.ok:
        typer.echo(
            f"{path}: {len(report.missing)} missing, {len(report.corrupt)} corrupt of "
            f"{report.files} files; {len(report.problems)} other problems",
            err=True,
        )
        raise typer.Exit(1)
    typer.echo(f"{path}: ok, {report.frames} frames, {report.files} files match the manifest")


@app.command()
def show(
    path: Path = typer.Argument(..., help="Dataset folder."),
    out: Path = typer.Option(Path("sheet.png"), "--out", "-o", help="PNG to write."),
    count: int = typer.Option(16, "--count", "-n", help="Frames (rows) to show."),
    split: str | None = typer.Option(None, "--split", help="Only this split (train, val, test)."),
):
    """Contact sheet: image | coloured labels | instances | depth, one row per frame."""
    from segsim.dataset.show import write_contact_sheet

    typer.echo(f"wrote {write_contact_sheet(path, out, count, split)}")


@app.command()
def presets():
    """List the scene presets, with what each one draws."""
    from rich.console import Console
    from rich.table import Table

    from segsim.scene.presets import list_presets

    table = Table("preset", "description")
    for name, description in list_presets().items():
        table.add_row(name, description)
    Console().print(table)
