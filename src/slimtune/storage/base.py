"""The storage protocol: the single source of truth of every study.

Everything a sampler, pruner or worker knows can be rebuilt from a storage, which is what
makes studies resumable after a crash. Values are JSON; distributions are stored as JSON
next to each parameter's internal float value.
"""

from __future__ import annotations

import abc
import datetime as _dt
from collections.abc import Container, Sequence
from dataclasses import dataclass
from typing import Any

from slimtune.distributions import BaseDistribution
from slimtune.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from slimtune.trial import FrozenTrial, TrialState

__all__ = [
    "BaseStorage",
    "StudySummary",
    "DuplicatedStudyError",
    "StudyNotFoundError",
    "UpdateFinishedTrialError",
]

SCHEMA_VERSION = 1


class StudyNotFoundError(KeyError):
    """No study of that name or id in the storage."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else "study not found"


@dataclass
class StudySummary:
    study_id: int
    study_name: str
    directions: list[str]
    n_trials: int
    n_complete: int
    best_values: list[float] | None
    datetime_start: _dt.datetime | None
    user_attrs: dict[str, Any]


class BaseStorage(abc.ABC):
    """What a study needs from a storage. Trial ids are global; numbers are per study."""

    # Heartbeats (see slimtune.storage.heartbeat): a process beats for each of its running
    # trials every ``heartbeat_interval`` seconds; a RUNNING trial whose last beat is older
    # than ``grace_period`` is failed. None: heartbeats off.
    heartbeat_interval: float | None = None
    grace_period: float | None = None
    # Called as ``failed_trial_callback(study, frozen_trial)`` for each trial whose worker
    # died, e.g. :class:`~slimtune.storage.RetryFailedTrialCallback` to re-queue it.
    failed_trial_callback: Any = None

    # --- studies ----------------------------------------------------------------------
    @abc.abstractmethod
    def create_new_study(self, directions: Sequence[str], study_name: str) -> int: ...

    @abc.abstractmethod
    def delete_study(self, study_id: int) -> None: ...

    @abc.abstractmethod
    def get_study_id_from_name(self, study_name: str) -> int: ...

    @abc.abstractmethod
    def get_study_name_from_id(self, study_id: int) -> str: ...

    @abc.abstractmethod
    def get_study_directions(self, study_id: int) -> list[str]: ...

    @abc.abstractmethod
    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]: ...

    @abc.abstractmethod
    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]: ...

    @abc.abstractmethod
    def get_all_study_names(self) -> list[str]: ...

    # --- trials -----------------------------------------------------------------------
    @abc.abstractmethod
    def create_new_trial(
        self,
        study_id: int,
        state: TrialState = TrialState.RUNNING,
        system_attrs: dict[str, Any] | None = None,
        user_attrs: dict[str, Any] | None = None,
    ) -> int:
        """Create a trial with the next number of the study; return its trial id."""

    @abc.abstractmethod
    def pop_waiting_trial_id(self, study_id: int) -> int | None:
        """Atomically move the oldest WAITING trial to RUNNING; its id, or None."""

    # Writes to a trial (params, intermediate values, attributes) raise
    # UpdateFinishedTrialError once it is finished, and KeyError for an unknown trial.
    @abc.abstractmethod
    def set_trial_param(
        self, trial_id: int, name: str, internal: float, distribution: BaseDistribution
    ) -> None: ...

    @abc.abstractmethod
    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        """Finish (or restart) a trial. False when it was already finished elsewhere."""

    @abc.abstractmethod
    def set_trial_intermediate_value(self, trial_id: int, step: int, value: Any) -> None: ...

    @abc.abstractmethod
    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    def get_trial(self, trial_id: int) -> FrozenTrial: ...

    @abc.abstractmethod
    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """All trials of a study ordered by number. Treat the result as read-only."""

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        return len(self.get_all_trials(study_id, states))

    def read_trials(
        self, study_id: int, newer_than: int, ids: Sequence[int] = ()
    ) -> list[FrozenTrial]:
        """The trials with an id above ``newer_than`` or in ``ids``, ordered by number: what
        :class:`~slimtune.storage.cached.CachedStorage` asks for (a back end that can
        select them cheaply overrides this)."""
        wanted = set(ids)
        return [
            t
            for t in self.get_all_trials(study_id)
            if t.trial_id > newer_than or t.trial_id in wanted
        ]

    # --- heartbeats -------------------------------------------------------------------
    @abc.abstractmethod
    def record_heartbeat(self, trial_id: int) -> None: ...

    @abc.abstractmethod
    def stale_trial_ids(self, study_id: int, older_than: float) -> list[tuple[int, float]]:
        """(trial id, last beat) of the RUNNING trials whose last beat (a ``time.time()``)
        is older than ``older_than``."""

    @abc.abstractmethod
    def fail_trial(self, trial_id: int, reason: str) -> bool:
        """Atomically move a RUNNING trial to FAIL with ``reason`` stored as its
        ``fail_reason``. False (and nothing written) when it was not RUNNING."""

    def fail_stale_trials(self, study_id: int) -> list[int]:
        """Fail the RUNNING trials with a stale heartbeat; their ids. (Without the
        ``failed_trial_callback``: a study's engine calls it, with the study.)"""
        from slimtune.storage.heartbeat import reap_stale_trials

        return [t.trial_id for t in reap_stale_trials(None, self, study_id, callback=False)]

    def is_heartbeat_enabled(self) -> bool:
        return bool(self.heartbeat_interval)

    # --- summaries --------------------------------------------------------------------
    def get_all_studies(self) -> list[StudySummary]:
        out = []
        for name in self.get_all_study_names():
            sid = self.get_study_id_from_name(name)
            directions = self.get_study_directions(sid)
            trials = self.get_all_trials(sid)
            complete = [t for t in trials if t.state == TrialState.COMPLETE]
            best = None
            if complete and len(directions) == 1:
                key = (
                    (lambda t: t.values[0])
                    if directions[0] == "minimize"
                    else (lambda t: -t.values[0])
                )
                best = list(min(complete, key=key).values or [])
            starts = [t.datetime_start for t in trials if t.datetime_start]
            out.append(
                StudySummary(
                    study_id=sid,
                    study_name=name,
                    directions=directions,
                    n_trials=len(trials),
                    n_complete=len(complete),
                    best_values=best,
                    datetime_start=min(starts) if starts else None,
                    user_attrs=self.get_study_user_attrs(sid),
                )
            )
        return out

    def close(self) -> None:
        """Release connections (no-op for in-memory storage)."""
