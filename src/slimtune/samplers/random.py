"""Uniform random search (on the log scale for log parameters, exact on integer grids)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from slimtune.samplers.base import BaseSampler

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["RandomSampler", "sample_uniform"]


def sample_uniform(rng: np.random.Generator, dist: BaseDistribution, u: float | None = None) -> Any:
    """One uniform draw from ``dist`` (``u`` in [0, 1) replaces the random number if given)."""
    if u is None:
        u = float(rng.random())
    if isinstance(dist, CategoricalDistribution):
        return dist.choices[min(int(u * len(dist.choices)), len(dist.choices) - 1)]
    if isinstance(dist, IntDistribution):
        if dist.log:
            lo, hi = math.log(dist.low - 0.5), math.log(dist.high + 0.5)
            v = int(round(math.exp(lo + u * (hi - lo))))
            return min(max(v, dist.low), dist.high)
        n = (dist.high - dist.low) // dist.step + 1
        return dist.low + min(int(u * n), n - 1) * dist.step
    assert isinstance(dist, FloatDistribution)
    if dist.log:
        lo, hi = math.log(dist.low), math.log(dist.high)
        return min(max(math.exp(lo + u * (hi - lo)), dist.low), dist.high)
    if dist.step is not None:
        n = int(round((dist.high - dist.low) / dist.step)) + 1
        v = dist.low + min(int(u * n), n - 1) * dist.step
        return min(max(v, dist.low), dist.high)
    return dist.low + u * (dist.high - dist.low)


class RandomSampler(BaseSampler):
    """Independent uniform sampling. ``seed`` makes the stream of trials reproducible."""

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return sample_uniform(self._rng, distribution)

    def __repr__(self) -> str:
        return f"RandomSampler(seed={self.seed})"
