"""The training config: one pydantic model holding everything `segsim train` does.

Defaults are the documented recipe for the `shapes` preset (generate + train with no flags).
Every field can be set in a YAML file (`--config`) and overridden on the command line
(`optim.lr=0.001`); unknown fields are errors (extra="forbid"), so a typo never goes unnoticed.
The resolved config is saved as RUN/config.yaml and inside every checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from segsim.config import deep_merge, load_yaml, validate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class MixSource(_Strict):
    """One more dataset to train on beside data.root (train/mixing.py)."""

    root: str
    weight: float = Field(1.0, gt=0)  # share of each epoch's samples, against data.mix_weight
    layout: Literal["auto", "segsim", "voc", "cityscapes", "carla", "folder"] = "auto"
    palette: str | list | dict | None = None
    split: str = "train"


class DataConfig(_Strict):
    root: str | None = None  # set by --data
    layout: Literal["auto", "segsim", "voc", "cityscapes", "carla", "folder"] = "auto"
    palette: str | list | dict | None = None  # label spec (or a path to one) for colour masks
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)  # flat images/ + masks/ only
    split_seed: int = 0
    train_split: str = "train"
    val_split: str = "val"
    # Decode every frame once into RAM when the split fits in cache_max_mb: PNG decoding was the
    # largest per-step cost after the model on two cores.
    cache: bool | Literal["auto"] = "auto"
    cache_max_mb: int = Field(3072, ge=0)
    num_workers: int | Literal["auto"] = "auto"
    val_max_images: int | None = Field(None, ge=1)  # validate on the first N val frames only
    # More datasets mixed into training (validation stays on data.root); each sample is drawn
    # from a dataset by weight, data.root having mix_weight. Label sets must match data.root's.
    mix: list[MixSource] = Field(default_factory=list)
    mix_weight: float = Field(1.0, gt=0)


class ModelConfig(_Strict):
    name: str | None = None  # None -> the registry's DEFAULT_MODEL
    kwargs: dict[str, Any] = Field(default_factory=dict)
    freeze_encoder: bool = False  # no gradient for model.encoder's parameters
    freeze_bn: bool = False  # every BatchNorm in eval mode: running stats and affine fixed


class InputConfig(_Strict):
    # The model's input size (H, W): training crops are resized to it, and the predictor
    # ("whole" mode) stretches every frame to it, so it also sets the resolution of inference.
    # 96: on two CPU cores the recipe is bound by steps per minute. In the 4.5-minute recipe
    # (test mIoU, one run each) 96 px reached 0.70, against 0.69 at 112, 0.64 at 128 and 0.65
    # at 80: below 96 the steps barely get cheaper (fixed per-step costs) while detail is lost.
    size: tuple[int, int] = (96, 96)
    # Validation like `segsim evaluate`: "whole" = frame resized to `size`, logits resized back
    # and scored at the mask's size; "native" = the frame as it is.
    val_mode: Literal["whole", "native"] = "whole"
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    @field_validator("size", mode="before")
    @classmethod
    def _square(cls, v):
        return (v, v) if isinstance(v, int) else v

    @field_validator("size")
    @classmethod
    def _positive(cls, v):
        if min(v) < 8:
            raise ValueError("training size must be at least 8x8")
        return v


class AugmentConfig(_Strict):
    enabled: bool = True
    hflip: float = Field(0.5, ge=0, le=1)  # probabilities
    vflip: float = Field(0.0, ge=0, le=1)
    # Random resized crop to input.size: area fraction and aspect range of the crop.
    # Defaults are light on purpose: segsim's generator already randomizes colour, lighting,
    # noise and blur per frame, and on a CPU every augmentation costs steps the short recipe
    # needs (mild crops + flips learned fastest on shapes). Raise them for real-photo datasets.
    scale: tuple[float, float] = (0.85, 1.0)
    ratio: tuple[float, float] = (0.9, 1.1)
    rotate: float = Field(15.0, ge=0, le=180)  # degrees, +-; padding is ignore (255) in the mask
    rotate_p: float = Field(0.0, ge=0, le=1)
    color_jitter: float = Field(0.0, ge=0, le=1)
    brightness: float = Field(0.25, ge=0)
    contrast: float = Field(0.25, ge=0)
    saturation: float = Field(0.25, ge=0)
    hue: float = Field(0.03, ge=0, le=0.5)
    blur: float = Field(0.0, ge=0, le=1)
    noise: float = Field(0.0, ge=0, le=1)
    # For transfer to photos (off by default: the generator already randomizes these per frame)
    grayscale: float = Field(0.0, ge=0, le=1)  # probability of a grey-scale image
    jpeg: float = Field(0.0, ge=0, le=1)  # probability of JPEG re-compression
    jpeg_quality: tuple[int, int] = (30, 95)
    motion_blur: float = Field(0.0, ge=0, le=1)
    # probability that a frame's `background` pixels show a crop of a library photo instead, a
    # new crop every epoch (cut-paste onto real photos, at training time; train/backdrop.py);
    # auto: 0.5 on a folder `segsim generate` wrote when photos are installed, else 0
    photo_background: float | Literal["auto"] = "auto"
    # strong: a preset of the above for training meant to work on photos (it raises, never
    # lowers, the probabilities: colour jitter 0.8, blur 0.3, noise 0.3, grey 0.1, JPEG 0.5,
    # motion blur 0.2)
    strong: bool = False

    @field_validator("photo_background")
    @classmethod
    def _share(cls, v):
        if v != "auto" and not 0 <= v <= 1:
            raise ValueError("photo_background must be auto or a probability in [0, 1]")
        return v


class LossConfig(_Strict):
    name: str = "ce_dice"  # see segsim.train.losses.list_losses()
    class_weights: None | Literal["auto"] | list[float] = None
    weighting: Literal["median_frequency", "inverse_log"] = "median_frequency"  # for "auto"
    dice_weight: float = Field(0.5, ge=0)  # ce_dice = ce + dice_weight * dice
    focal_gamma: float = Field(2.0, ge=0)
    label_smoothing: float = Field(0.0, ge=0, lt=1)


class OptimConfig(_Strict):
    name: Literal["adamw", "sgd"] = "adamw"
    lr: float = Field(3e-3, gt=0)
    weight_decay: float = Field(1e-4, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)  # sgd only
    nesterov: bool = True
    # The encoder's learning rate as a fraction of lr (its own param group; schedules scale both)
    encoder_lr_mult: float = Field(1.0, gt=0, le=1)


class ScheduleConfig(_Strict):
    name: Literal["poly", "onecycle", "constant"] = "poly"
    power: float = Field(0.9, gt=0)  # poly
    warmup: float = Field(0.03, ge=0, lt=1)  # fraction of training spent warming up (poly)
    pct_start: float = Field(0.25, gt=0, lt=1)  # onecycle
    div_factor: float = Field(25.0, gt=1)  # onecycle: start lr = lr / div_factor
    final_div_factor: float = Field(1e3, gt=1)  # onecycle: end lr = start lr / final_div_factor
    # Progress = max(steps done / planned steps, minutes used / trainer.max_minutes), so the
    # learning rate still anneals to its end value when the time budget, not the epoch count,
    # ends the run. Exact repeatability with --seed holds whenever the budget does not bind.
    time_aware: bool = True


class TrainerConfig(_Strict):
    epochs: int = Field(60, ge=1)
    # Small batches: on a CPU images/s barely depends on the batch, so more, smaller steps
    # learn more in a fixed time budget.
    batch_size: int = Field(8, ge=1)
    # Wall-time budget for training, validation included. 4.75: the recipe promises <= 5 minutes
    # of training, and caching the frames plus writing checkpoints take another ~10 s.
    max_minutes: float | None = Field(4.75, gt=0)
    grad_clip: float | None = Field(5.0, gt=0)
    precision: Literal["auto", "32", "bf16-mixed", "16-mixed"] = (
        "auto"  # auto: bf16/16 on CUDA only
    )
    channels_last: bool | Literal["auto"] = "auto"  # auto: on CUDA
    accelerator: Literal["auto", "cpu", "gpu"] = "auto"
    early_stopping: int | None = Field(15, ge=1)  # patience in validations; null = off
    val_every: int = Field(1, ge=1)  # epochs between validations
    log_every: int = Field(10, ge=1)  # steps between logged training losses
    seed: int = 0
    deterministic: bool = True
    progress: bool = True
    plot: bool = True
    # Data parallel (Lightning DDP: gloo on CPU, NCCL on GPU). devices: processes per node on
    # CPU, GPUs per node on GPU; launched by Lightning itself, by torchrun or by SLURM.
    devices: int | Literal["auto"] = 1
    num_nodes: int = Field(1, ge=1)
    strategy: Literal["auto", "ddp"] = "auto"  # auto: ddp whenever more than one process

    @field_validator("devices")
    @classmethod
    def _devices(cls, v):
        if v != "auto" and v < 1:
            raise ValueError("devices must be at least 1 (or auto)")
        return v


class StreamConfig(_Strict):
    """Training frames rendered on the fly (`segsim train --stream PRESET`): never one twice."""

    preset: str | None = None  # set by --stream
    scene_config: str | None = None  # YAML overriding the preset's fields (as generate --config)
    seed: int = Field(0, ge=0)  # scene seed of the training frames and of the fixed eval split
    size: int = Field(256, ge=8, le=8192)  # rendered frame side in pixels
    steps_per_epoch: int = Field(200, ge=1)  # batches per process between validations
    # The fixed validation/test split, generated once (cached) with `seed`; its small train
    # share only feeds loss.class_weights=auto.
    eval_count: int = Field(400, ge=2, lt=1 << 24)
    eval_fractions: tuple[float, float, float] = (0.1, 0.45, 0.45)
    eval_dir: str | None = None  # default: $SEGSIM_CACHE/stream-eval/<key>

    @field_validator("eval_fractions")
    @classmethod
    def _fractions(cls, v):
        if min(v) < 0 or abs(sum(v) - 1) > 1e-6 or v[0] <= 0 or v[1] <= 0:
            raise ValueError(
                "eval_fractions (train, val, test) must be >= 0, sum to 1, with a "
                "train and a val share, e.g. [0.1, 0.45, 0.45]"
            )
        return v


class TrainConfig(_Strict):
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    input: InputConfig = Field(default_factory=InputConfig)
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    optim: OptimConfig = Field(default_factory=OptimConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    stream: StreamConfig = Field(default_factory=StreamConfig)


def load_train_config(
    config_path: str | Path | None = None, overrides: dict | None = None
) -> TrainConfig:
    """Defaults <- YAML file <- overrides (nested dict, e.g. from parse_overrides)."""
    data: dict = {}
    if config_path is not None:
        data = load_yaml(config_path)
    if overrides:
        data = deep_merge(data, overrides)
    return validate(TrainConfig, data, source="training config")


def dump_config(cfg: TrainConfig) -> dict:
    """JSON/YAML-safe dict of the resolved config (tuples become lists)."""
    return cfg.model_dump(mode="json")
