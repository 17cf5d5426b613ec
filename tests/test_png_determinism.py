"""A frame's PNG bytes are a function of its pixels alone, whatever process encodes it.

The manifest's checksums and resume's byte-identical promise rest on this. ISA-L's deflate,
used before, broke it: now and then a fresh process on a loaded machine wrote another valid
deflate stream for the same pixels, so two runs of one command disagreed on a file or two in
3000 frames. Here 24 processes at once (far more than the cores), each with a history of its
own, encode 1000 rendered frames and must agree with this process byte for byte. With ISA-L
this failed in 4 runs of 4 (1-2 depth maps of 96,000 maps); with libdeflate it passes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from encode_worker import MAPS, checksums
from segsim.dataset.generate import generate_dataset
from segsim.dataset.layout import MANIFEST
from segsim.scene.config import load_scene_config

TESTS = Path(__file__).parent

PROCESSES = 24  # started together on purpose: a loaded machine is where the defect showed
FRAMES = 1000


@pytest.fixture(scope="module")
def frames_file(tmp_path_factory):
    from segsim.render.gl import Renderer
    from segsim.scene.randomize import sample_scene

    cfg = load_scene_config("shapes")
    frames = {"rgb": [], "labels": [], "instances": [], "depth": []}
    with Renderer(128, 128) as renderer:
        for i in range(FRAMES):
            f = renderer.render(sample_scene(cfg, 21, i, 128, 128))
            for key, value in zip(
                frames, (f.rgb, f.class_ids, f.instance_ids, f.depth), strict=True
            ):
                frames[key].append(value)
    path = tmp_path_factory.mktemp("frames") / "frames.npz"
    np.savez(path, **{k: np.stack(v) for k, v in frames.items()})
    return path


def test_every_process_encodes_every_map_to_the_same_bytes(frames_file):
    reference = checksums(dict(np.load(frames_file)), seed=0)
    assert len(reference) == FRAMES * len(MAPS)
    procs = [
        subprocess.Popen(
            [sys.executable, str(TESTS / "encode_worker.py"), str(frames_file), str(seed)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for seed in range(1, PROCESSES + 1)
    ]
    differing = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        got = json.loads(out)
        assert got.keys() == reference.keys()
        differing += [key for key, digest in got.items() if digest != reference[key]]
    assert not differing, (
        f"{len(differing)} of {PROCESSES * len(reference)} maps differ: {differing[:5]}"
    )


@pytest.mark.slow
def test_two_generate_runs_with_two_workers_write_identical_files(tmp_path):
    cfg = load_scene_config("shapes")
    roots = [tmp_path / "a", tmp_path / "b"]
    for root in roots:
        generate_dataset(
            root, cfg, 3000, 128, 128, seed=21, workers=2, progress=False, preset="shapes"
        )
    manifests = [(root / MANIFEST).read_bytes() for root in roots]
    assert manifests[0] == manifests[1]  # the manifest holds every file's sha256
