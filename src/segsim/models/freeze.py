"""Training controls on a built model: freeze the encoder, freeze BatchNorm, and the optimizer's
parameter groups with the encoder at its own learning rate.

Every model that has a backbone names it `encoder`, so these act on `model.encoder` alone and
need nothing else from the architecture.
"""

from __future__ import annotations

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from segsim.errors import SegsimError


def _encoder(model: nn.Module, what: str, fix: str) -> nn.Module:
    encoder = getattr(model, "encoder", None)
    if not isinstance(encoder, nn.Module):
        raise SegsimError(
            f"{what} needs a model with an encoder, and {type(model).__name__} has none", fix
        )
    return encoder


def batchnorms(model: nn.Module) -> list[_BatchNorm]:
    """Every BatchNorm layer (1d/2d/3d and SyncBatchNorm) in `model`."""
    return [m for m in model.modules() if isinstance(m, _BatchNorm)]


def set_batchnorm_eval(model: nn.Module) -> None:
    """Put every BatchNorm in eval mode: it normalizes with its running stats and updates none."""
    for m in batchnorms(model):
        m.eval()


def apply_freezing(model: nn.Module, freeze_encoder: bool = False, freeze_bn: bool = False):
    """Set requires_grad False on the encoder's parameters and/or every BatchNorm's affine
    parameters. (Keeping BatchNorm in eval mode is the trainer's job: see set_batchnorm_eval.)
    Raises SegsimError when nothing would be left to train."""
    if freeze_encoder:
        encoder = _encoder(
            model,
            "model.freeze_encoder",
            "pick a model with an encoder (`segsim models`) or leave model.freeze_encoder=false",
        )
        for p in encoder.parameters():
            p.requires_grad_(False)
    if freeze_bn:
        for m in batchnorms(model):
            for p in m.parameters(recurse=False):
                p.requires_grad_(False)
    if (freeze_encoder or freeze_bn) and not any(p.requires_grad for p in model.parameters()):
        frozen = " and ".join(
            n
            for n, on in (("model.freeze_encoder", freeze_encoder), ("model.freeze_bn", freeze_bn))
            if on
        )
        raise SegsimError(
            f"{frozen} leave no trainable parameters in {type(model).__name__}",
            "turn one of them off (e.g. model.freeze_bn=false)",
        )
    return model


def parameter_groups(
    model: nn.Module, lr: float, weight_decay: float, encoder_lr_mult: float = 1.0
) -> list[dict]:
    """Optimizer groups of the trainable parameters: the head's first (its lr is the one logged),
    then the encoder's at lr * encoder_lr_mult; each split into decayed weights and undecayed
    norms and biases (decaying those only hurts). Empty groups are left out."""
    encoder_ids: set[int] = set()
    if encoder_lr_mult != 1.0:
        encoder = _encoder(
            model,
            "optim.encoder_lr_mult",
            "pick a model with an encoder (`segsim models`) or leave optim.encoder_lr_mult=1",
        )
        encoder_ids = {id(p) for p in encoder.parameters()}
    buckets: dict[tuple[bool, bool], list] = {
        (e, d): [] for e in (False, True) for d in (True, False)
    }
    for p in model.parameters():
        if p.requires_grad:
            buckets[(id(p) in encoder_ids, p.ndim > 1)].append(p)
    groups = []
    for (is_encoder, decays), params in buckets.items():
        if params:
            groups.append(
                {
                    "params": params,
                    "lr": lr * (encoder_lr_mult if is_encoder else 1.0),
                    "weight_decay": weight_decay if decays else 0.0,
                    "name": ("encoder" if is_encoder else "head") + ("" if decays else "_no_decay"),
                }
            )
    return groups
