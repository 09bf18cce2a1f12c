"""Scaling: trials per second against the number of worker processes (issue 12).

For each storage (SQLite file, PostgreSQL database), each objective (a no-op, a 0.2 s
sleep) and 1, 2, 4, 8 workers, in one run and side by side:

* slimtune: ``study.optimize(n_jobs=k)`` (k worker processes, one trial budget),
* Optuna: k processes each running ``optuna.load_study(...).optimize(n_trials=n/k)`` on an
  ``RDBStorage`` of the same database (the multi-process setup Optuna documents).

Both use a random sampler, so the table measures the executor and the storage, not a model.
``--profile`` then runs one worker of each library on each storage under cProfile and splits
its time into the database driver (round trips, lock waits inside the server or SQLite's
busy handler), the sampler, and the rest.

    python -m benchmarks.scaling                      # SQLite; PostgreSQL if --postgres URL
    python -m benchmarks.scaling --postgres postgresql+psycopg://postgres@127.0.0.1:5432/db
    python -m benchmarks.scaling --repeats 3 --profile

Each cell is the mean of ``--repeats`` runs (a fresh study each); ``+-`` is the standard
error over them. The 0.2 s objective's "eff" is rate / (k / 0.2 s): 1.0 is the ideal k-fold.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing as mp
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

SLEEP = 0.2


def objective_noop(trial: Any) -> float:
    x = trial.suggest_float("x", -5, 5)
    y = trial.suggest_float("y", -5, 5)
    return x * x + y * y


def objective_sleep(trial: Any) -> float:
    time.sleep(SLEEP)
    return objective_noop(trial)


OBJECTIVES = {"noop": objective_noop, "sleep0.2": objective_sleep}


def run_slimtune(url: str, objective: str, workers: int, n_trials: int) -> float:
    import slimtune as st

    name = f"s-{uuid.uuid4().hex[:8]}"
    study = st.create_study(storage=url, study_name=name, sampler=st.samplers.RandomSampler(0))
    t0 = time.perf_counter()
    study.optimize(OBJECTIVES[objective], n_trials=n_trials, n_jobs=workers)
    took = time.perf_counter() - t0
    trials = study.trials
    assert len(trials) == n_trials
    return _steady(trials, n_trials, took)


def _steady(trials: Any, n: int, wall: float) -> float:
    """Trials/s from the first trial's start to the last one's end (the workers' start-up,
    the same fork-and-connect for both libraries, is left out; ``--wall`` keeps it)."""
    if WALL:
        return n / wall
    t0 = min(t.datetime_start for t in trials)
    t1 = max(t.datetime_complete for t in trials)
    return n / max((t1 - t0).total_seconds(), 1e-9)


WALL = False


def _optuna_share(args: tuple[str, str, str, int, int]) -> None:
    import optuna

    url, name, objective, n, seed = args
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=name, storage=url, sampler=optuna.samplers.RandomSampler(seed=seed)
    )
    study.optimize(OBJECTIVES[objective], n_trials=n)


def run_optuna(url: str, objective: str, workers: int, n_trials: int) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = f"o-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=url)
    shares = [n_trials // workers + (i < n_trials % workers) for i in range(workers)]
    ctx = mp.get_context("fork")
    t0 = time.perf_counter()
    with ctx.Pool(workers) as pool:
        pool.map(_optuna_share, [(url, name, objective, k, i) for i, k in enumerate(shares)])
    took = time.perf_counter() - t0
    trials = optuna.load_study(study_name=name, storage=url).trials
    assert len(trials) == n_trials
    return _steady(trials, n_trials, took)


def _category(filename: str) -> str:
    f = filename.replace("\\", "/")
    if any(s in f for s in ("/psycopg/", "sqlite3", "/sqlalchemy/", "{method '")):
        return "storage"
    if "/samplers/" in f:
        return "sampler"
    return "rest"


def profile(url: str, lib: str, n_trials: int) -> dict[str, float]:
    """Seconds per trial in the storage stack (driver + SQLAlchemy), sampler, rest."""
    pr = cProfile.Profile()
    runner = run_slimtune if lib == "slimtune" else _optuna_inline
    pr.enable()
    t0 = time.perf_counter()
    runner(url, "noop", 1, n_trials)
    wall = time.perf_counter() - t0
    pr.disable()
    stats = pstats.Stats(pr, stream=io.StringIO())
    out = {"storage": 0.0, "sampler": 0.0, "rest": 0.0}
    for (filename, _line, _fn), (_cc, _nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        out[_category(filename)] += tt
    total = sum(out.values()) or 1.0
    return {k: wall * v / total / n_trials * 1e3 for k, v in out.items()}


def _optuna_inline(url: str, objective: str, workers: int, n_trials: int) -> float:
    import optuna

    name = f"o-{uuid.uuid4().hex[:8]}"
    optuna.create_study(study_name=name, storage=url)
    _optuna_share((url, name, objective, n_trials, 0))
    return 0.0


def _fresh_database(url: str, lib: str) -> str:
    """A new database ``<db>_scaling_<lib>`` on the server of ``url``; its URL."""
    import sqlalchemy as sa

    db = f"{url.rsplit('/', 1)[1]}_scaling_{lib}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f"CREATE DATABASE {db}"))
    admin.dispose()
    return f"{url.rsplit('/', 1)[0]}/{db}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres", default=os.environ.get("SLIMTUNE_TEST_POSTGRES_URL"))
    ap.add_argument("--workers", default="1,2,4,8")
    ap.add_argument("--noop-trials", type=int, default=80)
    ap.add_argument("--sleep-trials-per-worker", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--libs", default="slimtune,optuna")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--out", default=None, help="also write the tables to this file")
    ap.add_argument("--wall", action="store_true", help="rates over the whole call")
    args = ap.parse_args(argv)
    global WALL
    WALL = args.wall
    lines: list[str] = []

    def emit(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    tmp = tempfile.mkdtemp(prefix="slimtune-scaling-")
    # The two libraries' schemas both have a "studies" table: each gets its own SQLite file,
    # and its own database on the same PostgreSQL server.
    storages: dict[str, dict[str, str]] = {
        "sqlite": {lib: f"sqlite:///{tmp}/{lib}.db" for lib in ("slimtune", "optuna")}
    }
    if args.postgres:
        base = args.postgres.replace("postgresql://", "postgresql+psycopg://", 1)
        storages["postgres"] = {lib: _fresh_database(base, lib) for lib in ("slimtune", "optuna")}
    workers = [int(w) for w in args.workers.split(",")]
    libs = args.libs.split(",")
    runners = {"slimtune": run_slimtune, "optuna": run_optuna}
    emit(
        f"# scaling: {platform.node()} {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
        f"python {sys.version.split()[0]}, repeats {args.repeats}, "
        f"rates {'over the whole call' if WALL else 'first trial start to last trial end'}"
    )
    emit(
        "| storage | objective | workers | "
        + " | ".join(f"{lib} trials/s" for lib in libs)
        + " | slimtune/optuna | slimtune eff |"
    )
    emit("|---|---|---|" + "---|" * len(libs) + "---|---|")
    for sname, url in storages.items():
        for obj in OBJECTIVES:
            for k in workers:
                n = args.noop_trials if obj == "noop" else args.sleep_trials_per_worker * k
                cells, means = [], {}
                for lib in libs:
                    rates = [runners[lib](url[lib], obj, k, n) for _ in range(args.repeats)]
                    m = statistics.fmean(rates)
                    se = statistics.stdev(rates) / len(rates) ** 0.5 if len(rates) > 1 else 0.0
                    means[lib] = m
                    cells.append(f"{m:.1f} +- {se:.1f}")
                ratio = (
                    f"{means['slimtune'] / means['optuna']:.2f}x"
                    if "slimtune" in means and "optuna" in means
                    else "-"
                )
                eff = (
                    f"{means['slimtune'] / (k / SLEEP):.2f}"
                    if obj != "noop" and "slimtune" in means
                    else "-"
                )
                emit(f"| {sname} | {obj} | {k} | " + " | ".join(cells) + f" | {ratio} | {eff} |")
    if args.profile:
        emit("\n| storage | library | storage stack ms/trial | sampler ms/trial | rest ms/trial |")
        emit("|---|---|---|---|---|")
        for sname, url in storages.items():
            for lib in libs:
                p = profile(url[lib], lib, args.noop_trials)
                emit(
                    f"| {sname} | {lib} | {p['storage']:.2f} | {p['sampler']:.2f} | "
                    f"{p['rest']:.2f} |"
                )
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
