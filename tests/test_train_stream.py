"""Training straight from the renderer: which frames each batch holds (never one twice, across
epochs, ranks and workers), determinism, resume, the fixed eval split, and a real streamed run."""

import json
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from segsim.cli import main
from segsim.train.config import load_train_config
from segsim.train.stream import TRAIN_OFFSET, StreamDataset, StreamLoader, batch_frames

FAKE_SOURCE = "test_train_stream:fake_source"


class fake_source:
    """Stands in for the randomizer + renderer: noise frames, a pure function of (seed, index)."""

    def __init__(self, cfg, width, height):
        self.width, self.height = width, height

    def __call__(self, seed, index):
        rng = np.random.default_rng([seed, index])
        rgb = rng.integers(0, 256, (self.height, self.width, 3), dtype=np.uint8)
        class_ids = (rgb[..., 0] > 127).astype(np.uint8)
        return None, SimpleNamespace(rgb=rgb, class_ids=class_ids)


def _cfg(**trainer):
    return load_train_config(None, {"input": {"size": 16}, "trainer": {"batch_size": 3, **trainer}})


def _loader(seed=0, steps=5, workers=0, aug_seed=0):
    cfg = _cfg(seed=aug_seed)
    ds = StreamDataset(None, 24, seed, 3, steps, cfg, 255, frame_source=FAKE_SOURCE)
    extra = {}
    if workers:
        import multiprocessing as mp

        extra = dict(multiprocessing_context=mp.get_context("spawn"), persistent_workers=True)
    return StreamLoader(ds, batch_size=3, num_workers=workers, **extra)


def _record(loader):
    """Wrap the (in-process) dataset's frame lookup to note every index it renders."""
    seen = []
    ds, frame = loader.dataset, loader.dataset._frame

    def noting(i):
        seen.append(i)
        return frame(i)

    ds._frame = noting
    return seen


def test_batch_frames_never_repeat_across_epochs_batches_and_ranks():
    steps, batch, world = 4, 3, 2
    got = [
        i
        for epoch in range(3)
        for j in range(steps)
        for rank in range(world)
        for i in batch_frames(epoch, j, rank, world, steps, batch)
    ]
    assert len(set(got)) == len(got) == 3 * steps * world * batch
    assert min(got) == TRAIN_OFFSET  # the fixed eval split's frames (0 .. eval_count-1) are apart


def test_stream_epochs_ranks_and_resume(monkeypatch):
    import segsim.train.stream as stream

    loader = _loader()
    seen = _record(loader)
    epochs = [[b for b in loader] for _ in range(2)]
    assert len(loader) == 5 and [len(e) for e in epochs] == [5, 5]
    assert all(img.shape == (3, 3, 16, 16) and img.dtype == torch.uint8 for img, _ in epochs[0])
    assert seen == list(batch_frames(0, 0, 0, 1, 5, 3).start + np.arange(30))
    assert loader.state_dict() == {"next_epoch": 2}

    # a resumed loader goes on with the next epoch's frames, not the first ones again
    again = _loader()
    again.load_state_dict({"next_epoch": 1})
    for (a, am), (b, bm) in zip(epochs[1], list(again), strict=True):
        assert torch.equal(a, b) and torch.equal(am, bm)

    # under DDP each rank draws its own batches: no frame on two ranks
    drawn = []
    for rank in range(2):
        monkeypatch.setattr(stream, "rank_and_world", lambda rank=rank: (rank, 2))
        other = _loader()
        drawn.append(_record(other))
        list(other)
        assert drawn[-1] == [i for j in range(5) for i in batch_frames(0, j, rank, 2, 5, 3)]
    assert len(set(drawn[0]) | set(drawn[1])) == 2 * 5 * 3


def test_stream_is_a_function_of_its_seeds():
    a = [img for img, _ in _loader(seed=1)]
    b = [img for img, _ in _loader(seed=1)]
    c = [img for img, _ in _loader(seed=2)]
    d = [img for img, _ in _loader(seed=1, aug_seed=5)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0])  # another scene seed, other frames
    assert any(not torch.equal(x, y) for x, y in zip(a, d, strict=True))  # other augmentation


@pytest.mark.slow
def test_same_batches_for_any_worker_count():
    # 5 batches over 2 spawned workers: one renders 3, the other 2, handed back in order
    ref = list(_loader(workers=0))
    got = list(_loader(workers=2))
    assert len(got) == len(ref) == 5
    for (a, am), (b, bm) in zip(ref, got, strict=True):
        assert torch.equal(a, b) and torch.equal(am, bm)


def test_cli_stream_errors(tmp_path, capsys):
    from train_fixtures import make_dataset

    root = tmp_path / "ds"
    make_dataset(root, counts=(4, 2, 2), size=16)
    out = str(tmp_path / "run")
    assert main(["train", "--data", str(root), "--stream", "shapes", "--out", out]) == 2
    assert "--stream" in capsys.readouterr().err
    assert main(["train", "--stream", "no-such-preset", "--out", out]) == 2
    err = capsys.readouterr().err
    assert "no-such-preset" in err and "Traceback" not in err
    assert main(["train", "--out", out]) == 2
    assert "--stream" in capsys.readouterr().err  # the fix names both ways to give data


@pytest.mark.slow
def test_streamed_run_end_to_end_and_resume(tmp_path, capsys):
    """Real renderer, one spawned rendering worker: trains, validates on the fixed split,
    writes a checkpoint that evaluate scores, and resumes with new frames."""
    from segsim.infer.evaluate import evaluate
    from segsim.infer.predictor import Predictor

    run = tmp_path / "run"
    eval_dir = tmp_path / "eval"
    args = [
        "train",
        "--stream",
        "shapes",
        "--out",
        str(run),
        "--size",
        "32",
        "--batch-size",
        "4",
        "--model",
        "unet_small",
        "--epochs",
        "2",
        "--workers",
        "1",
        "model.kwargs.width=8",
        "stream.size=40",
        "stream.steps_per_epoch=3",
        "stream.eval_count=24",
        f"stream.eval_dir={eval_dir}",
        "loss.class_weights=auto",
        "trainer.max_minutes=null",
        "-q",
    ]
    torch.set_num_threads(1)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "best val mIoU" in out and str(eval_dir) in out
    import yaml

    meta = yaml.safe_load((eval_dir / "dataset.yaml").read_text())
    assert meta["count"] == 24 and meta["width"] == 40 and meta["preset"] == "shapes"
    history = json.loads((run / "history.json").read_text())
    assert [r["step"] for r in history] == [3, 6]
    ckpt = torch.load(run / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"next_epoch": 2}]
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["stream"]["preset"] == "shapes" and saved["data"]["root"] is None

    scored = evaluate(Predictor.load(run), eval_dir, "test", samples=0, progress=False)
    assert 0 < scored["miou"] <= 1

    # --resume reads the run's config (the stream too) and draws epoch 2's frames next
    mtime = os.stat(eval_dir / "manifest.jsonl").st_mtime_ns
    assert main(["train", "--out", str(run), "--resume", "--epochs", "3", "-q"]) == 0
    ckpt = torch.load(run / "last.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["loops"]["fit_loop"]["state_dict"]["combined_loader"] == [{"next_epoch": 3}]
    assert json.loads((run / "history.json").read_text())[-1]["step"] == 9
    assert os.stat(eval_dir / "manifest.jsonl").st_mtime_ns == mtime  # generated once
