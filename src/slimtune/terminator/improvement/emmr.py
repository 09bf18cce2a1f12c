"""``optuna.terminator.improvement.emmr``: not provided (the class raises)."""

from __future__ import annotations

from typing import Any

from slimtune.terminator.improvement.evaluator import BaseImprovementEvaluator
from slimtune.trial import FrozenTrial

__all__ = ["EMMREvaluator"]


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
