"""Median and percentile stopping: stop a trial whose intermediate result is worse than a
percentile of the completed trials' results at the same step (Golovin et al. 2017).

Several objectives: the trial is stopped when the per-objective percentile point of the
completed trials at this step *dominates* the trial's current value vector (it is at least
as bad on every objective and worse on one). A trial that is cheap on a cost objective known
from the start (MACs, parameters) is therefore never stopped for being less accurate alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from slimtune.multifidelity.rungs import as_loss_row, is_nan_value
from slimtune.multifidelity.schedule import check_int, is_check_step
from slimtune.multiobjective import to_losses
from slimtune.pruners.base import BasePruner
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["PercentilePruner", "MedianPruner"]


class PercentilePruner(BasePruner):
    """Prune when the trial's best intermediate value so far is worse than the
    ``percentile``-th best of the completed trials' values at the current step.

    Args:
        percentile: in [0, 100]; 25.0 keeps only trials in the best quarter.
        n_startup_trials: no pruning until this many trials have completed.
        n_warmup_steps: no pruning before this step.
        interval_steps: check only every ``interval_steps`` steps after the warm-up.
        n_min_trials: no pruning at a step that fewer completed trials have reported.

    >>> import slimtune as st
    >>> study = st.create_study(pruner=st.pruners.PercentilePruner(25.0, n_startup_trials=5))
    """

    def __init__(
        self,
        percentile: float,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ):
        if isinstance(percentile, bool) or not isinstance(percentile, (int, float)):
            raise TypeError(f"percentile must be a number in [0, 100], got {percentile!r}.")
        if not 0.0 <= percentile <= 100.0:
            raise ValueError(f"percentile must be in [0, 100], got {percentile!r}.")
        self.percentile = float(percentile)
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, 0)
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = check_int("interval_steps", interval_steps, 1)
        self.n_min_trials = check_int("n_min_trials", n_min_trials, 1)

    def _is_check_step(self, step: int, steps: list[int]) -> bool:
        """True at the first reported step at or after each multiple of the interval."""
        return is_check_step(step, steps, self.n_warmup_steps, self.interval_steps)

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        iv = trial.intermediate_values
        if not iv:
            return False
        step = max(iv)
        if not self._is_check_step(step, list(iv)):
            return False
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(completed) < self.n_startup_trials:
            return False
        if is_nan_value(iv[step]):
            return True
        others = [t.intermediate_values[step] for t in completed if step in t.intermediate_values]
        if len(others) < self.n_min_trials:
            return False
        directions = study.directions
        O = to_losses(np.array(others, dtype=float).reshape(len(others), -1), directions)
        q = np.nanpercentile(O, self.percentile, axis=0)
        if np.any(np.isnan(q)):
            return False
        if len(directions) == 1:
            # Best loss over the trial's steps so far (Optuna's rule).
            best = min(as_loss_row(v, directions)[0] for v in iv.values() if not is_nan_value(v))
            return bool(best > q[0])
        mine = as_loss_row(iv[step], directions)
        return bool(np.all(q <= mine) and np.any(q < mine))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(percentile={self.percentile}, n_startup_trials="
            f"{self.n_startup_trials}, n_warmup_steps={self.n_warmup_steps}, "
            f"interval_steps={self.interval_steps}, n_min_trials={self.n_min_trials})"
        )


class MedianPruner(PercentilePruner):
    """Prune when the trial's best intermediate value is worse than the median of the
    completed trials' values at the same step (the median stopping rule).

    >>> import slimtune as st
    >>> pruner = st.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=3)
    """

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ):
        super().__init__(
            50.0, n_startup_trials, n_warmup_steps, interval_steps, n_min_trials=n_min_trials
        )

    def __repr__(self) -> str:
        return (
            f"MedianPruner(n_startup_trials={self.n_startup_trials}, n_warmup_steps="
            f"{self.n_warmup_steps}, interval_steps={self.interval_steps}, "
            f"n_min_trials={self.n_min_trials})"
        )

