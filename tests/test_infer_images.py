"""read_image: every kind of file a user may hand us -> RGB uint8, or an error naming the file."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from segsim.errors import SegsimError
from segsim.fileio import read_image
from segsim.infer.images import write_png
from segsim.infer.overlay import overlay
from segsim.labels import LabelSet


def _rgb(h=12, w=17, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _png_bytes(im: Image.Image, fmt="PNG", **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_rgb_png_round_trips_from_path_and_bytes(tmp_path):
    rgb = _rgb()
    write_png(tmp_path / "a.png", rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgb)
    np.testing.assert_array_equal(read_image((tmp_path / "a.png").read_bytes()), rgb)
    assert not list(tmp_path.glob(".*tmp"))  # the atomic writer cleaned up


def test_grey_palette_and_rgba_become_rgb():
    grey = np.arange(12 * 17, dtype=np.uint8).reshape(12, 17)
    out = read_image(_png_bytes(Image.fromarray(grey)))
    assert out.shape == (12, 17, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)

    rgb = _rgb()
    rgba = np.concatenate([rgb, np.full((12, 17, 1), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(read_image(_png_bytes(Image.fromarray(rgba, "RGBA"))), rgb)

    pal = Image.fromarray(np.array([[0, 1], [2, 1]], np.uint8), "P")
    pal.putpalette([10, 20, 30, 200, 100, 0, 5, 250, 5] + [0] * (256 * 3 - 9))
    want = np.array([[[10, 20, 30], [200, 100, 0]], [[5, 250, 5], [200, 100, 0]]], np.uint8)
    np.testing.assert_array_equal(read_image(_png_bytes(pal)), want)


def test_sixteen_bit_grey_is_scaled_to_eight_bit():
    values = np.array([[0, 257, 65535], [32896, 1000, 514]], np.uint16)
    out = read_image(_png_bytes(Image.fromarray(values)))
    want = np.rint(values.astype(np.float64) / 257).astype(np.uint8)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], want)


def test_jpeg_decodes_close_to_the_original():
    rgb = np.kron(_rgb(4, 4), np.ones((8, 8, 1), np.uint8))  # smooth enough for JPEG
    out = read_image(_png_bytes(Image.fromarray(rgb), "JPEG", quality=95))
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb).mean() < 8


def test_exif_orientation_is_applied():
    rgb = _rgb(10, 20)
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    out = read_image(_png_bytes(im, "JPEG", quality=95, exif=exif.tobytes()))
    assert out.shape == (20, 10, 3)


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"this is not an image at all", "not an image format"),
        (None, "corrupt or truncated"),  # a PNG cut in half
    ],
)
def test_unreadable_files_name_the_file(tmp_path, content, words):
    if content is None:
        content = _png_bytes(Image.fromarray(_rgb(64, 64)))[:300]
    path = tmp_path / "photo.png"
    path.write_bytes(content)
    with pytest.raises(SegsimError) as e:
        read_image(path)
    assert "photo.png" in e.value.message and words in e.value.message


def test_missing_file_and_pixel_limit(tmp_path):
    with pytest.raises(SegsimError, match="not found"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(SegsimError) as e:
        read_image(_png_bytes(Image.fromarray(_rgb(30, 40))), name="upload", max_pixels=1000)
    assert e.value.status_code == 413 and "upload" in e.value.message


def test_overlay_blends_by_alpha_and_leaves_ignored_pixels():
    labels = LabelSet.from_names(["background", "a", "b"])
    rgb = _rgb(6, 7)
    mask = np.random.default_rng(1).integers(0, 3, (6, 7)).astype(np.uint8)
    mask[0, 0] = labels.ignore_index
    colours = np.array([lab.color for lab in labels.labels] + [(0, 0, 0)] * 253, np.float64)
    for alpha in (0.0, 0.3, 1.0):
        out = overlay(rgb, mask, labels, alpha)
        want = np.rint(rgb * (1 - alpha) + colours[mask] * alpha).astype(np.uint8)
        want[0, 0] = rgb[0, 0]
        np.testing.assert_array_equal(out, want)
    with pytest.raises(SegsimError):
        overlay(rgb, mask, labels, alpha=1.5)


def test_sixteen_bit_rgb_and_float_tiff(tmp_path):
    import cv2

    rgb16 = np.random.default_rng(3).integers(0, 65536, (5, 6, 3)).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), rgb16[:, :, ::-1])  # OpenCV writes BGR
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png"), (rgb16 >> 8).astype(np.uint8))

    f = np.random.default_rng(4).random((4, 5)).astype(np.float32)  # 0..1 floats
    Image.fromarray(f, "F").save(tmp_path / "float.tif")
    np.testing.assert_array_equal(
        read_image(tmp_path / "float.tif")[:, :, 1], np.rint(f * 255).astype(np.uint8)
    )
