"""What training straight from the renderer buys: test mIoU against wall time, `--stream` against
a fixed dataset, at equal time budgets, on `shapes`.

    fixed:   segsim generate --preset shapes --count 2000 --size 256 --out DATA
             segsim train --data DATA --out RUN trainer.max_minutes=B trainer.epochs=10000
    stream:  segsim train --stream shapes --out RUN trainer.max_minutes=B trainer.epochs=10000

No epoch cap: the recipe's 60 epochs of 200 steps would end the fixed run after about 13
minutes whatever its budget. The learning rate anneals over the budget (schedule.time_aware).
Early stopping stays as the recipe has it, so a run whose validation mIoU stops improving ends
before its budget (its row says `stopped_by`). Both use the default training config otherwise
(the recipe), and both are scored on the same frames: the fixed dataset's test split (frames
of seed 0 below 2000; the stream's training frames start at index 2**24, so it never trains on
them), as `segsim evaluate` scores ("whole" mode, one confusion matrix). The stream's own fixed
test split is scored too. The budget is the trainer's clock, which for the stream includes the
rendering its loader workers do while the model trains; the wall time rows add what each needs
before training starts (generating the 2000 frames, or the stream's fixed val/test split).

    python bench/bench_stream.py                         # budgets 5, 15, 30 minutes (~2 h)
    python bench/bench_stream.py --budgets 15 --arms fixed  # redo one run; the others are kept
    python bench/bench_stream.py --budgets 0.5 --count 200 --eval-count 60   # quick check
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_train import generate, test_metrics
from bench.common import merge_rows, record, row

EPOCHS = 10_000  # no epoch cap: the budget (or early stopping) ends each run


def train_run(overrides: dict, run: Path) -> tuple[dict, float]:
    from segsim.train.config import load_train_config
    from segsim.train.trainer import train

    if run.exists():
        shutil.rmtree(run)
    cfg = load_train_config(None, overrides)
    t0 = time.perf_counter()
    summary = train(cfg, run, progress=True)
    return summary, time.perf_counter() - t0


def main() -> None:
    from segsim.config import deep_merge, parse_overrides

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--budgets", default="5,15,30", help="training budgets in minutes, comma-separated"
    )
    ap.add_argument(
        "--arms", default="fixed,stream", help="which runs (fixed, stream) to make at each budget"
    )
    ap.add_argument("--count", type=int, default=2000, help="frames of the fixed dataset")
    ap.add_argument("--size", type=int, default=256, help="frame size (both)")
    ap.add_argument("--eval-count", type=int, default=400, help="stream.eval_count")
    ap.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "out" / "stream")
    ap.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        help="training config override for both runs (quick checks)",
    )
    args = ap.parse_args()
    budgets = [float(b) for b in args.budgets.split(",") if b.strip()]
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    if not arms or set(arms) - {"fixed", "stream"}:
        ap.error(f"--arms takes fixed and/or stream, got {args.arms!r}")
    # budgets and arms are not part of "quick": each run merges into one record (merge_rows)
    quick = bool(args.overrides) or args.count != 2000 or args.size != 256
    quick = quick or args.eval_count != 400
    work = args.work / "quick" if quick else args.work
    data = work / "data"
    base = parse_overrides(args.overrides)

    from segsim.train.config import load_train_config
    from segsim.train.stream import ensure_eval_split, load_stream_scene

    gen_s = generate(data, args.count, args.size, seed=0)
    if gen_s is None:
        print("fixed dataset reused from an earlier run: its generation time is not in the rows")

    stream_eval = work / "stream-eval"
    stream_section = {
        "preset": "shapes",
        "size": args.size,
        "eval_count": args.eval_count,
        "eval_dir": str(stream_eval),
    }
    # the stream's one-off cost before training, like the fixed dataset's generation
    if stream_eval.exists():
        shutil.rmtree(stream_eval)
    probe = load_train_config(None, {"stream": stream_section})
    t0 = time.perf_counter()
    ensure_eval_split(probe, load_stream_scene(probe))
    eval_s = time.perf_counter() - t0

    sources = {"fixed": {"data": {"root": str(data)}}, "stream": {"stream": stream_section}}
    before_training_s = {"fixed": gen_s or 0.0, "stream": eval_s}
    rows = []
    for budget in budgets:
        common = deep_merge(base, {"trainer": {"max_minutes": budget, "epochs": EPOCHS}})
        for name in arms:
            s, wall = train_run(deep_merge(common, sources[name]), work / f"{name}-{budget:g}")
            m = test_metrics(Path(s["best_checkpoint"]), data)
            bs = load_bs(common)
            seen = s["steps"] * bs
            info = dict(
                budget_min=budget,
                steps=s["steps"],
                frames_seen=seen,
                train_images_per_s=seen / max(s["train_minutes"] * 60, 1e-9),
                stopped_by=s["stopped_by"],
                wall_min_train_command=wall / 60,
                wall_min_incl_data=(wall + before_training_s[name]) / 60,
            )
            rows.append(
                row(
                    f"{name}: test mIoU (fixed test split) at {budget:g} min",
                    [m["miou"]],
                    "mIoU",
                    **info,
                )
            )
            rows.append(
                row(
                    f"{name}: training images/s at {budget:g} min",
                    [info["train_images_per_s"]],
                    "images/s",
                    budget_min=budget,
                )
            )
            if name == "stream":
                own = test_metrics(Path(s["best_checkpoint"]), stream_eval)
                rows.append(
                    row(
                        f"stream: test mIoU (its own fixed split) at {budget:g} min",
                        [own["miou"]],
                        "mIoU",
                        budget_min=budget,
                    )
                )
    if gen_s is not None:
        rows.append(
            row(
                f"fixed dataset generation ({args.count} frames at {args.size})",
                [gen_s / 60],
                "min",
            )
        )
    rows.append(
        row(
            f"stream fixed val/test split generation ({args.eval_count} frames)",
            [eval_s / 60],
            "min",
        )
    )
    command = ("python bench/bench_stream.py " + " ".join(sys.argv[1:])).strip()
    name = "stream_quick" if quick else "stream"
    rows, command = merge_rows(name, rows, command, run_of, {(b, a) for b in budgets for a in arms})
    rows.sort(key=lambda r: (r.get("budget_min", float("inf")), r["figure"]))
    record(
        name,
        rows,
        command,
        notes=(
            "quick check with non-default settings; not the recorded comparison"
            if quick
            else "test mIoU against budget: --stream shapes vs a fixed 2000-frame dataset"
        ),
    )


def run_of(r: dict):
    """A row's (budget, arm): `--budgets 30` adds to 5 and 15, and `--arms fixed --budgets 15`
    redoes that one run."""
    b = r.get("budget_min")
    return None if b is None else (b, r["figure"].split(":")[0])


def load_bs(overrides: dict) -> int:
    from segsim.train.config import load_train_config

    return load_train_config(None, overrides).trainer.batch_size


if __name__ == "__main__":
    main()
