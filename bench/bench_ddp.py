"""Data-parallel training on CPU: images/s with 2 DDP processes (gloo) against 1, and the ratio.

Each run is the `segsim train` command a user types, on a generated `shapes` dataset, with the
recipe's model, input size and batch size (per process), a fixed number of epochs and no
validation (trainer.val_every past the last epoch), so the clock measures training steps:

    segsim train --data DATA --out RUN --epochs E trainer.devices=N trainer.accelerator=cpu \\
        trainer.max_minutes=null trainer.val_every=1000 trainer.early_stopping=null

images/s = images the processes trained on together / seconds, from RUN/history.json over the
epochs after the first (the first holds process start-up and the first steps' warm-up). With 2
processes each trains on its half of every epoch, with its share of the cores (Lightning gives
each CPU process cores / processes threads).

    python bench/bench_ddp.py                      # 240 frames at 256, 4 epochs
    python bench/bench_ddp.py --count 60 --epochs 3 --set input.size=64   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_train import generate
from bench.common import record, row


def run_train(
    data: Path, run: Path, processes: int, epochs: int, overrides: list[str], threads=None
) -> dict:
    if run.exists():
        shutil.rmtree(run)
    cmd = [
        os.path.join(os.path.dirname(sys.executable), "segsim"),
        "train",
        "--data",
        str(data),
        "--out",
        str(run),
        "--epochs",
        str(epochs),
        "trainer.max_minutes=null",
        "trainer.val_every=1000",
        "trainer.early_stopping=null",
        f"trainer.devices={processes}",
        "trainer.accelerator=cpu",
        "data.num_workers=0",
        *overrides,
        "-q",
    ]
    t0 = time.perf_counter()
    env = dict(os.environ)
    if threads is not None:
        env["OMP_NUM_THREADS"] = str(threads)
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    history = json.loads((run / "history.json").read_text())
    bs = yaml.safe_load((run / "config.yaml").read_text())["trainer"]["batch_size"]
    first, last = history[0], history[-1]
    seconds = (last["minutes"] - first["minutes"]) * 60
    images = (last["step"] - first["step"]) * bs * processes
    return {
        "images_per_s": images / seconds if seconds > 0 else 0.0,
        "steps_per_epoch": first["step"],
        "batch_per_process": bs,
        "wall_s": wall,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--count", type=int, default=240)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--work", type=Path, default=Path(__file__).resolve().parent / "out" / "ddp")
    ap.add_argument("--set", dest="overrides", action="append", default=[])
    args = ap.parse_args()
    if args.epochs < 2:
        sys.exit("--epochs must be at least 2 (the first epoch is left out of the rate)")
    quick = bool(args.overrides) or (args.count, args.size, args.epochs) != (240, 256, 4)
    work = args.work / "quick" if quick else args.work
    data = work / "data"
    generate(data, args.count, args.size, seed=0)

    # (label, processes, OMP threads per process): one process as a user runs it (torch takes
    # every core) and with one thread, the share each of the two DDP processes gets
    cases = [("1 process", 1, None), ("1 process, 1 thread", 1, 1), ("2 processes (gloo)", 2, None)]
    rates: dict[str, list[float]] = {label: [] for label, _, _ in cases}
    info: dict[str, dict] = {}
    for _ in range(args.repeats):
        for label, n, threads in cases:
            r = run_train(
                data, work / f"run-{n}-{threads}", n, args.epochs, args.overrides, threads
            )
            rates[label].append(r["images_per_s"])
            info[label] = r
            print(f"{label}: {r['images_per_s']:.1f} images/s ({r['wall_s']:.0f} s wall)")
    rows = [
        row(
            f"DDP training, {label}",
            rates[label],
            "images/s",
            steps_per_epoch=info[label]["steps_per_epoch"],
            batch_per_process=info[label]["batch_per_process"],
        )
        for label, _, _ in cases
    ]
    two = rates["2 processes (gloo)"]
    for label in ("1 process", "1 process, 1 thread"):
        ratios = [b / a for a, b in zip(rates[label], two, strict=True) if a > 0]
        rows.append(row(f"DDP 2 processes / {label}", ratios, "x"))
    command = "python bench/bench_ddp.py " + " ".join(sys.argv[1:])
    record(
        "ddp_quick" if quick else "ddp",
        rows,
        command.strip(),
        notes=f"{args.count} shapes frames at {args.size}, {args.epochs} epochs, "
        f"{os.cpu_count()} cores; rate over the epochs after the first",
    )


if __name__ == "__main__":
    main()
