"""``optuna.storages.journal`` under its names: a study kept in one file.

Optuna's journal storage appends every operation to a log file that each process replays.
slimtune maps it to what gives the same guarantees here: **a SQLite database in that
file** (:class:`~slimtune.storage.SQLStorage`): one file, no server, shared safely by the
processes of one machine (WAL journal, queued writers), resumable after any crash. The
file's format differs: a journal written by Optuna cannot be opened (a clear error says
so; copy such a study with ``optuna.copy_study`` into a ``sqlite:///`` URL first), and the
file slimtune writes is read with ``sqlite:///<path>`` too. The lock classes are accepted
for signature compatibility; SQLite does the locking.
"""

from __future__ import annotations

import os
from typing import Any

from slimtune.storage import SQLStorage

__all__ = [
    "BaseJournalBackend",
    "JournalFileBackend",
    "JournalFileOpenLock",
    "JournalFileSymlinkLock",
    "JournalStorage",
]

_SQLITE_MAGIC = b"SQLite format 3\x00"


class BaseJournalBackend:
    """Where a :class:`JournalStorage` keeps its study (here: a file path)."""

    def url(self) -> str:  # pragma: no cover - abstract
        """The SQLAlchemy URL of the database this backend stands for."""
        raise NotImplementedError


class _FileLock:
    def __init__(self, filepath: str, grace_period: int | None = 30):
        self.filepath = filepath
        self.grace_period = grace_period


class JournalFileSymlinkLock(_FileLock):
    """Accepted for Optuna compatibility; SQLite locks the file itself."""


class JournalFileOpenLock(_FileLock):
    """Accepted for Optuna compatibility; SQLite locks the file itself."""


class JournalFileBackend(BaseJournalBackend):
    """A study file at ``file_path`` (a SQLite database, see the module docstring)."""

    def __init__(self, file_path: str, lock_obj: _FileLock | None = None):
        self.file_path = os.fspath(file_path)
        self.lock_obj = lock_obj
        try:
            with open(self.file_path, "rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except FileNotFoundError:
            head = b""
        if head and head != _SQLITE_MAGIC:
            raise ValueError(
                f"{self.file_path!r} is not a slimtune study file (an Optuna journal log?); "
                "slimtune keeps journal studies as SQLite: use a new path, or copy the study "
                "into sqlite:///<path> with optuna.copy_study first."
            )

    def url(self) -> str:
        return "sqlite:///" + os.path.abspath(self.file_path)


class JournalStorage(SQLStorage):
    """Optuna's ``JournalStorage(JournalFileBackend(path))``: the study lives in that file."""

    def __init__(self, log_storage: BaseJournalBackend, **kwargs: Any):
        if not isinstance(log_storage, BaseJournalBackend):
            raise TypeError(
                f"JournalStorage needs a JournalFileBackend(path), got {log_storage!r}."
            )
        self.log_storage = log_storage
        super().__init__(log_storage.url(), **kwargs)
