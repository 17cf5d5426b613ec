"""Frames/s of `segsim generate` written to disk, against the bare render rate, same run.

For each size: (1) bare: the same worker processes sample and render the same frames and
throw them away; (2) generate: generate_dataset into a fresh folder (RGB + class + instance +
depth PNGs + meta JSON + manifest). Both are timed the same way, from starting the processes
to the last frame, so the ratio is the cost of encoding and writing. Repeats give median/min/max.

    python bench/bench_generate.py                        # the recorded figures
    python bench/bench_generate.py --count 40 --sizes 64  # a quick check that it runs
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, row  # noqa: E402


def _bare_batch(indices: list[int]) -> int:
    """Sample + render, nothing kept: the ceiling generate is measured against."""
    from segsim.dataset import generate as g

    st = g._state
    if st["render"] is None:
        st["render"] = g._load_source(st["frame_source"])(st["cfg"], st["width"], st["height"])
    for i in indices:
        st["render"](st["seed"], i)
    return len(indices)


def bare_rate(cfg, count: int, size: int, workers: int, seed: int = 0) -> float:
    from segsim.dataset import generate as g

    init = (g.DEFAULT_FRAME_SOURCE, cfg, size, size, seed, (0.8, 0.1, 0.1), "/nonexistent")
    batches = g._batches(list(range(count)), workers)
    t0 = time.perf_counter()
    if workers == 1:
        g._init_worker(*init)
        done = sum(_bare_batch(b) for b in batches)
    else:
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=g._init_worker,
                                 initargs=init) as pool:
            done = sum(pool.map(_bare_batch, batches))
    return done / (time.perf_counter() - t0)


def generate_rate(cfg, count: int, size: int, workers: int, seed: int = 0) -> float:
    from segsim.dataset.generate import generate_dataset

    tmp = Path(tempfile.mkdtemp(prefix="segsim-bench-"))
    try:
        t0 = time.perf_counter()
        generate_dataset(tmp / "ds", cfg, count, size, size, seed=seed, workers=workers, progress=False,
                         preset="shapes")
        return count / (time.perf_counter() - t0)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> int:
    from segsim.dataset.generate import default_workers
    from segsim.scene.config import load_scene_config

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--count", type=int, default=0, help="frames per run (default: 2000 at 256, scaled by area)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0, help="0 = all cores")
    args = ap.parse_args()
    workers = args.workers or default_workers()
    cfg = load_scene_config("shapes")
    rows = []
    for size in args.sizes:
        count = args.count or max(100, int(2000 * (256 / size) ** 2))
        bare, gen = [], []
        for _ in range(args.repeats):  # interleaved, so load changes hit both alike
            bare.append(bare_rate(cfg, count, size, workers))
            gen.append(generate_rate(cfg, count, size, workers))
        tag = f"shapes {size}x{size}, {workers} workers, {count} frames"
        rows.append(row(f"generate to disk, {tag}", gen, "frames/s"))
        rows.append(row(f"bare sample+render, {tag}", bare, "frames/s"))
        rows.append(row(f"generate / bare, {size}x{size}", [g / b for g, b in zip(gen, bare)], "ratio"))
    cmd = "python bench/bench_generate.py " + " ".join(sys.argv[1:])
    record("generate", rows, cmd.strip(),
           notes="Targets: >= 200 frames/s at 256x256 and generate/bare >= 0.7. Both include process start-up.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
