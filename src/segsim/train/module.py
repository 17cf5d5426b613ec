"""The LightningModule: normalization on the device, loss, split-wide confusion matrices for
train and val, the optimizer and a progress-driven learning-rate schedule, and the "segsim"
entry that makes every checkpoint self-contained."""

from __future__ import annotations

import math
import time

import lightning as L
import torch

from segsim.labels import LabelSet
from segsim.metrics import confusion_matrix, metrics_from_confusion
from segsim.models.checkpoint import SEGSIM_KEY, make_info
from segsim.models.freeze import apply_freezing, parameter_groups, set_batchnorm_eval
from segsim.train.config import TrainConfig, dump_config
from segsim.train.losses import build_loss

HISTORY_KEY = "segsim_history"


class Clock:
    """Training wall time, carried across --resume through the module's checkpoint state."""

    def __init__(self, budget_minutes: float | None):
        self.budget_s = budget_minutes * 60 if budget_minutes else None
        self.before = 0.0  # seconds spent in earlier sessions of this run
        self.t0: float | None = None
        self.stopped_by: str | None = None  # "time budget" once it ran out
        # Under DDP the largest elapsed time over ranks, set each step (TimeBudget): every
        # rank's schedule must see one value, or the replicas' learning rates drift apart.
        self.shared: float | None = None

    def start(self) -> None:
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return self.before + (time.monotonic() - self.t0 if self.t0 is not None else 0.0)

    def fraction(self) -> float:
        if not self.budget_s:
            return 0.0
        return (self.shared if self.shared is not None else self.elapsed()) / self.budget_s


def adamw(params, lr: float, device) -> torch.optim.AdamW:
    """AdamW as training uses it. Fused on CPU: one kernel for every tensor, not the per-tensor
    loop torch uses on CPU by default. On CUDA torch already batches the update (foreach), and a
    fused one would refuse gradient clipping under 16-bit AMP."""
    return torch.optim.AdamW(params, lr=lr, fused=torch.device(device).type == "cpu" or None)


def lr_factor(progress: float, cfg) -> float:
    """Learning-rate multiplier at training progress 0..1 (schedule config `cfg`)."""
    p = min(max(progress, 0.0), 1.0)
    if cfg.name == "constant":
        return 1.0
    if cfg.name == "poly":
        if cfg.warmup > 0 and p < cfg.warmup:
            return max(p / cfg.warmup, 1e-3)
        q = (p - cfg.warmup) / (1 - cfg.warmup)
        return max((1 - q) ** cfg.power, 0.0)
    # onecycle: cosine from lr/div up to lr over pct_start, then cosine down to lr/div/final_div
    start, end = 1.0 / cfg.div_factor, 1.0 / (cfg.div_factor * cfg.final_div_factor)
    if p < cfg.pct_start:
        t = p / cfg.pct_start
        return start + (1 - start) * (1 - math.cos(math.pi * t)) / 2
    t = (p - cfg.pct_start) / (1 - cfg.pct_start)
    return end + (1 - end) * (1 + math.cos(math.pi * t)) / 2


class SegModule(L.LightningModule):
    def __init__(
        self,
        model,
        model_name: str,
        model_kwargs: dict,
        labels: LabelSet,
        cfg: TrainConfig,
        total_steps: int,
        class_weights=None,
        channels_last: bool = False,
    ):
        super().__init__()
        self.model = model
        self.freeze_bn = cfg.model.freeze_bn
        apply_freezing(model, cfg.model.freeze_encoder, cfg.model.freeze_bn)
        # a model without an encoder and encoder_lr_mult != 1: raise now, not when fit starts
        parameter_groups(model, cfg.optim.lr, cfg.optim.weight_decay, cfg.optim.encoder_lr_mult)
        self.model_name, self.model_kwargs = model_name, dict(model_kwargs)
        self.labels, self.cfg = labels, cfg
        self.num_classes, self.ignore_index = labels.num_classes, labels.ignore_index
        self.total_steps = max(1, int(total_steps))
        self.channels_last = channels_last
        self.clock = Clock(cfg.trainer.max_minutes)
        self.loss_fn = build_loss(
            cfg.loss.name,
            self.num_classes,
            self.ignore_index,
            class_weights,
            dice_weight=cfg.loss.dice_weight,
            focal_gamma=cfg.loss.focal_gamma,
            label_smoothing=cfg.loss.label_smoothing,
        )
        # 0..255 -> ImageNet-normalized, folded into one multiply-add done on the device.
        mean = torch.tensor(cfg.input.mean).view(1, 3, 1, 1) * 255
        std = torch.tensor(cfg.input.std).view(1, 3, 1, 1) * 255
        self.register_buffer("_scale", 1.0 / std, persistent=False)
        self.register_buffer("_shift", -mean / std, persistent=False)
        self.class_weights = class_weights
        self.history: list[dict] = []
        self.last_val: dict = {}
        self._train_cm = None
        self._loss_sum = self._loss_n = 0.0
        self._val_cm = None
        self._val_loss_sum = self._val_loss_n = 0.0

    # --- forward -----------------------------------------------------------------------------
    def forward(self, images_uint8: torch.Tensor) -> torch.Tensor:
        x = images_uint8.float() * self._scale + self._shift
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    def _cm(self, logits, target):
        # max(1).indices, not argmax(1): same indices, and torch's CPU argmax over the channel
        # dim of an NCHW tensor is many times slower
        return confusion_matrix(
            logits.detach().max(1).indices, target, self.num_classes, self.ignore_index
        )

    # --- training ----------------------------------------------------------------------------
    def train(self, mode: bool = True):
        super().train(mode)
        if mode and getattr(self, "freeze_bn", False):
            set_batchnorm_eval(self.model)  # whoever switches to training, BatchNorm stays frozen
        return self

    def on_train_start(self) -> None:
        self.clock.start()

    def on_train_epoch_start(self) -> None:
        if self.freeze_bn:
            set_batchnorm_eval(self.model)  # in case a loop set modules' training flags directly

    def training_step(self, batch, batch_idx):
        images, masks = batch
        target = masks.long()
        logits = self(images)
        loss = self.loss_fn(logits, target)
        with torch.no_grad():
            cm = self._cm(logits.detach(), masks)  # uint8 masks take metrics' fast path
            self._train_cm = cm if self._train_cm is None else self._train_cm + cm
        # summed as a tensor on the device: float() here would stall a GPU every step
        self._loss_sum = self._loss_sum + loss.detach()
        self._loss_n += 1
        self.log(
            "train/loss",
            loss.detach(),
            on_step=True,
            on_epoch=False,
            prog_bar=True,
            batch_size=len(images),
        )
        return loss

    def _summed(self, *values):
        """Confusion matrices and sums added up over DDP ranks (as is in one process): split-wide
        metrics come from the whole split's confusion matrix, not an average of per-rank ones.
        Every rank calls it at the same point (a collective)."""
        trainer = self._trainer
        if trainer is None or trainer.world_size <= 1:
            return values
        # cloned: the reduction works in place, and the running sums are read twice an epoch
        return tuple(
            trainer.strategy.reduce(torch.as_tensor(v, device=self.device).clone(), reduce_op="sum")
            for v in values
        )

    def _empty_cm(self):
        return torch.zeros((self.num_classes, self.num_classes), dtype=torch.int64)

    def _train_metrics(self) -> dict:
        if self._train_cm is None:
            return {}
        cm, loss_sum, loss_n = self._summed(self._train_cm, self._loss_sum, float(self._loss_n))
        m = metrics_from_confusion(cm, self.labels.names)
        return {
            "train_loss": float(loss_sum) / max(float(loss_n), 1),
            "train_miou": m["miou"],
            "train_pixel_accuracy": m["pixel_accuracy"],
        }

    def on_train_epoch_end(self) -> None:
        tm = self._train_metrics()
        if tm:
            self.log("train/miou", tm["train_miou"], prog_bar=False)
            self.log("train/loss_epoch", tm["train_loss"])
            if not self.history or self.history[-1]["epoch"] != self.current_epoch:
                self.history.append(self._row(tm, {}))  # an epoch without validation
        self._train_cm = None
        self._loss_sum = self._loss_n = 0.0

    # --- validation --------------------------------------------------------------------------
    def validation_step(self, batch, batch_idx):
        images, masks = batch[0], batch[1]
        target = masks.long()
        logits = self(images)
        if logits.shape[-2:] != target.shape[-2:]:
            logits = self._resize_logits(
                logits, target.shape[-2:], batch[2] if len(batch) > 2 else None
            )
        loss = self.loss_fn(logits, target)
        cm = self._cm(logits, masks)
        self._val_cm = cm if self._val_cm is None else self._val_cm + cm
        self._val_loss_sum = self._val_loss_sum + loss.detach() * len(images)
        self._val_loss_n += len(images)

    @staticmethod
    def _resize_logits(logits, size, sizes=None):
        """Model-size logits -> mask size (each item to its own size when frames differ;
        the rest stays padding that the ignore-filled mask leaves out)."""
        import torch.nn.functional as F

        if sizes is None:
            return F.interpolate(
                logits.float(), size=tuple(size), mode="bilinear", align_corners=False
            )
        out = logits.new_zeros((logits.shape[0], logits.shape[1], *size), dtype=torch.float32)
        for k, (h, w) in enumerate(sizes.tolist()):
            out[k, :, :h, :w] = F.interpolate(
                logits[k : k + 1].float(), size=(h, w), mode="bilinear", align_corners=False
            )[0]
        return out

    def on_validation_epoch_end(self) -> None:
        distributed = self._trainer is not None and self.trainer.world_size > 1
        if self._val_cm is None and not distributed:
            return
        # a rank with no validation frames still takes part in the sum
        cm = self._val_cm if self._val_cm is not None else self._empty_cm().to(self.device)
        cm, loss_sum, loss_n = self._summed(cm, self._val_loss_sum, float(self._val_loss_n))
        m = metrics_from_confusion(cm, self.labels.names)
        val_loss = float(loss_sum) / max(float(loss_n), 1)
        self._val_cm = None
        self._val_loss_sum = self._val_loss_n = 0.0
        self.log("val/miou", m["miou"], prog_bar=True)
        self.log("val/loss", val_loss)
        self.log("val/pixel_accuracy", m["pixel_accuracy"])
        if self.trainer.sanity_checking:
            return
        self.last_val = {
            "epoch": int(self.current_epoch),
            "step": int(self.global_step),
            "val_loss": val_loss,
            **m,
        }
        self.history.append(
            self._row(
                self._train_metrics(),
                {
                    "val_loss": val_loss,
                    "val_miou": m["miou"],
                    "val_pixel_accuracy": m["pixel_accuracy"],
                },
            )
        )

    def _row(self, train: dict, val: dict) -> dict:
        lr = self.trainer.optimizers[0].param_groups[0]["lr"] if self.trainer.optimizers else None
        return {
            "epoch": int(self.current_epoch),
            "step": int(self.global_step),
            "minutes": self.clock.elapsed() / 60,
            "lr": lr,
            **train,
            **val,
        }

    # --- optimizer and schedule --------------------------------------------------------------
    def configure_optimizers(self):
        o = self.cfg.optim
        # head first, then the encoder at lr * encoder_lr_mult; no decay on norms and biases.
        # LambdaLR scales every group's own initial lr, so the schedule keeps their ratio.
        groups = parameter_groups(self.model, o.lr, o.weight_decay, o.encoder_lr_mult)
        if o.name == "adamw":
            opt = adamw(groups, o.lr, self.device)
        else:
            opt = torch.optim.SGD(
                groups, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov and o.momentum > 0
            )
        sched_cfg, total, clock = self.cfg.schedule, self.total_steps, self.clock
        time_aware = sched_cfg.time_aware

        def factor(step: int) -> float:  # a closure, not an object: LambdaLR's state stays plain
            return lr_factor(max(step / total, clock.fraction() if time_aware else 0.0), sched_cfg)

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    # --- checkpoint --------------------------------------------------------------------------
    def segsim_info(self) -> dict:
        metrics = {k: v for k, v in self.last_val.items()}
        return make_info(
            self.model_name,
            self.model_kwargs,
            self.labels,
            self.cfg.input.size,
            self.cfg.input.mean,
            self.cfg.input.std,
            dump_config(self.cfg),
            metrics,
        )

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[SEGSIM_KEY] = self.segsim_info()
        checkpoint[HISTORY_KEY] = {
            "history": list(self.history),
            "elapsed_s": self.clock.elapsed(),
            "last_val": dict(self.last_val),
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get(HISTORY_KEY) or {}
        self.history = list(state.get("history", []))
        self.last_val = dict(state.get("last_val", {}))
        self.clock.before = float(state.get("elapsed_s", 0.0))
