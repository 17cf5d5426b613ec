"""Post-effects against independently computed values (no GL needed)."""

from __future__ import annotations

import colorsys

import numpy as np

from segsim.render.postfx import apply_postfx, gaussian_noise
from segsim.scene.spec import PostFX

RNG = np.random.default_rng(0)
IMG = RNG.integers(30, 226, (40, 50, 3), dtype=np.uint8)


def test_identity_returns_an_equal_copy():
    out = apply_postfx(IMG, PostFX())
    assert np.array_equal(out, IMG) and out is not IMG


def test_brightness_and_contrast():
    out = apply_postfx(IMG, PostFX(brightness=0.1)).astype(int)
    assert np.abs(out - np.clip(IMG.astype(int) + 25.5, 0, 255)).max() <= 1
    out = apply_postfx(IMG, PostFX(contrast=1.5)).astype(int)
    expected = np.clip((IMG.astype(float) - 127.5) * 1.5 + 127.5, 0, 255)
    assert np.abs(out - expected).max() <= 1


def test_zero_saturation_gives_the_luma_grey():
    out = apply_postfx(IMG, PostFX(saturation=0.0)).astype(float)
    luma = IMG.astype(float) @ np.array([0.299, 0.587, 0.114])
    assert np.abs(out - luma[..., None]).max() <= 1


def test_hue_shift_moves_hue_and_keeps_grey():
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 200
    red[..., 1:] = 40
    out = apply_postfx(red, PostFX(hue_shift=30.0))[0, 0] / 255.0
    h_in = colorsys.rgb_to_hsv(200 / 255, 40 / 255, 40 / 255)[0]
    h_out = colorsys.rgb_to_hsv(*out)[0]
    assert 20 / 360 < (h_out - h_in) % 1.0 < 40 / 360
    grey = np.full((4, 4, 3), 120, np.uint8)
    assert np.array_equal(apply_postfx(grey, PostFX(hue_shift=77.0)), grey)


def test_blur_smooths_and_noise_is_seeded_with_the_right_spread():
    step = np.zeros((20, 20, 3), np.uint8)
    step[:, 10:] = 200
    blurred = apply_postfx(step, PostFX(blur_sigma=1.5)).astype(int)
    assert 0 < blurred[5, 9, 0] < 200 and blurred[5, 0, 0] == 0
    flat = np.full((200, 200, 3), 128, np.uint8)
    a = apply_postfx(flat, PostFX(noise_std=5.0, seed=1)).astype(float)
    b = apply_postfx(flat, PostFX(noise_std=5.0, seed=1)).astype(float)
    c = apply_postfx(flat, PostFX(noise_std=5.0, seed=2)).astype(float)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert abs((a - 128).std() - 5.0) < 0.3 and abs((a - 128).mean()) < 0.3
    big = gaussian_noise((1500, 1200, 3), 2.0, 3)  # beyond the bank: drawn directly
    assert big.shape == (1500, 1200, 3) and abs(big.std() - 2.0) < 0.05
