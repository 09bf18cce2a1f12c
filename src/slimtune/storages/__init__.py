"""``optuna.storages`` under its names; the storages themselves live in
:mod:`slimtune.storage`.

* :class:`RDBStorage`: the SQL storage (SQLite, PostgreSQL) with Optuna's constructor.
  As in Optuna, heartbeats are off unless ``heartbeat_interval`` is given (a plain URL
  passed as ``storage=`` gets slimtune's default: on, every 10 s).
* :class:`InMemoryStorage`, :class:`BaseStorage`, :class:`RetryFailedTrialCallback`.
* :class:`JournalStorage` with :class:`JournalFileBackend`: one study file; kept as a
  SQLite database (see :mod:`slimtune.storages.journal` for what that means).
* :func:`fail_stale_trials`: fail a study's trials whose worker stopped beating.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slimtune.storage import (
    BaseStorage,
    InMemoryStorage,
    RetryFailedTrialCallback,
    SQLStorage,
    get_storage,
)
from slimtune.storage.heartbeat import reap_stale_trials
from slimtune.storages import journal
from slimtune.storages.journal import (
    BaseJournalBackend,
    JournalFileBackend,
    JournalFileOpenLock,
    JournalFileSymlinkLock,
    JournalStorage,
)

__all__ = [
    "BaseStorage",
    "BaseJournalBackend",
    "BaseJournalLogStorage",
    "InMemoryStorage",
    "RDBStorage",
    "JournalStorage",
    "JournalFileBackend",
    "JournalFileStorage",
    "JournalFileSymlinkLock",
    "JournalFileOpenLock",
    "JournalRedisStorage",
    "RetryFailedTrialCallback",
    "RetryHeartbeatStaleTrialCallback",
    "fail_stale_trials",
    "get_storage",
    "journal",
]

# Optuna's older spellings of the same classes.
BaseJournalLogStorage = BaseJournalBackend
JournalFileStorage = JournalFileBackend
RetryHeartbeatStaleTrialCallback = RetryFailedTrialCallback


class RDBStorage(SQLStorage):
    """A SQL database (``sqlite:///...``, ``postgresql://...``) with Optuna's signature.

    ``heartbeat_interval=None`` (the default, as in Optuna) turns heartbeats off;
    ``grace_period=None`` means three intervals (Optuna: two), so one late beat on a busy
    machine does not fail a live trial.
    ``heartbeat_stale_trial_callback`` is Optuna's older name of ``failed_trial_callback``.
    ``skip_compatibility_check`` and ``skip_table_creation`` are accepted: the schema
    version is always checked (an unknown one is a ``SchemaVersionError``) and missing
    tables are created, both cheap and safe.
    """

    def __init__(
        self,
        url: str,
        engine_kwargs: dict[str, Any] | None = None,
        skip_compatibility_check: bool = False,
        *,
        heartbeat_interval: int | None = None,
        grace_period: int | None = None,
        heartbeat_stale_trial_callback: Callable[..., None] | None = None,
        failed_trial_callback: Callable[..., None] | None = None,
        skip_table_creation: bool = False,
    ):
        if heartbeat_stale_trial_callback is not None and failed_trial_callback is not None:
            raise ValueError(
                "give failed_trial_callback or heartbeat_stale_trial_callback (its older "
                "name), not both."
            )
        if grace_period is not None and heartbeat_interval is None:
            raise ValueError(
                "grace_period needs heartbeat_interval (heartbeats are off without it)."
            )
        self.skip_compatibility_check = skip_compatibility_check
        self.skip_table_creation = skip_table_creation
        super().__init__(
            url,
            heartbeat_interval=heartbeat_interval,
            grace_period=grace_period,
            engine_kwargs=engine_kwargs,
            failed_trial_callback=failed_trial_callback or heartbeat_stale_trial_callback,
        )


class JournalRedisStorage:
    """Not provided: slimtune has no Redis back end."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            "JournalRedisStorage is not provided by slimtune; share a study between machines "
            "with RDBStorage('postgresql://...') instead."
        )


def fail_stale_trials(study: Any) -> None:
    """Fail the study's RUNNING trials whose heartbeat is stale and hand each to the
    storage's ``failed_trial_callback`` (the trial engine also does this by itself, at
    most once a second, while trials run)."""
    reap_stale_trials(study, study.storage, study.study_id)
