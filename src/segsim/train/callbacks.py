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
        self.val_s = 0.0
        self._val_t0 = None

    def on_validation_start(self, trainer, pl_module):
        self._val_t0 = time.monotonic()

    def on_validation_end(self, trainer, pl_module):
        if self._val_t0 is not None:
            self.val_s = time.monotonic() - self._val_t0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.clock.budget_s is not None and self.clock.elapsed() + self.val_s >= self.clock.budget_s:
            self.clock.stopped_by = "time budget"
            trainer.should_stop = True

    def on_train_epoch_start(self, trainer, pl_module):
        # a resumed run whose budget is already spent stops at once
        if self.clock.budget_s is not None and self.clock.elapsed() >= self.clock.budget_s:
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
