"""Segmentation losses in one registry: cross-entropy, Dice, CE+Dice, focal, Lovasz-softmax.

Every loss takes logits (B x C x H x W) and integer targets (B x H x W), skips pixels equal to
`ignore_index`, and accepts optional per-class weights (a length-C tensor). Class weights can be
computed from the training split's pixel frequencies (`class_weights_from_counts`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from segsim.errors import SegsimError
from segsim.labels import IGNORE_INDEX

_LOSSES: dict[str, tuple[str, Callable[..., nn.Module]]] = {}


def register_loss(name: str, description: str):
    def decorate(builder):
        _LOSSES[name] = (description, builder)
        return builder

    return decorate


def list_losses() -> dict[str, str]:
    return {name: desc for name, (desc, _) in sorted(_LOSSES.items())}


def build_loss(
    name: str, num_classes: int, ignore_index: int = IGNORE_INDEX, weight=None, **options
) -> nn.Module:
    """The loss `name` (see list_losses()); `options` are dice_weight, focal_gamma,
    label_smoothing."""
    if name not in _LOSSES:
        raise SegsimError(f"unknown loss {name!r}", f"choose one of: {', '.join(sorted(_LOSSES))}")
    if weight is not None:
        weight = torch.as_tensor(weight, dtype=torch.float32)
        if weight.shape != (num_classes,):
            raise SegsimError(
                f"{weight.numel()} class weights for {num_classes} classes",
                "give one weight per class (background included), or loss.class_weights=auto",
            )
    return _LOSSES[name][1](
        num_classes=num_classes, ignore_index=ignore_index, weight=weight, **options
    )


class _Loss(nn.Module):
    def __init__(self, num_classes: int, ignore_index: int, weight):
        super().__init__()
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight if weight is not None else None, persistent=False)


# --- cross-entropy --------------------------------------------------------------------------------


class CrossEntropy(_Loss):
    def __init__(self, num_classes, ignore_index, weight, label_smoothing: float = 0.0, **_):
        super().__init__(num_classes, ignore_index, weight)
        self.label_smoothing = label_smoothing

    def forward(self, logits, target):
        if not (target != self.ignore_index).any():
            return logits.sum() * 0.0  # all ignored: no signal, but keep the graph
        return F.cross_entropy(
            logits.float(),
            target.long(),
            weight=self.weight,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
        )


register_loss("ce", "cross-entropy (per-pixel mean over non-ignored pixels)")(CrossEntropy)


# --- Dice -----------------------------------------------------------------------------------------


def soft_dice_loss(logits, target, ignore_index: int, weight=None, eps: float = 1.0):
    """1 - mean over classes present in the batch's target of soft Dice
    (2 * sum(p * y) + eps) / (sum(p) + sum(y) + eps), counting only non-ignored pixels."""
    c = logits.shape[1]
    probs = logits.float().softmax(dim=1)
    t = target.long()
    valid = t != ignore_index
    if bool(valid.all()):
        p_sum = probs.sum((0, 2, 3))
        t_valid = t.reshape(-1)
        p_target = probs.gather(1, t.unsqueeze(1)).reshape(-1)
    else:
        p_sum = (probs * valid.unsqueeze(1)).sum((0, 2, 3))
        flat_valid = valid.reshape(-1)
        p_target = probs.gather(1, torch.where(valid, t, 0).unsqueeze(1)).reshape(-1)[flat_valid]
        t_valid = t.reshape(-1)[flat_valid]
    # sum(p * y) per class from each pixel's probability of its own class: one gather and one
    # index_add instead of a C-fold one-hot product: far less work on full-size validation logits
    inter = torch.zeros(c, dtype=probs.dtype, device=probs.device).index_add(0, t_valid, p_target)
    gt_sum = torch.bincount(t_valid, minlength=c)[:c].to(probs.dtype)
    dice = (2 * inter + eps) / (p_sum + gt_sum + eps)
    present = gt_sum > 0
    if not present.any():
        return logits.sum() * 0.0
    w = weight if weight is not None else torch.ones(c, device=logits.device)
    w = w * present
    return ((1 - dice) * w).sum() / w.sum().clamp_min(1e-12)


class Dice(_Loss):
    def __init__(self, num_classes, ignore_index, weight, **_):
        super().__init__(num_classes, ignore_index, weight)

    def forward(self, logits, target):
        return soft_dice_loss(logits, target, self.ignore_index, self.weight)


register_loss("dice", "soft Dice over classes present in the batch")(Dice)


class CEDice(_Loss):
    def __init__(
        self,
        num_classes,
        ignore_index,
        weight,
        dice_weight: float = 0.5,
        label_smoothing: float = 0.0,
        **_,
    ):
        super().__init__(num_classes, ignore_index, weight)
        self.ce = CrossEntropy(num_classes, ignore_index, weight, label_smoothing)
        self.dice_weight = dice_weight

    def forward(self, logits, target):
        return self.ce(logits, target) + self.dice_weight * soft_dice_loss(
            logits, target, self.ignore_index, self.weight
        )


register_loss("ce_dice", "cross-entropy + dice_weight x soft Dice (default)")(CEDice)


# --- focal ----------------------------------------------------------------------------------------


class Focal(_Loss):
    """Focal loss (Lin et al. 2017): mean of w_y * (1 - p_y)^gamma * -log p_y over non-ignored
    pixels, normalized by the sum of w_y like weighted cross-entropy, so gamma = 0 is exactly CE."""

    def __init__(self, num_classes, ignore_index, weight, focal_gamma: float = 2.0, **_):
        super().__init__(num_classes, ignore_index, weight)
        self.gamma = focal_gamma

    def forward(self, logits, target):
        valid = target != self.ignore_index
        if not valid.any():
            return logits.sum() * 0.0
        logp = F.log_softmax(logits.float(), dim=1)
        t = torch.where(valid, target, 0).long()
        logp_t = logp.gather(1, t.unsqueeze(1)).squeeze(1)[valid]
        p_t = logp_t.exp()
        w = self.weight[t[valid]] if self.weight is not None else torch.ones_like(logp_t)
        loss = -w * (1 - p_t).pow(self.gamma) * logp_t
        return loss.sum() / w.sum().clamp_min(1e-12)


register_loss("focal", "focal loss (focal_gamma; 0 = cross-entropy)")(Focal)


# --- Lovasz-softmax -------------------------------------------------------------------------------


def lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """Gradient of the Lovasz extension of the Jaccard loss w.r.t. sorted errors (Berman et al.
    2018)."""
    gts = gt_sorted.sum()
    intersection = gts - gt_sorted.cumsum(0)
    union = gts + (1 - gt_sorted).cumsum(0)
    jaccard = 1.0 - intersection / union
    if gt_sorted.numel() > 1:
        jaccard[1:] = jaccard[1:] - jaccard[:-1]
    return jaccard


def lovasz_softmax_flat(probs: torch.Tensor, labels: torch.Tensor, weight=None) -> torch.Tensor:
    """probs: P x C (non-ignored pixels), labels: P. Mean over classes present in `labels`."""
    c = probs.shape[1]
    losses, ws = [], []
    for k in range(c):
        fg = (labels == k).float()
        if fg.sum() == 0:
            continue
        errors = (fg - probs[:, k]).abs()
        errors_sorted, perm = torch.sort(errors, descending=True)
        losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
        ws.append(weight[k] if weight is not None else torch.tensor(1.0, device=probs.device))
    if not losses:
        return probs.sum() * 0.0
    losses_t, ws_t = torch.stack(losses), torch.stack(ws).to(probs.dtype)
    return (losses_t * ws_t).sum() / ws_t.sum().clamp_min(1e-12)


class Lovasz(_Loss):
    """Lovasz-softmax over all non-ignored pixels of the batch, classes present in the target."""

    def __init__(self, num_classes, ignore_index, weight, **_):
        super().__init__(num_classes, ignore_index, weight)

    def forward(self, logits, target):
        probs = logits.float().softmax(dim=1).permute(0, 2, 3, 1).reshape(-1, logits.shape[1])
        t = target.reshape(-1)
        valid = t != self.ignore_index
        return lovasz_softmax_flat(probs[valid], t[valid].long(), self.weight)


register_loss("lovasz", "Lovasz-softmax (a surrogate that optimizes IoU directly)")(Lovasz)


# --- class weights --------------------------------------------------------------------------------


def class_weights_from_counts(counts, method: str = "median_frequency") -> list[float]:
    """Per-class weights from pixel counts of the training split.

    median_frequency (Eigen & Fergus): w_c = median(f) / f_c over classes that occur.
    inverse_log (ENet): w_c = 1 / ln(1.02 + f_c).
    Both are scaled so the weights of occurring classes average 1 (the loss scale, and so the
    learning rate, stays comparable to unweighted training); classes that never occur get 1.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.sum() <= 0:
        raise SegsimError(
            "the training masks hold no labelled pixels", "check the masks (all ignore?)"
        )
    freq = counts / counts.sum()
    seen = counts > 0
    w = np.ones_like(freq)
    if method == "median_frequency":
        w[seen] = np.median(freq[seen]) / freq[seen]
    elif method == "inverse_log":
        w[seen] = 1.0 / np.log(1.02 + freq[seen])
    else:
        raise SegsimError(
            f"unknown class weighting {method!r}", "use median_frequency or inverse_log"
        )
    w[seen] = w[seen] / w[seen].mean()
    return [float(x) for x in w]
