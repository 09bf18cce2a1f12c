"""Speed: time per trial (framework overhead) and time per suggestion (samplers).

Default mode (issue 2): 2000 trials of a trivial 6-parameter objective with the random
sampler, slimtune against Optuna, in memory and with SQLite (fresh temporary files), all in
one run; prints a markdown table of ms per trial and the ratio slimtune / Optuna::

    python -m benchmarks.speed                       # --n 2000 --storages memory,sqlite

Sampler mode: the time of one suggestion (ask + 6 x suggest_float + tell) after ``--n``
finished trials are already in the study (the same random history for both frameworks,
inserted directly, not sampled)::

    python -m benchmarks.speed --sampler tpe --n 1000          # issue 3
    python -m benchmarks.speed --sampler tpe --n 10000 --frameworks slimtune
    python -m benchmarks.speed --sampler gp --n 200 --k 10     # issue 4

``--sampler`` takes a short name (random, qmc, tpe, gp, auto) or a sampler class name of
each library; ``--slimtune-kwargs`` / ``--optuna-kwargs`` (JSON) go to the constructors.
Optuna's logging is switched off for fairness (it would otherwise log every trial).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

__all__ = ["time_per_trial", "time_per_suggestion", "main"]

N_PARAMS = 6
_ST_NAMES = {
    "random": "RandomSampler",
    "qmc": "QMCSampler",
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "auto": "AutoSampler",
}
_OPTUNA_NAMES = {
    "random": "RandomSampler",
    "qmc": "QMCSampler",
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "auto": "TPESampler",
}


def trivial_objective(trial: Any) -> float:
    """Six floats, a sum of squares: the objective costs next to nothing."""
    return sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 0.5) ** 2 for i in range(N_PARAMS))


def _optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    optuna.logging.disable_default_handler()
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    return optuna


def make_sampler(framework: str, name: str, seed: int = 0, **kw: Any) -> Any:
    framework = framework.split("-")[0]
    if framework == "slimtune":
        import slimtune as st

        return getattr(st.samplers, _ST_NAMES.get(name, name))(seed=seed, **kw)
    optuna = _optuna()
    if name in ("gp", "GPSampler"):
        try:
            import torch

            torch.set_num_threads(1)
        except ImportError:
            pass
    return getattr(optuna.samplers, _OPTUNA_NAMES.get(name, name))(seed=seed, **kw)


def _create(framework: str, sampler: Any, url: str | None) -> Any:
    """A study of ``framework``: ``slimtune`` (defaults: heartbeats on for SQL),
    ``slimtune-nohb`` (heartbeats off: their cost is the difference), ``optuna`` (defaults:
    no heartbeat) or ``optuna-hb`` (Optuna's RDB heartbeat at its shortest useful interval)."""
    if framework.startswith("slimtune"):
        import slimtune as st

        storage: Any = url
        if framework == "slimtune-nohb":
            storage = (
                st.InMemoryStorage(heartbeat_interval=None)
                if url is None
                else st.SQLStorage(url, heartbeat_interval=None)
            )
        return st.create_study(sampler=sampler, storage=storage, direction="minimize")
    optuna = _optuna()
    storage = url
    if framework == "optuna-hb" and url is not None:
        storage = optuna.storages.RDBStorage(url, heartbeat_interval=10, grace_period=30)
    return optuna.create_study(sampler=sampler, storage=storage, direction="minimize")


def time_per_trial(
    framework: str, storage: str, n: int, seed: int = 0, sampler: str = "random"
) -> float:
    """Seconds per trial of ``study.optimize(trivial_objective, n_trials=n)``."""
    with tempfile.TemporaryDirectory() as tmp:
        url = None if storage == "memory" else f"sqlite:///{tmp}/speed.db"
        study = _create(framework, make_sampler(framework, sampler, seed), url)
        gc.collect()
        t0 = time.perf_counter()
        study.optimize(trivial_objective, n_trials=n)
        dt = time.perf_counter() - t0
        assert len(study.trials) == n
        del study
        gc.collect()
    return dt / n


def _history(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.uniform(-5, 5, size=(n, N_PARAMS))
    y = ((X - 0.5) ** 2).sum(axis=1)
    return X, y


def _prefill(framework: str, study: Any, X: np.ndarray, y: np.ndarray) -> None:
    if framework == "slimtune":
        import datetime as dt

        import slimtune as st

        dist = st.FloatDistribution(-5.0, 5.0)
        dists = {f"x{i}": dist for i in range(N_PARAMS)}
        now = dt.datetime.now()
        for x, v in zip(X, y):
            study.add_trial(
                st.FrozenTrial(
                    number=0,
                    state=st.TrialState.COMPLETE,
                    values=[float(v)],
                    datetime_start=now,
                    datetime_complete=now,
                    params={f"x{i}": float(x[i]) for i in range(N_PARAMS)},
                    distributions=dict(dists),
                    user_attrs={},
                    system_attrs={},
                    intermediate_values={},
                    trial_id=-1,
                )
            )
        return
    optuna = _optuna()
    dist = optuna.distributions.FloatDistribution(-5.0, 5.0)
    dists = {f"x{i}": dist for i in range(N_PARAMS)}
    study.add_trials(
        [
            optuna.trial.create_trial(
                params={f"x{i}": float(x[i]) for i in range(N_PARAMS)},
                distributions=dists,
                value=float(v),
            )
            for x, v in zip(X, y)
        ]
    )


def time_per_suggestion(
    framework: str,
    sampler: str,
    n: int,
    k: int = 20,
    seed: int = 0,
    sampler_kwargs: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Seconds per suggestion (ask + 6 suggest_float + tell) after ``n`` finished trials.

    Returns mean, median and max over ``k`` consecutive suggestions (the history grows by
    one trial each), plus the seconds spent inserting the history.
    """
    study = _create(
        framework, make_sampler(framework, sampler, seed, **(sampler_kwargs or {})), None
    )
    X, y = _history(n, seed)
    t0 = time.perf_counter()
    _prefill(framework, study, X, y)
    fill_s = time.perf_counter() - t0
    times = []
    for _ in range(k):
        t0 = time.perf_counter()
        trial = study.ask()
        v = sum((trial.suggest_float(f"x{i}", -5.0, 5.0) - 0.5) ** 2 for i in range(N_PARAMS))
        study.tell(trial, v)
        times.append(time.perf_counter() - t0)
    a = np.array(times)
    return {
        "mean": float(a.mean()),
        "median": float(np.median(a)),
        "max": float(a.max()),
        "first": float(a[0]),
        "fill_s": fill_s,
    }


def _versions() -> str:
    out = []
    for mod in ("slimtune", "optuna"):
        try:
            out.append(f"{mod} {__import__(mod).__version__}")
        except Exception:  # noqa: BLE001
            pass
    return ", ".join(out)


def run_trial_speed(
    n: int, storages: Sequence[str], frameworks: Sequence[str], sampler: str, seed: int, repeat: int
) -> str:
    rows = []
    goals = {"memory": 1 / 3, "sqlite": 1 / 5}
    for storage in storages:
        res: dict[str, float] = {}
        for fw in frameworks:
            best = min(time_per_trial(fw, storage, n, seed, sampler) for _ in range(repeat))
            res[fw] = best
            print(f"{fw:9s} {storage:7s} {best * 1e3:8.3f} ms/trial", file=sys.stderr, flush=True)
        rows.append((storage, res))
    runs = f"best of {repeat}" if repeat > 1 else "one run"
    pair = "slimtune" in frameworks and "optuna" in frameworks
    hb = "slimtune" in frameworks and "slimtune-nohb" in frameworks
    lines = [
        f"Time per trial, {n} trials of a trivial {N_PARAMS}-parameter objective, "
        f"{sampler} sampler, `study.optimize` ({runs}; "
        f"Python {platform.python_version()}, {_versions()}). `slimtune` runs with its "
        "defaults (heartbeats on for SQL: 10 s / 30 s), `slimtune-nohb` with heartbeats off, "
        "`optuna` with its defaults (no heartbeat), `optuna-hb` with Optuna's heartbeat "
        "(10 s / 30 s).",
        "",
        "| storage | "
        + " | ".join(f"{fw} ms/trial" for fw in frameworks)
        + (" | slimtune / optuna | goal" if pair else "")
        + (" | heartbeat cost" if hb else "")
        + " |",
        "|---|"
        + "---:|" * len(frameworks)
        + ("---:|---|" if pair else "")
        + ("---:|" if hb else ""),
    ]
    for storage, res in rows:
        cells = [f"{res[fw] * 1e3:.3f}" for fw in frameworks]
        if pair:
            ratio = res["slimtune"] / res["optuna"]
            goal = goals.get(storage)
            ok = ""
            if goal is not None:
                ok = f"<= {goal:.2f} " + ("met" if ratio <= goal else "NOT met")
            cells += [f"{ratio:.3f}", ok]
        if hb:
            cells.append(f"{(res['slimtune'] / res['slimtune-nohb'] - 1) * 100:+.1f} %")
        lines.append(f"| {storage} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_sampler_speed(
    sampler: str,
    ns: Sequence[int],
    k: int,
    frameworks: Sequence[str],
    seed: int,
    kwargs: dict[str, dict[str, Any]],
) -> str:
    lines = [
        f"Time per suggestion (ask + {N_PARAMS} x suggest_float + tell) of the `{sampler}` "
        f"sampler after N finished trials ({N_PARAMS} floats), {k} suggestions each, in memory "
        f"(Python {platform.python_version()}, {_versions()}).",
        "",
        "| N | "
        + " | ".join(f"{fw} ms (mean)" for fw in frameworks)
        + " | "
        + " | ".join(f"{fw} ms (median)" for fw in frameworks)
        + (" | slimtune / optuna |" if len(frameworks) == 2 else " |"),
        "|---:|" + "---:|" * (2 * len(frameworks)) + ("---:|" if len(frameworks) == 2 else ""),
    ]
    for n in ns:
        res = {}
        for fw in frameworks:
            r = time_per_suggestion(fw, sampler, n, k, seed, kwargs.get(fw))
            res[fw] = r
            print(
                f"{fw:9s} {sampler} after {n}: mean {r['mean'] * 1e3:.2f} ms, median "
                f"{r['median'] * 1e3:.2f} ms (history insert {r['fill_s']:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
        cells = [f"{res[fw]['mean'] * 1e3:.2f}" for fw in frameworks]
        cells += [f"{res[fw]['median'] * 1e3:.2f}" for fw in frameworks]
        if len(frameworks) == 2 and "slimtune" in res and "optuna" in res:
            cells.append(f"{res['slimtune']['mean'] / res['optuna']['mean']:.3f}")
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.speed",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--sampler",
        default=None,
        help="sampler mode: time per suggestion of this sampler after --n trials",
    )
    ap.add_argument(
        "--n",
        default=None,
        help="trials (default 2000); in sampler mode a comma list, e.g. 1000,10000",
    )
    ap.add_argument("--k", type=int, default=20, help="sampler mode: suggestions timed")
    ap.add_argument("--storages", default="memory,sqlite")
    ap.add_argument(
        "--frameworks",
        default=None,
        help="trial mode: any of slimtune, slimtune-nohb, optuna, optuna-hb (default: all); "
        "sampler mode: slimtune, optuna (default: both)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="trial mode: best of N runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--slimtune-kwargs", default="{}", help="JSON kwargs for slimtune's sampler")
    ap.add_argument("--optuna-kwargs", default="{}", help="JSON kwargs for Optuna's sampler")
    ap.add_argument("--out", default=None, help="also write the table to this markdown file")
    args = ap.parse_args(argv)
    default = "slimtune,optuna" if args.sampler else "slimtune,slimtune-nohb,optuna,optuna-hb"
    frameworks = [f for f in (args.frameworks or default).split(",") if f]
    if args.sampler is None:
        n = int(args.n or 2000)
        md = run_trial_speed(
            n,
            [s for s in args.storages.split(",") if s],
            frameworks,
            "random",
            args.seed,
            args.repeat,
        )
    else:
        ns = [int(x) for x in (args.n or "1000").split(",")]
        kwargs = {
            "slimtune": json.loads(args.slimtune_kwargs),
            "optuna": json.loads(args.optuna_kwargs),
        }
        md = run_sampler_speed(args.sampler, ns, args.k, frameworks, args.seed, kwargs)
    cmd = "python -m benchmarks.speed " + " ".join(argv)
    md = f"`{cmd}`\n\n{md}\n"
    print(md)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
