"""The self-contained checkpoint: a Lightning checkpoint (so `--resume` works) plus one key,
"segsim", that holds everything needed to rebuild and use the model without any config file:

    {"format_version": 1, "model": {"name", "kwargs"}, "labels": LabelSet.to_dict(),
     "normalization": {"mean": [3], "std": [3]}, "input_size": [H, W], "config": dict,
     "metrics": dict}

Model weights live in `state_dict` under the prefix `model.` (the LightningModule's attribute).
"""

from __future__ import annotations

from pathlib import Path

from segsim.errors import SegsimError
from segsim.labels import LabelSet

FORMAT_VERSION = 1
BEST_CHECKPOINT, LAST_CHECKPOINT = "best.ckpt", "last.ckpt"  # the files a run folder holds
SEGSIM_KEY = "segsim"
MODEL_PREFIX = "model."
# Keys that only matter when a model is first built (downloading pretrained weights); a
# checkpoint already holds the weights, so rebuilding must not fetch anything.
_BUILD_ONLY_KWARGS = ("encoder_weights", "pretrained", "weights")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def rebuild_kwargs(kwargs: dict) -> dict:
    """Model kwargs safe to rebuild from: no pretrained-weight downloads."""
    return {k: v for k, v in (kwargs or {}).items() if k not in _BUILD_ONLY_KWARGS}


def make_info(
    model_name: str,
    model_kwargs: dict,
    labels: LabelSet,
    input_size,
    mean=IMAGENET_MEAN,
    std=IMAGENET_STD,
    config: dict | None = None,
    metrics: dict | None = None,
) -> dict:
    """The "segsim" dict of a checkpoint (plain JSON-able types only, so it loads with
    `torch.load(weights_only=True)` and goes into ONNX metadata as is)."""
    return {
        "format_version": FORMAT_VERSION,
        "model": {"name": str(model_name), "kwargs": rebuild_kwargs(model_kwargs)},
        "labels": labels.to_dict(),
        "normalization": {"mean": [float(x) for x in mean], "std": [float(x) for x in std]},
        "input_size": [int(input_size[0]), int(input_size[1])],
        "config": config or {},
        "metrics": metrics or {},
    }


def resolve_model_path(path: str | Path) -> Path:
    """A .ckpt / .onnx file, or a run folder meaning its best.ckpt."""
    p = Path(path)
    if p.is_dir():
        best = p / BEST_CHECKPOINT
        if best.is_file():
            return best
        others = sorted(x.name for x in p.glob("*.ckpt")) + sorted(x.name for x in p.glob("*.onnx"))
        hint = f"; the folder holds {', '.join(others)}" if others else ""
        raise SegsimError(
            f"run folder {p} has no {BEST_CHECKPOINT}{hint}",
            "pass a .ckpt or .onnx file, or a run folder written by `segsim train`",
        )
    if not p.is_file():
        raise SegsimError(
            f"model not found: {p}",
            f"pass a .ckpt, a run folder with {BEST_CHECKPOINT}, or an .onnx from `segsim export`",
        )
    return p


def read_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict, checked to be a segsim checkpoint."""
    import torch

    p = resolve_model_path(path)
    try:
        # weights_only: a checkpoint is data, never code. Ours hold only tensors and plain types.
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        raise SegsimError(
            f"cannot read checkpoint {p}: {str(e).splitlines()[0][:200]}",
            "pass a checkpoint written by `segsim train` (it may be truncated or foreign)",
        ) from e
    if not isinstance(ckpt, dict) or SEGSIM_KEY not in ckpt or "state_dict" not in ckpt:
        raise SegsimError(
            f"{p} is not a segsim checkpoint (no '{SEGSIM_KEY}' entry)",
            "pass a checkpoint written by `segsim train`",
        )
    version = ckpt[SEGSIM_KEY].get("format_version")
    if version != FORMAT_VERSION:
        raise SegsimError(
            f"{p} has checkpoint format {version}; this segsim reads format {FORMAT_VERSION}",
            "retrain, or use the segsim version that wrote it",
        )
    return ckpt


def model_state_dict(ckpt: dict) -> dict:
    """The model's own weights (prefix `model.` stripped)."""
    return {
        k[len(MODEL_PREFIX) :]: v
        for k, v in ckpt["state_dict"].items()
        if k.startswith(MODEL_PREFIX)
    }


def build_model(info: dict):
    """A fresh (untrained) model of the architecture recorded in `info`."""
    from segsim.models.registry import create_model

    labels = LabelSet.from_dict(info["labels"])
    return create_model(
        info["model"]["name"], labels.num_classes, **rebuild_kwargs(info["model"]["kwargs"])
    )


def load_checkpoint(path: str | Path):
    """(model in eval mode on CPU, info dict) from a .ckpt file or a run folder (its best.ckpt).

    `info` is the checkpoint's "segsim" dict with `labels` turned into a LabelSet under
    `info["label_set"]` for convenience (the dict form stays under `info["labels"]`).
    """
    ckpt = read_checkpoint(path)
    info = dict(ckpt[SEGSIM_KEY])
    model = build_model(info)
    missing, unexpected = model.load_state_dict(model_state_dict(ckpt), strict=False)
    if missing or unexpected:
        raise SegsimError(
            f"checkpoint {path} does not match model {info['model']['name']!r}: "
            f"{len(missing)} missing and {len(unexpected)} unexpected weights "
            f"(e.g. {(missing or unexpected)[:3]})",
            "the model code changed since training; retrain or use the matching segsim version",
        )
    model.eval()
    info["label_set"] = LabelSet.from_dict(info["labels"])
    info["epoch"] = ckpt.get("epoch")
    info["global_step"] = ckpt.get("global_step")
    return model, info
