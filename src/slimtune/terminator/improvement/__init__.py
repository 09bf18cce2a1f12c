"""Improvement evaluators: how much the best value may still improve."""

from slimtune.terminator.improvement.emmr import EMMREvaluator
from slimtune.terminator.improvement.evaluator import (
    BaseImprovementEvaluator,
    BestValueStagnationEvaluator,
    RegretBoundEvaluator,
)

__all__ = [
    "BaseImprovementEvaluator",
    "BestValueStagnationEvaluator",
    "EMMREvaluator",
    "RegretBoundEvaluator",
]
