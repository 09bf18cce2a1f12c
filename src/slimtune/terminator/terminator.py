"""The stopping rule: improvement below error (Optuna's ``optuna.terminator.terminator``)."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from slimtune.terminator.erroreval import (
    BaseErrorEvaluator,
    CrossValidationErrorEvaluator,
    StaticErrorEvaluator,
)
from slimtune.terminator.improvement.evaluator import (
    DEFAULT_MIN_N_TRIALS,
    BaseImprovementEvaluator,
    BestValueStagnationEvaluator,
    RegretBoundEvaluator,
)
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = ["BaseTerminator", "Terminator"]


class BaseTerminator(abc.ABC):
    """Decides whether a study should stop."""

    @abc.abstractmethod
    def should_terminate(self, study: Study) -> bool: ...


class Terminator(BaseTerminator):
    """Stop when ``improvement_evaluator`` < ``error_evaluator`` on the complete trials,
    once there are ``min_n_trials`` of them (single-objective studies).

    Defaults: :class:`RegretBoundEvaluator` and :class:`CrossValidationErrorEvaluator`
    (the objective must report its fold scores); a :class:`BestValueStagnationEvaluator`
    gets ``StaticErrorEvaluator(0)`` instead.
    """

    def __init__(
        self,
        improvement_evaluator: BaseImprovementEvaluator | None = None,
        error_evaluator: BaseErrorEvaluator | None = None,
        min_n_trials: int = DEFAULT_MIN_N_TRIALS,
    ):
        if isinstance(min_n_trials, bool) or not isinstance(min_n_trials, int) or min_n_trials < 1:
            raise ValueError(f"min_n_trials must be a positive int, got {min_n_trials!r}.")
        self._improvement_evaluator = improvement_evaluator or RegretBoundEvaluator()
        if error_evaluator is None:
            if isinstance(self._improvement_evaluator, BestValueStagnationEvaluator):
                error_evaluator = StaticErrorEvaluator(0.0)
            else:
                error_evaluator = CrossValidationErrorEvaluator()
        self._error_evaluator = error_evaluator
        self._min_n_trials = min_n_trials

    def should_terminate(self, study: Study) -> bool:
        """True when the estimated room for improvement is below the estimated error."""
        if len(study.directions) != 1:
            raise ValueError("the Terminator handles single-objective studies only.")
        trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if len(trials) < self._min_n_trials:
            return False
        improvement = self._improvement_evaluator.evaluate(trials, study.direction)
        error = self._error_evaluator.evaluate(trials, study.direction)
        return bool(improvement < error)
