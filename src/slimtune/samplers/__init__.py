"""Samplers: random, quasi-random, TPE, GP and the automatic default."""

from __future__ import annotations

from slimtune.samplers.base import BaseSampler
from slimtune.samplers.qmc import QMCSampler
from slimtune.samplers.random import RandomSampler

__all__ = ["BaseSampler", "RandomSampler", "QMCSampler"]

from slimtune.samplers.auto import AutoSampler  # noqa: E402

__all__ += ["AutoSampler"]
