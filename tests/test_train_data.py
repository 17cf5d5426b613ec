"""Augmentation, loaders, config and learning-rate schedule: the pieces of training, alone."""

import cv2
import numpy as np
import pytest
import torch

from segsim.errors import SegsimError
from segsim.train import augment
from segsim.train.config import (
    AugmentConfig,
    ScheduleConfig,
    TrainConfig,
    load_train_config,
)
from segsim.train.data import EpochSampler, pad_collate
from segsim.train.module import lr_factor

PALETTE = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)


def _blocky(size=64):
    """A mask of big blocks and an image that is exactly the mask's colour: after geometric
    augmentation the image colour must still name the mask class (away from edges)."""
    rng = np.random.default_rng(0)
    small = rng.integers(0, 4, (8, 8)).astype(np.uint8)
    mask = np.kron(small, np.ones((size // 8, size // 8), np.uint8))
    return PALETTE[mask], mask


def _geometry_only(**kw):
    base = dict(color_jitter=0, blur=0, noise=0, hflip=0.5, vflip=0.5, rotate=30, rotate_p=1.0)
    base.update(kw)
    return AugmentConfig(**base)


def test_geometry_moves_image_and_mask_together():
    image, mask = _blocky()
    tf = augment.build_train_transform(_geometry_only(), (96, 80))
    agree = []
    for i in range(10):
        img2, m2 = augment.apply(tf, image, mask, augment.sample_seed(0, 0, i))
        assert img2.shape == (96, 80, 3) and m2.shape == (96, 80)
        assert set(np.unique(m2)) <= {0, 1, 2, 3, 255}  # nearest: no new ids appear
        decoded = np.argmin(
            ((img2[:, :, None, :].astype(int) - PALETTE[None, None]) ** 2).sum(-1), axis=-1
        )
        # interior pixels only: where the 5x5 neighbourhood holds one class, interpolation
        # cannot blend colours, so the image colour must name exactly the mask's class
        lo = cv2.erode(m2, np.ones((5, 5), np.uint8))
        hi = cv2.dilate(m2, np.ones((5, 5), np.uint8))
        keep = (lo == hi) & (m2 != 255)
        assert keep.mean() > 0.3
        agree.append((decoded[keep] == m2[keep]).mean())
    assert min(agree) > 0.99


def test_rotation_padding_is_ignore_in_the_mask():
    image, mask = _blocky()
    tf = augment.build_train_transform(
        _geometry_only(rotate=45, hflip=0, vflip=0, scale=(1.0, 1.0), ratio=(1.0, 1.0)), (64, 64)
    )
    seen = False
    for i in range(8):
        img2, m2 = augment.apply(tf, image, mask, augment.sample_seed(0, 0, i))
        pad = m2 == 255
        if pad.any():
            seen = True
            inner = cv2.erode(pad.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            assert (img2[inner] == 0).all()  # image padded with black where the mask says ignore
            assert pad[0, 0] or pad[0, -1] or pad[-1, 0] or pad[-1, -1]  # corners rotate out
    assert seen


def test_augmentation_is_a_function_of_seed_epoch_index():
    image, mask = _blocky()
    tf = augment.build_train_transform(AugmentConfig(), (32, 32))
    a = augment.apply(tf, image, mask, augment.sample_seed(7, 3, 5))
    augment.apply(tf, image, mask, augment.sample_seed(7, 3, 6))  # state in between must not leak
    b = augment.apply(tf, image, mask, augment.sample_seed(7, 3, 5))
    c = augment.apply(tf, image, mask, augment.sample_seed(7, 4, 5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_photometric_changes_leave_the_mask_alone():
    image, mask = _blocky()
    cfg = AugmentConfig(
        hflip=0,
        vflip=0,
        rotate=0,
        scale=(1.0, 1.0),
        ratio=(1.0, 1.0),
        color_jitter=1.0,
        blur=1.0,
        noise=1.0,
    )
    tf = augment.build_train_transform(cfg, (64, 64))
    img2, m2 = augment.apply(tf, image, mask, 1)
    np.testing.assert_array_equal(m2, mask)
    assert not np.array_equal(img2, image)


def test_epoch_sampler_order_depends_on_seed_and_epoch_only():
    s = EpochSampler(10, seed=3)
    s.set_epoch(2)
    a = list(s)
    assert sorted(i for _, i in a) == list(range(10)) and all(e == 2 for e, _ in a)
    s2 = EpochSampler(10, seed=3)
    s2.set_epoch(2)
    assert list(s2) == a
    s2.set_epoch(3)
    assert [i for _, i in s2] != [i for _, i in a]


def test_pad_collate_pads_mask_with_ignore():
    a = (torch.ones(3, 4, 5, dtype=torch.uint8), torch.zeros(4, 5, dtype=torch.uint8))
    b = (torch.ones(3, 6, 3, dtype=torch.uint8), torch.ones(6, 3, dtype=torch.uint8))
    images, masks = pad_collate([a, b])
    assert images.shape == (2, 3, 6, 5) and masks.shape == (2, 6, 5)
    assert (masks[0, 4:] == 255).all() and (masks[1, :, 3:] == 255).all()
    assert (images[0, :, 4:] == 0).all() and (masks[0, :4, :5] == 0).all()


def test_config_defaults_overrides_and_typos(tmp_path):
    cfg = TrainConfig()
    assert cfg.model.name is None  # -> the registry's DEFAULT_MODEL at train time
    f = tmp_path / "c.yaml"
    f.write_text("optim:\n  lr: 0.5\ninput:\n  size: 64\n")
    cfg = load_train_config(f, {"optim": {"name": "sgd"}})
    assert cfg.optim.lr == 0.5 and cfg.optim.name == "sgd" and cfg.input.size == (64, 64)
    with pytest.raises(SegsimError, match=r"optim\.lrr: unknown field"):
        load_train_config(None, {"optim": {"lrr": 1}})
    with pytest.raises(SegsimError, match=r"optim\.name"):
        load_train_config(None, {"optim": {"name": "adam"}})
    with pytest.raises(SegsimError, match="trainer.epochs"):
        load_train_config(None, {"trainer": {"epochs": 0}})


def test_poly_schedule_shape():
    cfg = ScheduleConfig(name="poly", power=1.0, warmup=0.1)
    assert lr_factor(0.05, cfg) == pytest.approx(0.5)  # half-way through warmup
    assert lr_factor(0.1, cfg) == pytest.approx(1.0)
    assert lr_factor(0.55, cfg) == pytest.approx(0.5)  # linear decay (power 1) after warmup
    assert lr_factor(1.0, cfg) == 0.0
    assert lr_factor(2.0, cfg) == 0.0  # past the end (time budget overrun) stays at 0


def test_onecycle_schedule_shape():
    cfg = ScheduleConfig(name="onecycle", pct_start=0.25, div_factor=10, final_div_factor=100)
    assert lr_factor(0.0, cfg) == pytest.approx(0.1)
    assert lr_factor(0.25, cfg) == pytest.approx(1.0)
    assert lr_factor(1.0, cfg) == pytest.approx(0.1 / 100)
    xs = np.linspace(0, 1, 50)
    ys = [lr_factor(x, cfg) for x in xs]
    assert int(np.argmax(ys)) == int(np.argmin(abs(xs - 0.25)))


def test_pad_collate_whole_mode_keeps_true_mask_sizes():
    # images already at the model size, masks at their own (different) sizes
    a = (torch.zeros(3, 8, 8, dtype=torch.uint8), torch.zeros(10, 12, dtype=torch.uint8))
    b = (torch.zeros(3, 8, 8, dtype=torch.uint8), torch.ones(14, 9, dtype=torch.uint8))
    images, masks, sizes = pad_collate([a, b])
    assert images.shape == (2, 3, 8, 8) and masks.shape == (2, 14, 12)
    assert sizes.tolist() == [[10, 12], [14, 9]]


def test_whole_mode_validation_resizes_logits_back_per_item():
    from segsim.train.module import SegModule

    logits = torch.zeros(2, 2, 4, 4)
    logits[:, 0, :, :2] = 5.0  # left half class 0, right half class 1 at model size
    logits[:, 1, :, 2:] = 5.0
    sizes = torch.tensor([[6, 8], [4, 10]])
    out = SegModule._resize_logits(logits, (6, 10), sizes)
    assert out.shape == (2, 2, 6, 10)
    pred = out.argmax(1)
    assert (pred[0, :6, :4] == 0).all() and (pred[0, :6, 4:8] == 1).all()
    assert (pred[1, :4, :5] == 0).all() and (pred[1, :4, 5:10] == 1).all()


def test_device_resolution_on_a_cpu_machine(monkeypatch):
    from segsim.train.trainer import resolve_devices

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    acc, precision, channels_last, det = resolve_devices(TrainConfig())
    assert (acc, precision, channels_last, det) == ("cpu", "32-true", False, True)
    with pytest.raises(SegsimError, match="needs a CUDA GPU"):
        resolve_devices(load_train_config(None, {"trainer": {"precision": "bf16-mixed"}}))
    with pytest.raises(SegsimError, match="no CUDA GPU"):
        resolve_devices(load_train_config(None, {"trainer": {"accelerator": "gpu"}}))


def test_device_resolution_with_cuda(monkeypatch):
    from segsim.train.trainer import resolve_devices

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    acc, precision, channels_last, det = resolve_devices(TrainConfig())
    assert (acc, precision, channels_last, det) == ("gpu", "bf16-mixed", True, "warn")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert resolve_devices(TrainConfig())[1] == "16-mixed"
    assert resolve_devices(load_train_config(None, {"trainer": {"accelerator": "cpu"}}))[:3] == (
        "cpu",
        "32-true",
        False,
    )


@pytest.mark.parametrize(
    "frame_hw,aug",
    [
        ((256, 256), AugmentConfig()),
        ((480, 640), AugmentConfig()),
        ((400, 300), AugmentConfig(scale=(0.3, 1.0), ratio=(0.75, 1.33))),
        ((256, 256), AugmentConfig(enabled=False)),
    ],
)
def test_frames_are_shrunk_only_as_far_as_every_crop_still_shrinks(frame_hw, aug):
    size = (96, 96)
    h, w = augment.crop_source_size(frame_hw, size, aug)
    assert h < frame_hw[0] and abs(w / h - frame_hw[1] / frame_hw[0]) < 0.02  # aspect kept
    image, mask = _blocky(256)
    image, mask = (
        cv2.resize(image, frame_hw[::-1]),
        cv2.resize(mask, frame_hw[::-1], interpolation=cv2.INTER_NEAREST),
    )
    small, small_mask = augment.shrink_for_crops(image, mask, size, aug)
    assert small.shape[:2] == small_mask.shape == (h, w) and set(np.unique(small_mask)) <= set(
        np.unique(mask)
    )
    # the smallest crop the augmentation can take, at the extreme aspect ratios, is never smaller
    # than the model input: the crop is still shrunk (area-averaged), never enlarged
    lo = aug.scale[0] if aug.enabled else 1.0
    r_lo, r_hi = aug.ratio if aug.enabled else (1.0, 1.0)
    assert h * np.sqrt(lo / r_hi) >= size[0] - 1e-6 and w * np.sqrt(lo * r_lo) >= size[1] - 1e-6
    # and it is the smallest such frame, to the pixel
    assert (h - 1) * np.sqrt(lo / r_hi) < size[0] or (w - 1) * np.sqrt(lo * r_lo) < size[1]


def test_frames_no_larger_than_the_crops_are_kept_as_they_are():
    image, mask = _blocky(64)
    assert augment.crop_source_size((64, 64), (96, 96), AugmentConfig()) is None
    out, out_mask = augment.shrink_for_crops(image, mask, (96, 96), AugmentConfig())
    assert out is image and out_mask is mask


@pytest.mark.parametrize("cache", [True, False])
def test_loaders_train_on_shrunk_frames_and_validate_like_the_predictor(tmp_path, cache):
    from segsim.dataset.reader import open_dataset
    from segsim.train.data import make_loaders
    from train_fixtures import make_dataset

    make_dataset(tmp_path / "d", counts=(8, 4, 4), size=64)
    cfg = load_train_config(
        None, {"input": {"size": 24}, "data": {"cache": cache}, "trainer": {"batch_size": 4}}
    )
    index = open_dataset(tmp_path / "d")
    train, val, store = make_loaders(cfg, index, progress=False)
    assert store.get(0)[0].shape[:2] == augment.crop_source_size((64, 64), (24, 24), cfg.augment)
    images, masks = next(iter(train))
    assert images.shape == (4, 3, 24, 24) and masks.shape == (4, 24, 24)
    v_images, v_masks = next(iter(val))[:2]
    frame, label = index.load(*index.split("val")[0])
    assert v_images.shape[-2:] == (24, 24) and v_masks.shape[-2:] == (64, 64)
    assert np.array_equal(
        v_images[0].permute(1, 2, 0).numpy(), augment.resize_for_model(frame, (24, 24))
    )
    assert np.array_equal(v_masks[0].numpy(), label)


def test_cache_budget_counts_frames_as_the_stores_keep_them(tmp_path):
    from segsim.dataset.reader import open_dataset
    from segsim.train.data import kept_bytes, make_loaders, should_cache
    from train_fixtures import make_dataset

    make_dataset(tmp_path / "d", counts=(8, 4, 4), size=256)
    index = open_dataset(tmp_path / "d")
    cfg = load_train_config(
        None, {"data": {"cache": True}}
    )  # input 96: train frames kept at 110 px
    train, val, store = make_loaders(cfg, index, progress=False)
    val_store = val.dataset.store
    frame, label = index.load(*index.split("train")[0])
    train_bytes, val_bytes = (
        kept_bytes(frame, label, store.prepare),
        kept_bytes(frame, label, val_store.prepare),
    )
    assert train_bytes == 110 * 110 * 4 and val_bytes == 96 * 96 * 3 + 256 * 256
    assert sum(a.nbytes + b.nbytes for a, b in store.cached) == 8 * train_bytes
    assert sum(a.nbytes + b.nbytes for a, b in val_store.cached) == 4 * val_bytes
    # 8 + 4 frames take ~0.75 MB as kept (3 MB at full size): 1 MB holds them, not four times as
    # many
    auto = load_train_config(None, {"data": {"cache_max_mb": 1}})
    assert should_cache(auto, index, [(8, store.prepare), (4, val_store.prepare)])
    assert not should_cache(auto, index, [(32, store.prepare), (16, val_store.prepare)])
    assert not should_cache(auto, index, [(8, None), (4, None)])  # the same frames at full size
    assert kept_bytes(frame, label) == 256 * 256 * 4  # "native" validation keeps frames whole
