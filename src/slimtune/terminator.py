"""``optuna.terminator``: stop a study when the room left for improvement is smaller than
the noise of the objective (Makarova et al., "Automatic termination for hyperparameter
optimization", AutoML 2022).

A :class:`Terminator` compares two numbers after each trial: an *improvement* evaluator's
estimate of how much better the best value could still get, and an *error* evaluator's
estimate of the objective's statistical error. When the first is below the second, more
trials cannot be told apart from noise, and :class:`TerminatorCallback` stops the study.

* :class:`RegretBoundEvaluator`: a high-probability upper bound on the regret of the best
  trial, from a Gaussian process (slimtune's GP, :mod:`slimtune.samplers.gp`) fitted to the
  best trials: ``min over observed x of UCB(x) - min over the space of LCB(x)``.
* :class:`BestValueStagnationEvaluator`: trials left before ``max_stagnation_trials``
  trials without a new best (pair with ``StaticErrorEvaluator(0)``, the default for it).
* :class:`CrossValidationErrorEvaluator`: the standard error of the best trial's k-fold
  scores (reported with :func:`report_cross_validation_scores`), with the
  Nadeau-Bengio correction for overlapping training folds.
* :class:`StaticErrorEvaluator`, :class:`MedianErrorEvaluator`: a constant threshold; a
  fraction of the median improvement of the first trials.
* ``EMMREvaluator`` is not provided (it raises, naming the evaluators above).
"""

from __future__ import annotations

import abc
import logging
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import Trial

__all__ = [
    "BaseErrorEvaluator",
    "BaseImprovementEvaluator",
    "BaseTerminator",
    "BestValueStagnationEvaluator",
    "CrossValidationErrorEvaluator",
    "EMMREvaluator",
    "MedianErrorEvaluator",
    "RegretBoundEvaluator",
    "StaticErrorEvaluator",
    "Terminator",
    "TerminatorCallback",
    "report_cross_validation_scores",
]

logger = logging.getLogger("slimtune")

DEFAULT_MIN_N_TRIALS = 20


def _direction(study_direction: Any) -> str:
    """'minimize' or 'maximize' from a string or an enum member (Optuna's or ours)."""
    s = str(getattr(study_direction, "name", study_direction)).lower()
    if s not in ("minimize", "maximize"):
        raise ValueError(f"study_direction={study_direction!r}: use 'minimize' or 'maximize'.")
    return s


def _complete(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]


def _losses(trials: list[FrozenTrial], direction: str) -> np.ndarray:
    """Objective values as losses (smaller is better)."""
    y = np.array([t.values[0] for t in trials], dtype=float)  # type: ignore[index]
    return -y if direction == "maximize" else y


# --- cross-validation scores ---------------------------------------------------------------


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


# --- error evaluators ----------------------------------------------------------------------


class BaseErrorEvaluator(abc.ABC):
    """Estimates the statistical error of the objective (in its units)."""

    @abc.abstractmethod
    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float: ...


class CrossValidationErrorEvaluator(BaseErrorEvaluator):
    """The error of the best trial's mean score: ``sqrt((1/k + 1/(k-1)) * s^2)``, with
    ``s^2`` the sample variance of its ``k`` fold scores (the corrected resampled variance
    of Nadeau and Bengio: the folds' training sets overlap)."""

    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float:
        complete = _complete(trials)
        if not complete:
            raise ValueError("CrossValidationErrorEvaluator: no complete trial yet.")
        loss = _losses(complete, _direction(study_direction))
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


# --- improvement evaluators ----------------------------------------------------------------


class BaseImprovementEvaluator(abc.ABC):
    """Estimates how much the best value may still improve (in the objective's units)."""

    @abc.abstractmethod
    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float: ...


class BestValueStagnationEvaluator(BaseImprovementEvaluator):
    """``max_stagnation_trials`` minus the number of complete trials since the best one:
    negative once the best value has not improved for longer than that."""

    def __init__(self, max_stagnation_trials: int = 30):
        if isinstance(max_stagnation_trials, bool) or max_stagnation_trials < 0:
            raise ValueError(
                f"max_stagnation_trials must be a non-negative int, got {max_stagnation_trials!r}."
            )
        self._max_stagnation_trials = int(max_stagnation_trials)

    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float:
        complete = _complete(trials)
        if not complete:
            return float(self._max_stagnation_trials)
        loss = _losses(complete, _direction(study_direction))
        best = int(np.argmin(loss))  # the first trial that reached the best value
        return float(self._max_stagnation_trials - (len(complete) - 1 - best))


class RegretBoundEvaluator(BaseImprovementEvaluator):
    """An upper bound on the regret of the best trial under a GP model of the objective.

    A GP (slimtune's, Matern 5/2 with MAP hyperparameters) is fitted to the best
    ``max(min_n_trials, top_trials_ratio * n)`` complete trials. With
    ``beta = 2 log(d n^2 pi^2 / (6 delta)) / 5`` (the GP-UCB schedule of Srinivas et al.,
    ``delta = 0.1``, scaled down as is usual in practice), the bound is the smallest upper
    confidence bound over the observed points minus the smallest lower confidence bound
    over the whole space (found by the GP sampler's acquisition optimiser). Fewer than
    ``min_n_trials`` complete trials: ``inf`` (no decision yet).
    """

    def __init__(
        self, top_trials_ratio: float = 0.5, min_n_trials: int = 20, seed: int | None = None
    ):
        if not 0 < top_trials_ratio <= 1:
            raise ValueError(f"top_trials_ratio must be in (0, 1], got {top_trials_ratio!r}.")
        if isinstance(min_n_trials, bool) or min_n_trials < 2:
            raise ValueError(f"min_n_trials must be an int >= 2, got {min_n_trials!r}.")
        self._top_trials_ratio = float(top_trials_ratio)
        self._min_n_trials = int(min_n_trials)
        self._rng = np.random.default_rng(seed)

    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float:
        from slimtune.samplers.gp.model import Features, GPModel, fit_gp
        from slimtune.samplers.gp.optimize import optimize_acquisition
        from slimtune.space import SpaceEncoder, union_search_space

        complete = _complete(trials)
        if len(complete) < self._min_n_trials:
            return float("inf")
        loss = _losses(complete, _direction(study_direction))
        n_top = min(len(complete), max(self._min_n_trials,
                                       int(len(complete) * self._top_trials_ratio)))
        top = np.argsort(loss, kind="stable")[:n_top]
        chosen = [complete[i] for i in top]
        y = loss[top]
        space = union_search_space(chosen)
        if not space:
            return 0.0  # nothing to tune: the best value cannot improve
        enc = SpaceEncoder(space)
        U, active = enc.encode([
            {k: v for k, v in t.internal_params.items() if k in space} for t in chosen
        ])
        F = Features.build(U, active, enc.is_categorical)
        mu, sd = float(y.mean()), float(y.std())
        if sd == 0.0:
            return 0.0  # every top trial has the same value
        z = (y - mu) / sd
        model = GPModel(F, z, fit_gp(F, z))
        d = enc.dim
        beta = 2.0 * math.log(d * n_top**2 * math.pi**2 / (6.0 * 0.1)) / 5.0
        m_obs, v_obs = model.predict(F)
        ucb_obs = float(np.min(m_obs + np.sqrt(beta * v_obs)))

        def neg_lcb(Ur: np.ndarray) -> np.ndarray:
            Fr = Features.build(Ur, np.ones_like(Ur, dtype=bool), enc.is_categorical)
            m, v = model.predict(Fr)
            return -(m - np.sqrt(beta * v))

        # Start the search from the observed points (inactive entries hold neutral 0.0).
        centers = U
        _, best_neg = optimize_acquisition(neg_lcb, enc, self._rng, centers, n_candidates=512)
        lcb_min = min(-float(best_neg), float(np.min(m_obs - np.sqrt(beta * v_obs))))
        return float(max(ucb_obs - lcb_min, 0.0) * sd)


class EMMREvaluator(BaseImprovementEvaluator):
    """Not provided: slimtune has no Expected Minimum Model Regret evaluator."""

    def __init__(
        self,
        deterministic_objective: bool = False,
        delta: float = 0.1,
        min_n_trials: int = 2,
        seed: int | None = None,
    ):
        raise NotImplementedError(
            "EMMREvaluator is not provided by slimtune; use RegretBoundEvaluator() (a GP "
            "regret bound) or BestValueStagnationEvaluator() with StaticErrorEvaluator(0)."
        )

    def evaluate(self, trials: list[FrozenTrial], study_direction: Any) -> float:
        raise NotImplementedError  # pragma: no cover - __init__ raises


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
        complete = _complete(trials)
        if len(complete) < self._warm_up_trials + self._n_initial_trials:
            return -float("inf")
        vals = [
            self._paired.evaluate(complete[: self._warm_up_trials + i + 1], study_direction)
            for i in range(self._n_initial_trials)
        ]
        finite = [v for v in vals if math.isfinite(v)]
        self._threshold = float(np.median(finite)) * self._threshold_ratio if finite else 0.0
        return self._threshold


# --- terminators ---------------------------------------------------------------------------


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


class TerminatorCallback:
    """``study.optimize(..., callbacks=[TerminatorCallback()])``: call ``study.stop()``
    when the terminator says so (checked after every trial)."""

    def __init__(self, terminator: BaseTerminator | None = None):
        self._terminator = terminator or Terminator()

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        if self._terminator.should_terminate(study):
            logger.info("The study is stopped by the terminator after trial %d.", trial.number)
            study.stop()
