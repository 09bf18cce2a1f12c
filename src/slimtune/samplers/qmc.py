"""Quasi-random search: scrambled Sobol (or Halton) points through scipy.stats.qmc.

The joint space is the union of parameters seen so far (sorted by name); trial number
``n`` takes point ``n`` of a scrambled sequence of that dimension, so parallel workers
and resumed studies continue one low-discrepancy sequence instead of restarting it.
Parameters the union does not know yet (the first trial, a new conditional branch) are
sampled uniformly; a parameter that is inactive in a trial simply ignores its coordinate.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import qmc

from slimtune.distributions import BaseDistribution
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.random import sample_uniform
from slimtune.space import union_search_space

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["QMCSampler"]


class QMCSampler(BaseSampler):
    """Scrambled Sobol (``qmc_type="sobol"``, default) or Halton points; seeded."""

    def __init__(self, seed: int | None = None, qmc_type: str = "sobol", scramble: bool = True):
        if qmc_type not in ("sobol", "halton"):
            raise ValueError(f"qmc_type={qmc_type!r}: use 'sobol' or 'halton'.")
        self.seed = seed
        self.qmc_type = qmc_type
        self.scramble = scramble
        # Seed of the scrambling: fixed per sampler so that all workers share the sequence.
        self._qmc_seed = (
            int(np.random.default_rng(seed).integers(2**31))
            if seed is not None
            else (int(np.random.default_rng().integers(2**31)))
        )
        self._rng = np.random.default_rng(seed)
        self._engine: Any = None
        self._engine_dim = -1
        self._engine_pos = 0

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = union_search_space(study.get_trials(deepcopy=False))
        return {k: v for k, v in space.items() if not v.single()}

    def _point(self, dim: int, index: int) -> np.ndarray:
        if self._engine is None or self._engine_dim != dim or self._engine_pos > index:
            if self.qmc_type == "sobol":
                self._engine = qmc.Sobol(dim, scramble=self.scramble, seed=self._qmc_seed)
            else:
                self._engine = qmc.Halton(dim, scramble=self.scramble, seed=self._qmc_seed)
            self._engine_dim = dim
            self._engine_pos = 0
        if index > self._engine_pos:
            self._engine.fast_forward(index - self._engine_pos)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Sobol's "balance properties" note
            pt = self._engine.random(1)[0]
        self._engine_pos = index + 1
        return pt

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        u = self._point(len(search_space), trial.number)
        return {
            name: sample_uniform(self._rng, dist, float(u[j]))
            for j, (name, dist) in enumerate(search_space.items())
        }

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return sample_uniform(self._rng, distribution)

    def reseed_rng(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)  # the QMC sequence itself stays shared

    def __repr__(self) -> str:
        return f"QMCSampler(seed={self.seed}, qmc_type={self.qmc_type!r})"
