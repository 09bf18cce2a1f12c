"""Run a study's trials on a Dask cluster, when one machine is not enough.

Each Dask task opens the study's SQL storage from its URL (SQLite on a shared disk, or
PostgreSQL for several machines), runs a share of the trials with its own reseeded copy of
the sampler and pruner, and returns; the storage is the only channel between workers, as
with local processes. The objective travels with Dask's (cloud)pickle, so closures work.

    from distributed import Client
    client = Client("tcp://scheduler:8786")
    optimize_on_dask(study, objective, n_trials=200, client=client, n_tasks=32)
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from slimtune.storage.memory import InMemoryStorage

if TYPE_CHECKING:
    from slimtune.study import Study

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
) -> list[int]:
    from slimtune.study import Study

    storage = pickle.loads(storage_blob)
    sampler = pickle.loads(sampler_blob)
    pruner = pickle.loads(pruner_blob)
    seed = getattr(sampler, "seed", None)
    sampler.reseed_rng(None if seed is None else int(seed) + 7919 * (task_index + 1))
    study = Study(study_name, storage, sampler=sampler, pruner=pruner)
    timeout = None if deadline is None else max(0.0, deadline - time.time())
    mine: list[int] = []
    study.optimize(
        func,
        n_trials=n_trials,
        timeout=timeout,
        catch=catch,
        callbacks=[lambda _s, t: mine.append(t.number)],
    )
    return mine


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
    if isinstance(study._storage, InMemoryStorage):
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
    blobs = (pickle.dumps(study._storage), pickle.dumps(study.sampler), pickle.dumps(study.pruner))
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
            pure=False,
        )
        for i, k in enumerate(shares)
    ]
    numbers: list[int] = []
    for f in futures:
        numbers.extend(f.result())
    return sorted(numbers)
