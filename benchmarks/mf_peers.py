"""Multi-fidelity peers side by side: every method on the same problems and epoch budgets.

Problems: ``lc`` and ``digits`` of benchmarks/multifidelity.py (81 epochs) and ``lcbench``:
YAHPO Gym's LCBench surrogate (benchmarks/yahpo_lcbench.py: 34 tasks, 52 epochs, observation
noise). Methods:

* every method of ``benchmarks.multifidelity.run_method`` (random, Optuna TPE + Hyperband /
  SH, slimtune asha / hyperband / bohb, ... and whatever is added there), in this venv;
* ``topk``: "train everything one epoch, then the top k fully" (Egele et al. 2023) with
  slimtune's RandomSampler: half the budget screens configurations at one epoch, the other
  half continues the best ``k = (budget / 2) // (max_epochs - 1)`` of them to the last epoch
  (resumed from epoch 1); ``topk[share=0.25]`` changes the screening share;
* peers in their own venvs (``bash benchmarks/peers/setup.sh``; see benchmarks/peers/client.py
  for the protocol): ``dehb``, ``dehb-resume`` (promoted configurations continue from their
  checkpoint), ``smac-hb`` (SMAC3 MultiFidelityFacade, Hyperband), ``st-asha`` (syne-tune ASHA,
  stopping), ``st-asha-promo`` (promotion, paused trials resume), ``st-hypertune``,
  ``st-mobster``, ``st-dyhpo``.

The harness trains and counts: cost = epochs actually trained (a resumed run pays only its new
epochs); the incumbent after each evaluation is the best observed configuration at the largest
budget reached so far (benchmarks.multifidelity.Tracker), scored by its true final value.

    python -m benchmarks.mf_peers --problem lcbench --tasks all --seeds 10 --jobs 2
    python -m benchmarks.mf_peers --problem lc --seeds 10 --jobs 2

Results are checkpointed per run to ``benchmarks/results/mf_peers_<problem>.json`` (a rerun
skips the runs already there, so a cut run resumes); ``--report-only`` writes the tables
(``docs/bench/mf_peers_<problem>.md``) and the plot (``.png``) from that file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

import slimtune as st
from benchmarks import multifidelity as mf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENVS = os.path.join(ROOT, "benchmarks", ".venvs")
RESULTS = os.path.join(ROOT, "benchmarks", "results")
# method -> (venv, runner script, job options)
PEERS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "dehb": ("dehb", "run_dehb.py", {"resume": False}),
    "dehb-resume": ("dehb", "run_dehb.py", {"resume": True}),
    "smac-hb": ("smac", "run_smac.py", {}),
    "st-asha": ("synetune", "run_synetune.py", {"scheduler": "asha"}),
    "st-asha-promo": ("synetune", "run_synetune.py", {"scheduler": "asha-promo"}),
    "st-hypertune": ("synetune", "run_synetune.py", {"scheduler": "hypertune"}),
    "st-mobster": ("synetune", "run_synetune.py", {"scheduler": "mobster"}),
    "st-dyhpo": ("synetune", "run_synetune.py", {"scheduler": "dyhpo"}),
}
LOCAL = ["random", "optuna-tpe-hb", "optuna-tpe-sh", "asha", "hyperband", "bohb", "topk"]
DEFAULT_METHODS = LOCAL + list(PEERS)
FULL_RUNS = 30  # default budget: 30 full trainings


def peer_missing(method: str) -> str | None:
    """None when ``method`` can run here, else why not (one line)."""
    if method not in PEERS:
        return None
    venv = PEERS[method][0]
    if not os.path.exists(os.path.join(VENVS, venv, ".installed")):
        return f"no {venv} venv: run `bash benchmarks/peers/setup.sh {venv}`"
    return None


# --- problems -------------------------------------------------------------------------------


class _Recorder:
    """A trial stand-in that records the suggest calls: the space as the peers need it."""

    def __init__(self) -> None:
        self.space: list[dict[str, Any]] = []

    def suggest_float(self, name: str, low: float, high: float, *, log: bool = False,
                      step: float | None = None) -> float:
        self.space.append({"name": name, "type": "float", "low": low, "high": high, "log": log})
        return low

    def suggest_int(self, name: str, low: int, high: int, *, log: bool = False,
                    step: int = 1) -> int:
        self.space.append({"name": name, "type": "int", "low": low, "high": high, "log": log})
        return low

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        self.space.append({"name": name, "type": "cat", "choices": list(choices)})
        return list(choices)[0]


def space_of(problem: Any) -> list[dict[str, Any]]:
    """The problem's search space as JSON-able specs (name, type, bounds or choices)."""
    rec = _Recorder()
    getattr(problem, "suggest", mf.suggest)(rec)
    return rec.space


def max_epochs_of(problem: Any) -> int:
    return int(getattr(problem, "max_epochs", mf.MAX_EPOCHS))


def make_problem(name: str, task: str, seed: int) -> Any:
    """``lc`` / ``digits`` (one instance per seed) or ``lcbench`` (task, noise seed)."""
    if name == "lc":
        return mf.LearningCurves(seed)
    if name == "digits":
        return mf.Digits(seed)
    if name == "lcbench":
        from benchmarks.yahpo_lcbench import LCBench

        return LCBench(task, seed)
    raise ValueError(f"unknown problem {name!r}; choose lc, digits or lcbench.")


@contextlib.contextmanager
def problem_scope(problem: Any) -> Iterator[None]:
    """Point benchmarks.multifidelity's space and epoch count at ``problem`` for its methods.

    ``run_method`` and ``make_objective`` read the module's ``suggest`` and ``MAX_EPOCHS``;
    LCBench has its own space and 52 epochs. Restored on exit (runs are one per process, or
    sequential).
    """
    saved = mf.suggest, mf.MAX_EPOCHS
    mf.suggest = getattr(problem, "suggest", saved[0])
    mf.MAX_EPOCHS = max_epochs_of(problem)
    try:
        yield
    finally:
        mf.suggest, mf.MAX_EPOCHS = saved


# --- local methods --------------------------------------------------------------------------


def run_topk(problem: Any, seed: int, budget: int, share: float = 0.5) -> list[tuple[int, float]]:
    """Egele et al. (2023): every configuration one epoch, then the best k to the end.

    ``share`` of the budget screens random configurations (slimtune RandomSampler, ask/tell)
    at one epoch each; the rest trains the best ``k = rest // (max_epochs - 1)`` of them on
    from epoch 1 to the last, best first. Returns the tracker's incumbent history.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"topk share must be in (0, 1), got {share}.")
    E = max_epochs_of(problem)
    tracker = mf.Tracker(problem, budget)
    n1 = max(1, int(budget * share))
    k = max(1, (budget - n1) // (E - 1))
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=seed))
    sug = getattr(problem, "suggest", mf.suggest)
    top: list[tuple[float, int, dict[str, Any], Any, Any]] = []  # value, number, p, run, trial
    for _ in range(n1):
        trial = study.ask()
        p = sug(trial)
        tr = problem.run(p, trial.number)
        v = tr.step()
        tracker.epochs += 1
        trial.report(v, 1)
        tracker.finish(p, 1, v)
        top.append((v, trial.number, p, tr, trial))
        top.sort(key=lambda t: (t[0], t[1]))
        for *_, dropped in top[k:]:
            study.tell(dropped, state=st.TrialState.PRUNED)
        del top[k:]
    for v, _, p, tr, trial in top:
        if tracker.done():
            study.tell(trial, state=st.TrialState.PRUNED)
            continue
        for e in range(2, E + 1):
            v = tr.step()
            tracker.epochs += 1
            trial.report(v, e)
        tracker.finish(p, E, v)
        study.tell(trial, v)
    return tracker.history


def run_local(method: str, problem: Any, seed: int, budget: int) -> list[tuple[int, float]]:
    from benchmarks.optimizers import parse_spec

    name, opts = parse_spec(method)
    with problem_scope(problem):
        if name == "topk":
            return run_topk(problem, seed, budget, **opts)
        return mf.run_method(method, problem, seed, budget)


# --- peers ----------------------------------------------------------------------------------


def run_peer(method: str, problem: Any, seed: int, budget: int,
             log: Any = None) -> tuple[list[tuple[int, float]], dict[str, int]]:
    """Drive a peer runner in its venv; returns the incumbent history and counters."""
    why = peer_missing(method)
    if why:
        raise RuntimeError(why)
    venv, script, opts = PEERS[method]
    job = {"method": method, "seed": seed, "budget": budget, "max_epochs": max_epochs_of(problem),
           "min_epochs": 1, "eta": 3, "space": space_of(problem), "options": opts}
    cmd = [os.path.join(VENVS, venv, "bin", "python"),
           os.path.join(ROOT, "benchmarks", "peers", script)]
    return serve(cmd, job, problem, budget, log)


def serve(cmd: list[str], job: dict[str, Any], problem: Any, budget: int,
          log: Any = None) -> tuple[list[tuple[int, float]], dict[str, int]]:
    """Start a runner (``cmd``), send ``job`` and answer its requests (peers/client.py).

    The harness side of the protocol: it keeps one training run per key (asking again
    continues it: cost = the new epochs), counts the epochs, refuses evaluations once
    ``budget`` is spent and records the incumbent. Returns its history and counters
    (requests, trainings started, requests that resumed a run).
    """
    proc = subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL,
        text=True, bufsize=1, env={**os.environ, "OMP_NUM_THREADS": "1",
                                   "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    assert proc.stdin is not None and proc.stdout is not None
    tracker = mf.Tracker(problem, budget)
    runs: dict[str, list[Any]] = {}  # key -> [trainer, epochs done, config, last value]
    counts = {"requests": 0, "trainings": 0, "resumed": 0}
    E = max_epochs_of(problem)
    try:
        proc.stdin.write(json.dumps(job) + "\n")
        proc.stdin.flush()
        for line in proc.stdout:
            req = json.loads(line)
            if req["op"] == "done":
                break
            if req["op"] == "drop":
                runs.pop(req["key"], None)
                continue
            if tracker.done():
                proc.stdin.write('{"stop": true}\n')
                proc.stdin.flush()
                continue
            counts["requests"] += 1
            p, b, key = req["config"], min(max(int(req["epochs"]), 1), E), req["key"]
            run = runs.get(key)
            if run is None or run[1] > b or run[2] != p:
                run = [problem.run(p, counts["trainings"]), 0, p, math.nan]
                counts["trainings"] += 1
            elif run[1] > 0:
                counts["resumed"] += 1
            vals = []
            while run[1] < b:
                run[3] = run[0].step()
                run[1] += 1
                tracker.epochs += 1
                vals.append(run[3])
            if req.get("keep", True):
                runs[key] = run
            else:
                runs.pop(key, None)
            tracker.finish(p, b, run[3])
            proc.stdin.write(json.dumps({"values": vals, "value": run[3], "stop": False}) + "\n")
            proc.stdin.flush()
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
    if not tracker.history:
        raise RuntimeError(f"{' '.join(cmd)} exited ({rc}) before any evaluation; run it by "
                           "hand to see why")
    return tracker.history, counts


# --- runs -----------------------------------------------------------------------------------


def run_one(task: tuple[str, str, str, int, int]) -> dict[str, Any]:
    """One (method, problem, task, seed, budget) run: the curve on the grid and counters."""
    method, pname, tname, seed, budget = task
    logging.getLogger("slimtune").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore")
    mf._one_thread()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    problem = make_problem(pname, tname, seed)
    counts: dict[str, int] = {}
    if method in PEERS:
        hist, counts = run_peer(method, problem, seed, budget)
    else:
        hist = run_local(method, problem, seed, budget)
    g = grid(budget)
    curve = mf.curve_on_grid(hist, g)
    return {"method": method, "task": tname, "seed": seed, "budget": budget,
            "curve": [None if math.isnan(v) else round(float(v), 6) for v in curve],
            "wall": time.perf_counter() - t0, "counts": counts}


def grid(budget: int) -> np.ndarray:
    return np.unique(np.linspace(1, budget, 200).astype(int))


def rkey(method: str, task: str, seed: int) -> str:
    return f"{method}|{task}|{seed}"


def load(path: str) -> dict[str, Any]:
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    return {}


def save(path: str, res: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f)
    os.replace(tmp, path)


def run_all(tasks: list[tuple[str, str, str, int, int]], path: str, jobs: int) -> dict[str, Any]:
    """Run what ``path`` does not hold yet, saving after each finished run."""
    res = load(path)
    todo = [t for t in tasks if rkey(t[0], t[2], t[3]) not in res
            or res[rkey(t[0], t[2], t[3])]["budget"] != t[4]]
    print(f"{len(tasks) - len(todo)} runs already in {path}, {len(todo)} to go", flush=True)

    def keep(r: dict[str, Any]) -> None:
        res[rkey(r["method"], r["task"], r["seed"])] = r
        save(path, res)
        print(f"{r['method']:14s} task {r['task']:>7s} seed {r['seed']:2d} final "
              f"{r['curve'][-1]:.4f} {r['wall']:6.1f} s {r['counts'] or ''}", flush=True)

    if jobs > 1 and len(todo) > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(jobs, initializer=mf._one_thread) as pool:
            for r in pool.imap_unordered(run_one, todo, chunksize=1):
                keep(r)
    else:
        for t in todo:
            keep(run_one(t))
    return res


# --- report ---------------------------------------------------------------------------------


def collect(res: dict[str, Any], methods: list[str], problem: str,
            budget: int) -> tuple[np.ndarray, dict[str, dict[tuple[str, int], np.ndarray]]]:
    """Per method {(task, seed): curve} of the score: true value, or normalized regret."""
    g = grid(budget)
    out: dict[str, dict[tuple[str, int], np.ndarray]] = {m: {} for m in methods}
    for r in res.values():
        if r["method"] not in out or r["budget"] != budget:
            continue
        c = np.array([math.nan if v is None else v for v in r["curve"]], dtype=float)
        if problem == "lcbench":
            from benchmarks.yahpo_lcbench import normalized_regret

            c = normalized_regret(r["task"], c)
        out[r["method"]][(r["task"], r["seed"])] = c
    out = {m: d for m, d in out.items() if d}
    if out:  # compare on the same runs: the (task, seed) pairs every method has
        common = set.intersection(*(set(d) for d in out.values()))
        out = {m: {k: c for k, c in d.items() if k in common} for m, d in out.items()}
    return g, out


def _nanmean(a: np.ndarray, axis: int = 0) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=axis)


def seed_curves(d: dict[tuple[str, int], np.ndarray]) -> np.ndarray:
    """One curve per seed: the mean over the tasks run with that seed."""
    seeds = sorted({s for _, s in d})
    return np.vstack([_nanmean(np.vstack([c for (t, s), c in d.items() if s == sd]))
                      for sd in seeds])


def ranks(curves: dict[str, dict[tuple[str, int], np.ndarray]], col: int,
          tasks: list[str]) -> dict[str, np.ndarray]:
    """Per task the rank (1 = best, ties averaged) of each method's seed-mean at ``col``."""
    from scipy.stats import rankdata

    ms = list(curves)
    out: dict[str, list[float]] = {m: [] for m in ms}
    for t in tasks:
        vals = [_nanmean(np.array([c[col] for (tt, _), c in curves[m].items() if tt == t]))
                for m in ms]
        for m, rk in zip(ms, rankdata(np.nan_to_num(np.array(vals, dtype=float), nan=np.inf))):
            out[m].append(float(rk))
    return {m: np.array(v) for m, v in out.items()}


def report(problem: str, res: dict[str, Any], methods: list[str], budget: int, out: str,
           cmd: str, name: str = "") -> str:
    g, curves = collect(res, methods, problem, budget)
    if not curves:
        raise SystemExit(f"no results for {problem} at budget {budget}")
    fracs = [1 / 8, 1 / 4, 1 / 2, 3 / 4, 1.0]
    idx = [min(int(np.searchsorted(g, f * budget, side="left")), len(g) - 1) for f in fracs]
    n_seeds = len({sd for d in curves.values() for _, sd in d})
    # Standard errors over seeds (each seed's mean over the tasks); with one seed, over tasks.
    per_seed = {m: seed_curves(d) if n_seeds > 1 else np.vstack(list(d.values()))
                for m, d in curves.items()}
    mean = {m: _nanmean(c) for m, c in per_seed.items()}
    score = "normalized regret" if problem == "lcbench" else "true final value"
    tasks = sorted({t for d in curves.values() for t, _ in d})
    full = [m for m in curves if {t for t, _ in curves[m]} == set(tasks)]
    lines = [f"# Multi-fidelity peers side by side: `{problem}` ({budget} epochs per run)", "",
             f"`{cmd}`", ""]
    if problem == "lcbench":
        lines += [
            f"YAHPO Gym LCBench, {len(tasks)} tasks, 52 epochs, observation noise sd "
            "0.01 (1 + 1/sqrt(epoch)) on the validation error. Score: normalized regret "
            "(f - f*) / (f_med - f*) of the incumbent's noise-free error at epoch 52, f* and "
            "f_med the best and the median of 20000 random configurations per task. Mean over "
            "tasks and seeds; ± standard error over seeds (of each seed's task mean; over "
            "tasks where there is one seed). Rank: "
            "per task, of the seed means, averaged over the tasks (± s.e. over tasks), only "
            "among the methods run on every task.", ""]
    else:
        lines += [f"Score: the incumbent's {score} (lower is better), mean ± standard error "
                  "over seeds (one problem instance per seed).", ""]
    head = " | ".join(f"{f:g} ({int(f * budget)} ep)" for f in fracs)
    lines += [f"| method | seeds × tasks | {head} | wall s/run |", "|---" * (len(fracs) + 3) + "|"]
    for m, c in per_seed.items():
        cells = []
        for i in idx:
            col = c[:, i]
            n = int(np.sum(~np.isnan(col)))
            se = float(np.nanstd(col, ddof=1) / math.sqrt(n)) if n > 1 else math.nan
            cells.append(f"{np.nanmean(col):.4f} ± {se:.4f}" if n else "—")
        walls = [r["wall"] for r in res.values() if r["method"] == m and r["budget"] == budget
                 and (r["task"], r["seed"]) in curves[m]]
        nt = len({t for t, _ in curves[m]})
        ns = len({sd for _, sd in curves[m]})
        lines.append(f"| {m} | {ns} × {nt} | " + " | ".join(cells)
                     + f" | {np.mean(walls):.1f} |")
    if problem == "lcbench" and len(full) > 1:
        sub = {m: curves[m] for m in full}
        rk = {f: ranks(sub, i, tasks) for f, i in zip(fracs, idx)}
        lines += ["", f"Average rank over the {len(tasks)} tasks (1 = best of {len(full)}):", "",
                  "| method | " + " | ".join(f"{f:g}" for f in fracs) + " |",
                  "|---" * (len(fracs) + 1) + "|"]
        for m in sorted(full, key=lambda m: rk[1.0][m].mean()):
            lines.append(f"| {m} | " + " | ".join(
                f"{rk[f][m].mean():.2f} ± {rk[f][m].std(ddof=1) / math.sqrt(len(tasks)):.2f}"
                for f in fracs) + " |")
    # Epochs each method needs to reach each other's final (mean curves).
    ms = sorted(mean, key=lambda m: mean[m][-1])
    lines += ["", "Share of the budget the row method needs (on its mean curve) to reach the "
              "column method's final mean (— never; columns best first):", "",
              "| method | " + " | ".join(ms) + " |", "|---" * (len(ms) + 1) + "|"]
    for m in ms:
        cells = []
        for ref in ms:
            r = mf.first_reach(g, mean[m], float(mean[ref][-1]))
            cells.append("—" if math.isinf(r) else f"{r / budget:.2f}")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    cnt = {}
    for r in res.values():
        if r["method"] in PEERS and r["budget"] == budget and r["counts"]:
            c0 = cnt.setdefault(r["method"], np.zeros(3))
            c0 += [r["counts"]["requests"], r["counts"]["trainings"], r["counts"]["resumed"]]
    if cnt:
        lines += ["", "Peers' evaluations per run (mean): requests, trainings started, "
                  "requests that resumed a run:", ""]
        for m, c0 in cnt.items():
            n = sum(1 for r in res.values() if r["method"] == m and r["budget"] == budget)
            lines.append(f"- {m}: {c0[0] / n:.0f} requests, {c0[1] / n:.0f} trainings, "
                         f"{c0[2] / n:.0f} resumed")
    if problem == "lcbench":
        from benchmarks.yahpo_lcbench import optima

        o = optima()
        lines += ["", "f* / f_med per task (validation error at epoch 52, 20000 random "
                  "configurations): " + ", ".join(
                      f"{t} {o[t]['best']:.4f}/{o[t]['median']:.4f}" for t in tasks)]
    lines.append("")
    os.makedirs(out, exist_ok=True)
    stem = f"mf_peers_{problem}{'_' + name if name else ''}"
    path = os.path.join(out, f"{stem}.md")
    text = "\n".join(lines)
    with open(path, "w") as f:
        f.write(text)
    plot(problem, g, mean, budget, os.path.join(out, f"{stem}.png"), score)
    return text


def plot(problem: str, g: np.ndarray, mean: dict[str, np.ndarray], budget: int, path: str,
         score: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return
    fig, ax = plt.subplots(figsize=(8, 5))
    styles = ["-", "--", ":", "-."]
    for i, (m, c) in enumerate(sorted(mean.items(), key=lambda kv: kv[1][-1])):
        ax.plot(g, c, styles[(i // 10) % 4], label=f"{m} ({c[-1]:.3f})")
    ax.set_xscale("log")
    ax.set_xlabel("epochs spent")
    ax.set_ylabel(f"incumbent's {score}")
    q = int(np.searchsorted(g, budget / 8))
    lo = min(float(np.nanmin(c[q:])) for c in mean.values())
    hi = max(float(np.nanmax(c[q:])) for c in mean.values())
    ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo))
    ax.set_title(f"{problem}: mean curves (from 1/8 of the budget)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    from benchmarks.run import _split_specs

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problem", choices=["lc", "digits", "lcbench"], default="lc")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS))
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--tasks", default="all",
                    help="lcbench: 'all', a count (the first N) or ids separated by commas")
    ap.add_argument("--full-runs", type=int, default=FULL_RUNS,
                    help="budget in full trainings (epochs = this x max epochs)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--results", default=None, help="checkpoint JSON (default benchmarks/results/"
                    "mf_peers_<problem>.json); more, after commas, are read for the report too")
    ap.add_argument("--out", default="docs/bench")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--name", default="", help="report file suffix: mf_peers_<problem>_<name>.md")
    args = ap.parse_args(argv)
    methods = _split_specs(args.methods)
    if args.problem == "lcbench":
        from benchmarks import yahpo_lcbench as Y

        if (why := Y.available()) is not None:
            raise SystemExit(why)
        tasks = (Y.TASKS if args.tasks == "all" else Y.TASKS[:int(args.tasks)]
                 if args.tasks.isdigit() else args.tasks.split(","))
        E = Y.MAX_EPOCHS
        if not args.report_only:
            Y.optima()  # fill the cache once, before the workers fork
    else:
        tasks, E = ["-"], mf.MAX_EPOCHS
    budget = args.full_runs * E
    paths = (args.results or os.path.join(RESULTS, f"mf_peers_{args.problem}.json")).split(",")
    path = paths[0]
    runnable = []
    for m in methods:
        why = peer_missing(m)
        if why:
            print(f"skipping {m}: {why}", flush=True)
        else:
            runnable.append(m)
    if not args.report_only:
        seeds = range(args.seed0, args.seed0 + args.seeds)
        # seeds outermost: a cut run has every method on the first seeds
        todo = [(m, args.problem, t, s, budget) for s in seeds for t in tasks for m in runnable]
        res = run_all(todo, path, args.jobs)
    else:
        res = load(path)
    for extra in paths[1:]:  # runs of the same problem made by another invocation
        res = {**load(extra), **res}
    seeds_in = range(args.seed0, args.seed0 + args.seeds)  # report only the seeds asked for
    res = {k: r for k, r in res.items() if r["seed"] in seeds_in}
    cmd = " ".join(["python -m benchmarks.mf_peers",
                    *(argv if argv is not None else sys.argv[1:])])
    print(report(args.problem, res, runnable, budget, args.out, cmd, args.name))


if __name__ == "__main__":
    main()
