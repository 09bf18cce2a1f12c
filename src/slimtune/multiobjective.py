"""Multi-objective utilities on loss arrays (every objective to be minimised).

Vectorised NumPy: non-dominated sorting, the Pareto front mask, crowding distance,
exact hypervolume (2-D sweep, higher dimensions by recursive slicing) and each point's
exclusive hypervolume contribution.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "to_losses",
    "dominates",
    "is_pareto_front",
    "non_dominated_sort",
    "crowding_distance",
    "hypervolume",
    "hypervolume_contributions",
]


def to_losses(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Flip maximised objectives so that every column is to be minimised."""
    v = np.asarray(values, dtype=float)
    sign = np.array([-1.0 if d == "maximize" else 1.0 for d in directions])
    return v * sign


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def _dominance_matrix(L: np.ndarray) -> np.ndarray:
    """D[i, j] = True when point i dominates point j."""
    le = np.all(L[:, None, :] <= L[None, :, :], axis=2)
    lt = np.any(L[:, None, :] < L[None, :, :], axis=2)
    return le & lt


def is_pareto_front(L: np.ndarray, assume_unique: bool = False) -> np.ndarray:
    """Mask of the non-dominated rows of ``L`` (n, m). Duplicates all stay on the front."""
    L = np.asarray(L, dtype=float)
    n = len(L)
    if n == 0:
        return np.zeros(0, dtype=bool)
    if L.shape[1] == 1:
        return L[:, 0] == L[:, 0].min()
    if L.shape[1] == 2:
        # O(n log n): sort by the first objective, keep strict improvements of the second.
        order = np.lexsort((L[:, 1], L[:, 0]))
        s = L[order]
        best_before = np.minimum.accumulate(np.concatenate([[np.inf], s[:-1, 1]]))
        front_sorted = s[:, 1] < best_before
        # Ties with a front point (same f1 and f2) are on the front too.
        mask = np.zeros(n, dtype=bool)
        mask[order] = front_sorted
        if not assume_unique:
            fp = L[mask]
            dup = (L[:, None, :] == fp[None, :, :]).all(axis=2).any(axis=1)
            mask |= dup
        return mask
    if n <= 2000:
        return ~_dominance_matrix(L).any(axis=0)
    mask = np.ones(n, dtype=bool)
    for i in range(n):  # large n: block-wise to bound memory
        if mask[i]:
            dominated = np.all(L[i] <= L, axis=1) & np.any(L[i] < L, axis=1)
            mask[dominated] = False
    return mask


def non_dominated_sort(L: np.ndarray, n_below: int | None = None) -> np.ndarray:
    """Rank of every row (0 = Pareto front). Stops once ``n_below`` rows are ranked."""
    L = np.asarray(L, dtype=float)
    n = len(L)
    ranks = np.full(n, -1, dtype=int)
    remaining = np.arange(n)
    rank = 0
    done = 0
    limit = n if n_below is None else min(n, n_below)
    while len(remaining) and done < limit:
        front = is_pareto_front(L[remaining])
        if not front.any():  # rows with NaN are on no front: they share the last rank
            break
        ranks[remaining[front]] = rank
        done += int(front.sum())
        remaining = remaining[~front]
        rank += 1
    ranks[ranks < 0] = rank
    return ranks


def crowding_distance(L: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row (inf at the extremes)."""
    L = np.asarray(L, dtype=float)
    n, m = L.shape
    if n <= 2:
        return np.full(n, np.inf)
    dist = np.zeros(n)
    for j in range(m):
        order = np.argsort(L[:, j], kind="stable")
        col = L[order, j]
        span = col[-1] - col[0]
        d = np.zeros(n)
        d[0] = d[-1] = np.inf
        if span > 0:
            d[1:-1] = (col[2:] - col[:-2]) / span
        dist[order] += d
    return dist


def hypervolume(L: np.ndarray, ref: np.ndarray) -> float:
    """Volume dominated by ``L`` and bounded by the reference point ``ref`` (minimisation)."""
    L = np.asarray(L, dtype=float)
    ref = np.asarray(ref, dtype=float)
    if len(L) == 0:
        return 0.0
    L = L[np.all(ref > L, axis=1)]
    if len(L) == 0:
        return 0.0
    L = L[is_pareto_front(L)]
    L = np.unique(L, axis=0)
    return _hv(L, ref)


def _hv(L: np.ndarray, ref: np.ndarray) -> float:
    m = L.shape[1]
    if m == 1:
        return float(ref[0] - L[:, 0].min())
    if m == 2:
        order = np.argsort(L[:, 0])
        s = L[order]
        y = np.minimum.accumulate(s[:, 1])
        x_next = np.append(s[1:, 0], ref[0])
        return float(np.sum((x_next - s[:, 0]) * (ref[1] - y)))
    # Slice along the last objective (HSO): sweep points in order of the last coordinate.
    order = np.argsort(L[:, -1])
    s = L[order]
    total = 0.0
    for i in range(len(s)):
        upper = s[i + 1, -1] if i + 1 < len(s) else ref[-1]
        depth = upper - s[i, -1]
        if depth <= 0:
            continue
        sub = s[: i + 1, :-1]
        sub = sub[is_pareto_front(sub)]
        total += depth * _hv(sub, ref[:-1])
    return float(total)


def hypervolume_contributions(L: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Exclusive hypervolume of each row: HV(all) - HV(all but that row)."""
    L = np.asarray(L, dtype=float)
    n = len(L)
    if n == 0:
        return np.zeros(0)
    if L.shape[1] == 2:
        out = np.zeros(n)
        inside = np.all(ref > L, axis=1)
        front = is_pareto_front(L) & inside
        idx = np.flatnonzero(front)
        if len(idx) == 0:
            return out
        order = idx[np.argsort(L[idx, 0], kind="stable")]
        s = L[order]
        x_next = np.append(s[1:, 0], ref[0])
        y_prev = np.insert(s[:-1, 1], 0, ref[1])
        contrib = (x_next - s[:, 0]) * (y_prev - s[:, 1])
        out[order] = np.maximum(contrib, 0.0)
        return out
    total = hypervolume(L, ref)
    return np.array([total - hypervolume(np.delete(L, i, axis=0), ref) for i in range(n)])
