"""Hyperband (Li et al. 2018) as a pruner: several brackets of asynchronous successive
halving that trade off how aggressively they stop trials.

Bracket ``b`` (0 = most aggressive) is a :class:`SuccessiveHalvingPruner` with
``min_early_stopping_rate = b``; trials compete only with trials of their own bracket.

Bracket assignment is a pure function of the trial number, so every worker (and a resumed
study) agrees on it without shared state: trial ``n`` falls in bracket ``b`` where
``frac((n + 1) / phi)`` (the golden-ratio low-discrepancy sequence) lands in ``b``'s share
of ``[0, 1)``. Shares are proportional to the number of configurations Hyperband gives each
bracket (``ceil(n_brackets / (s + 1) * rf ** s)`` for a bracket of ``s + 1`` rungs). Unlike a
hash, this keeps the brackets in balance already over the first few trials.

The sampler sees the trials of *all* brackets (Optuna instead hides the other brackets from
the sampler). Model-based samplers here, BOHB in particular, fit one model per budget, which
is what makes observations from different brackets comparable.
"""

from __future__ import annotations

import functools
import math
from typing import TYPE_CHECKING

import numpy as np

from slimtune.pruners._common import check_int, check_rf, is_nan_value
from slimtune.pruners.asha import (
    SuccessiveHalvingPruner,
    auto_max_resource,
    n_rungs_between,
    undecided_rung,
)
from slimtune.pruners.base import BasePruner

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["HyperbandPruner", "bracket_of"]

_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


@functools.lru_cache(maxsize=64)
def _cdf(n_brackets: int, reduction_factor: float) -> np.ndarray:
    return np.cumsum(bracket_weights(n_brackets, reduction_factor))


def bracket_weights(n_brackets: int, reduction_factor: float) -> np.ndarray:
    """Share of trials per bracket (bracket 0 = most rungs), as Hyperband sizes them."""
    s = n_brackets - 1 - np.arange(n_brackets)
    n = np.ceil(n_brackets / (s + 1) * float(reduction_factor) ** s)
    return n / n.sum()


def bracket_of(number: int, n_brackets: int, reduction_factor: float) -> int:
    """The bracket of trial ``number``: deterministic, balanced by bracket weights."""
    if n_brackets <= 1:
        return 0
    u = math.fmod((number + 1) * _INV_PHI, 1.0)
    cdf = _cdf(n_brackets, float(reduction_factor))
    return int(min(np.searchsorted(cdf, u, side="right"), n_brackets - 1))


class HyperbandPruner(BasePruner):
    """Hyperband: brackets of asynchronous successive halving.

    Args:
        min_resource: steps before the first rung of the most aggressive bracket.
        max_resource: the full budget in steps; ``"auto"`` = the last step of the complete
            trials (no pruning until one completes). Give it when you know it.
        reduction_factor: keep the best ``1 / reduction_factor`` at each rung.
        bootstrap_count: as in :class:`SuccessiveHalvingPruner`.
        multi_objective_tiebreak: as in :class:`SuccessiveHalvingPruner`.

    With ``min_resource=1, max_resource=81, reduction_factor=3`` there are 5 brackets, with
    rungs at 1/3/9/27, 3/9/27, 9/27, 27 and none (full runs).

    >>> import slimtune as st
    >>> pruner = st.pruners.HyperbandPruner(min_resource=1, max_resource=81)
    >>> pruner.n_brackets()
    5
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int | str = "auto",
        reduction_factor: float = 3,
        bootstrap_count: int = 0,
        *,
        multi_objective_tiebreak: str = "crowding",
    ):
        self.min_resource = check_int("min_resource", min_resource, 1)
        if max_resource != "auto":
            check_int("max_resource", max_resource, 1)
            if max_resource < min_resource:  # type: ignore[operator]
                raise ValueError(
                    f"max_resource={max_resource} must be >= min_resource={min_resource}."
                )
        self.max_resource = max_resource
        self.reduction_factor = check_rf(reduction_factor)
        self.bootstrap_count = check_int("bootstrap_count", bootstrap_count, 0)
        self.multi_objective_tiebreak = multi_objective_tiebreak
        self._brackets: dict[tuple[int, int], SuccessiveHalvingPruner] = {}
        # Validates multi_objective_tiebreak.
        SuccessiveHalvingPruner(1, multi_objective_tiebreak=multi_objective_tiebreak)

    def n_brackets(self, max_resource: int | None = None) -> int:
        """Number of brackets for ``max_resource`` (default: the one given)."""
        m = max_resource if max_resource is not None else self.max_resource
        if m == "auto" or m is None:
            raise ValueError("max_resource='auto' is not known yet; pass max_resource.")
        return n_rungs_between(self.min_resource, int(m), self.reduction_factor)  # type: ignore[arg-type]

    def bracket_of(self, number: int, max_resource: int | None = None) -> int:
        """The bracket (0 = most aggressive) of trial ``number``."""
        return bracket_of(number, self.n_brackets(max_resource), self.reduction_factor)

    def budgets(self, max_resource: int | None = None) -> list[float]:
        """All rung resources, ascending, ending with ``max_resource`` (the full budget)."""
        n = self.n_brackets(max_resource)
        m = max_resource if max_resource is not None else int(self.max_resource)  # type: ignore[arg-type]
        out = [float(self.min_resource * self.reduction_factor**k) for k in range(n)]
        out = [r for r in out if r < m] + [float(m)]
        return out

    def _max_resource(self, trials: list[FrozenTrial]) -> int | None:
        if self.max_resource == "auto":
            return auto_max_resource(trials)
        return int(self.max_resource)  # type: ignore[arg-type]

    def _bracket_pruner(self, bracket: int, max_resource: int) -> SuccessiveHalvingPruner:
        key = (bracket, max_resource)
        p = self._brackets.get(key)
        if p is None:
            p = SuccessiveHalvingPruner(
                self.min_resource,
                self.reduction_factor,
                bracket,
                self.bootstrap_count,
                max_resource=max_resource,
                multi_objective_tiebreak=self.multi_objective_tiebreak,
            )
            self._brackets[key] = p
        return p

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if not trial.intermediate_values:
            return False
        iv = trial.intermediate_values
        trials: list[FrozenTrial] | None = None
        if self.max_resource == "auto":
            trials = study.get_trials(deepcopy=False)
        max_res = self._max_resource(trials or [])
        if max_res is None:
            return False
        n_br = self.n_brackets(max_res)
        b = bracket_of(trial.number, n_br, self.reduction_factor)
        sh = self._bracket_pruner(b, max_res)
        if not is_nan_value(iv[max(iv)]) and not undecided_rung(
            study, trial, sh.rung_resources(self.min_resource, max_res)
        ):
            return False
        if trials is None:
            trials = study.get_trials(deepcopy=False)

        def same(t: FrozenTrial) -> bool:
            return bracket_of(t.number, n_br, self.reduction_factor) == b

        return sh._prune_among(
            study, trial, trials, same, min_resource=self.min_resource, max_resource=max_res
        )

    def __repr__(self) -> str:
        return (
            f"HyperbandPruner(min_resource={self.min_resource}, max_resource="
            f"{self.max_resource!r}, reduction_factor={self.reduction_factor}, "
            f"bootstrap_count={self.bootstrap_count})"
        )
