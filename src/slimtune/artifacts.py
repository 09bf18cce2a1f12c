"""``optuna.artifacts``: files (models, plots, checkpoints) attached to a trial or a study.

The bytes live in an *artifact store* (:class:`FileSystemArtifactStore`: a directory,
which may be shared by several machines); the study database keeps only a small record per
artifact, a system attribute under ``keys.artifact_key(artifact_id)`` holding
:class:`ArtifactMeta`'s fields, so checkpoints never bloat the database (design rule).
"""

from __future__ import annotations

import mimetypes
import os
import random
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol

from slimtune import keys
from slimtune.exceptions import SlimtuneError
from slimtune.trial import FrozenTrial, Trial

if TYPE_CHECKING:
    from slimtune.storage import BaseStorage
    from slimtune.study import Study

__all__ = [
    "ArtifactMeta",
    "ArtifactNotFound",
    "ArtifactStore",
    "Backoff",
    "Boto3ArtifactStore",
    "FileSystemArtifactStore",
    "GCSArtifactStore",
    "download_artifact",
    "get_all_artifact_meta",
    "upload_artifact",
]


class ArtifactNotFound(SlimtuneError):
    """No artifact with that id in the store."""


class ArtifactStore(Protocol):
    """What an artifact store provides (Optuna's protocol)."""

    def open_reader(self, artifact_id: str) -> BinaryIO: ...

    def write(self, artifact_id: str, content_body: BinaryIO) -> None: ...

    def remove(self, artifact_id: str) -> None: ...


@dataclass
class ArtifactMeta:
    """The record of one uploaded artifact."""

    artifact_id: str
    filename: str
    mimetype: str
    encoding: str | None


def _check_id(artifact_id: str) -> str:
    if (
        not isinstance(artifact_id, str)
        or not artifact_id
        or artifact_id in (".", "..")
        or "/" in artifact_id
        or os.sep in artifact_id
    ):
        raise ValueError(f"artifact_id={artifact_id!r} is not a valid artifact id.")
    return artifact_id


class FileSystemArtifactStore:
    """Artifacts as files in the directory ``base_path`` (one file per artifact id)."""

    def __init__(self, base_path: str | Path):
        self._base_path = Path(base_path)
        if not self._base_path.is_dir():
            raise ValueError(
                f"FileSystemArtifactStore: {str(base_path)!r} is not a directory; create it "
                "first (e.g. os.makedirs(path, exist_ok=True))."
            )

    def open_reader(self, artifact_id: str) -> BinaryIO:
        """The artifact's bytes, open for reading (the caller closes it)."""
        path = self._base_path / _check_id(artifact_id)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise ArtifactNotFound(f"no artifact {artifact_id!r} in {self._base_path}.") from None

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        """Store ``content_body`` as the artifact (written to a temporary name, then
        renamed, so a reader never sees half a file)."""
        path = self._base_path / _check_id(artifact_id)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as f:
            shutil.copyfileobj(content_body, f)
        os.replace(tmp, path)

    def remove(self, artifact_id: str) -> None:
        """Delete the artifact."""
        path = self._base_path / _check_id(artifact_id)
        try:
            os.remove(path)
        except FileNotFoundError:
            raise ArtifactNotFound(f"no artifact {artifact_id!r} in {self._base_path}.") from None


class Backoff:
    """Wrap a store so that each call is retried with exponential backoff (for network
    file systems and object stores that fail now and then). ``ArtifactNotFound`` is not
    retried: it is an answer, not a fault."""

    def __init__(
        self,
        backend: ArtifactStore,
        *,
        max_retries: int = 10,
        multiplier: float = 2,
        min_delay: float = 0.1,
        max_delay: float = 30,
    ):
        if max_retries < 0 or min_delay < 0 or max_delay < min_delay or multiplier < 1:
            raise ValueError(
                "Backoff: need max_retries >= 0, multiplier >= 1 and 0 <= min_delay <= max_delay."
            )
        self._backend = backend
        self._max_retries = max_retries
        self._multiplier = multiplier
        self._min_delay = min_delay
        self._max_delay = max_delay

    def _call(self, fn: Any, *args: Any) -> Any:
        for attempt in range(self._max_retries + 1):
            try:
                return fn(*args)
            except ArtifactNotFound:
                raise
            except Exception:
                if attempt == self._max_retries:
                    raise
                delay = min(self._max_delay, self._min_delay * self._multiplier**attempt)
                time.sleep(delay * (0.5 + random.random() / 2))
        raise AssertionError("unreachable")  # pragma: no cover

    def open_reader(self, artifact_id: str) -> BinaryIO:
        return self._call(self._backend.open_reader, artifact_id)

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        pos = content_body.tell() if content_body.seekable() else None

        def attempt() -> None:
            if pos is not None:
                content_body.seek(pos)  # a retry writes the whole body again
            self._backend.write(artifact_id, content_body)

        self._call(attempt)

    def remove(self, artifact_id: str) -> None:
        self._call(self._backend.remove, artifact_id)


class _CloudStore:
    _name = ""

    def __init__(self, *args: Any, **kwargs: Any):
        raise NotImplementedError(
            f"{self._name} is not provided by slimtune (it needs a cloud client); use "
            "FileSystemArtifactStore on a shared directory, or wrap your own client in a "
            "class with open_reader/write/remove."
        )


class Boto3ArtifactStore(_CloudStore):
    """Not provided: use :class:`FileSystemArtifactStore` or your own store."""

    _name = "Boto3ArtifactStore"


class GCSArtifactStore(_CloudStore):
    """Not provided: use :class:`FileSystemArtifactStore` or your own store."""

    _name = "GCSArtifactStore"


def _attrs_target(
    study_or_trial: Trial | FrozenTrial | Study, storage: BaseStorage | None
) -> tuple[Any, Any]:
    """(setter(key, value), getter() -> system attrs) for the trial or study."""
    if isinstance(study_or_trial, Trial):
        t = study_or_trial
        return t.set_system_attr, lambda: t.storage.get_trial(t.trial_id).system_attrs
    if isinstance(study_or_trial, FrozenTrial):
        if storage is None:
            raise ValueError(
                "a FrozenTrial carries no storage: pass storage=study.storage as well."
            )
        tid = study_or_trial.trial_id
        return (
            lambda k, v: storage.set_trial_system_attr(tid, k, v),
            lambda: storage.get_trial(tid).system_attrs,
        )
    if hasattr(study_or_trial, "set_system_attr") and hasattr(study_or_trial, "study_id"):
        s = study_or_trial
        return s.set_system_attr, lambda: s.system_attrs
    raise TypeError(
        f"study_or_trial must be a Trial, a FrozenTrial or a Study, got {study_or_trial!r}."
    )


def upload_artifact(
    *,
    artifact_store: ArtifactStore,
    file_path: str,
    study_or_trial: Trial | FrozenTrial | Study,
    storage: BaseStorage | None = None,
    mimetype: str | None = None,
    encoding: str | None = None,
) -> str:
    """Copy the file at ``file_path`` into the store and record it on the trial or study;
    the new artifact's id. ``mimetype`` and ``encoding`` are guessed from the file name
    when not given."""
    filename = os.path.basename(file_path)
    guessed, guessed_enc = mimetypes.guess_type(filename)
    meta = ArtifactMeta(
        artifact_id=str(uuid.uuid4()),
        filename=filename,
        mimetype=mimetype or guessed or "application/octet-stream",
        encoding=encoding or guessed_enc,
    )
    setter, _ = _attrs_target(study_or_trial, storage)
    with open(file_path, "rb") as f:
        artifact_store.write(meta.artifact_id, f)
    setter(keys.artifact_key(meta.artifact_id), asdict(meta))
    return meta.artifact_id


def download_artifact(*, artifact_store: ArtifactStore, file_path: str, artifact_id: str) -> None:
    """Write the artifact's bytes to ``file_path``, which must not exist yet."""
    if os.path.exists(file_path):
        raise FileExistsError(
            f"download_artifact: {file_path!r} exists; choose a new path or remove it first."
        )
    with artifact_store.open_reader(artifact_id) as reader, open(file_path, "wb") as f:
        shutil.copyfileobj(reader, f)


def get_all_artifact_meta(
    study_or_trial: Trial | FrozenTrial | Study, *, storage: BaseStorage | None = None
) -> list[ArtifactMeta]:
    """The records of every artifact uploaded to the trial or study, oldest first."""
    _, getter = _attrs_target(study_or_trial, storage)
    return [
        ArtifactMeta(**v)
        for k, v in getter().items()
        if k.startswith(keys.ARTIFACT_PREFIX) and isinstance(v, dict)
    ]
