"""A threshold from the first trials' improvements (Optuna's
``optuna.terminator.median_erroreval``)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from slimtune.terminator.erroreval import BaseErrorEvaluator
from slimtune.terminator.improvement.evaluator import BaseImprovementEvaluator
from slimtune.terminator.trials import complete_trials
from slimtune.trial import FrozenTrial

__all__ = ["MedianErrorEvaluator"]


class MedianErrorEvaluator(BaseErrorEvaluator):
    """A threshold set once, from the first trials: ``threshold_ratio`` times the median
    of the paired improvement evaluator's values after each of the ``n_initial_trials``
    trials that follow ``warm_up_trials`` (often random ones). Before that many trials:
    ``-inf`` (never stop)."""

    def __init__(
        self,
        paired_improvement_evaluator: BaseImprovementEvaluator,
        warm_up_trials: int = 10,
        n_initial_trials: int = 20,
        threshold_ratio: float = 0.01,
    ):
        if warm_up_trials < 0 or n_initial_trials < 1 or not threshold_ratio > 0:
            raise ValueError(
                "MedianErrorEvaluator: need warm_up_trials >= 0, n_initial_trials >= 1 and "
                "threshold_ratio > 0."
            )
        self._paired = paired_improvement_evaluator
        self._warm_up_trials = int(warm_up_trials)
        self._n_initial_trials = int(n_initial_trials)
        self._threshold_ratio = float(threshold_ratio)
        self._threshold: float | None = None

    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float:
        if self._threshold is not None:
            return self._threshold
        complete = complete_trials(trials)
        if len(complete) < self._warm_up_trials + self._n_initial_trials:
            return -float("inf")
        vals = [
            self._paired.evaluate(complete[: self._warm_up_trials + i + 1], study_direction)
            for i in range(self._n_initial_trials)
        ]
        finite = [v for v in vals if math.isfinite(v)]
        self._threshold = float(np.median(finite)) * self._threshold_ratio if finite else 0.0
        return self._threshold
