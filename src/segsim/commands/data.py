"""CLI: segsim convert | stats. Thin wrappers over segsim.dataset.convert and dataset.stats."""

from __future__ import annotations

from pathlib import Path

import typer

from segsim.commands.app import app
from segsim.errors import SegsimError

LAYOUT_HELP = "The source's layout: auto (detect), segsim, voc, cityscapes, carla or folder."


@app.command()
def convert(
    path: Path = typer.Argument(..., help="Dataset folder (any layout segsim reads)."),
    format: str = typer.Option(..., "--format", "-f", help="cityscapes, coco or voc."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder to write (must not exist)."),
    layout: str = typer.Option("auto", "--layout", help=LAYOUT_HELP),
    city: str | None = typer.Option(
        None, "--city", help="cityscapes: the city part of every file name (default segsim)."
    ),
    label_map: str | None = typer.Option(
        None,
        "--label-map",
        help="cityscapes: 'class=cityscapes label,...' or a YAML file of such pairs, for "
        "classes whose names are not Cityscapes labels.",
    ),
    image_format: str | None = typer.Option(
        None, "--image-format", help="voc: jpg (default, as VOC) or png (lossless)."
    ),
    panoptic: bool = typer.Option(
        False, "--panoptic", help="coco: also write COCO panoptic (PNGs + panoptic_<split>.json)."
    ),
    predictions: bool = typer.Option(
        False,
        "--predictions",
        help="cityscapes: PATH is a `segsim predict` output folder; write its masks as "
        "Cityscapes result files (label ids) for the official evaluation. Needs --labels.",
    ),
    labels: Path | None = typer.Option(
        None, "--labels", help="With --predictions: the dataset (or label file) the model uses."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace --out if it exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Write a dataset in another tool's layout: Cityscapes, COCO instances or Pascal VOC.

    Everything goes into a temporary folder beside --out, renamed into place at the end."""
    from segsim.dataset.convert import convert_dataset
    from segsim.dataset.convert.registry import check_format

    check_format(format)
    if predictions:
        summary = _convert_predictions(path, format, out, labels, label_map, overwrite)
        typer.echo(f"wrote {summary['predictions']} Cityscapes result files to {out}")
        return
    if labels is not None:
        raise SegsimError("--labels only applies with --predictions", "leave it out")
    summary = convert_dataset(
        path,
        format,
        out,
        layout=layout,
        overwrite=overwrite,
        progress=not quiet,
        city=city,
        label_map=label_map,
        image_format=image_format,
        panoptic=panoptic or None,  # None: not asked for, so no "does not apply" error
    )
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    typer.echo(f"wrote {summary['frames']} frames ({splits}) as {format} to {out}")


def _convert_predictions(path, fmt, out, labels, label_map, overwrite) -> dict:
    from segsim.dataset.convert.cityscapes import convert_predictions
    from segsim.dataset.labelspec import load_label_file
    from segsim.dataset.reader import open_dataset

    if fmt != "cityscapes":
        raise SegsimError(f"--predictions applies to --format cityscapes, not {fmt}", "drop it")
    if labels is None:
        raise SegsimError(
            "--predictions needs --labels: the class names the model's masks index",
            "pass --labels DATASET (the one the model was trained on) or a labels.yaml",
        )
    label_set = load_label_file(labels)[0] if labels.is_file() else open_dataset(labels).labels
    return convert_predictions(path, label_set, out, label_map=label_map, overwrite=overwrite)


@app.command()
def stats(
    path: Path = typer.Argument(..., help="Dataset folder (any layout segsim reads)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Bar chart PNG to write (default PATH/stats.png)."
    ),
    layout: str = typer.Option("auto", "--layout", help=LAYOUT_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Per class: share of pixels, share of frames it appears in, and object counts (where the
    layout has instance maps); a table here and a bar chart in a PNG."""
    from rich.console import Console
    from rich.table import Table

    from segsim.dataset.reader import open_dataset
    from segsim.dataset.stats import dataset_stats, stats_png
    from segsim.fileio import write_atomic

    index = open_dataset(path, layout=layout)
    result = dataset_stats(index, progress=not quiet)
    table = Table(title=f"{path}: {result['frames']} frames, {result['pixels']:,} pixels")
    table.add_column("id", justify="right")
    table.add_column("class")
    table.add_column("pixels", justify="right")
    table.add_column("frames", justify="right")
    if result["has_instances"]:
        table.add_column("objects", justify="right")
    for c in result["classes"]:
        row = [str(c["id"]), c["name"], f"{c['pixel_share']:.2%}", f"{c['frame_share']:.0%}"]
        if result["has_instances"]:
            row.append(str(c["instances"]))
        table.add_row(*row)
    console = Console()
    console.print(table)
    if result["ignore_share"]:
        console.print(f"ignored pixels: {result['ignore_share']:.2%}")
    target = out if out is not None else index.root / "stats.png"
    if target.is_dir():
        raise SegsimError(f"--out {target} is a folder", "pass a file name ending in .png")
    write_atomic(target, stats_png(result, [lab.color for lab in index.labels.labels]))
    console.print(f"wrote {target}")
