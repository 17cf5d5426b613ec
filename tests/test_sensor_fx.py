"""Sensor and photo effects (SensorFX): each does what it says, on RGB only, deterministically."""

from __future__ import annotations

import json

import numpy as np
import pytest

from segsim.render.postfx import apply_postfx, disc_kernel, jpeg, motion_kernel
from segsim.scene.spec import PostFX, SensorFX


def _image(h=64, w=80):
    rng = np.random.default_rng(0)
    img = np.full((h, w, 3), 128, np.uint8)
    img[:, w // 2 :] = 200
    img[h // 3 : h // 2] = rng.integers(0, 255, (h // 2 - h // 3, w, 3))
    return img


def test_no_sensor_is_the_old_path():
    img = _image()
    pfx = PostFX(noise_std=3.0, seed=4, contrast=1.1)
    assert np.array_equal(apply_postfx(img, pfx), apply_postfx(img, pfx, None))
    assert np.array_equal(apply_postfx(img, PostFX(), SensorFX()), img)  # identity sensor


@pytest.mark.parametrize(
    "fx",
    [
        SensorFX(exposure=1.0),
        SensorFX(white_balance=(1.3, 1.0, 0.8)),
        SensorFX(gamma=1.5),
        SensorFX(vignette=0.5),
        SensorFX(chromatic=2.0),
        SensorFX(motion_length=6.0, motion_angle=30.0),
        SensorFX(defocus_radius=2.0),
        SensorFX(jpeg_quality=20),
    ],
)
def test_each_effect_changes_the_image_and_is_deterministic(fx):
    img = _image()
    a, b = apply_postfx(img, PostFX(), fx), apply_postfx(img, PostFX(), fx)
    assert a.dtype == np.uint8 and a.shape == img.shape
    assert np.array_equal(a, b)
    assert np.abs(a.astype(int) - img).mean() > 0.3
    assert np.array_equal(img, _image())  # input untouched


def test_effects_go_the_right_way():
    flat = np.full((64, 64, 3), 100, np.uint8)
    none = PostFX()
    assert apply_postfx(flat, none, SensorFX(exposure=1.0)).mean() > 120
    wb = apply_postfx(flat, none, SensorFX(white_balance=(1.5, 1.0, 0.6))).reshape(-1, 3).mean(0)
    assert wb[0] > wb[1] > wb[2]
    v = apply_postfx(flat, none, SensorFX(vignette=0.6)).astype(int)
    assert v[32, 32].mean() >= 98 and v[0, 0].mean() < 80  # centre kept, corners darker
    assert apply_postfx(flat, none, SensorFX(gamma=2.0)).mean() > 100  # brighter mid-tones
    # chromatic aberration: a white dot near the corner spreads red and blue apart
    dot = np.zeros((64, 64, 3), np.uint8)
    dot[6:9, 6:9] = 255
    ca = apply_postfx(dot, none, SensorFX(chromatic=3.0)).astype(float)
    yy, xx = np.mgrid[0:64, 0:64]
    red = (ca[..., 0] * xx).sum() / ca[..., 0].sum()
    blue = (ca[..., 2] * xx).sum() / ca[..., 2].sum()
    assert red < blue  # red pushed outward (toward x = 0), blue inward
    # motion blur is a line: at 0 degrees a vertical edge spreads along x only
    k = motion_kernel(7.0, 0.0)
    assert k.sum() == pytest.approx(1.0) and k[k.shape[0] // 2].sum() > 0.75
    assert k[:, k.shape[1] // 2].sum() < 0.2
    assert disc_kernel(2.0).sum() == pytest.approx(1.0)
    noisy = _image()
    assert (
        np.abs(jpeg(noisy, 10).astype(int) - noisy).mean()
        > np.abs(jpeg(noisy, 95).astype(int) - noisy).mean()
    )


def test_sensor_config_draws_per_frame_and_reaches_meta_and_rgb_only(tmp_path):
    from render_fixtures import get_renderer
    from segsim.dataset.meta import frame_meta
    from segsim.scene.config import load_scene_config
    from segsim.scene.randomize import sample_scene

    plain = load_scene_config("shapes")
    cfg = load_scene_config("shapes", overrides={"postfx": {"sensor": {"jpeg_probability": 1}}})
    assert "sensor" not in plain.model_dump()["postfx"]
    assert cfg.model_dump()["postfx"]["sensor"]["jpeg_probability"] == 1
    r = get_renderer(48, 48)
    for i in range(3):
        a, b = sample_scene(plain, 7, i, 48, 48), sample_scene(cfg, 7, i, 48, 48)
        assert a.sensor is None and b.sensor is not None and b.sensor.jpeg_quality >= 30
        assert sample_scene(cfg, 7, i, 48, 48).sensor == b.sensor  # a function of (seed, i)
        assert "sensor" not in json.dumps(frame_meta(a, i, "train", 7))
        assert frame_meta(b, i, "train", 7)["sensor"]["jpeg_quality"] == b.sensor.jpeg_quality
        fa, fb = r.render(a), r.render(b)
        assert np.array_equal(fa.class_ids, fb.class_ids)  # labels and depth untouched
        assert np.array_equal(fa.depth, fb.depth)
        assert not np.array_equal(fa.rgb, fb.rgb)
