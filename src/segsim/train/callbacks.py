"""Lightning callbacks: the wall-time budget and a progress bar that shows the run's ETA."""

from __future__ import annotations

import time

from lightning.pytorch.callbacks import Callback, RichProgressBar

from segsim.train.module import Clock


class TimeBudget(Callback):
    """Stops training once trainer.max_minutes is spent, leaving room for the final validation
    (whose length it measures), so a budgeted run still ends with a validated best.ckpt."""

    def __init__(self, clock: Clock):
        self.clock = clock
        self.val_s: float | None = None  # how long the last validation took
        self._val_t0 = None
        self._step_t0 = None
        self._step_s = 0.0  # running mean of one training step

    def on_train_start(self, trainer, pl_module):
        if trainer.world_size > 1:  # the schedule's first steps read the same time on every rank
            self.clock.shared = self.clock.before

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        self._step_t0 = time.monotonic()

    def _decide(self, trainer, pl_module, stop: bool) -> bool:
        """Under DDP one decision for all ranks (any rank out of time stops them all, at the same
        step, or the others would wait forever for its gradients) and one shared clock."""
        if trainer.world_size <= 1:
            return stop
        import torch

        both = torch.tensor([self.clock.elapsed(), float(stop)], device=pl_module.device)
        both = trainer.strategy.reduce(both, reduce_op="max")
        self.clock.shared = float(both[0])
        return bool(both[1] > 0)

    def on_validation_start(self, trainer, pl_module):
        self._val_t0 = time.monotonic()

    def on_validation_end(self, trainer, pl_module):
        if self._val_t0 is not None:
            self.val_s = time.monotonic() - self._val_t0

    def _val_estimate(self, trainer) -> float:
        if self.val_s is not None:
            return self.val_s
        # no validation yet: a forward pass costs about a third of a training step
        batches = sum(trainer.num_val_batches) if isinstance(trainer.num_val_batches, list) else 0
        return self._step_s * batches / 3

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self._step_t0 is not None:
            dt = time.monotonic() - self._step_t0
            self._step_s = dt if self._step_s == 0 else 0.9 * self._step_s + 0.1 * dt
        stop = (
            self.clock.budget_s is not None
            and self.clock.elapsed() + self._val_estimate(trainer) >= self.clock.budget_s
        )
        if self._decide(trainer, pl_module, stop):
            self.clock.stopped_by = "time budget"
            trainer.should_stop = True

    def on_train_epoch_start(self, trainer, pl_module):
        # a resumed run whose budget is already spent stops at once
        stop = self.clock.budget_s is not None and self.clock.elapsed() >= self.clock.budget_s
        if self._decide(trainer, pl_module, stop):
            self.clock.stopped_by = "time budget"
            trainer.should_stop = True


def _fmt(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 60}m{seconds % 60:02d}s"


class ProgressWithEta(RichProgressBar):
    """Rich progress bar with loss and val mIoU (logged with prog_bar=True) and the ETA of the
    whole run: the sooner of the epochs left at the current pace and the time budget left."""

    def __init__(self, clock: Clock, epochs: int):
        super().__init__(leave=True)
        self.clock, self.epochs = clock, epochs

    def get_metrics(self, trainer, pl_module):
        items = super().get_metrics(trainer, pl_module)
        items.pop("v_num", None)
        elapsed = self.clock.elapsed()
        steps_total = max(trainer.num_training_batches, 1) * self.epochs
        done = max(trainer.global_step, 1)
        eta = elapsed / done * max(steps_total - done, 0) if self.clock.t0 else 0.0
        if self.clock.budget_s is not None:
            eta = min(eta, self.clock.budget_s - elapsed)
        items["eta"] = _fmt(eta)
        return items
