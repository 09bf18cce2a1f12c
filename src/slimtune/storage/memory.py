"""In-memory storage: fast, thread-safe, gone with the process.

``n_jobs > 1`` shares it with worker processes through a manager (see
:mod:`slimtune.parallel.local`), so parallel studies need no database.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import threading
import time
from collections import deque
from collections.abc import Container, Sequence
from typing import Any

from slimtune import keys
from slimtune.distributions import BaseDistribution
from slimtune.storage.base import (
    BaseStorage,
    DuplicatedStudyError,
    StudyNotFoundError,
    UpdateFinishedTrialError,
)
from slimtune.storage.heartbeat import resolve
from slimtune.trial import FrozenTrial, TrialState


def _json_copy(value: Any, what: str) -> Any:
    """Check that ``value`` is JSON-serialisable (as SQL storage requires) and copy it."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must be JSON-serialisable: {e}") from None


class _Study:
    __slots__ = ("name", "directions", "user_attrs", "system_attrs", "trials", "waiting")

    def __init__(self, name: str, directions: list[str]):
        self.name = name
        self.directions = directions
        self.user_attrs: dict[str, Any] = {}
        self.system_attrs: dict[str, Any] = {}
        self.trials: list[FrozenTrial] = []
        self.waiting: deque[FrozenTrial] = deque()  # enqueued trials, oldest first


class InMemoryStorage(BaseStorage):
    """Storage in process memory. Thread-safe; process-safe through the manager proxy."""

    def __init__(
        self,
        heartbeat_interval: Any = "default",
        grace_period: float | None = None,
        failed_trial_callback: Any = None,
    ):
        self._lock = threading.RLock()
        self._studies: dict[int, _Study] = {}
        self._name_to_id: dict[str, int] = {}
        self._trials: dict[int, tuple[int, FrozenTrial]] = {}  # trial_id -> (study_id, trial)
        self._heartbeats: dict[int, float] = {}
        self._next_study_id = 0
        self._next_trial_id = 0
        # In the owning process heartbeats are off unless asked for (the storage dies with
        # the process); served to worker processes (n_jobs > 1) it beats with the defaults
        # unless ``heartbeat_interval=None`` turned them off: see ``for_workers``.
        self._workers_heartbeat = resolve(heartbeat_interval, grace_period)
        if heartbeat_interval == "default":
            self.heartbeat_interval, self.grace_period = None, None
        else:
            self.heartbeat_interval, self.grace_period = self._workers_heartbeat
        self.failed_trial_callback = failed_trial_callback

    def heartbeat_for_workers(self) -> tuple[float | None, float | None]:
        """(interval, grace) while this storage is served to worker processes."""
        return self._workers_heartbeat

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    # --- studies ----------------------------------------------------------------------
    def create_new_study(self, directions: Sequence[str], study_name: str) -> int:
        with self._lock:
            if study_name in self._name_to_id:
                raise DuplicatedStudyError(f"a study named {study_name!r} already exists.")
            sid = self._next_study_id
            self._next_study_id += 1
            self._studies[sid] = _Study(study_name, list(directions))
            self._name_to_id[study_name] = sid
            return sid

    def _study(self, study_id: int) -> _Study:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"no study with id {study_id}.") from None

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            s = self._study(study_id)
            for t in s.trials:
                self._trials.pop(t.trial_id, None)
                self._heartbeats.pop(t.trial_id, None)
            del self._name_to_id[s.name]
            del self._studies[study_id]

    def get_study_id_from_name(self, study_name: str) -> int:
        with self._lock:
            if study_name not in self._name_to_id:
                raise StudyNotFoundError(f"no study named {study_name!r}.")
            return self._name_to_id[study_name]

    def get_study_name_from_id(self, study_id: int) -> str:
        return self._study(study_id).name

    def get_study_directions(self, study_id: int) -> list[str]:
        return list(self._study(study_id).directions)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._study(study_id).user_attrs[key] = _json_copy(value, f"study user attr {key!r}")

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._study(study_id).system_attrs[key] = _json_copy(
                value, f"study system attr {key!r}"
            )

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return copy.deepcopy(self._study(study_id).user_attrs)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return copy.deepcopy(self._study(study_id).system_attrs)

    def get_all_study_names(self) -> list[str]:
        with self._lock:
            return [s.name for s in self._studies.values()]

    # --- trials -----------------------------------------------------------------------
    def create_new_trial(
        self,
        study_id: int,
        state: TrialState = TrialState.RUNNING,
        system_attrs: dict[str, Any] | None = None,
        user_attrs: dict[str, Any] | None = None,
    ) -> int:
        with self._lock:
            s = self._study(study_id)
            tid = self._next_trial_id
            self._next_trial_id += 1
            now = _dt.datetime.now() if state == TrialState.RUNNING else None
            t = FrozenTrial(
                number=len(s.trials),
                state=state,
                values=None,
                datetime_start=now,
                datetime_complete=None,
                params={},
                distributions={},
                user_attrs=_json_copy(user_attrs or {}, "user attrs"),
                system_attrs=_json_copy(system_attrs or {}, "system attrs"),
                intermediate_values={},
                trial_id=tid,
            )
            s.trials.append(t)
            if state == TrialState.WAITING:
                s.waiting.append(t)
            self._trials[tid] = (study_id, t)
            if state == TrialState.RUNNING and self.heartbeat_interval:
                self._heartbeats[tid] = time.time()
            return tid

    def pop_waiting_trial_id(self, study_id: int) -> int | None:
        with self._lock:
            waiting = self._study(study_id).waiting
            while waiting:
                t = waiting.popleft()
                if t.state == TrialState.WAITING:
                    t.state = TrialState.RUNNING
                    t.datetime_start = _dt.datetime.now()
                    if self.heartbeat_interval:
                        self._heartbeats[t.trial_id] = time.time()
                    return t.trial_id
            return None

    def _trial(self, trial_id: int) -> FrozenTrial:
        try:
            return self._trials[trial_id][1]
        except KeyError:
            raise KeyError(f"no trial with id {trial_id}.") from None

    def _unfinished(self, trial_id: int) -> FrozenTrial:
        t = self._trial(trial_id)
        if t.state.is_finished():
            raise UpdateFinishedTrialError(
                f"trial {t.number} is already finished ({t.state.name}) and cannot be changed."
            )
        return t

    def set_trial_param(
        self, trial_id: int, name: str, internal: float, distribution: BaseDistribution
    ) -> None:
        with self._lock:
            t = self._unfinished(trial_id)
            t.params[name] = distribution.to_external(internal)
            t.distributions[name] = distribution
            t.__dict__.pop("internal_params", None)

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        with self._lock:
            t = self._trial(trial_id)
            if t.state.is_finished():
                return False
            if state == TrialState.RUNNING and t.state != TrialState.WAITING:
                return False
            t.state = state
            if values is not None:
                t.values = [float(v) for v in values]
            if state.is_finished():
                t.datetime_complete = _dt.datetime.now()
                self._heartbeats.pop(trial_id, None)
            elif state == TrialState.RUNNING:
                t.datetime_start = _dt.datetime.now()
                if self.heartbeat_interval:
                    self._heartbeats[trial_id] = time.time()
            return True

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: Any) -> None:
        with self._lock:
            self._unfinished(trial_id).intermediate_values[int(step)] = _json_copy(
                value, "intermediate value"
            )

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._unfinished(trial_id).user_attrs[key] = _json_copy(value, f"user attr {key!r}")

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        with self._lock:
            self._unfinished(trial_id).system_attrs[key] = _json_copy(
                value, f"system attr {key!r}"
            )

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            return self._trial(trial_id)

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._lock:
            trials = self._study(study_id).trials
            if states is None:
                return list(trials)
            return [t for t in trials if t.state in states]

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        with self._lock:
            if states is None:
                return len(self._study(study_id).trials)
            return sum(1 for t in self._study(study_id).trials if t.state in states)

    # --- heartbeats -------------------------------------------------------------------
    def record_heartbeat(self, trial_id: int) -> None:
        with self._lock:
            self._heartbeats[trial_id] = time.time()

    def stale_trial_ids(self, study_id: int, older_than: float) -> list[tuple[int, float]]:
        with self._lock:
            ids = {t.trial_id for t in self._study(study_id).trials}
            return [
                (tid, beat)
                for tid, beat in self._heartbeats.items()
                if beat < older_than and tid in ids and self._trial(tid).state == TrialState.RUNNING
            ]

    def fail_trial(self, trial_id: int, reason: str) -> bool:
        with self._lock:
            t = self._trial(trial_id)
            if t.state != TrialState.RUNNING:
                return False
            t.system_attrs[keys.FAIL_REASON] = str(reason)
            t.state = TrialState.FAIL
            t.datetime_complete = _dt.datetime.now()
            self._heartbeats.pop(trial_id, None)
            return True
