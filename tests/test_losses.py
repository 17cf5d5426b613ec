"""Losses against values worked out by hand on tiny tensors."""

import math

import numpy as np
import pytest
import torch

from segsim.errors import SegsimError
from segsim.train.losses import (
    build_loss,
    class_weights_from_counts,
    list_losses,
    lovasz_grad,
)

# one image, 2 classes, 1 x 3 pixels; the last pixel is ignored
LOGITS = torch.tensor([[[[2.0, 0.0, 5.0]], [[0.0, 1.0, -5.0]]]])  # B=1, C=2, H=1, W=3
TARGET = torch.tensor([[[0, 1, 255]]])


def _logsm(a, b):
    """log softmax of a two-logit vector, by hand."""
    z = math.log(math.exp(a) + math.exp(b))
    return a - z, b - z


def test_registry_lists_all_losses():
    assert {"ce", "dice", "ce_dice", "focal", "lovasz"} <= set(list_losses())
    with pytest.raises(SegsimError, match="unknown loss"):
        build_loss("nope", 2)


def test_cross_entropy_with_ignore_by_hand():
    # pixel 0: target 0, logits (2, 0); pixel 1: target 1, logits (0, 1); pixel 2 ignored
    expected = -(_logsm(2, 0)[0] + _logsm(0, 1)[1]) / 2
    got = build_loss("ce", 2)(LOGITS, TARGET)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_weighted_cross_entropy_by_hand():
    w = [1.0, 3.0]
    expected = -(1.0 * _logsm(2, 0)[0] + 3.0 * _logsm(0, 1)[1]) / (1.0 + 3.0)
    got = build_loss("ce", 2, weight=w)(LOGITS, TARGET)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_focal_reduces_to_ce_at_gamma_zero_and_shrinks_easy_pixels():
    torch.manual_seed(0)
    logits = torch.randn(2, 4, 5, 6)
    target = torch.randint(0, 4, (2, 5, 6))
    target[0, 0, :3] = 255
    w = [0.5, 1.0, 2.0, 1.5]
    for weight in (None, w):
        ce = build_loss("ce", 4, weight=weight)(logits, target)
        f0 = build_loss("focal", 4, weight=weight, focal_gamma=0.0)(logits, target)
        assert f0.item() == pytest.approx(ce.item(), rel=1e-6)
    # gamma = 2 by hand for one pixel: -(1 - p)^2 log p
    lp0 = _logsm(2, 0)[0]
    lp1 = _logsm(0, 1)[1]
    expected = -((1 - math.exp(lp0)) ** 2 * lp0 + (1 - math.exp(lp1)) ** 2 * lp1) / 2
    got = build_loss("focal", 2, focal_gamma=2.0)(LOGITS, TARGET)
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_dice_by_hand():
    p = torch.softmax(LOGITS[0, :, 0, :2], dim=0)  # 2 classes x 2 kept pixels
    # class 0: y = (1, 0); class 1: y = (0, 1); smoothing eps = 1
    d0 = (2 * p[0, 0] + 1) / (p[0].sum() + 1 + 1)
    d1 = (2 * p[1, 1] + 1) / (p[1].sum() + 1 + 1)
    expected = 1 - (d0 + d1) / 2
    got = build_loss("dice", 2)(LOGITS, TARGET)
    assert got.item() == pytest.approx(expected.item(), rel=1e-6)
    ce = build_loss("ce", 2)(LOGITS, TARGET)
    both = build_loss("ce_dice", 2, dice_weight=0.5)(LOGITS, TARGET)
    assert both.item() == pytest.approx(ce.item() + 0.5 * got.item(), rel=1e-6)


def test_dice_ignores_ignored_pixels():
    # changing the logits of an ignored pixel must not change any loss
    other = LOGITS.clone()
    other[0, :, 0, 2] = torch.tensor([-9.0, 9.0])
    for name in list_losses():
        loss = build_loss(name, 2)
        assert loss(other, TARGET).item() == pytest.approx(loss(LOGITS, TARGET).item(), rel=1e-6), (
            name
        )


def test_lovasz_grad_and_known_case():
    # Worked by hand: p(class1) = (0.8, 0.3), target = (1, 0).
    # class 1: errors (0.2, 0.3) -> sorted (0.3 [bg], 0.2 [fg]); grad (0.5, 0.5) -> 0.25
    # class 0: errors (0.2, 0.3) -> sorted (0.3 [fg], 0.2 [bg]); grad (1, 0)     -> 0.30
    np.testing.assert_allclose(lovasz_grad(torch.tensor([0.0, 1.0])).numpy(), [0.5, 0.5])
    probs = torch.tensor([[0.2, 0.8], [0.7, 0.3]])
    logits = probs.log().T.reshape(1, 2, 1, 2)
    target = torch.tensor([[[1, 0]]])
    got = build_loss("lovasz", 2)(logits, target)
    assert got.item() == pytest.approx((0.25 + 0.30) / 2, rel=1e-5)


def test_lovasz_equals_jaccard_loss_on_hard_predictions():
    # On one-hot probabilities the Lovasz extension equals 1 - IoU of each class.
    rng = np.random.default_rng(1)
    target = rng.integers(0, 3, (1, 6, 7))
    pred = target.copy()
    flip = rng.random(target.shape) < 0.3
    pred[flip] = (pred[flip] + 1) % 3
    logits = torch.from_numpy(np.eye(3)[pred].transpose(0, 3, 1, 2) * 50.0).float()
    ious = []
    for c in range(3):
        inter = ((pred == c) & (target == c)).sum()
        union = ((pred == c) | (target == c)).sum()
        ious.append(inter / union)
    expected = 1 - np.mean(ious)
    got = build_loss("lovasz", 3)(logits, torch.from_numpy(target))
    assert got.item() == pytest.approx(expected, abs=1e-5)


def test_all_ignored_gives_zero_and_backprops():
    logits = torch.randn(1, 3, 2, 2, requires_grad=True)
    target = torch.full((1, 2, 2), 255)
    for name in list_losses():
        loss = build_loss(name, 3)(logits, target)
        assert loss.item() == 0.0
        loss.backward()


def test_bad_weight_length():
    with pytest.raises(SegsimError, match="3 class weights for 2 classes"):
        build_loss("ce", 2, weight=[1, 2, 3])


def test_class_weights_from_counts():
    counts = [700, 200, 100, 0]
    f = np.array([0.7, 0.2, 0.1])
    mf = np.median(f) / f
    mf = mf / mf.mean()
    got = class_weights_from_counts(counts, "median_frequency")
    np.testing.assert_allclose(got[:3], mf)
    assert got[3] == 1.0
    il = 1 / np.log(1.02 + f)
    il = il / il.mean()
    np.testing.assert_allclose(class_weights_from_counts(counts, "inverse_log")[:3], il)
    assert got[2] > got[1] > got[0]  # rarer class, larger weight
    with pytest.raises(SegsimError):
        class_weights_from_counts([0, 0])
