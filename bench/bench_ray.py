"""Frames/s of `segsim generate --ray` on a local 2-CPU Ray cluster against local workers.

The cluster is started in this process (ray.init(num_cpus=CPUS)), so both sides get the same
cores: local = generate_dataset with CPUS worker processes, Ray = the same call with ray="auto"
(CPUS actors). Interleaved repeats, each into a fresh folder. 'steady' is the rate over the last
80% of frames (start-up left out, generate's own figure); 'with start-up' is count / wall time of
the whole call (actor start and the cluster checks included for Ray, process spawn for local).
The ratio ray / local is Ray's overhead (goal >= 0.9).

    python bench/bench_ray.py                         # the recorded figures
    python bench/bench_ray.py --count 100 --size 64   # a quick check that it runs
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_generate import settle_disk
from bench.common import record, row


def one_run(cfg, count: int, size: int, workers: int, scratch: Path, ray: str | None):
    from segsim.dataset.generate import generate_dataset

    out = Path(tempfile.mkdtemp(prefix="ds-", dir=scratch))
    settle_disk()
    t0 = time.perf_counter()
    res = generate_dataset(
        out, cfg, count, size, size, workers=workers, progress=False, preset="shapes", ray=ray
    )
    return count / (time.perf_counter() - t0), res.steady_frames_per_second


def main() -> int:
    import ray

    from segsim.scene.config import load_scene_config

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=2, help="cluster CPUs = local workers = actors")
    args = ap.parse_args()
    cfg = load_scene_config("shapes")
    scratch = Path(tempfile.mkdtemp(prefix="segsim-bench-ray-"))
    ray.init(num_cpus=args.cpus, include_dashboard=False, logging_level="WARNING")
    local, remote = [], []
    try:
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            local.append(one_run(cfg, args.count, args.size, args.cpus, scratch, None))
            remote.append(one_run(cfg, args.count, args.size, args.cpus, scratch, "auto"))
    finally:
        ray.shutdown()
        shutil.rmtree(scratch, ignore_errors=True)
    tag = f"shapes {args.size}x{args.size}, {args.cpus} CPUs, {args.count} frames"
    rows = [
        row(f"generate on Ray, steady, {tag}", [r[1] for r in remote], "frames/s"),
        row(f"generate local workers, steady, {tag}", [r[1] for r in local], "frames/s"),
        row(
            f"ray / local, steady, {args.size}x{args.size}",
            [r[1] / loc[1] for r, loc in zip(remote, local, strict=True)],
            "ratio",
        ),
        row(f"generate on Ray, with start-up, {tag}", [r[0] for r in remote], "frames/s"),
        row(f"generate local workers, with start-up, {tag}", [r[0] for r in local], "frames/s"),
        row(
            f"ray / local, with start-up, {args.size}x{args.size}",
            [r[0] / loc[0] for r, loc in zip(remote, local, strict=True)],
            "ratio",
        ),
    ]
    cmd = "python bench/bench_ray.py " + " ".join(sys.argv[1:])
    record(
        "ray",
        rows,
        cmd.strip(),
        notes="Goal: ray / local >= 0.9 (steady). One machine: the cluster and the local "
        "workers share the same cores; 'with start-up' includes Ray's actor start and cluster "
        "checks, which a long run pays once.",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
