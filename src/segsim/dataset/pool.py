"""The render workers of `generate`: each process renders, encodes and writes its own frames
and sends back only checksums, so no image ever crosses a process boundary.

Workers are spawned (not forked) with their own frame source; `_run` hands them guided batches
and yields results in completion order. With one worker everything runs in the caller's process
through the same code path.
"""

from __future__ import annotations

import gc
import importlib
import multiprocessing as mp
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

from segsim.cpus import available_cpus
from segsim.dataset.layout import frame_id
from segsim.dataset.meta import frame_meta
from segsim.dataset.splits import split_of
from segsim.dataset.writer import encode_frame, write_frame

MAX_BATCH = 32

# this process's work: set by _init_worker, read by _render_batch
_state: dict = {}


def default_workers() -> int:
    """One worker process per available core."""
    return available_cpus()


def raster_threads(workers: int) -> int:
    """llvmpipe rasterizer threads for each of `workers` processes (LP_NUM_THREADS).

    The workers already keep every core busy, so with a core or less each, llvmpipe's own
    threads (one per core by default) only hand work back and forth and compete with the other
    workers: 0 makes each worker rasterize in its own thread, which writes more frames/s
    (bench/bench_generate.py). Spare cores still go to rasterizer threads. GPU drivers ignore
    it."""
    per_worker = default_workers() // max(1, workers)
    return per_worker if per_worker > 1 else 0


def _init_worker(
    frame_source: str,
    cfg,
    width: int,
    height: int,
    seed: int,
    fractions,
    root: str,
    parent_pid: int | None = None,
    raster_threads: int | None = None,
    own_process: bool = False,
):
    """This process's work. A process that exists only to render (a spawned pool worker, which
    gets `parent_pid`, or a Ray actor: `own_process`) freezes its heap after its first batch."""
    if parent_pid is not None:
        _die_with_parent(parent_pid)
    if raster_threads is not None:
        # read by Mesa when this process makes its GL context (lazily, in the first batch); a
        # value the user exported wins
        os.environ.setdefault("LP_NUM_THREADS", str(raster_threads))
    _state.clear()
    _state.update(
        frame_source=frame_source,
        cfg=cfg,
        width=width,
        height=height,
        seed=seed,
        fractions=fractions,
        root=Path(root),
        render=None,
        # only a process of its own may freeze its heap (see _render_batch)
        freeze_heap=own_process or parent_pid is not None,
    )


def _die_with_parent(parent_pid: int) -> None:
    """A worker whose parent was killed (kill -9 skips all clean-up) would otherwise wait for
    work forever, holding its GL context: ask Linux to kill it with the parent, and poll as a
    fallback elsewhere. Half-written temp files it leaves are removed by the next run."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)

    def watch():
        while True:
            time.sleep(1.0)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="segsim-parent-watch", daemon=True).start()


def _render_batch(indices: list[int]) -> list[tuple[int, str, dict[str, str]]]:
    st = _state
    if st["render"] is None:  # created lazily so its errors reach the parent as exceptions
        st["render"] = _load_source(st["frame_source"])(st["cfg"], st["width"], st["height"])
    out = []
    for i in indices:
        split = split_of(i, st["fractions"], getattr(st["cfg"], "views_per_scene", 1))
        scene, frame = st["render"](st["seed"], i)
        files = encode_frame(frame, frame_meta(scene, i, split, st["seed"]))
        out.append((i, split, write_frame(st["root"], split, frame_id(i), files)))
    if st.get("freeze_heap"):
        # After its first batch a worker's caches (GL objects, models, levels of detail, a
        # street) are warm and live as long as it does; frozen, the collector stops rescanning
        # them every few frames.
        gc.collect()
        gc.freeze()
        st["freeze_heap"] = False
    return out


def _load_source(spec: str):
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def views_of(init_args: tuple) -> int:
    """Frames per scene of the config in a worker's init arguments (see _batches)."""
    return getattr(init_args[1], "views_per_scene", 1)


def _batches(indices: list[int], workers: int, group: int = 1) -> list[list[int]]:
    """`indices` cut into consecutive batches, one task each.

    Guided sizes: each batch is a 1/8 share of what is left for each worker, at most MAX_BATCH
    (per-task overhead is negligible next to rendering even at a few frames) and at least 1. Big
    batches in the bulk, down to single frames at the end, so no worker sits idle while another
    finishes a big last batch and the progress bar keeps moving. The views of one scene
    (`group` consecutive indices) stay in one batch, so its arrangement is made once."""
    out, k, n = [], 0, len(indices)
    while k < n:
        end = k + max(1, min(MAX_BATCH, (n - k) // (workers * 8)))
        while group > 1 and end < n and indices[end] // group == indices[end - 1] // group:
            end += 1
        out.append(indices[k:end])
        k = end
    return out


def render_frames(todo: list[int], workers: int, init_args):
    """Yield (index, split, checksums) for every frame in `todo`, in completion order."""
    if not todo:
        return
    if workers == 1:  # no pool: same code path as a worker, in this process
        _init_worker(*init_args)
        try:
            for batch in _batches(todo, 1, views_of(init_args)):
                yield from _render_batch(batch)
        finally:  # this process lives on: give the GL context back now
            release = getattr(_state.get("render"), "release", None)
            if release is not None:
                release()
            _state.clear()
        return
    batches = _batches(todo, workers, views_of(init_args))
    workers = min(workers, len(batches))
    # spawn, not fork: a forked child would inherit GL/EGL state, which is not fork-safe.
    with ProcessPoolExecutor(
        workers,
        mp_context=mp.get_context("spawn"),
        initializer=_init_worker,
        initargs=(*init_args, os.getpid(), raster_threads(workers)),
    ) as pool:
        pending, queue = set(), iter(batches)
        try:
            for batch in queue:
                pending.add(pool.submit(_render_batch, batch))
                if len(pending) >= workers * 3:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        yield from fut.result()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield from fut.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
