"""Pruning in a plain PyTorch (or any) training loop: report each epoch, stop when told.

Lightning users have :class:`~slimtune.integration.PyTorchLightningPruningCallback`; a
hand-written loop calls :func:`report_and_prune` once per epoch::

    for epoch in range(n_epochs):
        train_one_epoch(model)
        report_and_prune(trial, evaluate(model), epoch)   # raises TrialPruned when pruned

No torch import is needed here: a 0-d tensor (anything with ``.item()``) is accepted.
"""

from __future__ import annotations

import math
from typing import Any

from slimtune.trial import TrialPruned

__all__ = ["report_and_prune"]


def _as_float(value: Any, what: str) -> float:
    if hasattr(value, "item") and callable(value.item):
        value = value.item()  # a 0-d tensor or NumPy scalar
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{what} must be a number or a 0-d tensor, got {type(value).__name__}: {value!r}."
        ) from None
    return out


def report_and_prune(trial: Any, value: Any, step: int) -> float:
    """Report ``value`` at ``step`` (e.g. the epoch) and raise :class:`TrialPruned` when the
    study's pruner stops the trial; returns the value reported, as a float.

    ``value`` may be a float, a NumPy scalar or a 0-d tensor. A NaN value is reported like
    any other (the pruner decides). Works with any trial that has ``report`` and
    ``should_prune`` (also Optuna's).
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"step must be a non-negative int (e.g. the epoch), got {step!r}.")
    v = _as_float(value, "value")
    trial.report(v, step)
    if trial.should_prune():
        shown = "nan" if math.isnan(v) else f"{v:.6g}"
        raise TrialPruned(f"trial pruned at step {step} (value {shown}).")
    return v
