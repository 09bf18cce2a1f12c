"""Error evaluators: how large the objective's statistical error is (Optuna's
``optuna.terminator.erroreval``)."""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.terminator.trials import complete_trials, direction_of, losses
from slimtune.trial import FrozenTrial

if TYPE_CHECKING:
    from slimtune.trial import Trial

__all__ = [
    "BaseErrorEvaluator",
    "CrossValidationErrorEvaluator",
    "StaticErrorEvaluator",
    "report_cross_validation_scores",
]


def report_cross_validation_scores(trial: Trial, scores: list[float]) -> None:
    """Store the k-fold scores of a trial (call it in the objective, before returning the
    mean); :class:`CrossValidationErrorEvaluator` reads them. Needs at least two scores."""
    vals = [float(s) for s in scores]
    if len(vals) <= 1:
        raise ValueError(
            f"report_cross_validation_scores: need at least 2 scores (one per fold), got {vals}."
        )
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"report_cross_validation_scores: scores must be finite, got {vals}.")
    trial.set_system_attr(keys.CV_SCORES, vals)


class BaseErrorEvaluator(abc.ABC):
    """Estimates the statistical error of the objective (in its units)."""

    @abc.abstractmethod
    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float: ...


class CrossValidationErrorEvaluator(BaseErrorEvaluator):
    """The error of the best trial's mean score: ``sqrt((1/k + 1/(k-1)) * s^2)``, with
    ``s^2`` the sample variance of its ``k`` fold scores (the corrected resampled variance
    of Nadeau and Bengio: the folds' training sets overlap)."""

    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float:
        complete = complete_trials(trials)
        if not complete:
            raise ValueError("CrossValidationErrorEvaluator: no complete trial yet.")
        loss = losses(complete, direction_of(study_direction))
        best = complete[int(np.argmin(loss))]
        scores = best.system_attrs.get(keys.CV_SCORES)
        if scores is None:
            raise ValueError(
                f"trial {best.number} (the best) has no cross-validation scores: call "
                "slimtune.terminator.report_cross_validation_scores(trial, scores) in the "
                "objective, or give the Terminator another error_evaluator."
            )
        s = np.asarray(scores, dtype=float)
        k = len(s)
        return float(math.sqrt((1.0 / k + 1.0 / (k - 1)) * float(np.var(s, ddof=1))))


class StaticErrorEvaluator(BaseErrorEvaluator):
    """Always ``constant``: stop when the improvement estimate falls below it."""

    def __init__(self, constant: float):
        self._constant = float(constant)

    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float:
        return self._constant
