"""The regret bound (a GP) and the best-value stagnation count (Optuna's
``optuna.terminator.improvement.evaluator``)."""

from __future__ import annotations

import abc
import math
from typing import Any

import numpy as np

from slimtune.terminator.trials import complete_trials, direction_of, losses
from slimtune.trial import FrozenTrial

__all__ = [
    "DEFAULT_MIN_N_TRIALS",
    "BaseImprovementEvaluator",
    "BestValueStagnationEvaluator",
    "RegretBoundEvaluator",
]

DEFAULT_MIN_N_TRIALS = 20


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
        complete = complete_trials(trials)
        if not complete:
            return float(self._max_stagnation_trials)
        loss = losses(complete, direction_of(study_direction))
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

        complete = complete_trials(trials)
        if len(complete) < self._min_n_trials:
            return float("inf")
        loss = losses(complete, direction_of(study_direction))
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
