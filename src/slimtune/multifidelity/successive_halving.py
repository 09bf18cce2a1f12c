"""Asynchronous successive halving (ASHA, Li et al. 2020), for one or several objectives.

Rungs sit at resources ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``
(the resource is the ``step`` passed to ``trial.report``, e.g. the epoch). When a trial first
reports a step at or beyond a rung, its value there is written to the trial's system
attributes (``"sh:rung@<resource>"``) in the storage, and the trial continues only if it is
in the best ``1 / reduction_factor`` of all trials recorded at that rung so far; otherwise it
is pruned. Everything is read from and written to the storage, never process memory, so
parallel workers and several machines sharing a SQL storage see the same rungs.

Several objectives (MO-ASHA, Schmucker et al. 2021): at a rung, trials are ordered by
non-dominated rank and, within the boundary front, by crowding distance (or exclusive
hypervolume contribution with ``multi_objective_tiebreak="hypervolume"``). Report a list of
values per step, e.g. ``trial.report([accuracy, macs], epoch)`` where MACs are known before
training: cheap models survive even when less accurate; dominated ones are stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.multiobjective import to_losses
from slimtune.pruners._common import (
    check_int,
    check_rf,
    is_nan_value,
    promotable,
)
from slimtune.pruners.base import BasePruner
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = [
    "SuccessiveHalvingPruner",
    "rung_key",
    "rung_value",
    "auto_min_resource",
    "auto_max_resource",
]

RUNG_PREFIX = keys.RUNG_PREFIX
rung_key = keys.rung_key


def rung_value(trial: FrozenTrial, resource: float, key: str | None = None) -> Any:
    """A trial's value at a rung: the recorded one, else its first report at or after
    ``resource`` (trials run without a pruner, or added with ``add_trial``, count too)."""
    v = trial.system_attrs.get(key or rung_key(resource))
    if v is not None:
        return v
    iv = trial.intermediate_values
    if not iv:
        return None
    steps = [s for s in iv if s >= resource]
    return iv[min(steps)] if steps else None


def undecided_rung(study: Study, trial: FrozenTrial, rungs: list[float]) -> bool:
    """Whether ``trial`` has crossed a rung without a recorded decision (cheap check: one
    trial read, so that steps between rungs cost no scan of the study)."""
    step = max(trial.intermediate_values)
    crossed = [r for r in rungs if r <= step]
    if not crossed:
        return False
    attrs = trial.system_attrs
    if all(rung_key(r) in attrs for r in crossed):
        return False
    attrs = study.get_trial(trial.trial_id).system_attrs
    return not all(rung_key(r) in attrs for r in crossed)


def auto_max_resource(trials: list[FrozenTrial]) -> int | None:
    """The largest step reported by a complete trial (None before any completes)."""
    steps = [t.last_step for t in trials if t.state == TrialState.COMPLETE and t.last_step]
    return max(steps) if steps else None


def auto_min_resource(trials: list[FrozenTrial]) -> int | None:
    """Optuna's heuristic: 1/100 of the steps of the complete trials, at least 1."""
    m = auto_max_resource(trials)
    return None if m is None else max(m // 100, 1)


class SuccessiveHalvingPruner(BasePruner):
    """Asynchronous successive halving (ASHA); multi-objective studies use MO-ASHA.

    Args:
        min_resource: steps before the first rung; ``"auto"`` = 1/100 of the steps of the
            first complete trial(s) (no pruning until one completes).
        reduction_factor: keep the best ``1 / reduction_factor`` at each rung (>= 2).
        min_early_stopping_rate: skip the first rungs (the first rung is at
            ``min_resource * reduction_factor ** min_early_stopping_rate``).
        bootstrap_count: a trial is promoted only once at least this many *other* trials
            have reached its rung (0 = promote the best of the first arrivals at once).
        max_resource: optional: no rung at or beyond this many steps (the full budget).
        multi_objective_tiebreak: ``"crowding"`` or ``"hypervolume"`` (several objectives).

    >>> import slimtune as st
    >>> study = st.create_study(pruner=st.pruners.SuccessiveHalvingPruner(min_resource=1))
    """

    def __init__(
        self,
        min_resource: int | str = "auto",
        reduction_factor: float = 4,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
        *,
        max_resource: int | None = None,
        multi_objective_tiebreak: str = "crowding",
    ):
        if min_resource != "auto":
            check_int("min_resource", min_resource, 1)
        self.min_resource = min_resource
        self.reduction_factor = check_rf(reduction_factor)
        self.min_early_stopping_rate = check_int(
            "min_early_stopping_rate", min_early_stopping_rate, 0
        )
        self.bootstrap_count = check_int("bootstrap_count", bootstrap_count, 0)
        if max_resource is not None:
            check_int("max_resource", max_resource, 1)
        self.max_resource = max_resource
        if multi_objective_tiebreak not in ("crowding", "hypervolume"):
            raise ValueError(
                "multi_objective_tiebreak must be 'crowding' or 'hypervolume', got "
                f"{multi_objective_tiebreak!r}."
            )
        self.multi_objective_tiebreak = multi_objective_tiebreak

    # --- rungs ------------------------------------------------------------------------
    def rung_resources(self, min_resource: int, max_resource: int | None = None) -> list[float]:
        """Resources of the decision rungs below ``max_resource`` (at most 64 rungs)."""
        cap = max_resource if max_resource is not None else self.max_resource
        out = []
        for k in range(64):
            r = min_resource * self.reduction_factor ** (self.min_early_stopping_rate + k)
            if cap is not None and r >= cap:
                break
            out.append(float(r))
            if cap is None and len(out) >= 32:
                break
        return out

    def _min_resource(self, trials: list[FrozenTrial]) -> int | None:
        if self.min_resource == "auto":
            return auto_min_resource(trials)
        return int(self.min_resource)  # type: ignore[arg-type]

    # --- the decision -----------------------------------------------------------------
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        iv = trial.intermediate_values
        if not iv:
            return False
        if self.min_resource != "auto" and not is_nan_value(iv[max(iv)]):
            rungs = self.rung_resources(int(self.min_resource))  # type: ignore[arg-type]
            if not undecided_rung(study, trial, rungs):
                return False
        trials = study.get_trials(deepcopy=False)
        return self._prune_among(study, trial, trials, lambda t: True)

    def _prune_among(
        self,
        study: Study,
        trial: FrozenTrial,
        trials: list[FrozenTrial],
        same_group: Callable[[FrozenTrial], bool],
        min_resource: int | None = None,
        max_resource: int | None = None,
    ) -> bool:
        iv = trial.intermediate_values
        step = max(iv)
        value = iv[step]
        if is_nan_value(value):
            return True
        if min_resource is None:
            min_resource = self._min_resource(trials)
        if min_resource is None:
            return False
        # The freshest copy of this trial's system attributes is the storage's.
        attrs = dict(trial.system_attrs)
        for t in trials:
            if t.trial_id == trial.trial_id:
                attrs.update(t.system_attrs)
                break
        directions = study.directions
        for res in self.rung_resources(min_resource, max_resource):
            if step < res:
                return False
            key = rung_key(res)
            if key in attrs:
                continue  # decided at an earlier report
            study.set_trial_system_attr(trial.trial_id, key, value)
            others = [
                v
                for t in trials
                if t.trial_id != trial.trial_id
                and (v := rung_value(t, res, key)) is not None
                and same_group(t)
            ]
            if self.bootstrap_count and len(others) < self.bootstrap_count:
                return True
            arr = np.array([*others, value], dtype=float).reshape(len(others) + 1, -1)
            ok = ~np.isnan(arr).any(axis=1)
            L = to_losses(arr[ok], directions)
            if not promotable(L, self.reduction_factor, self.multi_objective_tiebreak):
                return True
        return False

    def __repr__(self) -> str:
        return (
            f"SuccessiveHalvingPruner(min_resource={self.min_resource!r}, reduction_factor="
            f"{self.reduction_factor}, min_early_stopping_rate={self.min_early_stopping_rate}, "
            f"bootstrap_count={self.bootstrap_count}, max_resource={self.max_resource})"
        )


def n_rungs_between(min_resource: float, max_resource: float, reduction_factor: float) -> int:
    """floor(log_rf(max / min)) + 1, robust to float rounding (e.g. log3(81) = 4)."""
    if max_resource < min_resource:
        return 1
    x = math.log(max_resource / min_resource) / math.log(reduction_factor)
    return int(math.floor(x + 1e-9)) + 1

