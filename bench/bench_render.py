"""Bare renderer speed: frames/s of Renderer.render on `shapes` scenes (all passes, readback and
post-effects; no disk), at 256x256 and 512x512, in one process, with msaa=0 (the default: one
single-sample pass for colour and labels, edges anti-aliased from the label buffers) and with 4x
MSAA (a separate label pass). Scene sampling is timed apart.

    python bench/bench_render.py [--sizes 256 512] [--msaa 0 4] [--frames 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record, row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--msaa", type=int, nargs="+", default=[0, 4])
    ap.add_argument("--frames", type=int, default=100, help="frames per repeat")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from segsim.render.gl import Renderer, get_context
    from segsim.scene.config import load_scene_config
    from segsim.scene.randomize import sample_scene

    cfg = load_scene_config("shapes")
    rows = []
    for size in args.sizes:
        scenes = [sample_scene(cfg, args.seed, i, size, size) for i in range(args.frames)]
        for msaa in args.msaa:
            renderer = Renderer(size, size, msaa=msaa)
            for s in scenes[: min(20, len(scenes))]:  # warm-up: llvmpipe compiles variants lazily
                renderer.render(s)
            fps = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                for s in scenes:
                    renderer.render(s)
                fps.append(len(scenes) / (time.perf_counter() - t0))
            aa = f"{msaa}x MSAA" if msaa > 1 else "edge AA"
            rows.append(row(f"render {size}x{size} (bare, 1 process, {aa})", fps, "frames/s"))
            renderer.release()

        sample_ms = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for i in range(args.frames):
                sample_scene(cfg, args.seed, i, size, size)
            sample_ms.append((time.perf_counter() - t0) / args.frames * 1000)
        rows.append(row(f"sample_scene {size}x{size}", sample_ms, "ms/frame"))

    gl = get_context().info
    notes = (
        f"GL: {gl.get('GL_RENDERER')} ({gl.get('GL_VERSION')}); "
        f"LP_NUM_THREADS={os.environ.get('LP_NUM_THREADS', 'unset')}; "
        f"{args.frames} shapes frames per repeat, {args.repeats} repeats"
    )
    record("render", rows, "python bench/bench_render.py " + " ".join(argv or sys.argv[1:]), notes)


if __name__ == "__main__":
    main()
