"""Real (tiny) training runs: overfitting, resume, repeatability, self-contained checkpoints,
CLI."""

import json

import numpy as np
import pytest
import torch

from segsim.cli import main
from segsim.errors import SegsimError
from segsim.train.config import load_train_config
from train_fixtures import draw_frame, make_dataset

# a small U-Net and no time budget: the runs must be exactly repeatable
BASE = {
    "model": {"name": "unet_small", "kwargs": {"width": 8}},
    "input": {"size": 32},
    "trainer": {"batch_size": 4, "max_minutes": None, "progress": False, "early_stopping": None},
    "data": {"cache": True, "num_workers": 0},
}


def _cfg(root, **sections):
    from segsim.config import deep_merge

    data = deep_merge(BASE, {"data": {"root": str(root)}})
    return load_train_config(None, deep_merge(data, sections))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("data") / "ds"
    make_dataset(root)
    return root


@pytest.fixture(autouse=True)
def _few_threads():
    # tiny convolutions run faster on one thread than two fighting over a busy machine
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _weights(path):
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in ckpt["state_dict"].items()}


def test_overfits_a_few_frames(dataset, tmp_path):
    from segsim.train.trainer import train

    cfg = _cfg(
        dataset,
        trainer={"epochs": 25},
        augment={"enabled": False},
        optim={"lr": 0.01},
        schedule={"warmup": 0.0},
    )
    summary = train(cfg, tmp_path / "run", progress=False)
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert len(history) == 25 and summary["steps"] == 25 * 2
    first, last = history[0], history[-1]
    assert last["train_loss"] < 0.5 * first["train_loss"]
    assert last["train_miou"] > 0.8, last
    assert summary["best_val_miou"] == pytest.approx(max(r["val_miou"] for r in history))
    for name in ("best.ckpt", "last.ckpt", "config.yaml", "curves.png", "metrics.json"):
        assert (tmp_path / "run" / name).is_file(), name
    assert list((tmp_path / "run" / "csv").rglob("metrics.csv"))
    assert list((tmp_path / "run" / "tb").rglob("events.out.tfevents.*"))


def test_checkpoint_is_self_contained(dataset, tmp_path):
    from segsim.models.checkpoint import load_checkpoint
    from segsim.train.trainer import train

    run = tmp_path / "run"
    train(_cfg(dataset, trainer={"epochs": 2}), run, progress=False)
    (run / "config.yaml").unlink()  # nothing but the checkpoint is needed
    model, info = load_checkpoint(run / "best.ckpt")
    assert not model.training
    assert info["model"] == {"name": "unet_small", "kwargs": {"width": 8}}
    assert info["label_set"].names == ["background", "square", "disc"]
    assert info["input_size"] == [32, 32]
    assert info["normalization"]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    assert info["config"]["trainer"]["epochs"] == 2
    hist = json.loads((run / "history.json").read_text())
    assert info["metrics"]["miou"] == pytest.approx(max(r["val_miou"] for r in hist))
    # the rebuilt model holds the trained weights: same outputs as a model loaded by hand
    saved = _weights(run / "best.ckpt")
    sd = {k[len("model.") :]: v for k, v in saved.items() if k.startswith("model.")}
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, sd[k])
    img, _ = draw_frame(99, 40)
    mean = torch.tensor(info["normalization"]["mean"]).view(1, 3, 1, 1)
    std = torch.tensor(info["normalization"]["std"]).view(1, 3, 1, 1)
    x = (torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255 - mean) / std
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (1, 3, 40, 40)
    # a run folder means its best.ckpt
    _, info2 = load_checkpoint(run)
    assert info2["metrics"] == info["metrics"]


def test_resume_continues_where_it_stopped_and_matches_an_unbroken_run(
    dataset, tmp_path, monkeypatch
):
    from segsim.train import callbacks
    from segsim.train.trainer import train

    cfg = _cfg(dataset, trainer={"epochs": 3})
    train(cfg, tmp_path / "straight", progress=False)

    # the same run, stopped after 2 epochs (4 steps) as a crash or time budget would
    original = callbacks.TimeBudget.on_train_batch_end

    def stop_at_4(self, trainer, *a):
        original(self, trainer, *a)
        if trainer.global_step >= 4:
            trainer.should_stop = True

    monkeypatch.setattr(callbacks.TimeBudget, "on_train_batch_end", stop_at_4)
    first = train(cfg, tmp_path / "broken", progress=False)
    assert first["steps"] == 4
    ckpt = torch.load(tmp_path / "broken" / "last.ckpt", map_location="cpu", weights_only=True)
    assert ckpt["global_step"] == 4
    monkeypatch.setattr(callbacks.TimeBudget, "on_train_batch_end", original)

    with pytest.raises(SegsimError, match="already holds a training run"):
        train(cfg, tmp_path / "broken", progress=False)
    resumed = train(cfg, tmp_path / "broken", resume=True, progress=False)
    assert resumed["steps"] == 6 and resumed["epochs_done"] == 3
    hist = json.loads((tmp_path / "broken" / "history.json").read_text())
    assert [r["epoch"] for r in hist] == [0, 1, 2]  # earlier epochs kept across the resume
    a, b = (
        _weights(tmp_path / "straight" / "last.ckpt"),
        _weights(tmp_path / "broken" / "last.ckpt"),
    )
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], msg=k)


def test_same_seed_same_weights_other_seed_differs(dataset, tmp_path):
    from segsim.train.trainer import train

    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        train(_cfg(dataset, trainer={"epochs": 1, "seed": seed}), tmp_path / name, progress=False)
    a, b, c = (_weights(tmp_path / n / "last.ckpt") for n in "abc")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)

    # The same run loading in a worker process, in this process (after fits whose augmentation
    # ran OpenCV here, which once deadlocked forked workers) and through the CLI in a fresh one:
    # augmentation is seeded per (seed, epoch, index), so the worker count must not matter.
    train(
        _cfg(dataset, trainer={"epochs": 1, "seed": 1}, data={"num_workers": 1}),
        tmp_path / "e",
        progress=False,
    )
    e = _weights(tmp_path / "e" / "last.ckpt")
    for k in a:
        torch.testing.assert_close(a[k], e[k], msg=k)
    import subprocess
    import sys

    cli = [
        sys.executable,
        "-m",
        "segsim",
        "train",
        "--data",
        str(dataset),
        "--out",
        str(tmp_path / "d"),
        "--epochs",
        "1",
        "--seed",
        "1",
        "--size",
        "32",
        "--batch-size",
        "4",
        "--model",
        "unet_small",
        "--workers",
        "1",
        "model.kwargs.width=8",
        "trainer.max_minutes=null",
        "trainer.early_stopping=null",
        "data.cache=true",
        "-q",
    ]
    done = subprocess.run(
        cli,
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    d = _weights(tmp_path / "d" / "last.ckpt")
    for k in a:
        torch.testing.assert_close(a[k], d[k], msg=k)


def test_time_budget_stops_the_run(dataset, tmp_path):
    from segsim.train.trainer import train

    cfg = _cfg(dataset, trainer={"epochs": 1000, "max_minutes": 0.002})  # 0.12 s
    s = train(cfg, tmp_path / "run", progress=False)
    assert s["stopped_by"] == "time budget"
    assert s["epochs_done"] < 1000 and (tmp_path / "run" / "best.ckpt").is_file()


def test_auto_class_weights_and_other_losses_train(dataset, tmp_path):
    from segsim.train.trainer import train

    for loss in ("lovasz", "focal"):
        cfg = _cfg(
            dataset,
            trainer={"epochs": 1},
            loss={"name": loss, "class_weights": "auto"},
            optim={"name": "sgd", "lr": 0.01},
            schedule={"name": "onecycle"},
        )
        s = train(cfg, tmp_path / loss, progress=False)
        assert s["steps"] == 2


def test_cli_train_and_errors(dataset, tmp_path, capsys):
    run = tmp_path / "run"
    args = [
        "train",
        "--data",
        str(dataset),
        "--out",
        str(run),
        "--epochs",
        "1",
        "--size",
        "32",
        "--batch-size",
        "4",
        "--model",
        "unet_small",
        "model.kwargs.width=8",
        "trainer.max_minutes=null",
        "-q",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "best val mIoU" in out
    import yaml

    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["trainer"]["epochs"] == 1 and saved["input"]["size"] == [32, 32]
    assert saved["model"]["kwargs"] == {"width": 8}
    # an existing run needs --resume
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    # --resume reads the run's own config; a larger --epochs continues it
    assert main(["train", "--out", str(run), "--resume", "--epochs", "2", "-q"]) == 0
    assert json.loads((run / "history.json").read_text())[-1]["epoch"] == 1
    # typos and bad values are one-line errors
    assert main(["train", "--data", str(dataset), "--out", str(tmp_path / "x"), "optim.lrr=1"]) == 2
    assert "optim.lrr" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path / "y")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "z")]) == 2
    assert (
        main(["train", "--data", str(dataset), "--out", str(tmp_path / "w"), "--model", "nope"])
        == 2
    )
    assert "unknown model" in capsys.readouterr().err


def test_cli_models_lists_the_registry(capsys):
    from segsim.models.registry import DEFAULT_MODEL, list_models

    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for name, desc in list_models().items():
        assert name in out and desc in out
    assert f"* {DEFAULT_MODEL}" in out


def test_trains_on_a_folder_of_mixed_size_colour_masks(tmp_path):
    """images/ + masks/ with colour masks, a labels.yaml, and frames of different sizes: the
    loader pads, validation resizes each frame's logits back to its own size."""
    import cv2
    import yaml

    from segsim.dataset.reader import open_dataset
    from segsim.train.trainer import train

    root = tmp_path / "f"
    colors = [[0, 0, 0], [255, 0, 0], [0, 255, 0]]
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "labels.yaml").write_text(
        yaml.safe_dump(
            {
                "labels": [
                    {"name": n, "color": c}
                    for n, c in zip(["bg", "square", "disc"], colors, strict=True)
                ]
            }
        )
    )
    for k in range(10):
        size = 32 if k % 2 else 40
        img, mask = draw_frame(k, size)
        cv2.imwrite(str(root / "images" / f"f{k}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        cv2.imwrite(
            str(root / "masks" / f"f{k}.png"),
            cv2.cvtColor(np.array(colors, np.uint8)[mask], cv2.COLOR_RGB2BGR),
        )
    for mode in ("whole", "native"):
        cfg = _cfg(
            root,
            trainer={"epochs": 1},
            input={"val_mode": mode},
            data={"split_fractions": [0.6, 0.4, 0.0]},
        )
        s = train(cfg, tmp_path / mode, progress=False)
        assert s["best_val_miou"] is not None and 0 <= s["best_val_miou"] <= 1
        m = json.loads((tmp_path / mode / "metrics.json").read_text())
        val = open_dataset(root, split_fractions=(0.6, 0.4, 0.0)).split("val")
        sizes = {32 if int(p[0].stem[1:]) % 2 else 40 for p in val}
        assert len(sizes) == 2  # the split mixes both sizes, or the test proves nothing
        expected = sum((32 if int(p[0].stem[1:]) % 2 else 40) ** 2 for p in val)
        assert m["num_pixels"] == expected  # every val frame scored at its own size
