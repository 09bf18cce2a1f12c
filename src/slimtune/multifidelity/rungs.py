"""A trial's value at a rung: reading it, recording it, and choosing the best at a rung.

A rung decision is stored on the trial itself (system attribute ``"sh:rung@<resource>"``,
:func:`slimtune.keys.rung_key`) through the study's public door, so parallel workers and
machines sharing a SQL storage see the same rungs. Trials that never asked the pruner (run
without one, or added with ``add_trial``) count with their first report at or after the rung.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.multiobjective import (
    crowding_distance,
    hypervolume_contributions,
    non_dominated_sort,
    to_losses,
)

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = [
    "RUNG_PREFIX",
    "rung_key",
    "rung_value",
    "record_rung",
    "undecided_rung",
    "is_nan_value",
    "as_loss_row",
    "promotable",
    "top_k",
]

RUNG_PREFIX = keys.RUNG_PREFIX
rung_key = keys.rung_key


# --- a trial at a rung ------------------------------------------------------------------


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


def record_rung(study: Study, trial: FrozenTrial, resource: float, value: Any) -> None:
    """Record ``value`` as the trial's value at the rung ``resource`` (in the storage)."""
    study.set_trial_system_attr(trial.trial_id, rung_key(resource), value)


def undecided_rung(study: Study, trial: FrozenTrial, rungs: Sequence[float]) -> bool:
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


# --- reported values --------------------------------------------------------------------


def as_loss_row(value: Any, directions: Sequence[str]) -> np.ndarray:
    """An intermediate value (float or list) as a loss vector (every entry minimised)."""
    v = np.atleast_1d(np.asarray(value, dtype=float))
    return to_losses(v[None, :], directions)[0]


def is_nan_value(value: Any) -> bool:
    """True when a reported value (or any entry of a list) is NaN."""
    if isinstance(value, (list, tuple)):
        return any(isinstance(x, float) and math.isnan(x) for x in value)
    return isinstance(value, float) and math.isnan(value)


# --- the best at a rung -----------------------------------------------------------------


def promotable(
    L: np.ndarray, reduction_factor: float, tiebreak: str = "crowding"
) -> bool:
    """Whether the LAST row of the loss matrix ``L`` (n, m) is in the top ``n / rf``
    (asynchronous successive halving: one trial arrives at a rung).

    One objective: the row's value is at most the k-th smallest (k = max(n // rf, 1)); ties
    are promoted, as in Optuna. Several objectives (MO-ASHA): rows are ordered by
    non-dominated rank, and within the boundary front by crowding distance
    (``tiebreak="crowding"``, NSGA-II) or exclusive hypervolume contribution
    (``tiebreak="hypervolume"``); the row is promoted if it is among the first k.
    """
    n, m = L.shape
    k = max(int(n // reduction_factor), 1)
    if m == 1:
        col = L[:, 0]
        kth = np.partition(col, k - 1)[k - 1]
        return bool(col[-1] <= kth)
    ranks = non_dominated_sort(L)
    r = ranks[-1]
    better = int(np.sum(ranks < r))
    if better >= k:
        return False
    same = np.flatnonzero(ranks == r)
    if better + len(same) <= k:
        return True
    F = L[same]
    if tiebreak == "hypervolume":
        span = L.max(axis=0) - L.min(axis=0)
        ref = L.max(axis=0) + 0.1 * np.where(span > 0, span, 1.0)
        score = hypervolume_contributions(F, ref)
    else:
        score = crowding_distance(F)
    mine = score[-1]  # the last row of L is the last member of its front
    # Rows of the same front with a strictly better score go first; ties are lenient.
    return bool(better + int(np.sum(score > mine)) < k)


def top_k(L: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best rows of a loss matrix (rank, then crowding for >1 objective):
    synchronous successive halving, where a whole rung is decided at once."""
    if L.shape[1] == 1:
        return np.argsort(L[:, 0], kind="stable")[:k]
    ranks = non_dominated_sort(L)
    crowd = np.zeros(len(L))
    for r in np.unique(ranks):  # one loop per front, not per row
        m = ranks == r
        crowd[m] = crowding_distance(L[m])
    return np.lexsort((-crowd, ranks))[:k]
