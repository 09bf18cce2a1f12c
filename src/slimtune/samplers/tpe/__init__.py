"""Tree-structured Parzen Estimator samplers (single- and multi-objective).

``sampler.py``: the samplers; ``steps.py``: the pure steps (collect, split, fit, sample,
score); ``parzen.py``: the estimators; ``memo.py``: the pure memos that keep it fast.
"""

from slimtune.samplers.tpe.sampler import (
    MOTPESampler,
    TPESampler,
    default_gamma,
    default_weights,
    hyperopt_default_gamma,
    uniform_weights,
)
from slimtune.samplers.tpe.steps import (
    ObservationCollector,
    Observations,
    Split,
    TrialCollector,
    split_observations,
)

__all__ = [
    "TPESampler",
    "MOTPESampler",
    "Observations",
    "ObservationCollector",
    "TrialCollector",
    "Split",
    "split_observations",
    "default_gamma",
    "default_weights",
    "hyperopt_default_gamma",
    "uniform_weights",
]
