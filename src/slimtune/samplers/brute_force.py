"""Exhaustive search over a define-by-run space (Optuna's ``BruteForceSampler``).

Each parameter is drawn from the values of its distribution (categorical choices, the
integer grid, the grid of a stepped float) that still lead to an unexplored configuration,
given the values this trial already took. The trials seen so far form a tree: a node is a
parameter, an edge one of its values, a leaf the end of a trial. A subtree is *exhausted*
when every value of its node leads to an exhausted subtree, and a leaf when its trial is
finished (or running, unless ``avoid_premature_stop``). Conditional spaces work, since each
branch is a subtree of its own. When the whole tree is exhausted the study stops.

The space must be finite: ``suggest_float`` without ``step`` is a ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from slimtune.samplers.base import BaseSampler
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["BruteForceSampler"]


def _grid(dist: BaseDistribution, name: str) -> np.ndarray:
    """Every internal value of a finite distribution."""
    if isinstance(dist, CategoricalDistribution):
        return np.arange(len(dist.choices), dtype=float)
    if isinstance(dist, IntDistribution):
        return np.arange(dist.low, dist.high + 1, dist.step, dtype=float)
    assert isinstance(dist, FloatDistribution)
    if dist.step is None:
        raise ValueError(
            f"BruteForceSampler: parameter {name!r} is a continuous float; give "
            "suggest_float a step= (the space must be finite)."
        )
    n = int(round((dist.high - dist.low) / dist.step)) + 1
    return dist.low + dist.step * np.arange(n)


def _key(dist: BaseDistribution, internal: float) -> float:
    """A hashable, rounding-proof key of a value on its grid."""
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        return float(round((internal - dist.low) / dist.step))
    return float(internal)


class _Node:
    """A parameter (``name``, with its grid of value keys) or, before that is known, open."""

    __slots__ = ("name", "keys", "children", "leaf")

    def __init__(self) -> None:
        self.name: str | None = None
        self.keys: set[float] | None = None
        self.children: dict[float, _Node] = {}
        self.leaf: str | None = None  # "finished" / "running" when a trial ended here

    def add(self, path: list[tuple[str, set[float], float]], state: str) -> None:
        node = self
        for name, grid_keys, key in path:
            if node.name is None:
                node.name, node.keys = name, set(grid_keys)
            elif node.name != name:
                return  # the same values led to another parameter: a dynamic space
            node = node.children.setdefault(key, _Node())
        if node.leaf != "finished":
            node.leaf = state

    def exhausted(self, count_running: bool) -> bool:
        if self.leaf == "finished" or (self.leaf == "running" and count_running):
            return True
        if self.name is None or self.keys is None:
            return False
        return all(
            k in self.children and self.children[k].exhausted(count_running) for k in self.keys
        )


class BruteForceSampler(BaseSampler):
    """Try every configuration of a finite define-by-run space once, then stop the study.

    Args:
        seed: the order in which the configurations are tried (random, reproducible).
        avoid_premature_stop: count a running trial's configuration as tried only once it
            has finished. Stricter coverage (no configuration is lost to a trial that
            fails), at the price of duplicates under parallel workers.

    >>> import slimtune as st
    >>> def objective(t):
    ...     if t.suggest_categorical("kind", ["a", "b"]) == "a":
    ...         return t.suggest_int("n", 1, 3)
    ...     return t.suggest_float("x", 0.0, 1.0, step=0.5)
    >>> study = st.create_study(sampler=st.samplers.BruteForceSampler(seed=0))
    >>> study.optimize(objective)
    >>> len(study.trials)
    6
    """

    def __init__(self, seed: int | None = None, avoid_premature_stop: bool = False) -> None:
        self.seed = seed
        self.avoid_premature_stop = bool(avoid_premature_stop)
        self._rng = np.random.default_rng(seed)

    def _tree(
        self, study: Study, current: FrozenTrial, prefix: dict[str, Any],
        current_state: str | None = None,
    ) -> _Node:
        """The tree of the trials that agree with ``prefix``, below it."""
        root = _Node()
        for t in study.get_trials(deepcopy=False):
            if t.state == TrialState.WAITING:
                continue
            if t.number == current.number:
                if current_state is None:
                    continue
                t, state = current, current_state
            else:
                state = "finished" if t.state.is_finished() else "running"
            params = t.params
            if any(n not in params or not _equal(params[n], v) for n, v in prefix.items()):
                continue
            path = []
            for name, dist in t.distributions.items():
                if name in prefix:
                    continue
                grid = _grid(dist, name)
                path.append((name, {_key(dist, g) for g in grid},
                             _key(dist, dist.to_internal(params[name]))))
            root.add(path, state)
        return root

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        grid = _grid(distribution, param_name)
        root = self._tree(study, trial, dict(trial.params))
        count_running = not self.avoid_premature_stop
        open_values = []
        for g in grid:
            child = root.children.get(_key(distribution, g)) if root.name == param_name else None
            if child is None or not child.exhausted(count_running):
                open_values.append(g)
        pick = open_values if open_values else list(grid)
        internal = float(pick[int(self._rng.integers(len(pick)))])
        return distribution.to_external(internal)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        if not trial.params:
            return
        root = self._tree(study, trial, {}, current_state="finished")
        if root.exhausted(not self.avoid_premature_stop):
            study.stop()

    def __repr__(self) -> str:
        return (
            f"BruteForceSampler(seed={self.seed}, "
            f"avoid_premature_stop={self.avoid_premature_stop})"
        )


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b
