"""Checkpoint stores: a paused trial's training state, saved and loaded by key.

Two users: :class:`~slimtune.multifidelity.sync_halving.SyncSuccessiveHalving` (keys are
trial numbers) and the trial checkpoint API (``trial.save_checkpoint`` /
``trial.load_checkpoint``, keys ``"<study>/trial_<number>"``) that promotion-type successive
halving (:mod:`slimtune.multifidelity.promotion`) resumes paused trials from. The study
storage only ever holds the key (a string) and the step; the state lives here.

A store has ``save(key, state)``, ``load(key)``, ``delete(key)``, ``exists(key)`` and
``claim(key) -> bool`` (true for exactly one caller per key: who resumes a paused trial).
:class:`DirectoryCheckpoints` also has ``path(key)``, a file name for user save/load
callbacks (``torch.save(model.state_dict(), path)``).
"""

from __future__ import annotations

import os
import pickle
import tempfile
import uuid
from typing import Any

__all__ = ["MemoryCheckpoints", "DirectoryCheckpoints", "as_checkpoint_store"]

Key = int | str


class MemoryCheckpoints:
    """Checkpoints in a dict (one process). ``save``/``load``/``delete`` by key."""

    def __init__(self) -> None:
        self._d: dict[Key, Any] = {}
        self._claims: set[Key] = set()

    def save(self, number: Key, state: Any) -> None:
        self._d[number] = state

    def load(self, number: Key) -> Any:
        return self._d[number]

    def delete(self, number: Key) -> None:
        self._d.pop(number, None)

    def exists(self, number: Key) -> bool:
        return number in self._d

    def claim(self, number: Key) -> bool:
        """True the first time ``number`` is claimed, False after (one process)."""
        if number in self._claims:
            return False
        self._claims.add(number)
        return True

    def __len__(self) -> int:
        return len(self._d)

    def __reduce__(self) -> Any:
        # Pickling happens when the pruner travels to worker processes (n_jobs > 1), where a
        # copy would silently hold other states and claims than the parent's.
        raise TypeError(
            "MemoryCheckpoints keeps states in this process's memory, which worker processes "
            "(n_jobs > 1) cannot share; pass checkpoints='some/dir' (DirectoryCheckpoints)."
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> MemoryCheckpoints:
        import copy

        new = type(self)()
        new._d = copy.deepcopy(self._d, memo)
        new._claims = set(self._claims)
        return new


class DirectoryCheckpoints(MemoryCheckpoints):
    """Checkpoints as files under ``directory`` (``trial_<number>.pkl`` for trial numbers,
    ``<key>.ckpt`` for string keys): every process that sees the directory (worker processes,
    machines on a shared file system) sees the same checkpoints. States are pickled unless a
    save callback writes the file itself (your own files: load only what you trust; the study
    storage never holds pickles). Writes go to a temporary file and are renamed into place,
    so a worker killed mid-save leaves the previous checkpoint intact."""

    def __init__(self, directory: str | os.PathLike[str]):
        self.directory = os.fspath(directory)
        os.makedirs(self.directory, exist_ok=True)

    def __reduce__(self) -> Any:
        return (type(self), (self.directory,))

    def __deepcopy__(self, memo: dict[int, Any]) -> DirectoryCheckpoints:
        return type(self)(self.directory)

    def path(self, number: Key) -> str:
        """The file of checkpoint ``number`` (its folder is created)."""
        if isinstance(number, int):
            return os.path.join(self.directory, f"trial_{number}.pkl")
        p = os.path.join(self.directory, *str(number).split("/")) + ".ckpt"
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def save(self, number: Key, state: Any) -> None:
        final = self.path(number)
        tmp = f"{final}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "wb") as f:
            pickle.dump(state, f)
        os.replace(tmp, final)

    def write_with(self, number: Key, writer: Any) -> None:
        """Let ``writer(path)`` write checkpoint ``number`` itself (e.g. ``torch.save``);
        the file is renamed into place once the writer returns."""
        final = self.path(number)
        root, ext = os.path.splitext(final)
        tmp = f"{root}.{uuid.uuid4().hex[:8]}.tmp{ext}"
        writer(tmp)
        if not os.path.exists(tmp):
            raise FileNotFoundError(
                f"the checkpoint writer did not write the path it was given ({tmp}); "
                "write exactly that file."
            )
        os.replace(tmp, final)

    def load(self, number: Key) -> Any:
        with open(self.path(number), "rb") as f:
            return pickle.load(f)

    def delete(self, number: Key) -> None:
        try:
            os.remove(self.path(number))
        except FileNotFoundError:
            pass

    def exists(self, number: Key) -> bool:
        return os.path.exists(self.path(number))

    def claim(self, number: Key) -> bool:
        """True for exactly one caller per key, across processes (an exclusive create)."""
        p = self.path(number) + ".claim"
        try:
            fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return False
        os.close(fd)
        return True

    def __len__(self) -> int:
        n = 0
        for _, _, files in os.walk(self.directory):
            n += sum(1 for f in files if f.endswith((".pkl", ".ckpt")))
        return n


def as_checkpoint_store(spec: Any) -> Any:
    """A checkpoint store from ``spec``: a store (returned as is), a directory path
    (:class:`DirectoryCheckpoints`), or None: a new directory under the system's temporary
    folder (seen by the worker processes of this machine; give a shared directory when
    several machines share the study)."""
    if spec is None:
        return DirectoryCheckpoints(
            os.path.join(tempfile.gettempdir(), f"slimtune-ckpt-{uuid.uuid4().hex[:12]}")
        )
    if isinstance(spec, (str, os.PathLike)):
        return DirectoryCheckpoints(spec)
    need = ("save", "load", "exists", "claim")
    missing = [m for m in need if not callable(getattr(spec, m, None))]
    if missing:
        raise TypeError(
            f"checkpoints={spec!r} lacks {missing}; pass a directory path, "
            "DirectoryCheckpoints(path) or MemoryCheckpoints()."
        )
    return spec
