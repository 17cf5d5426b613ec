"""Pretrained encoder weights: torchvision's ImageNet files (downloaded) or a local state dict.

Encoders keep torchvision's parameter names, so the official files load without renaming.
`load_encoder_weights(encoder, spec)` with spec "imagenet" fetches through
`torch.hub.load_state_dict_from_url` (cached under TORCH_HOME, needs to be online once); any other
spec is a path to a file holding a state dict, bare or under "state_dict" / "model".
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from segsim.errors import SegsimError

# The official torchvision URLs (IMAGENET1K_V1 for the ResNets, as torchvision's default
# `pretrained=True` used; V1 of MobileNetV3-Large).
IMAGENET_URLS = {
    "resnet18": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "resnet34": "https://download.pytorch.org/models/resnet34-b627a593.pth",
    "resnet50": "https://download.pytorch.org/models/resnet50-11ad3fa6.pth",
    "resnet101": "https://download.pytorch.org/models/resnet101-63fe2227.pth",
    "resnet152": "https://download.pytorch.org/models/resnet152-394f9c45.pth",
    "mobilenet_v3_large": "https://download.pytorch.org/models/mobilenet_v3_large-8738ca79.pth",
}

# Classification heads live under these prefixes in torchvision files; encoders have no head.
_HEAD_PREFIXES = ("fc.", "classifier.")


def _download_imagenet(arch: str) -> dict:
    if arch == "xception65":
        raise SegsimError(
            "torchvision has no ImageNet weights for encoder 'xception65'",
            "train it from scratch (leave out encoder_weights), pass encoder_weights=PATH to a "
            "state dict in segsim's xception65 names, or pick a ResNet or mobilenetv3_large",
        )
    if arch not in IMAGENET_URLS:
        raise SegsimError(
            f"no ImageNet weights known for encoder {arch!r}",
            f"ImageNet weights exist for: {', '.join(IMAGENET_URLS)}; or pass a file path",
        )
    try:
        return torch.hub.load_state_dict_from_url(
            IMAGENET_URLS[arch], map_location="cpu", progress=True
        )
    except (OSError, RuntimeError) as e:  # URLError is an OSError; a truncated file a RuntimeError
        raise SegsimError(
            f"could not download ImageNet weights for {arch} ({e})",
            "go online once (weights are cached under TORCH_HOME) or pass "
            "--encoder-weights PATH to a local torchvision state dict",
        ) from e


def read_state_dict(path: str | Path) -> dict:
    """A state dict from a file: bare, or wrapped under "state_dict" / "model" (common trainers)."""
    path = Path(path)
    if not path.is_file():
        raise SegsimError(
            f"encoder weights file {str(path)!r} does not exist",
            "pass 'imagenet' or the path of a .pth state dict",
        )
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except (
        Exception
    ) as e:  # pickle, zip and weights_only errors all mean "not a state dict we can read"
        raise SegsimError(
            f"cannot read encoder weights from {str(path)!r}: {e}",
            "save the weights with torch.save(model.state_dict(), path)",
        ) from e
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise SegsimError(
            f"{str(path)!r} does not hold a state dict of tensors",
            "save the weights with torch.save(model.state_dict(), path)",
        )
    return obj


def _strip(state: dict) -> dict:
    # Drop classifier heads; also drop a DataParallel "module." prefix when every key has it.
    if state and all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return {k: v for k, v in state.items() if not k.startswith(_HEAD_PREFIXES)}


def load_encoder_weights(
    encoder: nn.Module, spec: str | Path | None, arch: str | None = None
) -> nn.Module:
    """Load `spec` ("imagenet", a file path, or None for nothing) into `encoder`; returns it.

    `arch` names the torchvision architecture for "imagenet" (default: `encoder.name`). A file
    whose keys or shapes do not fit raises SegsimError listing the first mismatches.
    """
    if spec is None:
        return encoder
    arch = arch or getattr(encoder, "name", None)
    source = f"ImageNet weights for {arch}" if spec == "imagenet" else repr(str(spec))
    state = _strip(_download_imagenet(arch) if spec == "imagenet" else read_state_dict(spec))
    own = encoder.state_dict()
    # Old torchvision files predate BatchNorm's num_batches_tracked counters; those may be absent.
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong_shape:
        parts = []
        for label, items in (
            ("missing", missing),
            ("unexpected", unexpected),
            ("wrong shape", wrong_shape),
        ):
            if items:
                parts.append(f"{len(items)} {label} (e.g. {', '.join(items[:3])})")
        raise SegsimError(
            f"encoder weights {source} do not fit encoder {arch}: {'; '.join(parts)}",
            f"pass a torchvision-format state dict of {arch}, "
            "or pick the encoder it was saved from",
        )
    encoder.load_state_dict(state, strict=False)
    return encoder
