"""Training augmentation with albumentations, applied identically to image and mask.

Geometry (random resized crop to the training size, flips, rotation) moves image and mask
together; the mask always uses nearest-neighbour interpolation so no new class ids appear, and
pixels brought in by rotation are 255 (ignore) in the mask. Photometric changes (colour jitter,
blur, noise) touch the image only.

albumentations keeps its own random state, independent of numpy's global seed, so the dataset
reseeds the pipeline per sample from (seed, epoch, index): augmentation is then a pure function
of those three numbers, the same whatever the number of loader workers.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from segsim.imaging import resize_image
from segsim.labels import IGNORE_INDEX
from segsim.train.config import AugmentConfig


def build_train_transform(
    cfg: AugmentConfig,
    size: tuple[int, int],
    ignore_index: int = IGNORE_INDEX,
    class_names: list[str] | None = None,
):
    """The training pipeline; with `photo_background` a photo backdrop goes in first (it needs
    the dataset's `class_names` to find the background class; `auto` is resolved by the loaders,
    which know the data: unresolved here, it is off)."""
    from segsim.train.backdrop import photo_backdrop

    compose = _compose(cfg, size, ignore_index)
    share = cfg.photo_background if cfg.enabled and cfg.photo_background != "auto" else 0.0
    backdrop = photo_backdrop(share, class_names)
    return compose if backdrop is None else Backdropped(backdrop, compose)


class Backdropped:
    """A photo backdrop, then the albumentations pipeline, seeded together (see `apply`)."""

    def __init__(self, backdrop, compose):
        self.backdrop, self.compose, self.seed = backdrop, compose, 0

    def set_random_seed(self, seed: int) -> None:
        self.seed = seed
        self.compose.set_random_seed(seed)

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> dict:
        rng = np.random.default_rng([self.seed, 0xBAC])
        return self.compose(image=self.backdrop(image, mask, rng), mask=mask)


def _compose(cfg: AugmentConfig, size: tuple[int, int], ignore_index: int):
    import albumentations as A

    h, w = size
    cfg = effective(cfg)
    if not cfg.enabled:
        return A.Compose(
            [
                A.Resize(
                    h,
                    w,
                    interpolation=cv2.INTER_LINEAR,
                    mask_interpolation=cv2.INTER_NEAREST,
                    area_for_downscale="image",
                )
            ]
        )
    # area_for_downscale: shrink with area averaging, as the predictor does, so training sees the
    # same (unaliased) pixels that inference will.
    ops = [
        A.RandomResizedCrop(
            size=(h, w),
            scale=tuple(cfg.scale),
            ratio=tuple(cfg.ratio),
            interpolation=cv2.INTER_LINEAR,
            mask_interpolation=cv2.INTER_NEAREST,
            area_for_downscale="image",
            p=1.0,
        )
    ]
    if cfg.hflip > 0:
        ops.append(A.HorizontalFlip(p=cfg.hflip))
    if cfg.vflip > 0:
        ops.append(A.VerticalFlip(p=cfg.vflip))
    if cfg.rotate > 0 and cfg.rotate_p > 0:
        ops.append(
            A.Affine(
                rotate=(-cfg.rotate, cfg.rotate),
                interpolation=cv2.INTER_LINEAR,
                mask_interpolation=cv2.INTER_NEAREST,
                border_mode=cv2.BORDER_CONSTANT,
                fill=0,
                fill_mask=ignore_index,
                p=cfg.rotate_p,
            )
        )
    if cfg.color_jitter > 0:
        ops.append(
            A.ColorJitter(
                brightness=cfg.brightness,
                contrast=cfg.contrast,
                saturation=cfg.saturation,
                hue=cfg.hue,
                p=cfg.color_jitter,
            )
        )
    if cfg.grayscale > 0:
        ops.append(A.ToGray(p=cfg.grayscale))
    if cfg.blur > 0:
        ops.append(A.GaussianBlur(blur_limit=(3, 5), sigma_limit=(0.3, 1.5), p=cfg.blur))
    if cfg.motion_blur > 0:
        ops.append(A.MotionBlur(blur_limit=(3, 7), p=cfg.motion_blur))
    if cfg.noise > 0:
        ops.append(A.GaussNoise(std_range=(0.02, 0.08), p=cfg.noise))
    if cfg.jpeg > 0:  # last, as a camera's or a website's encoder is
        lo, hi = cfg.jpeg_quality
        ops.append(A.ImageCompression(quality_range=(lo, hi), p=cfg.jpeg))
    return A.Compose(ops)


STRONG = {
    "color_jitter": 0.8,
    "blur": 0.3,
    "noise": 0.3,
    "grayscale": 0.1,
    "jpeg": 0.5,
    "motion_blur": 0.2,
}


def effective(cfg: AugmentConfig) -> AugmentConfig:
    """The config with `strong`'s probabilities applied (each raised to at least STRONG's)."""
    if not cfg.strong:
        return cfg
    return cfg.model_copy(update={k: max(getattr(cfg, k), v) for k, v in STRONG.items()})


def crop_source_size(
    frame_hw: tuple[int, int], size: tuple[int, int], cfg: AugmentConfig
) -> tuple[int, int] | None:
    """The smallest frame size (same aspect) from which every training crop still shrinks to
    `size`, or None when the frame is no larger than that already.

    A random resized crop keeps at least sqrt(scale_min / ratio_max) of the frame's height and
    sqrt(scale_min * ratio_min) of its width; without augmentation the whole frame is resized."""
    h, w = frame_hw
    fh = fw = 1.0
    if cfg.enabled:
        fh = math.sqrt(cfg.scale[0] / cfg.ratio[1])
        fw = math.sqrt(cfg.scale[0] * cfg.ratio[0])
    k = max(size[0] / (h * min(fh, 1.0)), size[1] / (w * min(fw, 1.0)))
    if k >= 1:
        return None
    return math.ceil(h * k), math.ceil(w * k)


def shrink_for_crops(
    image: np.ndarray, mask: np.ndarray, size: tuple[int, int], cfg: AugmentConfig
):
    """Shrink a training frame once (at caching) to crop_source_size: its crops still shrink to
    the model's size, but each step's crop + resize then works on several times fewer pixels
    (most of the data time of a step)."""
    target = crop_source_size(image.shape[:2], size, cfg)
    if target is None:
        return image, mask
    h, w = target
    return (
        cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA),
        cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST),
    )


def resize_for_model(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Whole frame -> model input size: the very function segsim.infer's "whole" mode uses, so
    validation scores frames exactly as `segsim evaluate` does."""
    return resize_image(rgb, size)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """A 32-bit seed that depends only on (seed, epoch, index)."""
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, epoch, index]).generate_state(1)[0])


def apply(
    transform, image: np.ndarray, mask: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    transform.set_random_seed(seed)
    out = transform(image=image, mask=mask)
    return out["image"], out["mask"]
