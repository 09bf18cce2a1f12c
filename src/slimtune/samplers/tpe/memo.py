"""Pure memos of the TPE sampler: they only save work, never change a result.

Each memo is keyed by what it was built from and checks that key on every call; a memo
that does not match is rebuilt from scratch, so a sampler with every memo emptied before
each call proposes exactly the same trials (a test checks this). They rely on one storage
contract: a *finished* trial (complete, pruned, failed) never changes again.

* :class:`FinishedPrefix`: the leading finished trials of a study's trial list, keyed by the
  study's name and the trial ids (the first and last are checked on each call).
* :class:`SpacePrefix`: the same plus their union search space and count of complete or
  pruned trials (for ``infer_relative_search_space`` and the startup test).
* :class:`EncodingMemo`: the :class:`Geometry` of a search space (keyed by the space) and the
  encoded parameters of finished observations (keyed by the space and the trial objects or
  trial ids they were encoded from).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from slimtune.distributions import BaseDistribution
from slimtune.samplers.tpe.parzen import Geometry
from slimtune.space import SpaceEncoder
from slimtune.trial import FrozenTrial, TrialState

__all__ = ["FinishedPrefix", "SpacePrefix", "EncodingMemo"]

DONE = (TrialState.COMPLETE, TrialState.PRUNED)
USED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


class FinishedPrefix:
    """Memo of the leading finished trials of a trial list (in trial order).

    :meth:`sync` checks that the list still starts with the memorised trials (same study,
    same first and last trial id; trials are only ever appended to a study and finished ones
    never change), extends the memo with the newly finished leading trials and returns how
    many leading trials it covers. On a mismatch it starts again.
    """

    def __init__(self) -> None:
        self.reset(None)

    def reset(self, key: str | None) -> None:
        self.key = key
        self.ids: list[int] = []
        self.trials: list[FrozenTrial] = []

    def sync(self, key: str, trials: Sequence[FrozenTrial]) -> int:
        k = len(self.ids)
        if key != self.key or (
            k and (len(trials) < k or trials[k - 1].trial_id != self.ids[-1]
                   or trials[0].trial_id != self.ids[0])
        ):
            self.reset(key)
            k = 0
        n = len(trials)
        while k < n:  # only the trials finished since the last call
            t = trials[k]
            if not t.state.is_finished():
                break
            self.ids.append(t.trial_id)
            self.trials.append(t)
            self.add(t)
            k += 1
        return k

    def add(self, t: FrozenTrial) -> None:
        """Hook of subclasses: fold one more finished trial into the memo."""


class SpacePrefix(FinishedPrefix):
    """:class:`FinishedPrefix` with the union space and the number of complete or pruned
    trials of the prefix."""

    def reset(self, key: str | None) -> None:
        super().reset(key)
        self.space: dict[str, BaseDistribution] = {}
        self.n_done = 0

    def add(self, t: FrozenTrial) -> None:
        if t.state in USED:
            self.space.update(t.distributions)
        if t.state in DONE:
            self.n_done += 1


class EncodingMemo:
    """Geometry of a search space and encoded parameters of finished observations.

    :meth:`encode` returns exactly ``SpaceEncoder(space).encode(params of trials)`` (the
    encoding is row by row); the memo only skips rows it has encoded before: the first
    ``stable`` trials (a collector's promise, see :class:`~slimtune.samplers.tpe.steps.
    Observations`; checked by object identity of the first and last of them) or, without
    that promise, finished trials by trial id. Any change of the space or study empties it.
    """

    def __init__(self) -> None:
        self._space: dict[str, BaseDistribution] | None = None
        self._key: str | None = None
        self.geom: Geometry | None = None
        self._reset_rows(0)

    def _reset_rows(self, d: int) -> None:
        # Stable prefix: encoded trials (objects), their rows.
        self._pre_trials: list[FrozenTrial] = []
        self._pre_X = np.zeros((0, d))
        self._pre_A = np.zeros((0, d), dtype=bool)
        # By trial id: finished trials -> row of the growing arrays.
        self._index: dict[int, int] = {}
        self._X = np.zeros((64, d))
        self._A = np.zeros((64, d), dtype=bool)
        self._n = 0

    def geometry(self, space: Mapping[str, BaseDistribution]) -> Geometry:
        """``Geometry(SpaceEncoder(space))``, rebuilt only when the space changes."""
        if self._space != space or self.geom is None:
            self._space = dict(space)
            self.geom = Geometry(SpaceEncoder(dict(space)))
            self._reset_rows(self.geom.d)
        return self.geom

    def encode(
        self, space: Mapping[str, BaseDistribution], trials: Sequence[FrozenTrial],
        stable: int = 0, key: str | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encoded parameters (n, d) and activity masks (n, d) of ``trials``; ``key``
        names the study they come from (trial ids are unique only within a storage)."""
        geom = self.geometry(space)
        enc = geom.encoder
        if key != self._key:
            self._key = key
            self._reset_rows(geom.d)
        if stable:
            Xp, Ap = self._prefix(enc, trials, stable)
            if len(trials) == stable:
                return Xp, Ap
            Xt, At = enc.encode([t.internal_params for t in trials[stable:]])
            return np.vstack([Xp, Xt]), np.vstack([Ap, At])
        return self._by_id(enc, trials)

    def _prefix(
        self, enc: SpaceEncoder, trials: Sequence[FrozenTrial], k: int
    ) -> tuple[np.ndarray, np.ndarray]:
        T = self._pre_trials
        j = min(len(T), k)
        if j and (trials[0] is not T[0] or trials[j - 1] is not T[j - 1]):
            T = self._pre_trials = []  # another prefix: encode it again
            self._pre_X = np.zeros((0, enc.dim))
            self._pre_A = np.zeros((0, enc.dim), dtype=bool)
            j = 0
        if len(T) < k:
            new = trials[len(T):k]
            Xn, An = enc.encode([t.internal_params for t in new])
            self._pre_X = np.vstack([self._pre_X, Xn])
            self._pre_A = np.vstack([self._pre_A, An])
            T.extend(new)
        return self._pre_X[:k], self._pre_A[:k]

    def _by_id(
        self, enc: SpaceEncoder, trials: Sequence[FrozenTrial]
    ) -> tuple[np.ndarray, np.ndarray]:
        index = self._index
        idx = np.fromiter((index.get(t.trial_id, -1) for t in trials), dtype=np.int64,
                          count=len(trials))
        miss = np.flatnonzero(idx < 0)
        if not len(miss):
            return self._X[idx], self._A[idx]
        Xm, Am = enc.encode([trials[i].internal_params for i in miss])
        fin = np.array([trials[i].state.is_finished() for i in miss], dtype=bool)
        k = int(fin.sum())
        if k:
            need = self._n + k
            if need > len(self._X):
                cap = max(need, 2 * len(self._X))
                self._X = np.resize(self._X, (cap, enc.dim))
                self._A = np.resize(self._A, (cap, enc.dim))
            rows = np.arange(self._n, need)
            self._X[rows] = Xm[fin]
            self._A[rows] = Am[fin]
            for r, i in zip(rows, miss[fin]):
                index[trials[i].trial_id] = int(r)
            idx[miss[fin]] = rows
            self._n = need
        X = self._X[np.maximum(idx, 0)]
        A = self._A[np.maximum(idx, 0)]
        X[miss] = Xm
        A[miss] = Am
        return X, A
