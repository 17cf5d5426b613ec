"""Frames/s of `segsim generate` written to disk, against the bare render rate, same run.

For each size: (1) bare: the same worker processes sample and render the same frames and
throw them away; (2) generate: generate_dataset into a fresh folder (RGB + class + instance +
depth PNGs + meta JSON + manifest). Both are timed the same way: 'steady' over the last 80% of
frames (workers up, EGL contexts made), and 'with start-up' as count / wall time; the steady
ratio is the cost of encoding and writing. Repeats give median/min/max.

    python bench/bench_generate.py                        # the recorded figures
    python bench/bench_generate.py --count 40 --sizes 64  # a quick check that it runs
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import record, row


def _bare_batch(indices: list[int]) -> int:
    """Sample + render, nothing kept: the ceiling generate is measured against."""
    from segsim.dataset import generate as g

    st = g._state
    if st["render"] is None:
        st["render"] = g._load_source(st["frame_source"])(st["cfg"], st["width"], st["height"])
    for i in indices:
        st["render"](st["seed"], i)
    return len(indices)


class children_cpu:
    """User and system CPU seconds of the worker processes a `with` block ran and reaped,
    per frame in milliseconds. System time shows what the kernel charges for creating files."""

    def __init__(self, frames: int):
        self.frames = frames

    def __enter__(self):
        self.before = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self

    def __exit__(self, *exc):
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.user_ms = (after.ru_utime - self.before.ru_utime) / self.frames * 1e3
        self.system_ms = (after.ru_stime - self.before.ru_stime) / self.frames * 1e3
        return False


def bare_rate(
    cfg, count: int, size: int, workers: int, seed: int = 0, height: int | None = None
) -> tuple[float, float]:
    """(frames/s including process start-up, steady frames/s) of sample + render only, at
    size x size or size x height."""
    from concurrent.futures import as_completed

    from segsim.dataset import generate as g

    height = size if height is None else height
    init = (g.DEFAULT_FRAME_SOURCE, cfg, size, height, seed, (0.8, 0.1, 0.1), "/nonexistent")
    batches = g._batches(list(range(count)), workers, getattr(cfg, "views_per_scene", 1))
    t0, done_times = time.perf_counter(), []
    if workers == 1:
        g._init_worker(*init)
        for b in batches:
            _bare_batch(b)
            done_times += [time.perf_counter()] * len(b)
    else:
        with ProcessPoolExecutor(
            workers,
            mp_context=mp.get_context("spawn"),
            initializer=g._init_worker,
            initargs=(*init, None, g.raster_threads(workers)),
        ) as pool:
            for fut in as_completed([pool.submit(_bare_batch, b) for b in batches]):
                done_times += [time.perf_counter()] * fut.result()
    return count / (time.perf_counter() - t0), g.steady_rate(done_times)


def generate_rate(
    cfg, count: int, size: int, workers: int, scratch: Path, seed: int = 0, preset: str = "shapes"
) -> tuple[float, float]:
    """(frames/s including process start-up, steady frames/s) of generate_dataset into a new
    folder under `scratch` (deleted by the caller once every run is done, see settle_disk)."""
    from segsim.dataset.generate import generate_dataset

    out = Path(tempfile.mkdtemp(prefix="ds-", dir=scratch))
    t0 = time.perf_counter()
    res = generate_dataset(
        out, cfg, count, size, size, seed=seed, workers=workers, progress=False, preset=preset
    )
    return count / (time.perf_counter() - t0), res.steady_frames_per_second


def settle_disk() -> None:
    """Before each timed run: write back what earlier runs left dirty, so the kernel's flushing
    of their files is not billed to this one. Earlier datasets are deleted only after the last
    run, and nothing should delete many files in the minutes before a run: this VM's ext4 has
    no journal, and then the kernel avoids reusing an inode freed in the last 60-360 s, testing
    each free one in turn (recently_deleted() in fs/ext4/ialloc.c; perf shows it and
    find_get_block_common at ~11% of all CPU). Right after `rm -rf` of a 3000-frame dataset,
    system time grew from 1.2 to 4 ms a frame, run after run, which would measure clean-up,
    not generation. The "worker CPU, system" rows show which kind of run a recording was."""
    os.sync()
    time.sleep(1.0)


def main() -> int:
    from segsim.dataset.generate import default_workers
    from segsim.scene.config import load_scene_config

    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument(
        "--count", type=int, default=0, help="frames per run (default: 2000 at 256, scaled by area)"
    )
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=0, help="0 = all cores")
    args = ap.parse_args()
    workers = args.workers or default_workers()
    cfg = load_scene_config("shapes")
    rows = []
    scratch = Path(tempfile.mkdtemp(prefix="segsim-bench-"))
    try:
        for size in args.sizes:
            rows += measure_size(cfg, size, args.count, args.repeats, workers, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    cmd = "python bench/bench_generate.py " + " ".join(sys.argv[1:])
    record(
        "generate",
        rows,
        cmd.strip(),
        notes="Targets: >= 200 frames/s at 256x256 and generate/bare >= 0.7. "
        "'steady' leaves out the "
        "first 20% of frames (process and EGL start-up); 'with start-up' is count / wall time. "
        "Dirty pages are synced before each run and the datasets deleted after all of them.",
    )
    return 0


def measure_size(cfg, size: int, count: int, repeats: int, workers: int, scratch: Path) -> list:
    count = count or max(100, int(2000 * (256 / size) ** 2))
    bare, gen, bare_cpu, gen_cpu = [], [], [], []
    for _ in range(repeats):  # interleaved, so load changes hit both alike
        settle_disk()
        with children_cpu(count) as cpu:
            bare.append(bare_rate(cfg, count, size, workers))
        bare_cpu.append(cpu)
        settle_disk()
        with children_cpu(count) as cpu:
            gen.append(generate_rate(cfg, count, size, workers, scratch))
        gen_cpu.append(cpu)
    tag = f"shapes {size}x{size}, {workers} workers, {count} frames"
    return [
        row(f"generate to disk, steady, {tag}", [g[1] for g in gen], "frames/s"),
        row(f"bare sample+render, steady, {tag}", [b[1] for b in bare], "frames/s"),
        row(
            f"generate / bare, steady, {size}x{size}",
            [g[1] / b[1] for g, b in zip(gen, bare, strict=True)],
            "ratio",
        ),
        row(f"generate to disk, with start-up, {tag}", [g[0] for g in gen], "frames/s"),
        row(f"bare sample+render, with start-up, {tag}", [b[0] for b in bare], "frames/s"),
        # per frame, start-up included: where generate's extra time goes (system = the kernel,
        # mostly creating files; see settle_disk)
        row(f"worker CPU, user, generate, {size}x{size}", [c.user_ms for c in gen_cpu], "ms/frame"),
        row(f"worker CPU, user, bare, {size}x{size}", [c.user_ms for c in bare_cpu], "ms/frame"),
        row(
            f"worker CPU, system, generate, {size}x{size}",
            [c.system_ms for c in gen_cpu],
            "ms/frame",
        ),
        row(
            f"worker CPU, system, bare, {size}x{size}", [c.system_ms for c in bare_cpu], "ms/frame"
        ),
    ]


if __name__ == "__main__":
    sys.exit(main())
