"""The dataset's own PNG encoder must produce files every decoder reads back exactly."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from segsim.dataset import png


def _cases():
    rng = np.random.default_rng(0)
    yield "rgb noise", rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    yield "rgba", rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    yield "grey", rng.integers(0, 256, (19, 1), dtype=np.uint8)
    yield "u16 full range", rng.integers(0, 65536, (23, 29), dtype=np.uint16)
    yield "u16 bytes differ", np.array([[0x0102, 0xFF00], [0x00FF, 0xFFFF]], np.uint16)
    smooth = np.add.outer(np.arange(40), np.arange(31)).astype(np.uint16) * 700
    yield "u16 smooth", smooth
    yield "one pixel", np.array([[[1, 2, 3]]], np.uint8)


@pytest.mark.parametrize("row_filter", [png.FILTER_NONE, png.FILTER_SUB, png.FILTER_UP])
@pytest.mark.parametrize("name, img", list(_cases()))
def test_round_trip_through_pil_and_opencv(name, img, row_filter):
    data = png.encode_png(img, row_filter)
    pil = np.asarray(Image.open(io.BytesIO(data)))
    if img.dtype == np.uint16:  # PIL opens 16-bit grey as int32 mode "I"
        pil = pil.astype(np.uint16)
    assert pil.shape == img.shape and np.array_equal(pil, img)
    cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        cv = cv[..., [2, 1, 0, 3][: img.shape[2]]]  # OpenCV decodes to BGR(A)
    assert cv.dtype == img.dtype and np.array_equal(cv.reshape(img.shape), img)


def test_same_pixels_same_bytes():
    img = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    assert png.encode_png(img) == png.encode_png(img.copy()) == png.encode_png(img[::-1][::-1])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((4, 4, 3), np.uint16),
        np.zeros((0, 4), np.uint8),
        np.zeros(4, np.uint8),
    ],
)
def test_unsupported_arrays_are_refused(bad):
    with pytest.raises(ValueError):
        png.encode_png(bad)


def test_is_intact_catches_truncation_and_bit_flips():
    data = png.encode_png(np.random.default_rng(2).integers(0, 256, (20, 30, 3), dtype=np.uint8))
    assert png.is_intact(data)
    assert (
        not png.is_intact(data[:-1])
        and not png.is_intact(data[: len(data) // 2])
        and not png.is_intact(b"")
    )
    for pos in (3, 20, len(data) // 2, len(data) - 6):
        flipped = bytearray(data)
        flipped[pos] ^= 0x10
        assert not png.is_intact(bytes(flipped)), pos
    assert not png.is_intact(data + b"extra")


@pytest.mark.parametrize("shape", [(37, 53, 3), (5, 7, 4), (1, 1, 3), (1, 9, 3), (9, 1, 4)])
@pytest.mark.parametrize("with_fpng", [True, False])
def test_photos_round_trip_with_and_without_fpng(shape, with_fpng, monkeypatch):
    if with_fpng and png._fpng is None:
        pytest.skip("fpng_py is not installed (make setup builds it)")
    if not with_fpng:
        monkeypatch.setattr(png, "_fpng", None)
    img = np.random.default_rng(3).integers(0, 256, shape, dtype=np.uint8)
    data = png.encode_photo(img[:, ::-1])  # a non-contiguous view is fine too
    assert png.is_intact(data) and data == png.encode_photo(img[:, ::-1].copy())
    assert (b"fdEC" in data) == with_fpng  # the encoder that was asked for made it
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), img[:, ::-1])
    cv = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED).reshape(shape)
    assert np.array_equal(cv[..., [2, 1, 0, 3][: shape[2]]], img[:, ::-1])


def test_arrays_fpng_cannot_take_go_to_encode_png():
    grey = np.random.default_rng(4).integers(0, 256, (6, 5), dtype=np.uint8)
    assert png.encode_photo(grey) == png.encode_png(grey, png.FILTER_SUB)
    with pytest.raises(ValueError):
        png.encode_photo(np.zeros((4, 4, 3), np.float32))
