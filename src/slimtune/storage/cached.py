"""A read cache in front of a storage, as a layer of its own.

Finished trials never change, so a study reading its whole history at every suggestion (as
model-based samplers do) need not fetch them again: :class:`CachedStorage` keeps them and
asks the back end only for trials newer than the last one it read plus those that were
unfinished then (:meth:`BaseStorage.read_trials`). Everything else passes through.

The cache is per process and keyed by study id; deleting a study through this layer drops
its entry, and the SQL back end never reuses ids, so a new study cannot inherit another
one's trials. ``get_storage`` puts this layer in front of every SQL storage.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Container, Sequence
from typing import Any

from slimtune.distributions import BaseDistribution
from slimtune.storage.base import BaseStorage, StudySummary
from slimtune.trial import FrozenTrial, TrialState

__all__ = ["CachedStorage", "cached"]


class _StudyCache:
    __slots__ = ("finished", "unfinished", "mark")

    def __init__(self) -> None:
        self.finished: dict[int, FrozenTrial] = {}  # trial_id -> trial
        self.unfinished: list[int] = []  # ids unfinished at the last read
        self.mark = 0  # largest trial id read


class CachedStorage(BaseStorage):
    """``backend`` with a cache of finished trials for :meth:`get_all_trials`."""

    def __init__(self, backend: BaseStorage):
        if isinstance(backend, CachedStorage):
            backend = backend.backend
        self.backend = backend
        self._lock = threading.Lock()
        self._studies: dict[int, _StudyCache] = {}

    # Heartbeat settings are the back end's.
    @property  # type: ignore[override]
    def heartbeat_interval(self) -> float | None:
        return self.backend.heartbeat_interval

    @property  # type: ignore[override]
    def grace_period(self) -> float | None:
        return self.backend.grace_period

    @property  # type: ignore[override]
    def failed_trial_callback(self) -> Any:
        return self.backend.failed_trial_callback

    @failed_trial_callback.setter
    def failed_trial_callback(self, cb: Any) -> None:
        self.backend.failed_trial_callback = cb

    def __getattr__(self, name: str) -> Any:  # url, engine, ...: the back end's
        if name.startswith("__") or name in ("backend", "_lock", "_studies"):
            raise AttributeError(name)
        return getattr(self.backend, name)

    def __getstate__(self) -> dict[str, Any]:
        return {"backend": self.backend}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["backend"])  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"CachedStorage({self.backend!r})"

    # --- the cached read ------------------------------------------------------------------
    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._lock:
            c = self._studies.get(study_id)
            if c is None:
                c = self._studies[study_id] = _StudyCache()
            mark, pending = c.mark, list(c.unfinished)
        if mark == 0 and not c.finished:
            self.backend.get_study_name_from_id(study_id)  # a clear error for a missing study
        fresh = self.backend.read_trials(study_id, mark, pending)
        with self._lock:
            if self._studies.get(study_id) is not c:  # deleted meanwhile
                return [t for t in fresh if states is None or t.state in states]
            unfinished: dict[int, FrozenTrial] = {}
            for t in fresh:
                if t.state.is_finished():
                    c.finished[t.trial_id] = t
                else:
                    unfinished[t.trial_id] = t
                if t.trial_id > c.mark:
                    c.mark = t.trial_id
            c.unfinished = list(unfinished)
            out = list(c.finished.values()) + list(unfinished.values())
        out.sort(key=lambda t: t.number)
        if states is None:
            return out
        return [t for t in out if t.state in states]

    def delete_study(self, study_id: int) -> None:
        self.backend.delete_study(study_id)
        with self._lock:
            self._studies.pop(study_id, None)

    # --- everything else passes through -------------------------------------------------
    def create_new_study(self, directions: Sequence[str], study_name: str) -> int:
        sid = self.backend.create_new_study(directions, study_name)
        with self._lock:  # a reused id (other back ends) must not see an old cache
            self._studies.pop(sid, None)
        return sid

    def get_study_id_from_name(self, study_name: str) -> int:
        return self.backend.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self.backend.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int) -> list[str]:
        return self.backend.get_study_directions(study_id)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self.backend.set_study_user_attr(study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self.backend.set_study_system_attr(study_id, key, value)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self.backend.get_study_user_attrs(study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self.backend.get_study_system_attrs(study_id)

    def get_all_study_names(self) -> list[str]:
        return self.backend.get_all_study_names()

    def get_all_studies(self) -> list[StudySummary]:
        return self.backend.get_all_studies()

    def create_new_trial(
        self,
        study_id: int,
        state: TrialState = TrialState.RUNNING,
        system_attrs: dict[str, Any] | None = None,
        user_attrs: dict[str, Any] | None = None,
    ) -> int:
        return self.backend.create_new_trial(study_id, state, system_attrs, user_attrs)

    def pop_waiting_trial_id(self, study_id: int) -> int | None:
        return self.backend.pop_waiting_trial_id(study_id)

    def set_trial_param(
        self, trial_id: int, name: str, internal: float, distribution: BaseDistribution
    ) -> None:
        self.backend.set_trial_param(trial_id, name, internal, distribution)

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        return self.backend.set_trial_state_values(trial_id, state, values)

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: Any) -> None:
        self.backend.set_trial_intermediate_value(trial_id, step, value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.backend.set_trial_user_attr(trial_id, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self.backend.set_trial_system_attr(trial_id, key, value)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self.backend.get_trial(trial_id)

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        return self.backend.get_n_trials(study_id, states)

    def read_trials(
        self, study_id: int, newer_than: int, ids: Sequence[int] = ()
    ) -> list[FrozenTrial]:
        return self.backend.read_trials(study_id, newer_than, ids)

    def record_heartbeat(self, trial_id: int) -> None:
        self.backend.record_heartbeat(trial_id)

    def stale_trial_ids(self, study_id: int, older_than: float) -> list[tuple[int, float]]:
        return self.backend.stale_trial_ids(study_id, older_than)

    def fail_trial(self, trial_id: int, reason: str) -> bool:
        return self.backend.fail_trial(trial_id, reason)

    def close(self) -> None:
        self.backend.close()


_WRAPPERS: weakref.WeakKeyDictionary[BaseStorage, CachedStorage] = weakref.WeakKeyDictionary()
_WRAPPERS_LOCK = threading.Lock()


def cached(storage: BaseStorage) -> CachedStorage:
    """The one cache layer of ``storage`` in this process (made on first use), so that
    every study opened on the same storage object shares it."""
    if isinstance(storage, CachedStorage):
        return storage
    with _WRAPPERS_LOCK:
        c = _WRAPPERS.get(storage)
        if c is None:
            c = _WRAPPERS[storage] = CachedStorage(storage)
        return c
