"""A storage that lives on a Dask scheduler: Optuna's ``DaskStorage``.

Every process of a Dask cluster (the client, each worker's tasks) reaches the same study
through the scheduler, so an in-memory study can run across many processes or machines
without a database::

    with distributed.Client() as client:
        storage = DaskStorage()                       # in memory, on the scheduler
        study = slimtune.create_study(storage=storage, direction="maximize")
        futures = [client.submit(study.optimize, objective, n_trials=7, pure=False)
                   for _ in range(10)]
        distributed.wait(futures)                    # 70 trials in one study

How: the wrapped storage (``storage``: None for in memory, a database URL or a storage
object) is sent to the scheduler once, under ``name``; each method call of a
:class:`DaskStorage` travels as one scheduler RPC that runs the method there and returns
its result (or its exception, raised again here). A :class:`DaskStorage` pickles as its
name only, so a study pickled into a task reconnects through the task's own client.
Finished trials never change, so each process keeps the ones it has read and asks the
scheduler only for the others (as :class:`~slimtune.storage.CachedStorage` does for SQL).

Heartbeats are on (interval 10 s, grace 30 s, or the wrapped storage's settings): a trial
whose worker died is failed by the next process that runs trials in the study. The
scheduler runs the calls of an in-memory storage on its event loop (each takes
microseconds) and those of a database storage in a thread, so it stays responsive.

Needs the ``dask`` extra (``pip install 'slimtune[dask]'``); see also
:func:`slimtune.parallel.dask.optimize_on_dask`, which runs a study's trials as Dask tasks
over a SQL storage with exact trial counts.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
import uuid
from collections.abc import Container, Sequence
from typing import Any

from slimtune.distributions import BaseDistribution
from slimtune.integration.extras import require
from slimtune.storage import BaseStorage, InMemoryStorage, get_storage
from slimtune.trial import FrozenTrial, TrialState

_distributed = require("distributed", "dask", "DaskStorage")

__all__ = ["DaskStorage"]

_EXTENSION = "slimtune_storage"
_HANDLER = "slimtune_storage_call"


class _StorageExtension:
    """On the scheduler: the storages by name, and the handler that calls them."""

    def __init__(self, scheduler: Any) -> None:
        self.scheduler = scheduler
        self.storages: dict[str, BaseStorage] = {}
        scheduler.handlers[_HANDLER] = self.call
        scheduler.extensions[_EXTENSION] = self

    async def call(self, storage_name: str, method: str, payload: bytes) -> dict[str, bytes]:
        storage = self.storages.get(storage_name)
        try:
            if storage is None:
                raise KeyError(
                    f"no DaskStorage named {storage_name!r} on this scheduler (it was created "
                    "on another cluster, or the scheduler restarted)."
                )
            if method.startswith("_") or not callable(getattr(BaseStorage, method, None)):
                raise AttributeError(f"{method!r} is not a storage method.")
            args, kwargs = pickle.loads(payload)
            fn = getattr(storage, method)
            if isinstance(storage, InMemoryStorage):
                result = fn(*args, **kwargs)
            else:  # database round trips: keep the scheduler's event loop free
                result = await asyncio.to_thread(fn, *args, **kwargs)
            return {"result": pickle.dumps(result)}
        except Exception as e:  # noqa: BLE001 - raised again in the caller's process
            try:
                blob = pickle.dumps(e)
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                blob = pickle.dumps(RuntimeError(f"{type(e).__name__}: {e}"))
            return {"error": blob}

    def teardown(self) -> None:
        for storage in self.storages.values():
            try:
                storage.close()
            except Exception:  # noqa: BLE001 - closing on the way out
                pass
        self.storages.clear()


def _register(dask_scheduler: Any, storage: BaseStorage, name: str) -> None:
    ext = dask_scheduler.extensions.get(_EXTENSION) or _StorageExtension(dask_scheduler)
    ext.storages.setdefault(name, storage)


def _fetch(dask_scheduler: Any, name: str) -> BaseStorage:
    ext = dask_scheduler.extensions.get(_EXTENSION)
    if ext is None or name not in ext.storages:
        raise KeyError(f"no DaskStorage named {name!r} on this scheduler.")
    return ext.storages[name]


class _Cache:
    __slots__ = ("finished", "unfinished", "mark")

    def __init__(self) -> None:
        self.finished: dict[int, FrozenTrial] = {}
        self.unfinished: list[int] = []
        self.mark = -1  # the largest trial id read (ids start at 0 in memory storage)


class DaskStorage(BaseStorage):
    """A slimtune storage kept on the Dask scheduler, shared by the whole cluster.

    Args:
        storage: what to keep there: None (a new in-memory storage), a database URL, or a
            storage object.
        name: the storage's name on the scheduler (default: a fresh random name); two
            :class:`DaskStorage` objects of the same name share one storage.
        client: the ``distributed.Client`` to use (default: the current one, also inside
            tasks).
        register: send ``storage`` to the scheduler now (False: connect to the storage
            registered under ``name`` earlier).
    """

    def __init__(
        self,
        storage: str | BaseStorage | None = None,
        name: str | None = None,
        client: Any = None,
        register: bool = True,
    ) -> None:
        self.name = name or f"slimtune-dask-{uuid.uuid4().hex}"
        self._client = client
        self._lock = threading.Lock()
        self._caches: dict[int, _Cache] = {}
        inner = get_storage(storage)
        if isinstance(inner, InMemoryStorage):
            # It outlives the processes that run trials: beat with the workers' defaults.
            self.heartbeat_interval, self.grace_period = inner.heartbeat_for_workers()
        else:
            self.heartbeat_interval = inner.heartbeat_interval
            self.grace_period = inner.grace_period
        self.failed_trial_callback = inner.failed_trial_callback
        if register:
            self.client.run_on_scheduler(_register, storage=inner, name=self.name)

    @property
    def client(self) -> Any:
        """The Dask client this process talks to the scheduler through."""
        if self._client is not None:
            return self._client
        try:
            return _distributed.get_client()
        except ValueError:
            raise RuntimeError(
                "DaskStorage needs a Dask client: create one first "
                "(client = distributed.Client(...)) or pass client=."
            ) from None

    def __getstate__(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
            "failed_trial_callback": self.failed_trial_callback,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.name = state["name"]
        self.heartbeat_interval = state["heartbeat_interval"]
        self.grace_period = state["grace_period"]
        self.failed_trial_callback = state["failed_trial_callback"]
        self._client = None
        self._lock = threading.Lock()
        self._caches = {}

    def __repr__(self) -> str:
        return f"DaskStorage(name={self.name!r})"

    def get_base_storage(self) -> BaseStorage:
        """A copy of the wrapped storage as it is now on the scheduler (for in-memory
        storage: a snapshot to keep after the cluster is gone)."""
        return self.client.run_on_scheduler(_fetch, name=self.name)

    # --- the one RPC ----------------------------------------------------------------------
    def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        client = self.client
        reply = client.sync(
            client.scheduler.slimtune_storage_call,
            storage_name=self.name,
            method=method,
            payload=pickle.dumps((args, kwargs)),
        )
        if "error" in reply:
            raise pickle.loads(reply["error"])
        return pickle.loads(reply["result"])

    # --- studies --------------------------------------------------------------------------
    def create_new_study(self, directions: Sequence[str], study_name: str) -> int:
        sid = self._call("create_new_study", list(directions), study_name)
        with self._lock:
            self._caches.pop(sid, None)
        return sid

    def delete_study(self, study_id: int) -> None:
        self._call("delete_study", study_id)
        with self._lock:
            self._caches.pop(study_id, None)

    def get_study_id_from_name(self, study_name: str) -> int:
        return self._call("get_study_id_from_name", study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self._call("get_study_name_from_id", study_id)

    def get_study_directions(self, study_id: int) -> list[str]:
        return self._call("get_study_directions", study_id)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._call("set_study_user_attr", study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._call("set_study_system_attr", study_id, key, value)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._call("get_study_user_attrs", study_id)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._call("get_study_system_attrs", study_id)

    def get_all_study_names(self) -> list[str]:
        return self._call("get_all_study_names")

    def get_all_studies(self) -> list[Any]:
        return self._call("get_all_studies")

    # --- trials ---------------------------------------------------------------------------
    def create_new_trial(
        self,
        study_id: int,
        state: TrialState = TrialState.RUNNING,
        system_attrs: dict[str, Any] | None = None,
        user_attrs: dict[str, Any] | None = None,
    ) -> int:
        return self._call("create_new_trial", study_id, state, system_attrs, user_attrs)

    def pop_waiting_trial_id(self, study_id: int) -> int | None:
        return self._call("pop_waiting_trial_id", study_id)

    def set_trial_param(
        self, trial_id: int, name: str, internal: float, distribution: BaseDistribution
    ) -> None:
        self._call("set_trial_param", trial_id, name, internal, distribution)

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        vals = None if values is None else list(values)
        return self._call("set_trial_state_values", trial_id, state, vals)

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: Any) -> None:
        self._call("set_trial_intermediate_value", trial_id, step, value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._call("set_trial_user_attr", trial_id, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._call("set_trial_system_attr", trial_id, key, value)

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self._call("get_trial", trial_id)

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        return self._call("get_n_trials", study_id, None if states is None else list(states))

    def read_trials(
        self, study_id: int, newer_than: int, ids: Sequence[int] = ()
    ) -> list[FrozenTrial]:
        return self._call("read_trials", study_id, newer_than, list(ids))

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._lock:
            c = self._caches.get(study_id)
            if c is None:
                c = self._caches[study_id] = _Cache()
            mark, pending = c.mark, list(c.unfinished)
        fresh = self.read_trials(study_id, mark, pending)
        with self._lock:
            if self._caches.get(study_id) is not c:  # deleted meanwhile
                return [t for t in fresh if states is None or t.state in states]
            unfinished: dict[int, FrozenTrial] = {}
            for t in fresh:
                if t.state.is_finished():
                    c.finished[t.trial_id] = t
                else:
                    unfinished[t.trial_id] = t
                c.mark = max(c.mark, t.trial_id)
            c.unfinished = list(unfinished)
            out = list(c.finished.values()) + list(unfinished.values())
        out.sort(key=lambda t: t.number)
        return out if states is None else [t for t in out if t.state in states]

    # --- heartbeats -----------------------------------------------------------------------
    def record_heartbeat(self, trial_id: int) -> None:
        self._call("record_heartbeat", trial_id)

    def stale_trial_ids(self, study_id: int, older_than: float) -> list[tuple[int, float]]:
        return self._call("stale_trial_ids", study_id, older_than)

    def fail_trial(self, trial_id: int, reason: str) -> bool:
        return self._call("fail_trial", trial_id, reason)

    def close(self) -> None:
        """Nothing to release here: the storage lives (and is closed) on the scheduler."""
