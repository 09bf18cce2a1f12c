"""Storages: in memory, and SQL (SQLite, PostgreSQL) through SQLAlchemy."""

from __future__ import annotations

from slimtune.storage.base import (
    BaseStorage,
    DuplicatedStudyError,
    RetryFailedTrialCallback,
    StudyNotFoundError,
    StudySummary,
)
from slimtune.storage.memory import InMemoryStorage
from slimtune.storage.sql import SchemaVersionError, SQLStorage

__all__ = [
    "BaseStorage",
    "InMemoryStorage",
    "SQLStorage",
    "RDBStorage",
    "RetryFailedTrialCallback",
    "StudySummary",
    "DuplicatedStudyError",
    "StudyNotFoundError",
    "SchemaVersionError",
    "get_storage",
]

RDBStorage = SQLStorage  # the Optuna name


def get_storage(storage: str | BaseStorage | None) -> BaseStorage:
    """None -> a new in-memory storage; a URL -> :class:`SQLStorage`; a storage -> itself."""
    if storage is None:
        return InMemoryStorage()
    if isinstance(storage, str):
        return SQLStorage(storage)
    if isinstance(storage, BaseStorage) or hasattr(storage, "create_new_trial"):
        return storage  # type: ignore[return-value]
    raise TypeError(f"storage must be None, a database URL or a storage object, got {storage!r}.")
