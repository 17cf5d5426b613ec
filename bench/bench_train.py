"""The documented recipe for `shapes`: generate, train with the default config, test mIoU.

    segsim generate --preset shapes --count 2000 --size 256 --out DATA
    segsim train --data DATA --out RUN            # defaults only: the recipe under test

Target: >= 0.90 test mIoU after <= 5 minutes of training on the 2-core CPU machine. This script
runs exactly those two steps through the library, then scores RUN/best.ckpt on the test split
as `segsim evaluate` would (the Predictor's default "whole" mode, no test-time augmentation;
one confusion matrix over the whole split, segsim.metrics) and records test mIoU, per-class IoU,
the training minutes (what trainer.max_minutes bounds) and the whole train command's wall time
(caching and checkpoint writing included).

    python bench/bench_train.py                                     # the recorded figures
    python bench/bench_train.py --count 40 --size 64 --set trainer.max_minutes=0.2   # quick check
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, row


def generate(out: Path, count: int, size: int, seed: int) -> float | None:
    """Seconds to generate the dataset, or None when an earlier run's frames were all reused."""
    from segsim.dataset.generate import generate_dataset
    from segsim.errors import SegsimError
    from segsim.scene.config import load_scene_config

    def run():
        return generate_dataset(
            out,
            load_scene_config("shapes"),
            count,
            size,
            size,
            seed=seed,
            progress=True,
            preset="shapes",
        )

    t0 = time.perf_counter()
    try:
        result = run()  # resumes (or reuses) a dataset made with the same settings
    except SegsimError:
        if not (out / "dataset.yaml").is_file():
            raise
        # refused: another recipe's (or an older preset's) dataset; start over
        shutil.rmtree(out)
        t0 = time.perf_counter()
        result = run()
    return time.perf_counter() - t0 if result.rendered else None


def test_metrics(ckpt: Path, data: Path, split: str = "test") -> dict:
    """Exactly what `segsim evaluate` reports ("whole" mode, no TTA, one confusion matrix)."""
    from segsim.infer.evaluate import evaluate
    from segsim.infer.predictor import Predictor

    return evaluate(Predictor.load(ckpt), data, split, samples=0, progress=False)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--count", type=int, default=2000, help="frames to generate (80/10/10 split)")
    ap.add_argument("--size", type=int, default=256, help="square frame size")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--work",
        type=Path,
        default=Path(__file__).resolve().parent / "out" / "recipe",
        help="folder for DATA and RUN, kept for bench_crossdomain.py (a rerun reuses DATA)",
    )
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="training config override (only for quick checks; the recipe uses none)",
    )
    args = ap.parse_args()

    from segsim.config import parse_overrides
    from segsim.train.config import load_train_config
    from segsim.train.trainer import train

    quick = bool(args.overrides) or args.count != 2000 or args.size != 256
    work = (
        args.work / "quick" if quick else args.work
    )  # a quick check never clobbers the recipe run
    data, run = work / "data", work / "run"
    gen_s = generate(data, args.count, args.size, args.seed)
    if run.exists():
        shutil.rmtree(run)
    overrides = parse_overrides(args.overrides)
    overrides.setdefault("data", {})["root"] = str(data)
    cfg = load_train_config(None, overrides)
    t0 = time.perf_counter()
    summary = train(cfg, run, progress=True)
    train_wall = time.perf_counter() - t0
    m = test_metrics(run / "best.ckpt", data)

    print(
        f"stopped by {summary['stopped_by']} after {summary['epochs_done']} epochs / "
        f"{summary['steps']} steps; "
        f"best val mIoU {summary['best_val_miou']:.4f} (epoch {summary['best_epoch'] + 1})"
    )
    for name, pc in m["per_class"].items():
        print(f"  {name:<14} IoU {pc['iou'] if pc['iou'] is not None else float('nan'):.4f}")
    extra = dict(
        frames=args.count,
        size=args.size,
        model=summary["model"],
        epochs=summary["epochs_done"],
        steps=summary["steps"],
        stopped_by=summary["stopped_by"],
    )
    rows = (
        [
            row(
                "recipe test mIoU (shapes, default config)",
                [m["miou"]],
                "mIoU",
                target=">= 0.90",
                **extra,
            ),
            row("recipe test pixel accuracy", [m["pixel_accuracy"]], "fraction"),
            row(
                "recipe training time (trainer clock, val included)",
                [summary["train_minutes"]],
                "min",
                target="<= 5",
            ),
            row(
                "recipe `segsim train` wall time (caching, checkpoints included)",
                [train_wall / 60],
                "min",
            ),
            row("recipe best validation mIoU", [summary["best_val_miou"] or 0.0], "mIoU"),
        ]
        + (
            [row(f"dataset generation ({args.count} frames at {args.size})", [gen_s / 60], "min")]
            if gen_s is not None
            else []
        )
        + [
            row(f"recipe test IoU {name}", [pc["iou"]], "IoU")
            for name, pc in m["per_class"].items()
            if pc["iou"] is not None
        ]
    )
    command = "python bench/bench_train.py " + " ".join(sys.argv[1:])
    record(
        "recipe_quick" if quick else "recipe",
        rows,
        command.strip(),
        notes="quick check with non-recipe settings; not the recipe figure"
        if quick
        else "segsim generate --preset shapes --count 2000 --size 256 + "
        "segsim train with defaults; "
        "test mIoU from one confusion matrix over the test split",
    )


if __name__ == "__main__":
    main()
