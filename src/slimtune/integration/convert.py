"""Optuna's distribution objects <-> slimtune's (the same three kinds, the same fields).

Used where an Optuna object meets a slimtune one: :class:`~slimtune.integration.SlimSearchCV`
accepts Optuna distributions in ``param_distributions``, and the dashboard adapter hands
optuna-dashboard Optuna distributions.
"""

from __future__ import annotations

from typing import Any

from slimtune.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

__all__ = ["from_optuna_distribution", "to_optuna_distribution"]


def from_optuna_distribution(dist: Any) -> BaseDistribution:
    """A slimtune distribution equal to ``dist`` (slimtune's or Optuna's, by duck type:
    ``low``/``high``/``log``/``step`` floats or ints, or ``choices``)."""
    if isinstance(dist, BaseDistribution):
        return dist
    kind = type(dist).__name__
    if kind == "FloatDistribution":
        return FloatDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if kind == "IntDistribution":
        return IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if kind == "CategoricalDistribution":
        return CategoricalDistribution(list(dist.choices))
    raise TypeError(
        f"expected a distribution (FloatDistribution, IntDistribution or "
        f"CategoricalDistribution), got {dist!r}."
    )


def to_optuna_distribution(dist: BaseDistribution) -> Any:
    """The Optuna distribution equal to a slimtune one (needs ``optuna`` installed)."""
    from optuna import distributions as od

    if isinstance(dist, FloatDistribution):
        return od.FloatDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, IntDistribution):
        return od.IntDistribution(dist.low, dist.high, log=dist.log, step=dist.step)
    if isinstance(dist, CategoricalDistribution):
        return od.CategoricalDistribution(list(dist.choices))
    raise TypeError(f"no Optuna counterpart for the distribution {dist!r}.")
