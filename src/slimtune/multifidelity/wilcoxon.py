"""Paired comparison with the best trial: ``WilcoxonPruner`` (Optuna's name and meaning).

For objectives that average over many instances (cross-validation folds, problem
instances, random seeds), each reported "step" is an instance id and its value the score on
it. A trial is pruned when the one-sided Wilcoxon signed-rank test (SciPy's ``wilcoxon``,
zero differences split) on the paired differences with the best trial, over the instances
both evaluated, finds it worse with p < ``p_threshold``; never when its mean so far is at
least as good as the best trial's mean.

As in Optuna, an objective that uses this pruner usually *returns* the mean of the
instances it evaluated when ``should_prune()`` says so, instead of raising ``TrialPruned``,
so that the partial result still informs the sampler.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import numpy as np

from slimtune.multifidelity.patient import single_objective_direction
from slimtune.pruners.base import BasePruner
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["WilcoxonPruner"]

logger = logging.getLogger("slimtune")


def _finite_items(iv: dict[int, object]) -> tuple[np.ndarray, np.ndarray] | None:
    steps = np.array(list(iv), dtype=np.int64)
    values = np.array([iv[s] for s in iv], dtype=float)
    if not np.all(np.isfinite(values)):
        return None
    return steps, values


class WilcoxonPruner(BasePruner):
    """Prune when a Wilcoxon signed-rank test says the trial is worse than the best one.

    Args:
        p_threshold: the p-value below which the trial is pruned (in [0, 1]); smaller
            prunes later and more safely.
        n_startup_steps: no pruning before the trial shares this many instances (steps)
            with the best trial (at least 2 always).

    >>> import slimtune as st
    >>> study = st.create_study(pruner=st.pruners.WilcoxonPruner(p_threshold=0.1))
    """

    def __init__(self, *, p_threshold: float = 0.1, n_startup_steps: int = 2) -> None:
        if isinstance(n_startup_steps, bool) or not isinstance(n_startup_steps, int):
            raise TypeError(f"n_startup_steps must be an int >= 0, got {n_startup_steps!r}.")
        if n_startup_steps < 0:
            raise ValueError(f"n_startup_steps must be >= 0, got {n_startup_steps}.")
        if isinstance(p_threshold, bool) or not isinstance(p_threshold, (int, float)):
            raise TypeError(f"p_threshold must be a number in [0, 1], got {p_threshold!r}.")
        if not 0.0 <= p_threshold <= 1.0:
            raise ValueError(f"p_threshold must be in [0, 1], got {p_threshold}.")
        self._p_threshold = float(p_threshold)
        self._n_startup_steps = n_startup_steps

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if not trial.intermediate_values:
            return False
        direction = single_objective_direction(study, "WilcoxonPruner")
        mine = _finite_items(trial.intermediate_values)
        if mine is None:
            logger.warning(
                "WilcoxonPruner: trial %d reported inf or NaN; it is not pruned.", trial.number
            )
            return False
        complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        complete = [t for t in complete if t.values and math.isfinite(t.values[0])]
        if not complete:
            return False
        pick = min if direction == "minimize" else max
        best = pick(complete, key=lambda t: t.values[0])
        if not best.intermediate_values:
            logger.warning(
                "WilcoxonPruner: the best trial (%d) has no intermediate values, so no trial "
                "can be compared with it; report them (or pass intermediate_values= to "
                "add_trial).", best.number
            )
            return False
        theirs = _finite_items(best.intermediate_values)
        if theirs is None:
            logger.warning(
                "WilcoxonPruner: the best trial (%d) reported inf or NaN; trial %d is not "
                "pruned.", best.number, trial.number
            )
            return False
        steps, values = mine
        best_steps, best_values = theirs
        _, i, j = np.intersect1d(steps, best_steps, return_indices=True)
        diff = values[i] - best_values[j]
        if len(diff) < max(2, self._n_startup_steps):
            return False
        from scipy.stats import wilcoxon

        if direction == "maximize":
            alternative = "less"
            mean_is_best = float(np.mean(values)) >= float(np.mean(best_values))
        else:
            alternative = "greater"
            mean_is_best = float(np.mean(values)) <= float(np.mean(best_values))
        if mean_is_best:
            return False
        if np.all(diff == 0):
            return False
        p = float(wilcoxon(diff, alternative=alternative, zero_method="zsplit").pvalue)
        return p < self._p_threshold

    def __repr__(self) -> str:
        return (
            f"WilcoxonPruner(p_threshold={self._p_threshold}, "
            f"n_startup_steps={self._n_startup_steps})"
        )
