"""Samplers: random, quasi-random, TPE, GP and the automatic default.

Model-based samplers are imported lazily (on first attribute access), so that
``import slimtune`` stays fast and a problem in one sampler cannot break the others.
"""

from __future__ import annotations

import importlib
from typing import Any

from slimtune.samplers.auto import AutoSampler
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.qmc import QMCSampler
from slimtune.samplers.random import RandomSampler

_LAZY = {
    "TPESampler": "slimtune.samplers.tpe",
    "MOTPESampler": "slimtune.samplers.tpe",
    "GPSampler": "slimtune.samplers.gp",
    "BOHBSampler": "slimtune.multifidelity.bohb",
}

__all__ = ["BaseSampler", "RandomSampler", "QMCSampler", "AutoSampler", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'slimtune.samplers' has no attribute {name!r}")
