"""Metrics against confusion matrices and IoUs worked out by hand."""

import numpy as np
import pytest
import torch

from segsim.errors import SegsimError
from segsim.metrics import (
    ConfusionAccumulator,
    confusion_matrix,
    metrics_from_confusion,
    normalized_confusion,
)

# 2x3 image, one ignored pixel. Kept pixels (gt, pred): (0,0) (0,1) (1,1) (1,1) (2,0)
TARGET = np.array([[0, 0, 1], [1, 2, 255]], np.uint8)
PRED = np.array([[0, 1, 1], [1, 0, 2]], np.uint8)
HAND_CM = np.array([[1, 1, 0], [0, 2, 0], [1, 0, 0]])


def test_confusion_matrix_numpy_matches_hand_count():
    cm = confusion_matrix(PRED, TARGET, 3, ignore_index=255)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(cm, HAND_CM)


def test_confusion_matrix_torch_matches_numpy():
    cm = confusion_matrix(torch.from_numpy(PRED), torch.from_numpy(TARGET), 3, ignore_index=255)
    assert isinstance(cm, torch.Tensor)
    np.testing.assert_array_equal(cm.numpy(), HAND_CM)


def test_metrics_by_hand():
    m = metrics_from_confusion(HAND_CM, ["bg", "a", "b"])
    pc = m["per_class"]
    # IoU = tp / (gt + pred - tp): bg 1/(2+2-1), a 2/(2+3-2), b 0/(1+0-0)
    assert pc["bg"]["iou"] == pytest.approx(1 / 3)
    assert pc["a"]["iou"] == pytest.approx(2 / 3)
    assert pc["b"]["iou"] == pytest.approx(0.0)
    # Dice = 2 tp / (gt + pred)
    assert pc["bg"]["dice"] == pytest.approx(2 / 4)
    assert pc["a"]["dice"] == pytest.approx(4 / 5)
    assert pc["b"]["dice"] == pytest.approx(0.0)
    assert m["miou"] == pytest.approx((1 / 3 + 2 / 3 + 0) / 3)
    assert m["pixel_accuracy"] == pytest.approx(3 / 5)
    assert m["num_pixels"] == 5


def test_absent_class_is_left_out_of_the_mean():
    cm = np.zeros((4, 4), np.int64)
    cm[:3, :3] = HAND_CM
    m = metrics_from_confusion(cm, ["bg", "a", "b", "never"])
    assert m["per_class"]["never"]["iou"] is None
    assert m["per_class"]["never"]["present"] is False
    assert m["miou"] == pytest.approx(1 / 3)  # same as the 3-class case, not dragged to 1/4


def test_class_only_in_prediction_counts_as_present():
    target = np.array([0, 0, 0, 0])
    pred = np.array([0, 0, 0, 2])
    m = metrics_from_confusion(confusion_matrix(pred, target, 3), ["bg", "a", "b"])
    assert m["per_class"]["b"]["present"] is True
    assert m["per_class"]["b"]["iou"] == 0.0
    assert m["per_class"]["a"]["iou"] is None
    assert m["miou"] == pytest.approx((3 / 4 + 0) / 2)


def test_accumulated_over_split_not_averaged_per_batch():
    # batch 1: perfect on a single big image; batch 2: a tiny image, all wrong.
    t1 = np.zeros((10, 10), np.int64)
    t1[:5] = 1
    p1 = t1.copy()
    t2 = np.array([[1]])
    p2 = np.array([[0]])
    acc = ConfusionAccumulator(2)
    acc.update(p1, t1)
    acc.update(p2, t2)
    m = acc.compute(["bg", "fg"])
    # whole split: bg tp=50 gt=50 pred=51 -> 50/51; fg tp=50 gt=51 pred=50 -> 50/51
    assert m["miou"] == pytest.approx(50 / 51)
    per_batch = (1.0 + (0 + 0) / 2) / 2  # what averaging batch mIoUs would give
    assert abs(m["miou"] - per_batch) > 0.1


def test_accumulator_with_torch_tensors():
    acc = ConfusionAccumulator(3)
    acc.update(torch.from_numpy(PRED[:1]), torch.from_numpy(TARGET[:1]))
    acc.update(torch.from_numpy(PRED[1:]), torch.from_numpy(TARGET[1:]))
    np.testing.assert_array_equal(acc.matrix(), HAND_CM)


def test_ignore_pixels_excluded_even_if_predicted_wrong():
    target = np.array([255, 255, 1])
    pred = np.array([0, 1, 1])
    cm = confusion_matrix(pred, target, 2)
    assert cm.sum() == 1 and cm[1, 1] == 1


def test_out_of_range_ids_are_an_error():
    with pytest.raises(SegsimError, match="class id 7"):
        confusion_matrix(np.array([0, 1]), np.array([0, 7]), 3)
    with pytest.raises(SegsimError, match="prediction"):
        confusion_matrix(np.array([0, 5]), np.array([0, 1]), 3)
    with pytest.raises(SegsimError, match="shape"):
        confusion_matrix(np.zeros((2, 2)), np.zeros((2, 3)), 3)


def test_normalized_confusion_rows_sum_to_one():
    n = normalized_confusion(HAND_CM)
    np.testing.assert_allclose(n.sum(axis=1), [1, 1, 1])
    assert n[0, 1] == pytest.approx(0.5)


def test_uint8_fast_path_matches_general_path():
    rng = np.random.default_rng(0)
    target = rng.integers(0, 5, (3, 17, 19)).astype(np.uint8)
    target[rng.random(target.shape) < 0.1] = 255
    pred = rng.integers(0, 5, target.shape).astype(np.uint8)
    fast = confusion_matrix(pred, target, 5)
    slow = confusion_matrix(pred.astype(np.int64), target.astype(np.int64), 5)
    # and by brute force, pixel by pixel
    brute = np.zeros((5, 5), np.int64)
    for t, p in zip(target.ravel(), pred.ravel(), strict=True):
        if t != 255:
            brute[t, p] += 1
    np.testing.assert_array_equal(fast, brute)
    np.testing.assert_array_equal(slow, brute)
    with pytest.raises(SegsimError, match="class id 9"):
        confusion_matrix(pred, np.where(target == 0, 9, target).astype(np.uint8), 5)
