"""Pruning a PyTorch Lightning run: Optuna's ``PyTorchLightningPruningCallback``.

::

    trainer = lightning.pytorch.Trainer(
        max_epochs=20, callbacks=[PyTorchLightningPruningCallback(trial, monitor="val_acc")]
    )
    trainer.fit(model, datamodule=dm)       # raises TrialPruned when the pruner says so

After each validation run (not the sanity check) the callback reports
``trainer.callback_metrics[monitor]`` at step ``current_epoch`` and raises
:class:`~slimtune.TrialPruned` if the trial should stop; the trial engine stores it as
PRUNED. Under distributed data parallel (``world_size > 1``) the global-zero process
reports and decides, every process stops (``trainer.should_stop``), and the objective calls
:meth:`~PyTorchLightningPruningCallback.check_pruned` after ``fit`` to raise
``TrialPruned`` (the ``"ddp"`` strategy, whose global-zero process runs the objective).

Needs the ``lightning`` extra (``pip install 'slimtune[lightning]'``).
"""

from __future__ import annotations

import warnings
from typing import Any

from slimtune.integration.extras import require
from slimtune.integration.pytorch import report_and_prune
from slimtune.trial import TrialPruned

_pl = require("lightning.pytorch", "lightning", "PyTorchLightningPruningCallback")

__all__ = ["PyTorchLightningPruningCallback"]


class PyTorchLightningPruningCallback(_pl.Callback):  # type: ignore[misc,name-defined]
    """Report ``monitor`` after every validation epoch and prune the trial when told.

    Args:
        trial: the running trial (the objective's argument).
        monitor: the name of a logged metric, e.g. ``"val_loss"`` or ``"val_acc"`` (what
            ``self.log(...)`` in the ``LightningModule`` logs).
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        super().__init__()
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must be the name of a logged metric, got {monitor!r}.")
        self._trial = trial
        self.monitor = monitor
        self.is_ddp_backend = False
        self._pruned_epoch: int | None = None

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        """Note whether this run is distributed (decided then, on the global-zero process)."""
        self.is_ddp_backend = int(getattr(trainer, "world_size", 1) or 1) > 1
        self._pruned_epoch = None

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        """Report the monitored metric of this epoch; prune (raise or stop) if told."""
        if trainer.sanity_checking:  # the sanity check runs validation before epoch 0
            return
        score = trainer.callback_metrics.get(self.monitor)
        if score is None:
            warnings.warn(
                f"PyTorchLightningPruningCallback: the metric {self.monitor!r} was not logged "
                f"in this validation run (logged: {sorted(trainer.callback_metrics)}); "
                "log it with self.log(...) or fix `monitor`. Nothing was reported.",
                stacklevel=2,
            )
            return
        epoch = int(pl_module.current_epoch)
        if not self.is_ddp_backend:
            report_and_prune(self._trial, score, epoch)
            return
        should_stop = False
        if trainer.is_global_zero:
            try:
                report_and_prune(self._trial, score, epoch)
            except TrialPruned:
                should_stop = True
        should_stop = bool(trainer.strategy.broadcast(should_stop))
        if should_stop:
            trainer.should_stop = True
            if trainer.is_global_zero:
                self._pruned_epoch = epoch

    def check_pruned(self) -> None:
        """Raise :class:`~slimtune.TrialPruned` if a distributed run was pruned; call it
        right after ``trainer.fit(...)``. Does nothing otherwise."""
        if self._pruned_epoch is not None:
            raise TrialPruned(f"trial pruned at epoch {self._pruned_epoch}.")
