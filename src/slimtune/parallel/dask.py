"""Run a study's trials on a Dask cluster, when one machine is not enough.

One Dask task runs one trial, so a lost worker costs that trial and nothing more, and
Dask's scheduler spreads trials over workers as they free up. The client keeps about as
many tasks in flight as the cluster has worker threads, and submits a new one as each
ends, until ``n_trials`` trials of this run have finished. The storage (PostgreSQL for
several machines, or SQLite on a shared disk) is the only channel between workers, as
with local processes: each worker process opens it once from its URL and keeps the study,
with its own reseeded copy of the sampler and pruner, for the tasks of the run it gets.
The objective travels with Dask's (cloud)pickle, so closures work.

Exact budget, dead workers included: every trial is tagged with its task's key
(``keys.EXECUTOR_TASK``). When a worker dies, Dask runs its task again elsewhere; the
rerun finds the tagged trial in storage and, when it is still RUNNING, fails it at once
with the reason (handed to the storage's ``failed_trial_callback``, so
``RetryFailedTrialCallback`` re-queues it) instead of running another trial. So a run ends
with exactly ``n_trials`` finished trials (COMPLETE, PRUNED or FAIL), and an objective that
kills its worker every time fails once instead of killing ``allowed-failures`` workers.
``timeout`` stops every worker: no trial starts after it.

    from distributed import Client
    client = Client("tcp://scheduler:8786")
    optimize_on_dask(study, objective, n_trials=200, client=client)

A ``slimtune worker`` started on any machine with the same storage and study name joins
the study too; its trials count towards its own ``--n-trials``, not this run's.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from slimtune import keys
from slimtune.storage.memory import InMemoryStorage
from slimtune.study import Study
from slimtune.study.engine import fail_dead_trial, normalize_catch, run_trial
from slimtune.trial import FrozenTrial, TrialState

__all__ = ["optimize_on_dask"]

# A worker thread keeps the study of each run it serves (storage connections, the sampler's
# state), so a task costs one trial, not one connection and one sampler set-up. One copy per
# thread: a sampler is not shared between threads. The oldest runs are dropped.
_RUNS: dict[tuple[str, int], Study] = {}
_RUNS_LOCK = threading.Lock()
_MAX_RUNS = 64


def _worker_study(
    run: str, storage_blob: bytes, study_name: str, sampler_blob: bytes, pruner_blob: bytes
) -> Study:
    key = (run, threading.get_ident())
    with _RUNS_LOCK:
        study = _RUNS.get(key)
        if study is not None:
            return study
        storage = pickle.loads(storage_blob)
        sampler = pickle.loads(sampler_blob)
        pruner = pickle.loads(pruner_blob)
        seed = getattr(sampler, "seed", None)
        if seed is not None:  # each worker process proposes its own points
            salt = zlib.crc32(f"{os.getpid()}:{key[1]}:{_worker_name()}".encode())
            sampler.reseed_rng((int(seed) + 7919 * salt) % 2**32)
        else:
            sampler.reseed_rng(None)
        study = Study(study_name, storage, sampler=sampler, pruner=pruner)
        while len(_RUNS) >= _MAX_RUNS:
            _RUNS.pop(next(iter(_RUNS)))
        _RUNS[key] = study
        return study


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except Exception:  # noqa: BLE001 - not inside a Dask worker (tests call tasks directly)
        return "local"


def _tagged(study: Study, token: str) -> FrozenTrial | None:
    for t in reversed(study.get_trials(deepcopy=False)):
        if t.system_attrs.get(keys.EXECUTOR_TASK) == token:
            return t
    return None


def _run_one(
    run: str,
    storage_blob: bytes,
    study_name: str,
    sampler_blob: bytes,
    pruner_blob: bytes,
    func: Callable[..., Any],
    deadline: float | None,
    catch: Any,
    token: str,
) -> int | None:
    """Run the one trial of task ``token``; its trial id, or None when the deadline passed.

    Safe to run again when Dask reruns the task after its worker was lost: the trial the
    first try started is found by its tag; a RUNNING one is failed at once (its worker is
    gone), a finished one is returned as it is.
    """
    study = _worker_study(run, storage_blob, study_name, sampler_blob, pruner_blob)
    earlier = _tagged(study, token)
    if earlier is not None:
        if earlier.state == TrialState.RUNNING:
            fail_dead_trial(
                study, earlier.trial_id, "its Dask worker was lost (the Dask task was restarted)"
            )
        return earlier.trial_id
    if deadline is not None and time.time() >= deadline:
        return None

    def on_start(trial: Any) -> None:
        trial.set_system_attr(keys.EXECUTOR_TASK, token)

    return run_trial(study, func, normalize_catch(catch), on_start=on_start).trial_id


def _no_trial(trial: Any) -> float:  # pragma: no cover - never called (n_trials=0)
    return 0.0


def optimize_on_dask(
    study: Study,
    func: Callable[..., Any],
    n_trials: int,
    client: Any = None,
    n_tasks: int | None = None,
    timeout: float | None = None,
    catch: Iterable[type[Exception]] | None = None,
    callbacks: Sequence[Callable[[Study, FrozenTrial], None]] | None = None,
) -> list[int]:
    """Run ``n_trials`` trials of ``study`` on Dask, one task per trial; their numbers.

    ``client`` defaults to the current ``distributed`` client; ``n_tasks`` is how many
    tasks are kept in flight (default: the cluster's worker threads when the run starts).
    ``timeout`` (seconds) stops every worker: no trial starts after it. ``callbacks`` run
    here, in the client, as each trial ends (``MaxTrialsCallback`` and ``study.stop()``
    stop the run after the trials in flight). Exceptions outside ``catch`` (default: every
    ``Exception`` is caught) stop the run and are re-raised here. The study must use a SQL
    storage that the workers can reach.
    """
    try:
        from distributed import as_completed, get_client
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError(
            "optimize_on_dask needs the dask extra: pip install 'slimtune[dask]'"
        ) from e
    if isinstance(study.storage, InMemoryStorage):
        raise ValueError(
            "optimize_on_dask needs a SQL storage the workers can reach (e.g. "
            "storage='postgresql://...' or a SQLite file on a shared disk), not in-memory storage."
        )
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive int, got {n_trials!r}.")
    if n_tasks is not None and (not isinstance(n_tasks, int) or n_tasks < 1):
        raise ValueError(f"n_tasks must be a positive int or None, got {n_tasks!r}.")
    if timeout is not None and timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}.")
    normalize_catch(catch)  # a bad catch is the caller's error, here and now
    client = client or get_client()
    if n_tasks is None:
        n_tasks = max(1, sum(client.nthreads().values()))
    deadline = time.time() + timeout if timeout is not None else None
    blobs = (pickle.dumps(study.storage), pickle.dumps(study.sampler), pickle.dumps(study.pruner))
    run = uuid.uuid4().hex[:12]
    # The blobs and the objective go to the cluster once (scattered), not with every task.
    storage_f, sampler_f, pruner_f, func_f = client.scatter(
        [blobs[0], blobs[1], blobs[2], func], broadcast=True, hash=False
    )
    name = hashlib.sha1(study.study_name.encode()).hexdigest()[:8]
    submitted = 0

    def submit() -> Any:
        nonlocal submitted
        token = f"slimtune-trial-{name}-{run}-{submitted}"
        submitted += 1
        return client.submit(
            _run_one,
            run,
            storage_f,
            study.study_name,
            sampler_f,
            pruner_f,
            func_f,
            deadline,
            catch,
            token,
            key=token,
            pure=False,
            retries=0,
        )

    study.optimize(_no_trial, n_trials=0)  # clears a stop() left from an earlier run
    pending = as_completed([submit() for _ in range(min(n_tasks, n_trials))])
    ids: list[int] = []
    skipped = 0  # tasks that found the deadline passed
    try:
        for fut in pending:
            tid = fut.result()  # re-raises what a task raised
            if tid is None:
                skipped += 1
            else:
                ids.append(tid)
                frozen = study.storage.get_trial(tid)
                for cb in callbacks or []:
                    cb(study, frozen)
            in_time = deadline is None or time.time() < deadline
            if submitted < n_trials and in_time and not study.stop_requested:
                pending.add(submit())
    except BaseException:
        for f in list(pending.futures):
            f.cancel()
        raise
    by_id = {t.trial_id: t.number for t in study.get_trials(deepcopy=False)}
    return sorted(by_id[i] for i in ids)
