"""Generate a dataset folder: sample scenes, render them in worker processes, write files.

Determinism: frame i is a function of (config, seed, i) only, so any worker count, batch order
or resume gives the same bytes. Workers (dataset/pool.py) render, encode and write their own
files and send back only checksums, so no image ever crosses a process boundary.

Crash safety: dataset.yaml is written first (so a resume with other settings is refused), every
file is written atomically, a frame's meta is written last (its presence means the frame is
complete), and the manifest is written at the very end. Re-running the same command after a
kill (even kill -9) keeps the complete frames (dataset/resume.py), redoes the rest, and ends
byte-identical to an uninterrupted run.
"""

from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path

from segsim.dataset import ray_pool
from segsim.dataset.credits import uses_library, write_dataset_credits
from segsim.dataset.info import build_info
from segsim.dataset.layout import MANIFEST
from segsim.dataset.manifest import write_manifest
from segsim.dataset.pool import (  # noqa: F401 (re-exported: tests and bench reach them here)
    MAX_BATCH,
    _batches,
    _init_worker,
    _load_source,
    _state,
    default_workers,
    raster_threads,
    render_frames,
)
from segsim.dataset.resume import complete_frames, prepare_folder, remove_stale_temps
from segsim.dataset.splits import DEFAULT_FRACTIONS, check_fractions
from segsim.errors import SegsimError
from segsim.progress import progress_bar
from segsim.render.meshes import cache_megabytes
from segsim.scene.shapes.mesh import check_assets

# "module:callable" building the per-process frame source; a string so spawned workers can
# import it. The callable takes (cfg, width, height) and returns f(seed, index) -> (Scene, Frame),
# optionally with a release() method, called when a run inside the caller's process ends.
DEFAULT_FRAME_SOURCE = "segsim.dataset.generate:gl_frame_source"
MAX_SIZE = 8192


class gl_frame_source:
    """The real pipeline: randomizer + OpenGL renderer (one EGL context per process)."""

    def __init__(self, cfg, width: int, height: int):
        from segsim.render.gl import Renderer
        from segsim.scene.randomize import sample_scene

        self.cfg, self.width, self.height, self.sample = cfg, width, height, sample_scene
        self.renderer = Renderer(width, height)

    def __call__(self, seed: int, index: int):
        scene = self.sample(self.cfg, seed, index, self.width, self.height)
        return scene, self.renderer.render(scene)

    def release(self) -> None:
        self.renderer.release()


@dataclass
class GenerateResult:
    root: Path
    count: int
    rendered: int  # frames rendered by this run
    reused: int  # complete frames found from an earlier (interrupted) run
    seconds: float  # wall time of the rendering part, process start-up included
    splits: dict[str, int] = field(default_factory=dict)
    steady_frames_per_second: float = 0.0  # once every worker is up: see steady_rate()
    retried: int = 0  # Ray actors replaced after they (or their node) died, batches resent

    @property
    def frames_per_second(self) -> float:
        return self.rendered / self.seconds if self.seconds > 0 else 0.0


def steady_rate(done_times: list[float]) -> float:
    """Frames/s over the last 80% of completions: leaves out process start-up, which a long
    run pays once but a short benchmark would otherwise mostly measure."""
    n = len(done_times)
    k = n // 5
    span = done_times[-1] - done_times[k] if n else 0.0
    return (n - 1 - k) / span if span > 0 else 0.0


def _check_args(count, width, height, seed, workers) -> tuple[int, int, int, int, int | None]:
    """Validate the numbers a user gives (numpy integers welcome) and return them as ints."""

    def whole(v, name: str, lo: int, hi: int | None, example: str) -> int:
        ok = (
            isinstance(v, numbers.Integral)
            and not isinstance(v, bool)
            and lo <= v
            and (hi is None or v <= hi)
        )
        if not ok:
            allowed = f"an integer >= {lo}" if hi is None else f"an integer from {lo} to {hi}"
            raise SegsimError(
                f"{name} must be {allowed}, got {v!r}", f"pass e.g. {name}={example}", param=name
            )
        return int(v)

    count = whole(count, "count", 1, None, "1000")
    width = whole(width, "width", 8, MAX_SIZE, "256")
    height = whole(height, "height", 8, MAX_SIZE, "256")
    seed = whole(seed, "seed", 0, None, "0")
    if workers is not None:
        workers = whole(workers, "workers", 0, None, "2 (0 = all cores)")
    return count, width, height, seed, workers


def generate_dataset(
    out,
    cfg,
    count: int,
    width: int,
    height: int,
    seed: int = 0,
    workers: int | None = None,
    fractions=DEFAULT_FRACTIONS,
    progress: bool = True,
    *,
    preset: str | None = None,
    frame_source: str = DEFAULT_FRAME_SOURCE,
    ray: str | None = None,
    ray_runtime_env: dict | None = None,
) -> GenerateResult:
    """Write (or finish) a dataset of `count` frames drawn from `cfg` into folder `out`.

    workers: processes to render with (None or 0: all cores; 1: in this process).
    ray: render in Ray actors instead (dataset/ray_pool.py): a cluster address ("auto",
    "host:port", "ray://host:port"); `workers` is then the number of actors (None or 0: one
    per CPU of the cluster) and `out` must be on storage every node shares.
    """
    count, width, height, seed, workers = _check_args(count, width, height, seed, workers)
    fractions = check_fractions(fractions)
    check_assets(cfg)  # a missing file or an empty selection fails before anything is written
    cache_megabytes()  # so does a bad SEGSIM_MESH_CACHE_MB, which the workers would read
    workers = workers or (None if ray is not None else default_workers())
    root = Path(out)
    group = getattr(cfg, "views_per_scene", 1)  # frames per scene share a split
    info = build_info(
        labels=cfg.label_set().to_dict(),
        config=cfg.model_dump(mode="json"),
        preset=preset,
        seed=seed,
        width=width,
        height=height,
        count=count,
        fractions=fractions,
        group=group,
    )
    undo = ray_pool.folder_undo(root) if ray is not None else None
    prepare_folder(root, info)
    remove_stale_temps(root)
    init_args = (frame_source, cfg, width, height, seed, fractions, str(root))
    # before the manifest goes: a bad cluster leaves the folder as it was
    cluster = None
    if ray is not None:
        cluster = ray_pool.open_cluster(ray, workers, init_args, undo, ray_runtime_env)
    (root / MANIFEST).unlink(missing_ok=True)  # rewritten at the end, when every frame is there

    entries = complete_frames(root, count, fractions, group)
    todo = [i for i in range(count) if i not in entries]
    frames = cluster.frames(todo) if cluster else render_frames(todo, workers, init_args)
    t0, done_times = time.perf_counter(), []
    with progress_bar(
        progress, "[bold]generating", count, unit="frames", completed=len(entries), decimals=0
    ) as advance:
        for i, split, sums in frames:
            entries[i] = (split, sums)
            done_times.append(time.perf_counter())
            advance(1)
    seconds = time.perf_counter() - t0
    if uses_library(cfg):
        write_dataset_credits(root)  # before the manifest: the manifest marks the end
    write_manifest(root, entries)
    return GenerateResult(
        root,
        count,
        len(todo),
        count - len(todo),
        seconds,
        info["splits"],
        steady_rate(done_times),
        retried=cluster.retried if cluster else 0,
    )
