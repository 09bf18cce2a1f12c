"""NSGA-II: the sampler and its crossover and mutation operators (Optuna's
``optuna.samplers.nsgaii`` names)."""

from __future__ import annotations

from slimtune.samplers.nsgaii.operators import (
    BaseCrossover,
    BaseMutation,
    BLXAlphaCrossover,
    PolynomialMutation,
    SBXCrossover,
    SPXCrossover,
    UNDXCrossover,
    UniformCrossover,
)
from slimtune.samplers.nsgaii.sampler import NSGAIISampler

__all__ = [
    "NSGAIISampler",
    "BaseCrossover",
    "UniformCrossover",
    "BLXAlphaCrossover",
    "SBXCrossover",
    "SPXCrossover",
    "UNDXCrossover",
    "BaseMutation",
    "PolynomialMutation",
]
