"""The sampler protocol (Optuna's relative-then-independent split).

At a trial's first ``suggest_*``, the study asks ``infer_relative_search_space`` for the
space to sample jointly (model-based samplers return the *union* of parameters seen so far,
conditional ones included) and ``sample_relative`` for a whole configuration of it. Any
parameter outside that space (a new one, or a range that changed) goes to
``sample_independent``. Values are external (what the objective sees).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune.distributions import BaseDistribution

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial, TrialState

__all__ = ["BaseSampler"]


class BaseSampler(abc.ABC):
    """Base class of all samplers. Every sampler takes ``seed`` and is reproducible."""

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    @abc.abstractmethod
    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any: ...

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Called when a trial starts (after it is created in the storage)."""

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Called when a trial ends, before its state is stored."""

    def reseed_rng(self, seed: int | None = None) -> None:
        """Give the sampler a new random stream (each worker process gets its own)."""
        rng = getattr(self, "_rng", None)
        if isinstance(rng, np.random.Generator):
            self._rng = np.random.default_rng(seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
