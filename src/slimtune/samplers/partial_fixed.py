"""Fix some parameters, let another sampler choose the rest (Optuna's ``PartialFixedSampler``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slimtune.distributions import BaseDistribution
from slimtune.samplers.base import BaseSampler

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial, TrialState

__all__ = ["PartialFixedSampler"]


class PartialFixedSampler(BaseSampler):
    """Every trial takes ``fixed_params`` as given; ``base_sampler`` samples the others.

    The fixed parameters are left out of the base sampler's relative (joint) space, so a
    model-based base sampler models the free parameters only, on the trials it sees (which
    all carry the fixed values too). A fixed value outside the distribution the objective
    suggests is used anyway, with a warning (as in Optuna).

    Args:
        fixed_params: parameter name -> value.
        base_sampler: the sampler of the other parameters.

    >>> import slimtune as st
    >>> base = st.samplers.RandomSampler(seed=0)
    >>> study = st.create_study(sampler=st.samplers.PartialFixedSampler({"y": 2}, base))
    >>> study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("y", 0, 9), n_trials=3)
    >>> [t.params["y"] for t in study.trials]
    [2, 2, 2]
    """

    def __init__(self, fixed_params: dict[str, Any], base_sampler: BaseSampler) -> None:
        if not isinstance(fixed_params, dict):
            raise TypeError(
                f"PartialFixedSampler: fixed_params must be a dict, got {fixed_params!r}."
            )
        if not isinstance(base_sampler, BaseSampler):
            raise TypeError(
                "PartialFixedSampler: base_sampler must be a sampler (e.g. "
                f"st.samplers.TPESampler()), got {base_sampler!r}."
            )
        self._fixed_params = dict(fixed_params)
        self._base_sampler = base_sampler

    @property
    def fixed_params(self) -> dict[str, Any]:
        return dict(self._fixed_params)

    @property
    def base_sampler(self) -> BaseSampler:
        return self._base_sampler

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = self._base_sampler.infer_relative_search_space(study, trial)
        return {n: d for n, d in space.items() if n not in self._fixed_params}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self._base_sampler.sample_relative(study, trial, search_space)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        if param_name not in self._fixed_params:
            return self._base_sampler.sample_independent(
                study, trial, param_name, distribution
            )
        value = self._fixed_params[param_name]
        try:
            inside = distribution.contains(distribution.to_internal(value))
        except (TypeError, ValueError):
            inside = False
        if not inside:
            warnings.warn(
                f"PartialFixedSampler: the fixed value {value!r} of {param_name!r} is "
                f"outside the suggested distribution {distribution!r}; it is used anyway.",
                UserWarning,
                stacklevel=2,
            )
        return value

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._base_sampler.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._base_sampler.after_trial(study, trial, state, values)

    def reseed_rng(self, seed: int | None = None) -> None:
        self._base_sampler.reseed_rng(seed)

    def __repr__(self) -> str:
        return (
            f"PartialFixedSampler(fixed_params={self._fixed_params!r}, "
            f"base_sampler={self._base_sampler!r})"
        )
