"""The older path of BOHB: it lives in :mod:`slimtune.multifidelity.bohb`, whose names this
module hands out on first access. (A package rather than ``bohb.py``, so that git pairs the
old file with the moved one.)"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["BOHBSampler", "bohb_gamma"]


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(f"module 'slimtune.samplers.bohb' has no attribute {name!r}")
    return getattr(importlib.import_module("slimtune.multifidelity.bohb"), name)
