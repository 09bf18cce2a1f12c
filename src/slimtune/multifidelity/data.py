"""Representative data subsets and k-fold cross-validation, for objectives at a fidelity.

* :func:`stratified_subset` draws a class-balanced subset; subsets for growing fractions
  are *nested* (the 10 % subset lies inside the 30 % one), so low-fidelity results are
  comparable with higher ones.
* :func:`stratified_kfold` and :func:`cross_validate` (folds as the resource: prune after
  a few folds) need NumPy only; scikit-learn estimators are accepted but not required.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from slimtune.multifidelity.schedule import check_int
from slimtune.trial import TrialPruned

__all__ = ["stratified_subset", "stratified_kfold", "cross_validate"]


def _strata(y: np.ndarray, n_bins: int) -> np.ndarray:
    """Class labels as integers; continuous targets are binned by quantiles."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {y.shape}.")
    if y.dtype.kind == "f" and len(np.unique(y)) > n_bins:
        edges = np.quantile(y, np.linspace(0, 1, n_bins + 1)[1:-1])
        return np.searchsorted(edges, y, side="right")
    return np.unique(y, return_inverse=True)[1]


def _within_stratum_rank(labels: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Random rank of each sample within its stratum, the stratum sizes and start offsets."""
    n = len(labels)
    order = np.lexsort((rng.random(n), labels))
    counts = np.bincount(labels)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[labels[order]]
    return rank, counts, starts


def stratified_subset(
    y: Sequence[Any] | np.ndarray,
    fraction: float | None = None,
    *,
    n: int | None = None,
    seed: int | None = 0,
    n_bins: int = 10,
) -> np.ndarray:
    """Indices (sorted) of a class-balanced subset of ``fraction`` (or ``n``) samples.

    Every class (quantile bin for a continuous ``y``) keeps its share up to one sample.
    With the same ``seed`` the subsets are nested: a smaller fraction selects a subset of
    a larger one, so models trained at low fidelity saw data the high fidelity also sees.

    >>> idx = stratified_subset([0, 0, 0, 0, 1, 1, 1, 1], 0.5, seed=0)
    >>> len(idx)
    4
    """
    y = np.asarray(y)
    N = len(y)
    if N == 0:
        raise ValueError("y is empty.")
    if (fraction is None) == (n is None):
        raise ValueError("give exactly one of fraction= or n=.")
    if fraction is not None:
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
        n = max(int(round(float(fraction) * N)), 1)
    n = check_int("n", n, 1)
    if n > N:
        raise ValueError(f"n={n} is larger than the number of samples {N}.")
    labels = _strata(y, n_bins)
    rng = np.random.default_rng(seed)
    rank, counts, _ = _within_stratum_rank(labels, rng)
    # Systematic sampling: a random phase per stratum, priorities evenly spread in [0, 1).
    phase = rng.random(len(counts))
    priority = (rank + phase[labels]) / counts[labels]
    chosen = np.argsort(priority, kind="stable")[:n]
    return np.sort(chosen)


def stratified_kfold(
    y: Sequence[Any] | np.ndarray, n_splits: int = 5, *, seed: int | None = 0, n_bins: int = 10
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``n_splits`` (train, validation) index pairs; each class is spread evenly over folds.

    >>> folds = stratified_kfold([0, 1] * 10, n_splits=5)
    >>> [len(v) for _, v in folds]
    [4, 4, 4, 4, 4]
    """
    n_splits = check_int("n_splits", n_splits, 2)
    y = np.asarray(y)
    if len(y) < n_splits:
        raise ValueError(f"n_splits={n_splits} is larger than the number of samples {len(y)}.")
    labels = _strata(y, n_bins)
    rng = np.random.default_rng(seed)
    rank, _, starts = _within_stratum_rank(labels, rng)
    fold = (rank + starts[labels]) % n_splits  # offsets keep fold sizes within one
    idx = np.arange(len(y))
    return [(idx[fold != k], idx[fold == k]) for k in range(n_splits)]


def cross_validate(
    model: Any,
    X: Any,
    y: Any,
    n_splits: int = 5,
    *,
    trial: Any | None = None,
    seed: int | None = 0,
    scoring: Callable[[Any, Any, Any], float] | None = None,
) -> float:
    """Mean validation score over stratified folds, reported fold by fold.

    ``model`` is either a function ``fit_score(X_train, y_train, X_val, y_val) -> float`` or
    a scikit-learn style estimator (cloned per fold; scored by ``scoring(est, X, y)`` or its
    ``score``). With ``trial``, the running mean is reported after fold ``k`` at step ``k``
    and the trial is pruned when the pruner says so: folds are the resource (use e.g.
    ``SuccessiveHalvingPruner(min_resource=1, max_resource=n_splits)``).
    """
    X = np.asarray(X) if not hasattr(X, "iloc") else X
    y_arr = np.asarray(y)
    scores: list[float] = []
    for k, (tr, va) in enumerate(stratified_kfold(y_arr, n_splits, seed=seed), start=1):
        Xtr, Xva = _take(X, tr), _take(X, va)
        if callable(model) and not hasattr(model, "fit"):
            s = float(model(Xtr, y_arr[tr], Xva, y_arr[va]))
        else:
            try:
                from sklearn.base import clone

                est = clone(model)
            except ImportError:  # pragma: no cover - scikit-learn is optional
                import copy

                est = copy.deepcopy(model)
            est.fit(Xtr, y_arr[tr])
            s = float(scoring(est, Xva, y_arr[va]) if scoring else est.score(Xva, y_arr[va]))
        scores.append(s)
        if trial is not None:
            trial.report(float(np.mean(scores)), k)
            if k < n_splits and trial.should_prune():
                raise TrialPruned()
    return float(np.mean(scores))


def _take(X: Any, idx: np.ndarray) -> Any:
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]
