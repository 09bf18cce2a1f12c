"""Patience: prune a trial only after its intermediate values stopped improving.

``PatientPruner`` (Optuna's name and meaning): a trial whose best value over the last
``patience + 1`` reported steps is worse, by more than ``min_delta``, than its best before
them has stalled; a stalled trial is pruned if ``wrapped_pruner`` agrees (or always,
without one). A trial that still improves is never pruned, whatever the wrapped pruner says.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from slimtune.multifidelity.schedule import check_int
from slimtune.pruners.base import BasePruner

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["PatientPruner"]


def single_objective_direction(study: Study, pruner: str) -> str:
    """The study's one direction, or a ValueError that names the alternatives."""
    directions = study.directions
    if len(directions) != 1:
        raise ValueError(
            f"{pruner} supports studies with one objective; for several objectives use "
            "MedianPruner or SuccessiveHalvingPruner (they compare by Pareto dominance)."
        )
    return directions[0]


class PatientPruner(BasePruner):
    """Tolerate ``patience`` steps without improvement before asking ``wrapped_pruner``.

    Args:
        wrapped_pruner: decides once the trial has stalled; ``None`` prunes at once.
        patience: steps without improvement to tolerate (an int >= 0).
        min_delta: tolerance: the recent best may be this much worse than the earlier best
            before the trial counts as stalled (a number >= 0).

    >>> import slimtune as st
    >>> pruner = st.pruners.PatientPruner(st.pruners.MedianPruner(), patience=3)
    """

    def __init__(
        self, wrapped_pruner: BasePruner | None, patience: int, min_delta: float = 0.0
    ) -> None:
        if wrapped_pruner is not None and not isinstance(wrapped_pruner, BasePruner):
            raise TypeError(
                "PatientPruner: wrapped_pruner must be a pruner (e.g. "
                f"st.pruners.MedianPruner()) or None, got {wrapped_pruner!r}."
            )
        self._patience = check_int("patience", patience, 0)
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)):
            raise TypeError(f"min_delta must be a number >= 0, got {min_delta!r}.")
        if not min_delta >= 0.0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}.")
        self._wrapped_pruner = wrapped_pruner
        self._min_delta = float(min_delta)

    def stalled(self, trial: FrozenTrial, direction: str) -> bool:
        """True when the best of the last ``patience + 1`` steps is worse than the best
        before them by more than ``min_delta``."""
        iv = trial.intermediate_values
        if len(iv) <= self._patience + 1:
            return False
        steps = sorted(iv)
        split = len(steps) - self._patience - 1
        before = np.array([iv[s] for s in steps[:split]], dtype=float)
        after = np.array([iv[s] for s in steps[split:]], dtype=float)
        if np.all(np.isnan(before)) or np.all(np.isnan(after)):
            return False  # nothing to compare (as Optuna: NaN comparisons are false)
        if direction == "minimize":
            return bool(np.nanmin(before) + self._min_delta < np.nanmin(after))
        return bool(np.nanmax(before) - self._min_delta > np.nanmax(after))

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if not trial.intermediate_values:
            return False
        direction = single_objective_direction(study, "PatientPruner")
        if not self.stalled(trial, direction):
            return False
        if self._wrapped_pruner is None:
            return True
        return self._wrapped_pruner.prune(study, trial)

    def __repr__(self) -> str:
        delta = self._min_delta
        return (
            f"PatientPruner({self._wrapped_pruner!r}, patience={self._patience}, "
            f"min_delta={int(delta) if math.isfinite(delta) and delta.is_integer() else delta})"
        )
