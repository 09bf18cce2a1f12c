"""Fidelity helpers: budgets, representative data subsets, k-fold CV, and synchronous
successive halving with pause and resume.

* :class:`Budget` maps a *resource* (the ``step`` an objective reports, what pruners count)
  to concrete fidelities: epochs, fraction of the data, input resolution. Attach it to a
  study (it is stored in the study) and read it in the objective with
  :meth:`Budget.from_trial`, so every worker uses the same schedule.
* :func:`stratified_subset` draws a class-balanced subset; subsets for growing fractions
  are *nested* (the 10 % subset lies inside the 30 % one), so low-fidelity results are
  comparable with higher ones.
* :func:`stratified_kfold` and :func:`cross_validate` (folds as the resource: prune after
  a few folds) need NumPy only; scikit-learn estimators are accepted but not required.
* :class:`SyncSuccessiveHalving` drives a study through ask/tell, one rung at a time; the
  configurations it promotes continue from a checkpoint (user ``save``/``load``
  callbacks) instead of training again from scratch.
"""

from __future__ import annotations

import math
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.multiobjective import crowding_distance, non_dominated_sort, to_losses
from slimtune.pruners._common import check_int, check_rf
from slimtune.trial import TrialPruned, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import Trial

__all__ = [
    "Budget",
    "Fidelity",
    "stratified_subset",
    "stratified_kfold",
    "cross_validate",
    "SyncSuccessiveHalving",
    "MemoryCheckpoints",
    "DirectoryCheckpoints",
]



# --- budgets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Fidelity:
    """Concrete fidelity at one resource level (``step`` is what to ``report`` at)."""

    step: int
    epochs: int
    fraction: float
    resolution: int | None


@dataclass(frozen=True)
class Budget:
    """A resource schedule: ``min_resource * reduction_factor ** k`` up to ``max_resource``.

    Args:
        max_resource: the full budget, in resource units (e.g. 81).
        min_resource: the smallest level (the first rung).
        reduction_factor: ratio between levels (as for the pruners).
        max_epochs: epochs at the full budget (default ``max_resource``: resource = epochs).
        min_fraction: smallest fraction of the training data (default: the data fraction
            is 1 at every level; give e.g. 0.1 to train on ``resource / max_resource`` of it).
        resolution: ``(low, high)`` input resolution; the pixel count grows in proportion
            to the resource, rounded to ``resolution_multiple``.

    >>> b = Budget(max_resource=27, min_resource=1, reduction_factor=3, min_fraction=0.05)
    >>> b.levels()
    [1, 3, 9, 27]
    >>> b.at(3)
    Fidelity(step=3, epochs=3, fraction=0.1111111111111111, resolution=None)
    """

    max_resource: int = 81
    min_resource: int = 1
    reduction_factor: float = 3
    max_epochs: int | None = None
    min_fraction: float | None = None
    resolution: tuple[int, int] | None = None
    resolution_multiple: int = 1

    def __post_init__(self) -> None:
        check_int("max_resource", self.max_resource, 1)
        check_int("min_resource", self.min_resource, 1)
        if self.min_resource > self.max_resource:
            raise ValueError(
                f"min_resource={self.min_resource} must be <= max_resource={self.max_resource}."
            )
        check_rf(self.reduction_factor)
        if self.max_epochs is not None:
            check_int("max_epochs", self.max_epochs, 1)
        if self.min_fraction is not None and not 0.0 < float(self.min_fraction) <= 1.0:
            raise ValueError(f"min_fraction must be in (0, 1], got {self.min_fraction!r}.")
        if self.resolution is not None:
            lo, hi = self.resolution
            if not (isinstance(lo, int) and isinstance(hi, int) and 0 < lo <= hi):
                raise ValueError(
                    f"resolution must be (low, high) ints with 0 < low <= high, got "
                    f"{self.resolution!r}."
                )
            object.__setattr__(self, "resolution", (int(lo), int(hi)))
        check_int("resolution_multiple", self.resolution_multiple, 1)

    def levels(self) -> list[int]:
        """The resource levels (rungs), ascending, ending with ``max_resource``."""
        out: list[int] = []
        k = 0
        while True:
            r = int(round(self.min_resource * self.reduction_factor**k))
            if r >= self.max_resource:
                break
            if not out or r > out[-1]:
                out.append(r)
            k += 1
        return [*out, self.max_resource]

    def _check_step(self, step: float) -> float:
        if isinstance(step, bool) or not isinstance(step, (int, float, np.integer, np.floating)):
            raise TypeError(f"step must be a number, got {step!r}.")
        if not step > 0:
            raise ValueError(f"step must be > 0, got {step!r}.")
        return float(min(step, self.max_resource))

    def epochs_for(self, step: float) -> int:
        """Epochs to have trained by resource ``step`` (at least 1)."""
        s = self._check_step(step)
        if self.max_epochs is None:
            return max(int(round(s)), 1)
        return max(int(round(self.max_epochs * s / self.max_resource)), 1)

    def fraction_for(self, step: float) -> float:
        """Fraction of the training data at resource ``step`` (1.0 without ``min_fraction``)."""
        s = self._check_step(step)
        if self.min_fraction is None:
            return 1.0
        return float(min(max(s / self.max_resource, float(self.min_fraction)), 1.0))

    def resolution_for(self, step: float) -> int | None:
        """Input resolution at resource ``step``: pixel count proportional to the resource."""
        s = self._check_step(step)
        if self.resolution is None:
            return None
        lo, hi = self.resolution
        r = hi * math.sqrt(s / self.max_resource)
        m = self.resolution_multiple
        r = int(round(r / m)) * m
        return int(min(max(r, lo), hi))

    def at(self, step: float) -> Fidelity:
        """All fidelities at resource ``step``."""
        return Fidelity(
            step=int(round(self._check_step(step))),
            epochs=self.epochs_for(step),
            fraction=self.fraction_for(step),
            resolution=self.resolution_for(step),
        )

    def schedule(self, trial: Any | None = None) -> Iterator[Fidelity]:
        """The levels still to run: all of them, or those after ``trial``'s last report."""
        done = 0
        if trial is not None and trial.intermediate_values:
            done = max(trial.intermediate_values)
        for r in self.levels():
            if r > done:
                yield self.at(r)

    # --- storage round trip -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["resolution"] is not None:
            d["resolution"] = list(d["resolution"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Budget:
        d = dict(d)
        if d.get("resolution") is not None:
            d["resolution"] = tuple(d["resolution"])
        return cls(**d)

    def attach(self, study: Study) -> Budget:
        """Store this budget in the study (all workers and resumed studies read it)."""
        study.set_system_attr(keys.FIDELITY_BUDGET, self.to_dict())
        return self

    @classmethod
    def from_trial(cls, trial: Any) -> Budget:
        """The budget attached to the trial's study (see :meth:`attach`)."""
        d = trial.study.system_attrs.get(keys.FIDELITY_BUDGET)
        if d is None:
            raise ValueError(
                "no budget is attached to this study; call Budget(...).attach(study) first."
            )
        return cls.from_dict(d)

    @classmethod
    def from_pruner(cls, pruner: Any, max_resource: int | None = None, **kw: Any) -> Budget:
        """A budget with the rungs of a Hyperband/successive-halving pruner."""
        mr = max_resource if max_resource is not None else getattr(pruner, "max_resource", None)
        if not isinstance(mr, int):
            raise ValueError("the pruner has no max_resource; pass max_resource=.")
        min_r = getattr(pruner, "min_resource", 1)
        return cls(
            max_resource=mr,
            min_resource=min_r if isinstance(min_r, int) else 1,
            reduction_factor=pruner.reduction_factor,
            **kw,
        )


# --- data subsets and cross-validation -------------------------------------------------


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


# --- synchronous successive halving with checkpoints ------------------------------------


class MemoryCheckpoints:
    """Checkpoints in a dict (one process). ``save``/``load``/``delete`` by trial number."""

    def __init__(self) -> None:
        self._d: dict[int, Any] = {}

    def save(self, number: int, state: Any) -> None:
        self._d[number] = state

    def load(self, number: int) -> Any:
        return self._d[number]

    def delete(self, number: int) -> None:
        self._d.pop(number, None)

    def __len__(self) -> int:
        return len(self._d)


class DirectoryCheckpoints(MemoryCheckpoints):
    """Checkpoints as pickle files ``<directory>/trial_<number>.pkl`` (your own files:
    pickle only what you trust; the study storage itself never holds pickles)."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)

    def _path(self, number: int) -> str:
        return os.path.join(self.directory, f"trial_{number}.pkl")

    def save(self, number: int, state: Any) -> None:
        tmp = self._path(number) + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(state, f)
        os.replace(tmp, self._path(number))

    def load(self, number: int) -> Any:
        with open(self._path(number), "rb") as f:
            return pickle.load(f)

    def delete(self, number: int) -> None:
        try:
            os.remove(self._path(number))
        except FileNotFoundError:
            pass

    def __len__(self) -> int:
        return sum(1 for f in os.listdir(self.directory) if f.endswith(".pkl"))


TrainFn = Callable[["Trial", Any, int, int], Any]


def _top_k(L: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k best rows of a loss matrix (rank, then crowding for >1 objective)."""
    if L.shape[1] == 1:
        return np.argsort(L[:, 0], kind="stable")[:k]
    ranks = non_dominated_sort(L)
    crowd = np.zeros(len(L))
    for r in np.unique(ranks):  # one loop per front, not per row
        m = ranks == r
        crowd[m] = crowding_distance(L[m])
    return np.lexsort((-crowd, ranks))[:k]


class SyncSuccessiveHalving:
    """Synchronous successive halving over ask/tell, with pause and resume.

    Rung 0 trains ``n_configs`` new trials to ``min_resource``; each later rung keeps the
    best ``1 / reduction_factor`` and trains them further, up to ``max_resource``. Between
    rungs a trial is *paused*: ``save(number, state)`` stores what ``train`` returned, and
    when the trial is promoted ``load(number)`` hands it back, so training resumes from the
    checkpoint rather than from scratch. Trials that are not promoted are told PRUNED (their
    checkpoint is deleted when the store has ``delete``); the last rung's are COMPLETE.

    ``train(trial, state, start, stop)`` trains the configuration of ``trial`` (suggest
    parameters as usual; the same values come back on every call) from resource ``start``
    (0 = from scratch, ``state`` is None) to ``stop`` and returns ``(value, new_state)``;
    it may ``trial.report`` intermediate values itself. ``value`` is a float, or a list
    for several objectives. Resources are those of :class:`Budget` (``budget.at(stop)``
    gives epochs, data fraction and resolution).

    Args:
        study: the study (any sampler; BOHB's TPE learns from every rung).
        n_configs: trials in the first rung.
        budget: a :class:`Budget` (levels = the rungs), or give the three numbers below.
        checkpoints: an object with ``save``/``load`` (and optionally ``delete``), e.g.
            :class:`MemoryCheckpoints` (default) or :class:`DirectoryCheckpoints`.
        save, load: callbacks instead of ``checkpoints``.

    >>> import slimtune as st
    >>> from slimtune.fidelity import SyncSuccessiveHalving
    >>> def train(trial, state, start, stop):
    ...     x = trial.suggest_float("x", 0, 1)
    ...     w = state or 0.0
    ...     for _ in range(start, stop):
    ...         w += 0.1  # one "epoch"
    ...     return (x - 0.5) ** 2 + 1 / (1 + w), w
    >>> study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    >>> best = SyncSuccessiveHalving(study, n_configs=9, budget=Budget(9, 1, 3)).run(train)
    >>> best.last_step
    9
    """

    def __init__(
        self,
        study: Study,
        n_configs: int = 27,
        budget: Budget | None = None,
        *,
        min_resource: int = 1,
        max_resource: int = 27,
        reduction_factor: float = 3,
        checkpoints: Any | None = None,
        save: Callable[[int, Any], None] | None = None,
        load: Callable[[int], Any] | None = None,
    ):
        self.study = study
        self.n_configs = check_int("n_configs", n_configs, 1)
        self.budget = budget or Budget(max_resource, min_resource, reduction_factor)
        if (save is None) != (load is None):
            raise ValueError("give both save= and load= callbacks, or neither.")
        store = checkpoints if checkpoints is not None else MemoryCheckpoints()
        self._save = save or store.save
        self._load = load or store.load
        self._delete = getattr(store, "delete", None) if save is None else None
        self.n_resumed = 0  # trials continued from a checkpoint (for checks and logs)
        self.resource_spent = 0  # sum over calls of (stop - start)

    def run(self, train: TrainFn) -> Any:
        """Run the rungs; returns the best finished trial (or the Pareto front's list)."""
        study = self.study
        directions = study.directions
        alive = [study.ask() for _ in range(self.n_configs)]
        start = 0
        levels = self.budget.levels()
        rf = float(self.budget.reduction_factor)
        for i, stop in enumerate(levels):
            last = i == len(levels) - 1
            vals: list[Any] = []
            ok = []
            for t in alive:
                state = None
                if start > 0:
                    state = self._load(t.number)
                    self.n_resumed += 1
                try:
                    out = train(t, state, start, stop)
                except TrialPruned:
                    study.tell(t, state=TrialState.PRUNED)
                    continue
                except Exception as e:  # noqa: BLE001 - recorded as FAIL, the others go on
                    t.set_system_attr(keys.FAIL_REASON, f"{type(e).__name__}: {e}")
                    study.tell(t, state=TrialState.FAIL)
                    continue
                self.resource_spent += stop - start
                value, new_state = out if isinstance(out, tuple) and len(out) == 2 else (out, None)
                if stop not in t.intermediate_values:
                    t.report(value, stop)
                if not last:
                    self._save(t.number, new_state)
                vals.append(value)
                ok.append(t)
            if last:
                for t, v in zip(ok, vals):
                    study.tell(t, v)
                    if self._delete:
                        self._delete(t.number)
                break
            if not ok:
                break
            L = to_losses(np.array(vals, dtype=float).reshape(len(vals), -1), directions)
            k = max(int(len(ok) // rf), 1)
            keep = set(_top_k(L, k).tolist())
            alive = []
            for j, t in enumerate(ok):
                if j in keep:
                    alive.append(t)
                else:
                    study.tell(t, state=TrialState.PRUNED)
                    if self._delete:
                        self._delete(t.number)
            start = stop
        if len(directions) > 1:
            return study.best_trials
        try:
            return study.best_trial
        except ValueError:
            return None
