"""Storages: in memory, and SQL (SQLite, PostgreSQL) through SQLAlchemy.

* :mod:`~slimtune.storage.base`: the protocol every storage implements.
* :mod:`~slimtune.storage.memory`, :mod:`~slimtune.storage.sql`: the back ends.
* :mod:`~slimtune.storage.cached`: the read cache, a layer in front of a back end.
* :mod:`~slimtune.storage.heartbeat`: finding the trials whose worker died (on by default).
"""

from __future__ import annotations

from slimtune.storage.base import (
    BaseStorage,
    DuplicatedStudyError,
    StudyNotFoundError,
    StudySummary,
    UpdateFinishedTrialError,
)
from slimtune.storage.cached import CachedStorage, cached
from slimtune.storage.heartbeat import RetryFailedTrialCallback
from slimtune.storage.memory import InMemoryStorage
from slimtune.storage.sql import SchemaVersionError, SQLStorage

__all__ = [
    "BaseStorage",
    "CachedStorage",
    "InMemoryStorage",
    "SQLStorage",
    "RDBStorage",
    "RetryFailedTrialCallback",
    "StudySummary",
    "DuplicatedStudyError",
    "StudyNotFoundError",
    "SchemaVersionError",
    "UpdateFinishedTrialError",
    "get_storage",
]

RDBStorage = SQLStorage  # the Optuna name


def get_storage(storage: str | BaseStorage | None) -> BaseStorage:
    """The storage a study runs on.

    None -> a new in-memory storage; a URL -> :class:`SQLStorage` (heartbeats on); a
    storage -> itself. A SQL storage gets its read cache (:func:`cached`) in front.
    """
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, str):
        return cached(SQLStorage(storage))
    if isinstance(storage, SQLStorage):
        return cached(storage)
    if isinstance(storage, BaseStorage) or hasattr(storage, "create_new_trial"):
        return storage  # type: ignore[return-value]
    raise TypeError(f"storage must be None, a database URL or a storage object, got {storage!r}.")
