"""Encode every map of saved frames in a process with a history of its own; print the checksums.

Run by test_png_determinism.py as `python encode_worker.py FRAMES.npz SEED`. The seed decides
this process's history before and between encodes (other sizes encoded first, buffers of random
sizes held and freed, a shuffled frame order), so each process reaches the encoder in a state of
its own, as generate's workers do. A profiling timer interrupts it every 20 microseconds, as
preemption on a loaded machine does.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys

import numpy as np

from segsim.dataset import png
from segsim.dataset.writer import depth_to_mm

MAPS = ("images", "labels", "instances", "depth")


def frame_maps(frames, i: int) -> dict[str, np.ndarray]:
    return {
        "images": frames["rgb"][i],
        "labels": frames["labels"][i],
        "instances": frames["instances"][i],
        "depth": depth_to_mm(frames["depth"][i]),
    }


def checksums(frames, seed: int) -> dict[str, str]:
    """{"frame/map": sha256 of its PNG bytes} for every frame, encoded in an order set by `seed`."""
    rng = np.random.default_rng(seed)
    for _ in range(int(rng.integers(0, 20))):  # a history: other sizes and kinds first
        h, w = (int(v) for v in rng.integers(1, 300, 2))
        png.encode(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        png.encode(rng.integers(0, 65536, (h, w), dtype=np.uint16))
    held, out = [], {}
    for i in rng.permutation(len(frames["rgb"])):
        if rng.random() < 0.3:
            held.append(bytearray(int(rng.integers(1, 400_000))))
            del held[:-20]
        for name, img in frame_maps(frames, int(i)).items():
            out[f"{i}/{name}"] = hashlib.sha256(png.encode(img)).hexdigest()
    return out


def interrupt_often(seconds: float = 20e-6) -> None:
    """A no-op SIGPROF every `seconds` of CPU time; 0 turns it off."""
    signal.signal(signal.SIGPROF, lambda *_: None)
    signal.setitimer(signal.ITIMER_PROF, seconds, seconds)


if __name__ == "__main__":
    data = dict(np.load(sys.argv[1]))
    interrupt_often()
    sums = checksums(data, int(sys.argv[2]))
    interrupt_often(0.0)  # off before exit: finalization restores the default (fatal) action
    json.dump(sums, sys.stdout)
