"""``optimize(n_jobs > 1)``: trials in separate worker processes (not threads).

How it works
* Each worker process runs trials in a loop: ask, run the objective, tell. A shared counter
  hands out the ``n_trials`` budget; a shared deadline enforces ``timeout``.
* Storage: a SQL storage is reopened in every worker from its URL (each has its own
  connections). An in-memory storage stays in the parent, which serves it to the workers
  through a ``multiprocessing`` manager (a proxy), so no database is needed.
* The sampler and pruner are copied into each worker; each worker's sampler is reseeded
  with ``seed + worker index`` so workers do not propose identical points. Model-based
  samplers read the others' RUNNING trials from storage and account for them.
* Callbacks and the progress bar run in the parent, in order of completion.
* A worker that dies (killed, segfault) has its running trial marked FAIL at once by the
  parent and is replaced while budget remains; the study goes on.

What the objective must satisfy
* On Linux the workers are forked (start method ``fork``): the objective does not need to
  be picklable; lambdas and closures work. Elsewhere (or with ``SLIMTUNE_MP_START=spawn``)
  the objective is pickled; one that cannot be pickled raises a ``TypeError`` before any
  trial starts, telling you to define it at module level.
* Exceptions that ``catch`` does not cover stop all workers and are re-raised in the parent.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import pickle
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.managers import BaseManager
from typing import TYPE_CHECKING, Any

from slimtune.progress import StudyProgress
from slimtune.storage.base import BaseStorage
from slimtune.storage.memory import InMemoryStorage
from slimtune.study import Study
from slimtune.study.engine import fail_dead_trial, run_trials, set_process_executor

if TYPE_CHECKING:
    from slimtune.trial import Trial

logger = logging.getLogger("slimtune")

_STORAGE_METHODS = [
    name
    for name in dir(BaseStorage)
    if not name.startswith("_") and callable(getattr(BaseStorage, name))
]


class _StorageManager(BaseManager):
    pass


class _RemoteStorage:
    """A storage in another process, reached through a manager proxy."""

    def __init__(self, proxy: Any, heartbeat_interval: float | None, grace_period: float | None):
        self._proxy = proxy
        self.heartbeat_interval = heartbeat_interval
        self.grace_period = grace_period
        self.failed_trial_callback = None  # the parent's storage keeps it, and calls it

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proxy, name)

    def is_heartbeat_enabled(self) -> bool:
        return bool(self.heartbeat_interval)


def _start_method() -> str:
    m = os.environ.get("SLIMTUNE_MP_START")
    if m:
        return m
    return "fork" if "fork" in mp.get_all_start_methods() else "spawn"


def _serve_memory(storage: InMemoryStorage) -> tuple[Any, tuple[Any, bytes]]:
    authkey = secrets.token_bytes(16)
    _StorageManager.register("storage", callable=lambda: storage, exposed=_STORAGE_METHODS)
    mgr = _StorageManager(address=("127.0.0.1", 0), authkey=authkey)
    server = mgr.get_server()

    def serve() -> None:
        try:
            server.serve_forever()
        except SystemExit:  # serve_forever exits through sys.exit when stopped
            pass
        finally:
            try:
                server.listener.close()
            except Exception:  # noqa: BLE001
                pass

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return server, (server.address, authkey)


def _connect(spec: tuple[str, Any]) -> Any:
    kind, payload = spec
    if kind == "object":
        return pickle.loads(payload)
    address, authkey, hb, grace = payload
    _StorageManager.register("storage", exposed=_STORAGE_METHODS)
    mgr = _StorageManager(address=address, authkey=authkey)
    mgr.connect()
    return _RemoteStorage(mgr.storage(), hb, grace)


def _worker(
    idx: int,
    spec: tuple[str, Any],
    study_name: str,
    sampler_blob: bytes,
    pruner_blob: bytes,
    func: Callable[..., Any],
    catch: tuple[type[BaseException], ...],
    counter: Any,
    n_trials: int | None,
    deadline: float | None,
    stop: Any,
    results: Any,
    current: Any,
) -> None:
    try:
        storage = _connect(spec)
        sampler = pickle.loads(sampler_blob)
        pruner = pickle.loads(pruner_blob)
        seed = getattr(sampler, "seed", None)
        sampler.reseed_rng(None if seed is None else int(seed) + 1000003 * (idx + 1))
        study = Study(study_name, storage, sampler=sampler, pruner=pruner)

        def claim() -> bool:
            if stop.is_set():
                return False
            with counter.get_lock():
                if n_trials is not None and counter.value >= n_trials:
                    return False
                counter.value += 1
            return deadline is None or time.time() < deadline

        def on_start(trial: Trial) -> None:
            current[idx] = trial.trial_id

        def on_done(frozen: Any) -> None:
            current[idx] = -1
            results.send(("done", frozen.trial_id, None))
            if study.stop_requested:
                stop.set()

        try:
            run_trials(study, func, catch, claim, on_done, on_start=on_start)
        except BaseException as e:  # noqa: BLE001 - forwarded to the parent
            current[idx] = -1
            try:
                blob = pickle.dumps(e)
            except Exception:  # noqa: BLE001
                blob = pickle.dumps(RuntimeError(f"{type(e).__name__}: {e}"))
            results.send(("raise", blob, traceback.format_exc()))
    except BaseException as e:  # noqa: BLE001 - e.g. storage unreachable
        results.send(
            ("raise", pickle.dumps(RuntimeError(f"worker {idx}: {e!r}")), traceback.format_exc())
        )


def optimize_parallel(
    study: Study,
    func: Callable[..., Any],
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callable[..., None]],
    show_progress_bar: bool,
) -> None:
    method = _start_method()
    ctx = mp.get_context(method)
    if method != "fork":
        try:
            pickle.dumps(func)
        except Exception as e:  # noqa: BLE001
            raise TypeError(
                f"n_jobs>1 with the {method!r} start method pickles the objective, and "
                f"{func!r} cannot be pickled ({e}). Define the objective at module level "
                "(no lambda or closure), or run with n_jobs=1."
            ) from None

    storage = study.storage
    server = None
    saved_heartbeat: tuple[Any, Any] | None = None
    if isinstance(storage, InMemoryStorage):
        # Served to workers, the memory storage outlives them: heartbeats on (unless the
        # user turned them off), so that a hung or lost worker's trial is failed too.
        saved_heartbeat = (storage.heartbeat_interval, storage.grace_period)
        storage.heartbeat_interval, storage.grace_period = storage.heartbeat_for_workers()
        server, (address, authkey) = _serve_memory(storage)
        spec: tuple[str, Any] = (
            "proxy",
            (address, authkey, storage.heartbeat_interval, storage.grace_period),
        )
    else:
        spec = ("object", pickle.dumps(storage))
    sampler_blob = pickle.dumps(study.sampler)
    pruner_blob = pickle.dumps(study.pruner)

    counter = ctx.Value("l", 0)
    stop = ctx.Event()
    # One pipe per worker, written only by it: a worker killed in the middle of a send can
    # take no lock with it (a shared multiprocessing.Queue's write lock would stay held, and
    # every other worker would hang on its next result).
    readers: dict[int, Any] = {}
    current = ctx.Array("l", [-1] * n_jobs, lock=False)
    deadline = time.time() + timeout if timeout is not None else None
    progress = StudyProgress(study, n_trials) if show_progress_bar else None

    def spawn(i: int) -> Any:
        current[i] = -1
        reader, writer = ctx.Pipe(duplex=False)
        p = ctx.Process(
            target=_worker,
            args=(
                i,
                spec,
                study.study_name,
                sampler_blob,
                pruner_blob,
                func,
                catch,
                counter,
                n_trials,
                deadline,
                stop,
                writer,
                current,
            ),
            daemon=True,
        )
        p.start()
        writer.close()  # the worker holds the only writing end: its death is an EOF here
        old = readers.pop(i, None)
        if old is not None:
            pending.extend(_drain(old))
        readers[i] = reader
        return p

    pending: list[tuple[str, Any, str | None]] = []

    procs = [spawn(i) for i in range(n_jobs)]
    error: tuple[BaseException, str] | None = None
    try:

        def handle(kind: str, payload: Any, tb: str | None) -> None:
            nonlocal error
            if kind == "done":
                frozen = storage.get_trial(payload)
                for cb in callbacks:
                    cb(study, frozen)
                if progress:
                    progress.update(frozen)
                if study.stop_requested:
                    stop.set()
            elif kind == "raise":
                if error is None:
                    error = (pickle.loads(payload), tb or "")
                stop.set()

        def receive(timeout: float) -> bool:
            """Handle what the workers sent; False when nothing came within ``timeout``."""
            got = False
            while pending:
                handle(*pending.pop(0))
                got = True
            ready = mp_connection.wait(list(readers.values()), timeout=0 if got else timeout)
            for r in ready:
                try:
                    msg = r.recv()
                except (EOFError, OSError):  # the worker is gone; its end is closed
                    for k, v in list(readers.items()):
                        if v is r:
                            readers.pop(k)
                    r.close()
                    continue
                handle(*msg)
                got = True
            return got

        while True:
            if receive(0.05):
                continue
            # Nothing new: check for dead workers.
            alive = False
            for i, p in enumerate(procs):
                if p.is_alive():
                    alive = True
                    continue
                if p.exitcode not in (0, None):
                    _fail_orphan(study, current[i], p.exitcode)
                    budget_left = n_trials is None or counter.value < n_trials
                    in_time = deadline is None or time.time() < deadline
                    if not stop.is_set() and budget_left and in_time:
                        procs[i] = spawn(i)
                        alive = True
                    else:
                        procs[i] = _Dead()
            if not alive:
                for r in list(readers.values()):  # what the last workers sent
                    pending.extend(_drain(r))
                while pending:
                    handle(*pending.pop(0))
                break
    except BaseException:
        stop.set()
        for i, p in enumerate(procs):
            if p.is_alive():
                p.terminate()
                p.join(5)
                _fail_orphan(study, current[i], "interrupted")
        raise
    finally:
        for p in procs:
            p.join(1)
        for r in readers.values():
            r.close()
        if progress:
            progress.close()
        if server is not None:
            try:
                server.stop_event.set()
            except Exception:  # noqa: BLE001
                pass
        if saved_heartbeat is not None:
            storage.heartbeat_interval, storage.grace_period = saved_heartbeat
    if error is not None:
        exc, tb = error
        # The worker's traceback travels with the exception (shown when it is not handled),
        # not as a log line: a caller that turns errors into one line stays one line.
        if tb and hasattr(exc, "add_note"):
            exc.add_note("raised in a worker process:\n" + tb.rstrip())
        raise exc


def _drain(reader: Any) -> list[Any]:
    """Everything left in a finished worker's pipe (its end is then closed)."""
    out = []
    try:
        while reader.poll(0):
            out.append(reader.recv())
    except (EOFError, OSError):
        pass
    reader.close()
    return out


class _Dead:
    exitcode = 0

    def is_alive(self) -> bool:
        return False

    def join(self, timeout: float | None = None) -> None:
        return None


def _fail_orphan(study: Study, trial_id: int, why: Any) -> None:
    if trial_id is None or trial_id < 0:
        return
    try:
        fail_dead_trial(study, trial_id, f"its worker process died (exit code {why})")
    except Exception:  # noqa: BLE001
        logger.exception("could not mark the orphaned trial %s failed", trial_id)


set_process_executor(optimize_parallel)
