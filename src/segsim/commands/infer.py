"""CLI: segsim evaluate | predict | export. Thin wrappers over segsim.infer.

Every `--model` takes a .ckpt, a run folder (its best.ckpt) or an .onnx from `segsim export`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from segsim.commands.app import app
from segsim.errors import SegsimError

MODEL_HELP = "A .ckpt, a run folder (its best.ckpt) or an .onnx from `segsim export`."
TTA_HELP = "Test-time augmentation: 'flip' averages with the mirrored image."
SCALES_HELP = (
    "Multi-scale: comma-separated factors, e.g. 0.75,1,1.25 (of the training size in whole mode, "
    "of the image in sliding mode); softmax is averaged over them."
)
MODE_HELP = (
    "'whole' resizes to the training size; 'sliding' tiles large images at native resolution."
)


def _check_tta(tta: str | None) -> str | None:
    if tta in (None, "", "none"):
        return None
    if tta != "flip":
        raise SegsimError(f"unknown --tta {tta!r}", "use --tta flip, or leave it out")
    return tta


def _check_mode(mode: str) -> str:
    from segsim.infer.tta import MODES

    if mode not in MODES:
        raise SegsimError(f"unknown --mode {mode!r}", f"use one of: {', '.join(MODES)}")
    return mode


@app.command()
def predict(
    model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
    input: str = typer.Option(
        ..., "--input", "-i", help="An image, a folder of images, or a glob (quoted)."
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Folder for <stem>.png index masks."),
    overlay_: bool = typer.Option(
        False, "--overlay", help="Also write <stem>_overlay.png colour overlays."
    ),
    alpha: float = typer.Option(0.5, "--alpha", help="Overlay colour weight, 0..1."),
    tta: str | None = typer.Option(None, "--tta", help=TTA_HELP),
    scales: str | None = typer.Option(None, "--scales", help=SCALES_HELP),
    mode: str = typer.Option("whole", "--mode", help=MODE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Segment images: writes <stem>.png class-index masks the size of each input.

    An image that cannot be read is reported and skipped; the others are still written, and
    the command then exits with code 2 naming how many failed."""
    from segsim.fileio import read_image
    from segsim.infer.images import write_png
    from segsim.infer.inputs import plan_outputs, resolve_inputs
    from segsim.infer.overlay import overlay
    from segsim.infer.predictor import Predictor
    from segsim.infer.tta import parse_scales
    from segsim.progress import progress_bar

    tta = _check_tta(tta)
    mode = _check_mode(mode)
    scale_list = parse_scales(scales)
    if not 0.0 <= alpha <= 1.0:
        raise SegsimError(f"--alpha {alpha} is outside 0..1", "e.g. --alpha 0.5")
    inputs = resolve_inputs(input)
    if output.exists() and not output.is_dir():
        raise SegsimError(
            f"--output {output} is a file", "pass a folder (it is created if missing)"
        )
    plan = plan_outputs(inputs, output, overlay_)
    predictor = Predictor.load(model)
    output.mkdir(parents=True, exist_ok=True)

    failed: list[str] = []
    with progress_bar(not quiet, "predicting", len(inputs)) as advance:
        for path, (mask_path, overlay_path) in zip(inputs, plan, strict=True):
            try:
                rgb = read_image(path)
            except SegsimError as e:
                failed.append(str(path))
                typer.secho(f"skipped: {e.message}", fg="yellow", err=True)
                advance(1)
                continue
            mask = predictor.predict(rgb, tta=tta, scales=scale_list, mode=mode)
            write_png(mask_path, mask)
            if overlay_path is not None:
                write_png(overlay_path, overlay(rgb, mask, predictor.labels, alpha))
            advance(1)
    done = len(inputs) - len(failed)
    typer.echo(f"wrote {done} mask{'s' if done != 1 else ''} to {output} ({predictor.backend})")
    if failed:
        raise SegsimError(
            f"{len(failed)} of {len(inputs)} images could not be read: {', '.join(failed[:5])}"
            f"{' ...' if len(failed) > 5 else ''}",
            "replace or remove those files",
        )


@app.command()
def evaluate(
    model: str = typer.Option(..., "--model", "-m", help=MODEL_HELP),
    data: Path = typer.Option(
        ...,
        "--data",
        "-d",
        help="Dataset folder (segsim, Pascal VOC, Cityscapes, CARLA, or images/+masks/).",
    ),
    split: str | None = typer.Option(
        None,
        "--split",
        help="Which split to score: train, val, test or all. Default: test, or "
        "all for a folder without splits of its own (flat images/ + masks/).",
    ),
    split_fractions: str | None = typer.Option(
        None,
        "--split-fractions",
        help="For a folder without splits of its own: make up a "
        "random train,val,test split with these fractions, e.g. 0.8,0.1,0.1 (as `segsim train` "
        "does) and score its --split (default test).",
    ),
    split_seed: int | None = typer.Option(
        None, "--split-seed", help="Seed of that made-up split (default 0, as in training)."
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Folder for metrics.json, confusion.png, samples.png."
    ),
    tta: str | None = typer.Option(None, "--tta", help=TTA_HELP),
    scales: str | None = typer.Option(None, "--scales", help=SCALES_HELP),
    mode: str = typer.Option("whole", "--mode", help=MODE_HELP),
    samples: int = typer.Option(4, "--samples", help="Rows in samples.png."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Score a model on a split: per-class IoU and Dice from one confusion matrix over the split.

    A folder without splits of its own is scored whole, unless --split or --split-fractions
    asks for a made-up split; the output says how many images were scored of how many found."""
    from rich.console import Console
    from rich.table import Table

    from segsim.infer.evaluate import evaluate as run_evaluation
    from segsim.infer.evaluate import parse_fractions
    from segsim.infer.predictor import Predictor
    from segsim.infer.tta import parse_scales

    tta = _check_tta(tta)
    mode = _check_mode(mode)
    scale_list = parse_scales(scales)
    if samples < 0:
        raise SegsimError(f"--samples {samples} is negative", "e.g. --samples 4")
    fractions = parse_fractions(split_fractions)
    predictor = Predictor.load(model)
    result = run_evaluation(
        predictor,
        data,
        split=split,
        out=out,
        tta=tta,
        scales=scale_list,
        mode=mode,
        samples=samples,
        progress=not quiet,
        split_fractions=fractions,
        split_seed=split_seed,
    )

    def fmt(x):
        return "-" if x is None else f"{x:.4f}"

    scope = "all images" if result["split"] == "all" else f"{result['split']} split"
    table = Table(title=f"{scope} of {data}: {result['num_images']} images ({predictor.backend})")
    for col in ("class", "IoU", "Dice", "accuracy", "GT pixels"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for name, m in result["per_class"].items():
        table.add_row(
            name, fmt(m["iou"]), fmt(m["dice"]), fmt(m.get("accuracy")), str(m.get("gt_pixels", ""))
        )
    table.add_section()
    table.add_row(
        "mean",
        fmt(result["miou"]),
        fmt(result["mean_dice"]),
        fmt(result["mean_accuracy"]),
        str(result["num_pixels"]),
    )
    console = Console()
    console.print(table)
    typer.echo(result["scored"])  # plain: rich would wrap it at the terminal width
    console.print(f"mIoU {result['miou']:.4f}   pixel accuracy {result['pixel_accuracy']:.4f}")
    for w in result["warnings"]:
        typer.secho(f"warning: {w}", fg="yellow", err=True)
    if out is not None:
        console.print(f"wrote {', '.join(result['files'].values())}")


@app.command()
def export(
    model: str = typer.Option(
        ..., "--model", "-m", help="A .ckpt or a run folder (its best.ckpt)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="The .onnx file to write."),
    opset: int = typer.Option(17, "--opset", help="ONNX opset version."),
):
    """Export to ONNX (dynamic batch, height, width; labels + normalization in the metadata) and
    check ONNX Runtime against PyTorch on sample inputs. Exits 1 if they disagree."""
    from segsim.infer.export import LOGIT_RTOL, MIN_ARGMAX_AGREEMENT, export_onnx

    r = export_onnx(model, out, opset=opset)
    typer.echo(f"wrote {r['path']} ({r['bytes'] / 1e6:.1f} MB, opset {r['opset']})")
    for s in r["samples"]:
        typer.echo(
            f"  input {'x'.join(map(str, s['input_shape']))}: max |logit diff| "
            f"{s['max_abs_logit_diff']:.2e}, argmax agreement {s['argmax_agreement_pct']:.3f}%"
        )
    typer.echo(
        f"agreement ONNX Runtime vs PyTorch: max |logit diff| {r['max_abs_logit_diff']:.2e}, "
        f"argmax agreement {r['argmax_agreement_pct']:.3f}% of {r['pixels']} pixels"
    )
    if not r["ok"]:
        typer.secho(
            "ONNX Runtime disagrees with PyTorch "
            f"(want >= {MIN_ARGMAX_AGREEMENT}% argmax agreement and "
            f"logit differences within {LOGIT_RTOL:g} of their scale)",
            fg="red",
            err=True,
        )
        raise typer.Exit(1)
