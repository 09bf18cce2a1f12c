"""Helpers shared by the pruners: argument checks, losses, selection at a rung."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from slimtune.multiobjective import (
    crowding_distance,
    hypervolume_contributions,
    non_dominated_sort,
    to_losses,
)

__all__ = [
    "check_int",
    "check_rf",
    "as_loss_row",
    "is_nan_value",
    "promotable",
]


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or a clear ``TypeError``/``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}.")
    return int(value)


def check_rf(value: Any) -> float:
    """A reduction factor: a number >= 2."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"reduction_factor must be a number >= 2, got {value!r}.")
    if not value >= 2:
        raise ValueError(f"reduction_factor must be >= 2, got {value!r}.")
    return float(value) if not float(value).is_integer() else int(value)


def as_loss_row(value: Any, directions: Sequence[str]) -> np.ndarray:
    """An intermediate value (float or list) as a loss vector (every entry minimised)."""
    v = np.atleast_1d(np.asarray(value, dtype=float))
    return to_losses(v[None, :], directions)[0]


def is_nan_value(value: Any) -> bool:
    """True when a reported value (or any entry of a list) is NaN."""
    if isinstance(value, (list, tuple)):
        return any(isinstance(x, float) and math.isnan(x) for x in value)
    return isinstance(value, float) and math.isnan(value)


def promotable(
    L: np.ndarray, reduction_factor: float, tiebreak: str = "crowding"
) -> bool:
    """Whether the LAST row of the loss matrix ``L`` (n, m) is in the top ``n / rf``.

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
