"""PNG encoding cost per frame: every map segsim writes (RGB, classes, instances, depth), on
rendered `shapes` frames at 256x256 and 512x512, in one process.

The deflate behind the class, instance and depth PNGs (and RGB without fpng) is libdeflate,
chosen because its output is a function of its input alone. ISA-L's deflate, used before, was
faster but not deterministic (same pixels, another deflate stream now and then); when the `isal`
package is installed this script times it on the same rows as well, so the price of the switch
is measured rather than remembered.

    python bench/bench_encode.py [--sizes 256 512] [--frames 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import record, row


def _frames(size: int, count: int):
    from segsim.render.gl import Renderer
    from segsim.scene.config import load_scene_config
    from segsim.scene.randomize import sample_scene

    cfg = load_scene_config("shapes")
    with Renderer(size, size) as renderer:
        return [renderer.render(sample_scene(cfg, 0, i, size, size)) for i in range(count)]


def _ms_per_frame(fn, items, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for it in items:
            fn(it)
        out.append((time.perf_counter() - t0) / len(items) * 1000)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)

    import numpy as np

    from segsim.dataset import png
    from segsim.dataset.writer import depth_to_mm

    try:
        from isal import isal_zlib
    except ImportError:
        isal_zlib = None
    rows = []
    for size in args.sizes:
        frames = _frames(size, args.frames)
        maps = {
            "labels": [f.class_ids for f in frames],
            "instances": [f.instance_ids for f in frames],
            "depth": [depth_to_mm(f.depth) for f in frames],
        }
        rgb = [np.ascontiguousarray(f.rgb) for f in frames]
        rows.append(
            row(
                f"encode RGB {size}x{size} (encode_photo: fpng {'on' if png._fpng else 'off'})",
                _ms_per_frame(png.encode_photo, rgb, args.repeats),
                "ms/frame",
            )
        )
        rows.append(
            row(
                f"encode RGB {size}x{size} (SUB + libdeflate, the fallback)",
                _ms_per_frame(lambda a: png.encode_png(a, png.FILTER_SUB), rgb, args.repeats),
                "ms/frame",
            )
        )
        total = np.zeros(args.repeats)
        for name, imgs in maps.items():
            ms = _ms_per_frame(png.encode, imgs, args.repeats)
            total += ms
            rows.append(row(f"encode {name} {size}x{size} (libdeflate)", ms, "ms/frame"))
        rows.append(
            row(
                f"encode labels+instances+depth {size}x{size} (libdeflate)", list(total), "ms/frame"
            )
        )
        if isal_zlib is not None:
            filtered = [
                png._filtered_rows(a, png.row_filter_for(a)) for imgs in maps.values() for a in imgs
            ]
            per_map = len(filtered) / len(frames)
            isal_ms = _ms_per_frame(lambda r: isal_zlib.compress(r, 1), filtered, args.repeats)
            lib_ms = _ms_per_frame(
                lambda r: png._libdeflate.zlib_compress(r, 1), filtered, args.repeats
            )
            rows.append(
                row(
                    f"deflate only, labels+instances+depth {size}x{size}, ISA-L level 1",
                    [m * per_map for m in isal_ms],
                    "ms/frame",
                )
            )
            rows.append(
                row(
                    f"deflate only, labels+instances+depth {size}x{size}, libdeflate level 1",
                    [m * per_map for m in lib_ms],
                    "ms/frame",
                )
            )
            sizes = [
                (len(isal_zlib.compress(r, 1)), len(png._libdeflate.zlib_compress(r, 1)))
                for r in filtered
            ]
            rows.append(
                row(
                    f"compressed size libdeflate / ISA-L, labels+instances+depth {size}x{size}",
                    [sum(b for _, b in sizes) / sum(a for a, _ in sizes)],
                    "ratio",
                )
            )
    record("encode", rows, "python bench/bench_encode.py " + " ".join(argv or sys.argv[1:]))


if __name__ == "__main__":
    main()
