"""Tree-structured Parzen Estimator samplers (single- and multi-objective)."""

from slimtune.samplers.tpe.sampler import (
    MOTPESampler,
    Observations,
    TPESampler,
    default_gamma,
    default_weights,
    hyperopt_default_gamma,
    uniform_weights,
)

__all__ = [
    "TPESampler",
    "MOTPESampler",
    "Observations",
    "default_gamma",
    "default_weights",
    "hyperopt_default_gamma",
    "uniform_weights",
]
