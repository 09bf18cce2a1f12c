"""Run a study's trials on a Dask cluster, when one machine is not enough.

Each Dask task opens the study's SQL storage from its URL (SQLite on a shared disk, or
PostgreSQL for several machines), runs a share of the trials through the trial engine with
its own reseeded copy of the sampler and pruner, and returns; the storage is the only
channel between workers, as with local processes. The objective travels with Dask's
(cloud)pickle, so closures work.

A lost worker costs one trial, never the count: Dask runs the lost worker's task again,
and the task, finding its earlier trials in storage by their tag, fails the one that was
running (at once, not after the heartbeat's grace period; handed to the storage's
``failed_trial_callback``, so ``RetryFailedTrialCallback`` re-queues it) and runs only
the trials it had not run yet. ``n_trials`` trials are run in all.

    from distributed import Client
    client = Client("tcp://scheduler:8786")
    optimize_on_dask(study, objective, n_trials=200, client=client, n_tasks=32)
"""

from __future__ import annotations

import pickle
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from slimtune import keys
from slimtune.storage.memory import InMemoryStorage
from slimtune.study import Study
from slimtune.study.engine import fail_dead_trial, normalize_catch, run_trials
from slimtune.trial import TrialState

__all__ = ["optimize_on_dask"]


def _run_share(
    storage_blob: bytes,
    study_name: str,
    sampler_blob: bytes,
    pruner_blob: bytes,
    func: Callable[..., Any],
    n_trials: int,
    deadline: float | None,
    catch: Any,
    task_index: int,
    token: str,
) -> list[int]:
    """Run one share of the trials; safe to run again when Dask restarts the task.

    Every trial the share runs is tagged with ``token``. A restarted task (its worker was
    lost) finds its earlier trials in storage: the finished ones count towards its share,
    a RUNNING one belonged to the dead worker and is failed at once.
    """
    storage = pickle.loads(storage_blob)
    sampler = pickle.loads(sampler_blob)
    pruner = pickle.loads(pruner_blob)
    seed = getattr(sampler, "seed", None)
    sampler.reseed_rng(None if seed is None else int(seed) + 7919 * (task_index + 1))
    study = Study(study_name, storage, sampler=sampler, pruner=pruner)
    done = 0
    for t in study.get_trials(deepcopy=False):
        if t.system_attrs.get(keys.EXECUTOR_TASK) != token:
            continue
        if t.state == TrialState.RUNNING:
            fail_dead_trial(study, t.trial_id, "its Dask task was restarted (worker lost)")
        done += 1
    catch_t = normalize_catch(catch)

    def claim() -> bool:
        nonlocal done
        if done >= n_trials or (deadline is not None and time.time() >= deadline):
            return False
        done += 1
        return True

    def on_start(trial: Any) -> None:
        trial.set_system_attr(keys.EXECUTOR_TASK, token)

    run_trials(study, func, catch_t, claim, on_start=on_start)
    return [
        t.number
        for t in study.get_trials(deepcopy=False)
        if t.system_attrs.get(keys.EXECUTOR_TASK) == token and t.state.is_finished()
    ]


def optimize_on_dask(
    study: Study,
    func: Callable[..., Any],
    n_trials: int,
    client: Any = None,
    n_tasks: int | None = None,
    timeout: float | None = None,
    catch: Iterable[type[Exception]] | None = None,
) -> list[int]:
    """Run ``n_trials`` trials of ``study`` as ``n_tasks`` Dask tasks; return their numbers.

    ``client`` defaults to the current ``distributed`` client. The study must use a SQL
    storage that the workers can reach.
    """
    try:
        from distributed import get_client
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError(
            "optimize_on_dask needs the dask extra: pip install 'slimtune[dask]'"
        ) from e
    if isinstance(study.storage, InMemoryStorage):
        raise ValueError(
            "optimize_on_dask needs a SQL storage the workers can reach (e.g. "
            "storage='postgresql://...' or a SQLite file on a shared disk), not in-memory storage."
        )
    if not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(f"n_trials must be a positive int, got {n_trials!r}.")
    client = client or get_client()
    if n_tasks is None:
        n_tasks = max(1, sum(client.nthreads().values()))
    n_tasks = min(n_tasks, n_trials)
    shares = [n_trials // n_tasks + (1 if i < n_trials % n_tasks else 0) for i in range(n_tasks)]
    deadline = time.time() + timeout if timeout is not None else None
    blobs = (pickle.dumps(study.storage), pickle.dumps(study.sampler), pickle.dumps(study.pruner))
    run = uuid.uuid4().hex[:12]
    futures = [
        client.submit(
            _run_share,
            blobs[0],
            study.study_name,
            blobs[1],
            blobs[2],
            func,
            k,
            deadline,
            catch,
            i,
            f"{run}:{i}",
            pure=False,
        )
        for i, k in enumerate(shares)
    ]
    numbers: list[int] = []
    for f in futures:
        numbers.extend(f.result())
    return sorted(numbers)
