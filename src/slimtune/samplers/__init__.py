"""Samplers: random, quasi-random, grid, brute force, TPE, GP, CMA-ES, NSGA-II, the
automatic default, and ``PartialFixedSampler`` around any of them.

Model-based samplers are imported lazily (on first attribute access), so that
``import slimtune`` stays fast and a problem in one sampler cannot break the others.
"""

from __future__ import annotations

import importlib
from typing import Any

from slimtune.samplers.auto import AutoSampler
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.brute_force import BruteForceSampler
from slimtune.samplers.grid import GridSampler
from slimtune.samplers.partial_fixed import PartialFixedSampler
from slimtune.samplers.qmc import QMCSampler
from slimtune.samplers.random import RandomSampler

_LAZY = {
    "TPESampler": "slimtune.samplers.tpe",
    "MOTPESampler": "slimtune.samplers.tpe",
    "GPSampler": "slimtune.samplers.gp",
    "CmaEsSampler": "slimtune.samplers.cmaes",
    "NSGAIISampler": "slimtune.samplers.nsgaii",
    "BOHBSampler": "slimtune.multifidelity.bohb",
}

__all__ = [
    "BaseSampler",
    "RandomSampler",
    "QMCSampler",
    "GridSampler",
    "BruteForceSampler",
    "PartialFixedSampler",
    "AutoSampler",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name == "nsgaii":  # the package of crossover and mutation operators, as in Optuna
        return importlib.import_module("slimtune.samplers.nsgaii")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'slimtune.samplers' has no attribute {name!r}")
