"""The model zoo compared on `shapes` at one fixed CPU budget: test mIoU per model, like the
comparison table of the material-segmentation project segsim replaces.

    segsim generate --preset shapes --count 2000 --size 256 --out DATA   # the recipe's data
    segsim train --data DATA --out RUN --model NAME trainer.max_minutes=M  # per model
    segsim evaluate --model RUN --data DATA                                # test split

Every model trains with the recipe's config (input 96 px, AdamW, poly schedule, ce_dice) and
only its name changed; encoder models take resnet18 so the budget buys them more than a few
steps. The budget is the trainer's clock (validation included), the same for every model.

    python bench/bench_zoo.py                          # every model, 2 minutes each
    python bench/bench_zoo.py --minutes 0.2 --count 200 --models unet_small enet   # quick check
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_train import generate, test_metrics
from bench.common import record, row

# the smallest encoder, so every model gets a comparable number of steps in a CPU budget
ENCODER_KWARGS = {"encoder": "resnet18"}


def model_kwargs(name: str) -> dict:
    from segsim.models.registry import model_kwargs as accepted

    return dict(ENCODER_KWARGS) if "encoder" in accepted(name) else {}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--minutes", type=float, default=2.0, help="training budget per model")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--models", nargs="*", help="default: every registered model")
    ap.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "out" / "zoo")
    args = ap.parse_args()

    from segsim.models.registry import list_models
    from segsim.train.config import load_train_config
    from segsim.train.trainer import train

    names = args.models or list(list_models())
    data = args.work / f"data-{args.count}-{args.size}"
    generate(data, args.count, args.size, seed=0)
    rows, table = (
        [],
        ["| model | kwargs | test mIoU | steps | train min |", "|---|---|---:|---:|---:|"],
    )
    for name in names:
        run = args.work / "runs" / name
        if run.exists():
            shutil.rmtree(run)
        kwargs = model_kwargs(name)
        cfg = load_train_config(
            None,
            {
                "data": {"root": str(data)},
                "model": {"name": name, "kwargs": kwargs},
                "trainer": {"max_minutes": args.minutes, "progress": False, "plot": False},
            },
        )
        t0 = time.perf_counter()
        summary = train(cfg, run, progress=False)
        wall = time.perf_counter() - t0
        m = test_metrics(run / "best.ckpt", data)
        print(f"{name:<20} test mIoU {m['miou']:.4f}  steps {summary['steps']}  {wall:.0f} s")
        kw = ",".join(f"{k}={v}" for k, v in kwargs.items()) or "-"
        table.append(
            f"| `{name}` | {kw} | {m['miou']:.3f} | {summary['steps']} | "
            f"{summary['train_minutes']:.2f} |"
        )
        rows.append(
            row(
                f"zoo: {name} test mIoU on shapes after {args.minutes:g} CPU min",
                [m["miou"]],
                "mIoU",
                steps=summary["steps"],
                kwargs=kw,
            )
        )
    command = f"python bench/bench_zoo.py --minutes {args.minutes:g} --count {args.count}"
    notes = (
        f"{args.count} shapes frames at {args.size}, the recipe's config with only the model "
        f"changed, {args.minutes:g} minutes of training each on the 2-core machine.\n\n"
        + "\n".join(table)
    )
    record("zoo", rows, command, notes=notes)


if __name__ == "__main__":
    main()
