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
training: cheap models survive even when less accurate; dominated ones are stopped. With
``keep_front=True`` a trial that is non-dominated among the values recorded at its rung is
always promoted, whatever the quota: the pruner then never discards a point of the current
front at that fidelity (the small end of an accuracy-vs-MACs front included).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from slimtune.multifidelity.rungs import (
    is_nan_value,
    promotable,
    record_rung,
    rung_key,
    rung_value,
    undecided_rung,
)
from slimtune.multifidelity.schedule import (
    RungSchedule,
    auto_min_resource,
    check_int,
    check_rf,
    rung_levels,
)
from slimtune.multiobjective import is_pareto_front, to_losses
from slimtune.pruners.base import BasePruner

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["SuccessiveHalvingPruner"]


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
        keep_front: several objectives: always promote a trial that is non-dominated at
            its rung (only dominated trials are stopped, and only beyond the quota).

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
        keep_front: bool = False,
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
        if not isinstance(keep_front, bool):
            raise TypeError(f"keep_front must be True or False, got {keep_front!r}.")
        self.keep_front = keep_front

    # --- rungs ------------------------------------------------------------------------
    def rung_schedule(self, trials: Sequence[FrozenTrial] = ()) -> RungSchedule | None:
        """The rungs this pruner decides at; ``min_resource="auto"`` is resolved from the
        complete ``trials`` (None until one completes)."""
        if self.min_resource == "auto":
            min_resource = auto_min_resource(trials)
            if min_resource is None:
                return None
        else:
            min_resource = int(self.min_resource)  # type: ignore[arg-type]
        return RungSchedule(
            min_resource, self.reduction_factor, self.max_resource, self.min_early_stopping_rate
        )

    def rung_resources(self, min_resource: int, max_resource: int | None = None) -> list[float]:
        """Resources of the decision rungs below ``max_resource`` (default: the one given;
        at most 64 rungs), see :func:`~slimtune.multifidelity.schedule.rung_levels`."""
        cap = max_resource if max_resource is not None else self.max_resource
        return rung_levels(min_resource, self.reduction_factor, cap, self.min_early_stopping_rate)

    # --- the decision -----------------------------------------------------------------
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        iv = trial.intermediate_values
        if not iv:
            return False
        schedule = self.rung_schedule()
        if schedule is not None and not is_nan_value(iv[max(iv)]):
            if not undecided_rung(study, trial, schedule.rungs()):
                return False
        trials = study.get_trials(deepcopy=False)
        return self.prune_at_rungs(study, trial, trials)

    def prune_at_rungs(
        self,
        study: Study,
        trial: FrozenTrial,
        trials: list[FrozenTrial],
        *,
        schedule: RungSchedule | None = None,
        peers: Callable[[FrozenTrial], bool] | None = None,
    ) -> bool:
        """Decide ``trial`` at each rung of ``schedule`` it has newly crossed: record its
        value there and prune it unless it is in the best ``1 / reduction_factor`` of the
        trials recorded at that rung. A NaN value is pruned at once.

        Args:
            trials: the study's trials (``study.get_trials(deepcopy=False)``).
            schedule: the rungs (default :meth:`rung_schedule` of ``trials``); Hyperband
                passes the rungs of the trial's bracket.
            peers: only the trials for which ``peers(t)`` is true compete (default: all);
                Hyperband passes "in the same bracket".
        """
        iv = trial.intermediate_values
        step = max(iv)
        value = iv[step]
        if is_nan_value(value):
            return True
        if schedule is None:
            schedule = self.rung_schedule(trials)
        if schedule is None:
            return False
        # The freshest copy of this trial's system attributes is the storage's.
        attrs = dict(trial.system_attrs)
        for t in trials:
            if t.trial_id == trial.trial_id:
                attrs.update(t.system_attrs)
                break
        directions = study.directions
        for res in schedule.rungs():
            if step < res:
                return False
            key = rung_key(res)
            if key in attrs:
                continue  # decided at an earlier report
            record_rung(study, trial, res, value)
            others = [
                v
                for t in trials
                if t.trial_id != trial.trial_id
                and (v := rung_value(t, res, key)) is not None
                and (peers is None or peers(t))
            ]
            if self.bootstrap_count and len(others) < self.bootstrap_count:
                return True
            arr = np.array([*others, value], dtype=float).reshape(len(others) + 1, -1)
            ok = ~np.isnan(arr).any(axis=1)
            L = to_losses(arr[ok], directions)
            if self.keep_front and L.shape[1] > 1 and ok[-1] and is_pareto_front(L)[-1]:
                continue  # on the rung's front: never stopped
            if not promotable(L, self.reduction_factor, self.multi_objective_tiebreak):
                return True
        return False

    def __repr__(self) -> str:
        return (
            f"SuccessiveHalvingPruner(min_resource={self.min_resource!r}, reduction_factor="
            f"{self.reduction_factor}, min_early_stopping_rate={self.min_early_stopping_rate}, "
            f"bootstrap_count={self.bootstrap_count}, max_resource={self.max_resource}"
            + (", keep_front=True)" if self.keep_front else ")")
        )
