"""The documented street recipe (docs/recipes/street.yaml): the real-time model on 512x256
street frames, test per-class IoU after a stated CPU budget.

    segsim generate --preset street --count 1000 --out DATA
    segsim train --data DATA --out RUN --config docs/recipes/street.yaml
    segsim evaluate --model RUN --data DATA

    python bench/bench_street_recipe.py                              # the recorded figures
    python bench/bench_street_recipe.py --count 60 --minutes 0.3    # a quick check
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_train import test_metrics
from bench.common import record, row

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "docs" / "recipes" / "street.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=None, help="default: the recipe's budget")
    ap.add_argument("--work", type=Path, default=ROOT / "bench" / "out" / "street-recipe")
    args = ap.parse_args()

    from segsim.dataset.generate import generate_dataset
    from segsim.scene.config import load_scene_config
    from segsim.train.config import load_train_config
    from segsim.train.trainer import train

    data, run = args.work / f"data-{args.count}", args.work / "run"
    t0 = time.perf_counter()
    generate_dataset(
        data, load_scene_config("street"), args.count, 512, 256, seed=0, preset="street"
    )
    gen_min = (time.perf_counter() - t0) / 60
    if run.exists():
        shutil.rmtree(run)
    overrides = {"data": {"root": str(data)}}
    if args.minutes is not None:
        overrides["trainer"] = {"max_minutes": args.minutes}
    cfg = load_train_config(RECIPE, overrides)
    summary = train(cfg, run, progress=True)
    m = test_metrics(run / "best.ckpt", data)
    minutes = cfg.trainer.max_minutes
    lines = ["| class | test IoU |", "|---|---:|"]
    for name, pc in m["per_class"].items():
        iou = pc["iou"]
        lines.append(f"| {name} | {'-' if iou is None else f'{iou:.3f}'} |")
        print(f"  {name:<14} IoU {float('nan') if iou is None else iou:.4f}")
    rows = [
        row(
            f"street recipe test mIoU ({cfg.model.name}, 512x256, {minutes:g} CPU min)",
            [m["miou"]],
            "mIoU",
            frames=args.count,
            steps=summary["steps"],
            epochs=summary["epochs_done"],
        ),
        row("street recipe test pixel accuracy", [m["pixel_accuracy"]], "fraction"),
        row(f"street dataset generation ({args.count} frames, 512x256)", [gen_min], "min"),
    ]
    notes = (
        f"{args.count} street frames (seed 0), docs/recipes/street.yaml, "
        f"{summary['steps']} steps in {summary['train_minutes']:.1f} min on the 2-core machine; "
        "per-class IoU on the test split:\n\n" + "\n".join(lines)
    )
    record(
        "street_recipe",
        rows,
        f"python bench/bench_street_recipe.py --count {args.count}"
        + (f" --minutes {args.minutes:g}" if args.minutes is not None else ""),
        notes=notes,
    )


if __name__ == "__main__":
    main()
