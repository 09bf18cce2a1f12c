"""Thresholds: prune a trial whose intermediate value leaves ``[lower, upper]``.

``ThresholdPruner`` (Optuna's name and meaning): a sanity check rather than a comparison
with other trials, e.g. stop a training run whose loss diverged (``upper``) or an accuracy
that is still at chance after the warm-up (``lower``). A NaN value is always pruned.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from slimtune.multifidelity.schedule import check_int, is_check_step
from slimtune.pruners.base import BasePruner

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["ThresholdPruner"]


def _bound(name: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"ThresholdPruner: {name} must be a number or None, got {value!r}.")
    if math.isnan(value):
        raise ValueError(f"ThresholdPruner: {name} must not be NaN.")
    return float(value)


class ThresholdPruner(BasePruner):
    """Prune when the latest intermediate value is below ``lower`` or above ``upper``.

    Args:
        lower: the smallest acceptable value (``None``: no lower bound).
        upper: the largest acceptable value (``None``: no upper bound). Give one at least.
        n_warmup_steps: no pruning before this step.
        interval_steps: check only at the first reported step of each interval of this many
            steps after the warm-up.

    >>> import slimtune as st
    >>> pruner = st.pruners.ThresholdPruner(upper=10.0)  # a loss above 10 has diverged
    """

    def __init__(
        self,
        lower: float | None = None,
        upper: float | None = None,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
    ) -> None:
        if lower is None and upper is None:
            raise TypeError("ThresholdPruner: give lower=, upper= or both.")
        self._lower = _bound("lower", lower, -math.inf)
        self._upper = _bound("upper", upper, math.inf)
        if self._lower > self._upper:
            raise ValueError(
                f"ThresholdPruner: lower ({lower}) must not be larger than upper ({upper})."
            )
        self._n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, 0)
        self._interval_steps = check_int("interval_steps", interval_steps, 1)

    def is_check_step(self, step: int, steps: list[int]) -> bool:
        """True at the first reported step at or after each interval boundary."""
        return is_check_step(step, steps, self._n_warmup_steps, self._interval_steps)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        iv = trial.intermediate_values
        if not iv:
            return False
        step = max(iv)
        if not self.is_check_step(step, list(iv)):
            return False
        value = iv[step]
        if isinstance(value, (list, tuple)):
            raise ValueError(
                "ThresholdPruner supports studies with one objective (trial.report(value, "
                "step) with one number); for several objectives use MedianPruner."
            )
        value = float(value)
        return math.isnan(value) or value < self._lower or value > self._upper

    def __repr__(self) -> str:
        return (
            f"ThresholdPruner(lower={self._lower}, upper={self._upper}, n_warmup_steps="
            f"{self._n_warmup_steps}, interval_steps={self._interval_steps})"
        )
