"""Checkpoint stores for :class:`~slimtune.multifidelity.sync_halving.SyncSuccessiveHalving`:
a paused trial's training state, saved and loaded by trial number."""

from __future__ import annotations

import os
import pickle
from typing import Any

__all__ = ["MemoryCheckpoints", "DirectoryCheckpoints"]


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
