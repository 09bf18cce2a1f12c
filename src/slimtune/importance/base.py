"""What every importance evaluator shares: the protocol, the choice of trials and
parameters, and the numeric encoding the forests are fitted on.

The rules follow Optuna's ``optuna.importance``: only COMPLETE trials with a finite target
count; evaluators other than PED-ANOVA assess the parameters every complete trial has (the
intersection space), or the ``params`` asked for, in the trials that have them all.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from slimtune.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study

Target = Callable[[FrozenTrial], float]


class BaseImportanceEvaluator:
    """An importance evaluator: ``evaluate(study, params, target=...)`` returns
    ``{param: importance >= 0}``, largest first (not normalised)."""

    def evaluate(
        self,
        study: Study,
        params: list[str] | None = None,
        *,
        target: Target | None = None,
    ) -> dict[str, float]:
        raise NotImplementedError


def check_params_arg(params: object) -> None:
    """``params`` must be None or a list of names."""
    if params is None:
        return
    if not isinstance(params, (list, tuple)):
        raise TypeError(f"params must be a list of parameter names, got {params!r}.")
    if any(not isinstance(p, str) for p in params):
        raise TypeError(f"params must be a list of parameter names (strings), got {params!r}.")


def complete_trials(study: Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def require_target_if_multi(study: Study, target: Target | None, who: str) -> None:
    if target is None and len(study.directions) > 1:
        raise ValueError(
            f"{who}: this study has {len(study.directions)} objectives; pass target=, "
            "e.g. target=lambda t: t.values[0] for the first one."
        )


def intersection_distributions(trials: Sequence[FrozenTrial]) -> dict[str, BaseDistribution]:
    """The parameters (with one distribution each) that every trial in ``trials`` has,
    sorted by name."""
    space: dict[str, BaseDistribution] | None = None
    for t in trials:
        if space is None:
            space = dict(t.distributions)
            continue
        space = {k: d for k, d in space.items() if t.distributions.get(k) == d}
    return dict(sorted((space or {}).items()))


def fixed_space_distributions(
    study: Study, params: list[str] | None
) -> dict[str, BaseDistribution]:
    """The space a forest-based evaluator assesses: the intersection space of the complete trials
    when ``params`` is None; else ``params`` as they appear in the complete trials that have
    them all (which must agree on each distribution)."""
    check_params_arg(params)
    done = complete_trials(study)
    if params is None:
        return intersection_distributions(done)
    if not params:
        return {}
    having = [t for t in done if all(p in t.distributions for p in params)]
    if not having:
        raise ValueError(
            f"no complete trial has all of the parameters {list(params)}; "
            "pass parameters that complete trials share."
        )
    first = {p: having[0].distributions[p] for p in params}
    for t in having[1:]:
        for p in params:
            if t.distributions[p] != first[p]:
                raise ValueError(
                    f"parameter {p!r} has different distributions across trials "
                    f"({first[p]} and {t.distributions[p]}); importances need one "
                    "distribution per parameter: pass params that kept theirs."
                )
    return dict(sorted(first.items()))


def target_values(trials: Sequence[FrozenTrial], target: Target | None) -> np.ndarray:
    return np.array(
        [float(target(t)) if target is not None else float(t.values[0]) for t in trials],
        dtype=float,
    )


def usable_trials(study: Study, params: Sequence[str], target: Target | None) -> list[FrozenTrial]:
    """Complete trials that have every parameter in ``params`` and a finite target."""
    out = []
    for t in complete_trials(study):
        if not all(p in t.params for p in params):
            continue
        if target is not None:
            ok = math.isfinite(float(target(t)))
        else:
            ok = t.values is not None and all(math.isfinite(v) for v in t.values)
        if ok:
            out.append(t)
    return out


def sort_by_importance(importances: dict[str, float]) -> dict[str, float]:
    """Largest first; ties keep the order given."""
    items = list(importances.items())
    order = sorted(range(len(items)), key=lambda i: (-items[i][1], i))
    return {items[i][0]: float(items[i][1]) for i in order}


class Encoding:
    """The columns a tree model sees: a numeric parameter is one column (its log for log
    parameters, so that the forest's boxes measure what a log-uniform search covers), a
    categorical one is one column per choice (one-hot). ``groups[j]`` lists the columns of
    parameter ``j``; ``bounds`` (n_columns, 2) is the domain of each column."""

    def __init__(self, distributions: dict[str, BaseDistribution]) -> None:
        self.names = list(distributions)
        self.distributions = distributions
        self.groups: list[np.ndarray] = []
        self.categorical: list[bool] = []
        bounds: list[tuple[float, float]] = []
        for d in distributions.values():
            start = len(bounds)
            if isinstance(d, CategoricalDistribution):
                bounds += [(0.0, 1.0)] * len(d.choices)
                self.categorical.append(True)
            elif isinstance(d, (FloatDistribution, IntDistribution)):
                lo, hi = (math.log(d.low), math.log(d.high)) if d.log else (d.low, d.high)
                bounds.append((float(lo), float(hi)))
                self.categorical.append(False)
            else:  # pragma: no cover - every distribution is one of the three
                raise TypeError(f"unknown distribution {d!r}")
            self.groups.append(np.arange(start, len(bounds)))
        self.bounds = np.array(bounds, dtype=float).reshape(-1, 2)
        self.column_to_param = (
            np.concatenate([np.full(len(g), j) for j, g in enumerate(self.groups)]).astype(int)
            if self.groups
            else np.zeros(0, dtype=int)
        )

    def transform(self, trials: Sequence[FrozenTrial]) -> np.ndarray:
        X = np.zeros((len(trials), len(self.bounds)), dtype=float)
        for j, (name, d) in enumerate(self.distributions.items()):
            cols = self.groups[j]
            if isinstance(d, CategoricalDistribution):
                idx = np.array([int(d.to_internal(t.params[name])) for t in trials], dtype=int)
                X[np.arange(len(trials)), cols[0] + idx] = 1.0
            else:
                v = np.array([float(t.params[name]) for t in trials], dtype=float)
                X[:, cols[0]] = np.log(v) if d.log else v
        return X


def sklearn_forest(n_trees: int, max_depth: int, seed: int | None, who: str) -> object:
    """A scikit-learn RandomForestRegressor (the optional `importance` extra)."""
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError(f"{who} needs scikit-learn: pip install 'slimtune[importance]'") from e
    return RandomForestRegressor(
        n_estimators=n_trees,
        max_depth=max_depth,
        min_samples_split=2,
        min_samples_leaf=1,
        random_state=seed,
    )
