"""Data-parallel training: rank sharding of the samplers, the device check, and a real 2-process
CPU run (Lightning DDP over gloo) whose checkpoint scores the same as a 1-process evaluation."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from segsim.cli import main
from train_fixtures import make_dataset


def _as_rank(monkeypatch, rank, world):
    import segsim.train.data as data

    monkeypatch.setattr(data, "rank_and_world", lambda: (rank, world))


def _draw(sampler, monkeypatch, rank, world):
    """(the indices this rank is given, len(sampler)) as rank `rank` of `world`."""
    _as_rank(monkeypatch, rank, world)
    items = list(sampler)
    return [i[1] if isinstance(i, tuple) else i for i in items], len(sampler)


def test_epoch_sampler_shards_without_overlap_and_equal_lengths(monkeypatch):
    from segsim.train.data import EpochSampler

    sampler = EpochSampler(11, seed=3)
    sampler.set_epoch(2)
    whole, n = _draw(sampler, monkeypatch, 0, 1)
    assert n == 11 and sorted(whole) == list(range(11))
    shards = [_draw(sampler, monkeypatch, r, 3) for r in range(3)]
    assert all(n == 3 and len(s) == 3 for s, n in shards)  # 11 // 3, the same on every rank
    seen = [i for s, _ in shards for i in s]
    assert len(set(seen)) == len(seen) == 9
    # the shards are slices of the one (seed, epoch) order
    assert [s for s, _ in shards] == [whole[r:9:3] for r in range(3)]
    sampler.set_epoch(3)
    assert _draw(sampler, monkeypatch, 0, 3)[0] != shards[0][0]


def test_epoch_sampler_leaves_out_a_lone_last_sample(monkeypatch):
    from segsim.train.data import EpochSampler

    sampler = EpochSampler(9, seed=0, batch_size=4)  # 9 = 2 x 4 + 1: a batch of one
    order, n = _draw(sampler, monkeypatch, 0, 1)
    assert n == 8 and len(order) == 8
    assert EpochSampler(18, 0, batch_size=4).per_rank(2) == 8  # per rank: 9 -> 8


def test_shard_sampler_scores_every_frame_exactly_once(monkeypatch):
    from segsim.train.data import ShardSampler

    sampler = ShardSampler(7)
    got = [_draw(sampler, monkeypatch, r, 3) for r in range(3)]
    assert sorted(i for s, _ in got for i in s) == list(range(7))
    assert [n for _, n in got] == [3, 2, 2]


def test_more_devices_than_the_machine_has_is_one_line(tmp_path, capsys):
    from segsim.cpus import available_cpus

    root = tmp_path / "ds"
    make_dataset(root, counts=(4, 2, 2), size=16)
    args = ["train", "--data", str(root), "--out", str(tmp_path / "run")]
    code = main([*args, f"trainer.devices={available_cpus() + 1}", "trainer.accelerator=cpu"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "trainer.devices" in err and "cores" in err
    assert not (tmp_path / "run").exists()  # refused before anything was written
    assert main([*args, "trainer.devices=0"]) == 2
    assert "devices" in capsys.readouterr().err


@pytest.mark.slow
def test_two_cpu_processes_train_one_checkpoint_scored_like_one_process(tmp_path):
    from segsim.infer.evaluate import evaluate
    from segsim.infer.predictor import Predictor
    from segsim.models.checkpoint import load_checkpoint

    root = tmp_path / "ds"
    make_dataset(root, counts=(16, 7, 2), size=32)  # 7 val frames: shards of 4 and 3
    run = tmp_path / "run"
    cmd = [
        os.path.join(os.path.dirname(sys.executable), "segsim"),
        "train",
        "--data",
        str(root),
        "--out",
        str(run),
        "--size",
        "32",
        "--batch-size",
        "4",
        "--model",
        "unet_small",
        "--epochs",
        "3",
        "model.kwargs.width=8",
        "trainer.max_minutes=null",
        "trainer.early_stopping=null",
        "trainer.devices=2",
        "trainer.accelerator=cpu",
        "data.num_workers=0",
        "-q",
    ]
    done = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("best val mIoU") == 1, done.stdout  # rank 1 stays quiet

    history = json.loads((run / "history.json").read_text())
    # 16 frames over 2 ranks = 8 each = 2 steps of 4 per epoch (unsharded it would be 4)
    assert [r["step"] for r in history] == [2, 4, 6]
    assert sorted(p.name for p in (run / "csv").iterdir()) == ["version_0"]  # rank 0 logs

    model, info = load_checkpoint(run / "best.ckpt")
    saved = info["metrics"]["miou"]
    assert saved == pytest.approx(max(r["val_miou"] for r in history))
    single = evaluate(Predictor.load(run / "best.ckpt"), root, "val", samples=0, progress=False)
    assert single["miou"] == pytest.approx(saved, abs=1e-6)
    assert np.isfinite(single["miou"]) and 0 < single["miou"] <= 1


def test_last_checkpoint_is_the_latest_epoch_even_when_the_best_is_older(tmp_path):
    # Lightning's save_last refreshes last.ckpt only when the best improves; --resume (and the
    # stream's next frames) need the latest epoch
    import torch

    from segsim.train.config import load_train_config
    from segsim.train.trainer import train

    root = tmp_path / "ds"
    make_dataset(root, counts=(4, 2, 2), size=16)
    cfg = load_train_config(
        None,
        {
            "data": {"root": str(root), "cache": True, "num_workers": 0},
            # frozen BatchNorm statistics and a vanishing lr: val mIoU never improves
            "model": {"name": "unet_small", "kwargs": {"width": 4}, "freeze_bn": True},
            "input": {"size": 16},
            "optim": {"lr": 1e-12},
            "schedule": {"name": "constant"},
            "trainer": {
                "epochs": 3,
                "batch_size": 2,
                "max_minutes": None,
                "early_stopping": None,
                "progress": False,
                "plot": False,
            },
        },
    )
    train(cfg, tmp_path / "run", progress=False)
    last = torch.load(tmp_path / "run" / "last.ckpt", map_location="cpu", weights_only=False)
    best = torch.load(tmp_path / "run" / "best.ckpt", map_location="cpu", weights_only=False)
    assert last["epoch"] == 2 and last["global_step"] == 6
    assert best["epoch"] == 0
