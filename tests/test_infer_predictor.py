"""Predictor on a network with a known answer: modes, TTA, scales, loading and errors."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from segsim.errors import SegsimError
from segsim.infer.predictor import Predictor
from test_infer_helpers import (
    block_mask,
    nearest_colour,
    paint,
    probe_labels,
    write_checkpoint,
)

SIZE = (32, 48)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> Path:
    return write_checkpoint(tmp_path_factory.mktemp("run") / "best.ckpt", input_size=SIZE)


@pytest.fixture(scope="module")
def predictor(ckpt) -> Predictor:
    return Predictor.load(ckpt)


def test_attributes_come_from_the_checkpoint(predictor):
    assert predictor.backend == "torch"
    assert predictor.input_size == SIZE
    assert predictor.labels.names == probe_labels().names
    assert predictor.labels.to_dict() == probe_labels().to_dict()
    assert predictor.normalization["mean"] == pytest.approx([0.485, 0.456, 0.406])


def test_known_answer_at_the_training_size(predictor):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)  # every pixel a different problem
    mask = predictor.predict(rgb)
    assert mask.dtype == np.uint8 and mask.shape == SIZE
    np.testing.assert_array_equal(mask, nearest_colour(rgb))


def test_painted_image_at_another_size(predictor):
    # 2x the training size with 8-pixel blocks: the resize lands on block edges, so every pixel
    # is recoverable exactly
    truth = block_mask(64, 96, 8, seed=2)
    np.testing.assert_array_equal(predictor.predict(paint(truth)), truth)


@pytest.mark.parametrize("shape", [(31, 47), (17, 100), (90, 33), (1, 1), (5, 7)])
def test_output_is_input_sized_and_proba_sums_to_one(predictor, shape):
    rgb = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    assert predictor.predict(rgb).shape == shape
    p = predictor.predict_proba(rgb)
    assert p.shape == (4, *shape) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(0), 1.0, atol=1e-5)


def _agreement(a, b) -> float:
    return float((a == b).mean())


@pytest.mark.parametrize(
    "options",
    [
        {"tta": "flip"},
        {"scales": [0.75, 1.0, 1.25]},
        {"tta": "flip", "scales": [0.5, 1.0, 2.0]},
        {"mode": "sliding"},
        {"mode": "sliding", "tta": "flip"},
        {"mode": "sliding", "scales": [0.5, 1.0]},
    ],
)
def test_tta_scales_and_sliding_agree_with_the_truth(predictor, options):
    # an easy image: six large regions, no two mirror images of each other, so a forgotten
    # un-flip or a misplaced tile would change a third of the pixels
    truth = np.kron(np.array([[1, 2, 3], [3, 0, 1]], np.uint8), np.ones((36, 40), np.uint8))
    rgb = paint(truth)
    mask = predictor.predict(rgb, **options)
    whole = predictor.predict(rgb)
    assert mask.shape == truth.shape
    # resampling at non-integer factors blurs region edges by about a pixel; nothing else may differ
    assert _agreement(mask, truth) >= 0.98, options
    assert _agreement(mask, whole) >= 0.98, options


def test_flip_is_undone(predictor):
    # left half red, right half blue: a missing flip-back would swap the halves
    truth = np.zeros(SIZE, np.uint8)
    truth[:, : SIZE[1] // 2] = 1
    truth[:, SIZE[1] // 2 :] = 3
    np.testing.assert_array_equal(predictor.predict(paint(truth), tta="flip"), truth)


def test_sliding_covers_a_large_image_at_native_resolution(predictor):
    # 3 x 4.5 tiles: the window grid's last row/column must be flush with the border; native
    # resolution keeps one-pixel details that the whole-image resize would lose
    truth = block_mask(96, 216, 4, seed=4)
    truth[50, 100] = 2
    truth[0, 215] = 1
    truth[95, 0] = 3
    np.testing.assert_array_equal(predictor.predict(paint(truth), mode="sliding"), truth)


def test_sliding_on_an_image_smaller_than_a_tile(predictor):
    truth = block_mask(20, 30, 5, seed=5)
    np.testing.assert_array_equal(predictor.predict(paint(truth), mode="sliding"), truth)


def test_batch_equals_one_by_one(predictor):
    rng = np.random.default_rng(6)
    images = [
        rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(32, 48), (40, 40), (9, 70)]
    ]
    batch = predictor.predict_batch(images, tta="flip")
    for im, got in zip(images, batch, strict=True):
        np.testing.assert_array_equal(got, predictor.predict(im, tta="flip"))


def test_grey_and_rgba_arrays_are_accepted(predictor):
    truth = block_mask(*SIZE, 8, seed=7)
    rgba = np.concatenate([paint(truth), np.full((*SIZE, 1), 9, np.uint8)], axis=2)
    np.testing.assert_array_equal(predictor.predict(rgba), truth)
    grey = np.zeros(SIZE, np.uint8)
    assert (predictor.predict(grey) == 0).all()  # black is the background colour


def test_concurrent_calls_give_the_same_masks(predictor):
    rng = np.random.default_rng(8)
    images = [rng.integers(0, 256, (40, 56, 3), dtype=np.uint8) for _ in range(6)]
    expected = [predictor.predict(im, tta="flip") for im in images]
    results: dict[int, list] = {}
    errors = []

    def work(k):
        try:
            results[k] = [predictor.predict(im, tta="flip") for im in images]
        except Exception as e:  # noqa: BLE001 - surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k in range(4):
        for got, want in zip(results[k], expected, strict=True):
            np.testing.assert_array_equal(got, want)


def test_real_network_any_size(tmp_path):
    # the default model, untrained: shapes and determinism, including odd sizes and sliding
    ck = write_checkpoint(
        tmp_path / "unet.ckpt",
        model_name="unet_small",
        labels=probe_labels(),
        input_size=(48, 48),
        kwargs={"width": 8},
    )
    p = Predictor.load(ck)
    rgb = np.random.default_rng(9).integers(0, 256, (61, 83, 3), dtype=np.uint8)
    for opts in ({}, {"tta": "flip"}, {"mode": "sliding"}, {"scales": [0.5, 1.5]}):
        m = p.predict(rgb, **opts)
        assert m.shape == (61, 83) and m.max() < 4
        np.testing.assert_array_equal(m, p.predict(rgb, **opts))


# --- loading and errors ---------------------------------------------------------------------


def test_run_folder_means_its_best_ckpt(ckpt):
    p = Predictor.load(ckpt.parent)
    assert p.source == ckpt


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda d: d / "nope.ckpt", "not found"),
        (lambda d: d, "no best.ckpt"),
        (
            lambda d: (d / "junk.ckpt").write_bytes(b"not a checkpoint") and d / "junk.ckpt",
            "junk.ckpt",
        ),
        (
            lambda d: (d / "junk.onnx").write_bytes(b"not onnx") and d / "junk.onnx",
            "not a valid ONNX",
        ),
    ],
)
def test_bad_model_paths_are_user_errors(tmp_path, make, words):
    with pytest.raises(SegsimError) as e:
        Predictor.load(make(tmp_path))
    assert words in e.value.message


@pytest.mark.parametrize(
    "options",
    [
        {"tta": "rotate"},
        {"mode": "tiles"},
        {"scales": [0]},
        {"scales": []},
        {"scales": [1, -2]},
        {"scales": ["x"]},
    ],
)
def test_bad_options_are_user_errors(predictor, options):
    with pytest.raises(SegsimError):
        predictor.predict(np.zeros((8, 8, 3), np.uint8), **options)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 2), np.uint8), np.zeros((0, 8, 3), np.uint8)],
)
def test_bad_arrays_are_user_errors(predictor, bad):
    with pytest.raises(SegsimError):
        predictor.predict(bad)
