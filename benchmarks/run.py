"""Benchmark runner: (problem x optimizer x seed) in parallel processes -> markdown + JSON.

    python -m benchmarks.run --suite synthetic \\
        --optimizers slimtune-random,slimtune-qmc,optuna-tpe,hyperopt-tpe \\
        --seeds 5 --jobs 2 --out docs/bench/synthetic.md

Scores
    synthetic: normalized score per run = 100 * (R - best) / (R - optimum), with R the mean
        best value of random search at the same budget (20 seeds of ``slimtune-random``,
        cached in ``benchmarks/.cache/``); 100 = the optimum, 0 = random search, < 0 worse.
    sklearn: Bayesmark score per run = 100 * (1 - clip((best - opt) / (M - opt), -1, 1)),
        M = median value of a single random evaluation (random-search trials, cached),
        opt = best value any run found (this run's optimizers and the random trials).
Each table shows the mean over seeds (and the standard error) and the optimizer's own time
per suggestion (ask + suggest + tell, objective excluded) in milliseconds.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")  # one core per job: parallelism comes from the processes

import argparse  # noqa: E402
import datetime as _dt  # noqa: E402
import hashlib  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import multiprocessing as mp  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.optimizers import (  # noqa: E402
    RunResult,
    Unavailable,
    available,
    parse_spec,
    run_optimizer,
)
from benchmarks.problems import PROBLEMS, Problem, get_problem  # noqa: E402

__all__ = ["main", "run_benchmark", "score_results", "render_markdown"]

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
BASELINE_OPTIMIZER = "slimtune-random"
BASELINE_SEEDS = {"synthetic": 20, "sklearn": 2}
BASELINE_SEED0 = 10_000  # baseline seeds never coincide with the compared runs' seeds
DEFAULT_OPTIMIZERS = "slimtune-random,slimtune-qmc,optuna-random,optuna-tpe,hyperopt-tpe"


# --------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------


def _init_worker(modules: Sequence[str]) -> None:
    warnings.filterwarnings("ignore")
    for m in modules:
        importlib.import_module(m)


_WARM: set[str] = set()


def _warm_up(spec: str) -> None:
    """Run the optimizer once on a tiny problem in this process, so that one-off costs
    (lazy imports, first calls) do not land in the first timed trial."""
    if spec in _WARM:
        return
    _WARM.add(spec)
    try:
        available(spec, n_trials=3)
    except Exception:  # noqa: BLE001 - the real run reports any problem
        pass


def _job(spec: str, problem_name: str, seed: int, n_trials: int) -> dict[str, Any]:
    try:
        _warm_up(spec)
        res = run_optimizer(spec, get_problem(problem_name), seed, n_trials)
        return {"ok": res.to_dict()}
    except Unavailable as e:
        return {"unavailable": str(e), "spec": spec}
    except Exception:  # noqa: BLE001 - one broken run must not sink the whole benchmark
        return {
            "error": traceback.format_exc(),
            "spec": spec,
            "problem": problem_name,
            "seed": seed,
        }


def _budget(problem: Problem, scale: float, n_trials: int | None = None) -> int:
    if n_trials is not None:
        return int(n_trials)
    return max(2, int(round(problem.n_trials * scale)))


def _run_jobs(
    jobs: list[tuple[str, str, int, int]], n_jobs: int, modules: Sequence[str], verbose: bool
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    if n_jobs <= 1:
        _init_worker(modules)
        for i, j in enumerate(jobs):
            out.append(_job(*j))
            if verbose:
                _progress(i + 1, len(jobs), j, out[-1], t0)
        return out
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(
        n_jobs, mp_context=ctx, initializer=_init_worker, initargs=(tuple(modules),)
    ) as ex:
        futs = {ex.submit(_job, *j): j for j in jobs}
        for i, f in enumerate(as_completed(futs)):
            out.append(f.result())
            if verbose:
                _progress(i + 1, len(jobs), futs[f], out[-1], t0)
    return out


def _progress(i: int, n: int, job: tuple, res: dict[str, Any], t0: float) -> None:
    spec, prob, seed, _ = job
    status = "ok" if "ok" in res else ("unavailable" if "unavailable" in res else "ERROR")
    extra = f"best={RunResult.from_dict(res['ok']).best:.5g}" if "ok" in res else ""
    print(
        f"[{i}/{n} {time.perf_counter() - t0:6.1f}s] {spec} {prob} seed={seed} {status} {extra}",
        file=sys.stderr,
        flush=True,
    )


# --------------------------------------------------------------------------------------
# random-search baseline (cached)
# --------------------------------------------------------------------------------------


def _problem_key(p: Problem, n_trials: int, n_seeds: int) -> str:
    blob = json.dumps(
        {
            "space": p.space,
            "optimum": p.optimum,
            "n": n_trials,
            "s": n_seeds,
            "probe": _probe_value(p),
        },
        sort_keys=True,
        default=str,
    )
    return f"{p.name}|{n_trials}|{n_seeds}|{hashlib.sha1(blob.encode()).hexdigest()[:12]}"


def _probe_value(p: Problem) -> Any:
    """The objective at the argmin (if cheap and known), so that a changed function
    invalidates the cache."""
    if p.argmin is None or p.suite != "synthetic":
        return None
    try:
        return round(float(p.evaluate(dict(p.argmin))), 10)
    except Exception:  # noqa: BLE001
        return None


def load_baselines(
    problems: Sequence[Problem],
    budget_scale: float,
    n_jobs: int,
    modules: Sequence[str] = (),
    refresh: bool = False,
    verbose: bool = True,
    cache_dir: Path | None = None,
    n_trials: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Per problem: random search's bests (mean best) and the median single evaluation."""
    cache_dir = cache_dir or CACHE_DIR
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / "random_baseline.json"
    cache: dict[str, Any] = {}
    if path.exists() and not refresh:
        try:
            cache = json.loads(path.read_text())
        except json.JSONDecodeError:
            cache = {}
    out: dict[str, dict[str, Any]] = {}
    jobs, keys = [], {}
    for p in problems:
        n = _budget(p, budget_scale, n_trials)
        s = BASELINE_SEEDS.get(p.suite, 5)
        key = _problem_key(p, n, s)
        keys[p.name] = key
        if key in cache:
            out[p.name] = cache[key]
        else:
            jobs += [(BASELINE_OPTIMIZER, p.name, BASELINE_SEED0 + i, n) for i in range(s)]
    if jobs:
        if verbose:
            print(f"computing the random-search baseline ({len(jobs)} runs)", file=sys.stderr)
        res = _run_jobs(jobs, n_jobs, modules, verbose=False)
        by: dict[str, list[RunResult]] = {}
        for r in res:
            if "ok" not in r:
                raise RuntimeError(f"baseline run failed: {r}")
            rr = RunResult.from_dict(r["ok"])
            by.setdefault(rr.problem, []).append(rr)
        for name, runs in by.items():
            vals = [v for r in runs for v in r.values if math.isfinite(v)]
            entry = {
                "bests": [r.best for r in runs],
                "mean_best": float(np.mean([r.best for r in runs])),
                "median_value": float(np.median(vals)) if vals else math.nan,
                "min_value": float(np.min(vals)) if vals else math.nan,
                "n_values": len(vals),
                "n_trials": len(runs[0].values),
            }
            cache[keys[name]] = entry
            out[name] = entry
        _write_cache(path, {keys[n]: out[n] for n in by})
    return out


def _write_cache(path: Path, new: dict[str, Any]) -> None:
    """Merge ``new`` into the cache file atomically (several runs may share the cache)."""
    try:
        cache = json.loads(path.read_text()) if path.exists() else {}
    except json.JSONDecodeError:
        cache = {}
    cache.update(new)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
    os.replace(tmp, path)


# --------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------


def score_run(problem: Problem, best: float, baseline: dict[str, Any], opt: float) -> float:
    """The score of one run (see the module docstring)."""
    if problem.suite == "sklearn" or problem.optimum is None:
        m = baseline["median_value"]
        denom = m - opt
        if not math.isfinite(best):
            return 0.0
        if denom <= 0:
            return 100.0 if best <= opt else 0.0
        return 100.0 * (1.0 - float(np.clip((best - opt) / denom, -1.0, 1.0)))
    r = baseline["mean_best"]
    denom = r - problem.optimum
    if not math.isfinite(best):
        return -100.0
    if denom <= 0:
        return 100.0 if best <= problem.optimum + 1e-12 else 0.0
    return 100.0 * (r - best) / denom


def score_results(
    results: Sequence[RunResult], baselines: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Per problem and optimizer: scores, bests, ms per suggestion; plus the mean row."""
    by_prob: dict[str, dict[str, list[RunResult]]] = {}
    for r in results:
        by_prob.setdefault(r.problem, {}).setdefault(r.optimizer, []).append(r)
    table: dict[str, dict[str, dict[str, Any]]] = {}
    refs: dict[str, float] = {}
    for pname, by_opt in by_prob.items():
        p = get_problem(pname)
        base = baselines[pname]
        if p.suite == "sklearn" or p.optimum is None:
            cands = [r.best for runs in by_opt.values() for r in runs]
            cands.append(base.get("min_value", math.inf))
            opt = float(np.nanmin([c for c in cands if math.isfinite(c)] or [math.nan]))
        else:
            opt = float(p.optimum)
        refs[pname] = opt
        table[pname] = {}
        for oname, runs in by_opt.items():
            scores = [score_run(p, r.best, base, opt) for r in runs]
            bests = [r.best for r in runs]
            sug = np.array([s for r in runs for s in r.suggest_s])
            table[pname][oname] = {
                "score": float(np.mean(scores)),
                "score_se": float(np.std(scores, ddof=1) / math.sqrt(len(scores)))
                if len(scores) > 1
                else 0.0,
                "scores": scores,
                "best_mean": float(np.mean(bests)),
                "best_sd": float(np.std(bests, ddof=1)) if len(bests) > 1 else 0.0,
                "ms_per_suggest": float(sug.mean() * 1e3) if sug.size else math.nan,
                "ms_per_suggest_median": float(np.median(sug) * 1e3) if sug.size else math.nan,
                "n_seeds": len(runs),
                "n_trials": len(runs[0].values),
            }
    optimizers = sorted({o for t in table.values() for o in t}, key=lambda o: _order_key(o))
    mean: dict[str, dict[str, float]] = {}
    for o in optimizers:
        cells = [table[p][o] for p in table if o in table[p]]
        complete = len(cells) == len(table)
        mean[o] = {
            "score": float(np.mean([c["score"] for c in cells])),
            "ms_per_suggest": float(np.mean([c["ms_per_suggest"] for c in cells])),
            "complete": complete,
        }
    return {"table": table, "mean": mean, "reference": refs, "optimizers": optimizers}


_ORDER: list[str] = []


def _order_key(name: str) -> tuple[int, str]:
    return (_ORDER.index(name) if name in _ORDER else len(_ORDER), name)


# --------------------------------------------------------------------------------------
# markdown
# --------------------------------------------------------------------------------------


def _fmt(x: float, nd: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{x:.{nd}f}"


def _fmt_g(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:.4g}"


def render_markdown(
    suite: str,
    scored: dict[str, Any],
    baselines: dict[str, dict[str, Any]],
    meta: dict[str, Any],
    notes: Sequence[str] = (),
) -> str:
    table, mean, opts = scored["table"], scored["mean"], scored["optimizers"]
    probs = list(table)
    score_name = "normalized score" if suite != "sklearn" else "Bayesmark score"
    lines = [f"# Benchmark: {suite} suite", ""]
    lines.append(f"Command: `{meta['command']}`  ")
    lines.append(
        f"Date: {meta['date']}; commit {meta['commit']}; Python {meta['python']}; "
        f"{meta['cpus']} CPU(s); {meta['versions']}; {meta['seeds']} seed(s), "
        f"budget scale {meta['budget_scale']}, wall {meta['wall_s']:.0f} s."
    )
    lines.append("")
    if suite != "sklearn":
        lines.append(
            "Score: normalized score, 100 = the known optimum, 0 = random search's mean best "
            "at the same budget (20 seeds), negative = worse than random. "
            "Mean over seeds (± standard error)."
        )
    else:
        lines.append(
            "Score: Bayesmark score, 100 x (1 - clip((best - opt) / (median random "
            "evaluation - opt), -1, 1)), opt = best value any method found. Mean over seeds."
        )
    lines.append(
        "ms/sug: the optimizer's own time per trial (ask + suggest + tell, objective "
        "excluded), mean over all trials."
    )
    lines.append("")
    lines.append(f"## Summary ({score_name})")
    lines.append("")
    hdr = ["optimizer", *probs, "**mean**", "ms/sug"]
    lines.append("| " + " | ".join(hdr) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(hdr) - 1)) + "|")
    for o in opts:
        row = [o]
        for p in probs:
            c = table[p].get(o)
            row.append(_fmt(c["score"]) if c else "–")
        m = mean[o]
        row.append(f"**{_fmt(m['score'])}**" + ("" if m["complete"] else "*"))
        row.append(_fmt(m["ms_per_suggest"], 2))
        lines.append("| " + " | ".join(row) + " |")
    if any(not m["complete"] for m in mean.values()):
        lines += ["", "\\* mean over the problems this optimizer ran, not all of them."]
    lines.append("")
    lines.append("## Per problem")
    for p in probs:
        prob = get_problem(p)
        base = baselines[p]
        any_cell = next(iter(table[p].values()))
        lines.append("")
        if prob.suite != "sklearn" and prob.optimum is not None:
            ref = (
                f"optimum {_fmt_g(prob.optimum)}, random search's mean best "
                f"{_fmt_g(base['mean_best'])}"
            )
        else:
            ref = (
                f"best found (opt) {_fmt_g(scored['reference'][p])}, median random evaluation "
                f"{_fmt_g(base['median_value'])}"
            )
        lines.append(f"### {p}: {prob.description or p}")
        lines.append("")
        lines.append(f"Budget {any_cell['n_trials']} trials; {ref}.")
        lines.append("")
        lines.append(
            "| optimizer | score | ± se | best (mean) | best (sd) | ms/sug | ms/sug (median) |"
        )
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for o in sorted(table[p], key=lambda o: -table[p][o]["score"]):
            c = table[p][o]
            lines.append(
                f"| {o} | {_fmt(c['score'])} | {_fmt(c['score_se'])} | {_fmt_g(c['best_mean'])} "
                f"| {_fmt_g(c['best_sd'])} | {_fmt(c['ms_per_suggest'], 2)} "
                f"| {_fmt(c['ms_per_suggest_median'], 2)} |"
            )
    if notes:
        lines += ["", "## Notes", ""]
        lines += [f"- {n}" for n in notes]
    lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------


def _git_commit() -> str:
    """HEAD's short hash, with "+dirty" when src/ or benchmarks/ have uncommitted changes."""
    cwd = Path(__file__).resolve().parent
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"],
                capture_output=True,
                text=True,
                cwd=cwd,
                timeout=10,
            ).stdout.strip()
            or "?"
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", "../src", "."],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=10,
        ).stdout.strip()
    except Exception:  # noqa: BLE001
        return "?"
    return commit + ("+dirty" if dirty else "")


def _meta(
    argv: Sequence[str], seeds: int, scale: float, wall: float, commit: str
) -> dict[str, Any]:
    versions = []
    for mod in ("slimtune", "optuna", "hyperopt", "sklearn", "smac"):
        try:
            versions.append(f"{mod} {importlib.import_module(mod).__version__}")
        except Exception:  # noqa: BLE001
            pass
    return {
        "command": "python -m benchmarks.run " + " ".join(argv),
        "date": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "commit": commit,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "versions": ", ".join(versions),
        "seeds": seeds,
        "budget_scale": scale,
        "wall_s": wall,
    }


def run_benchmark(
    suite: str,
    optimizers: Sequence[str],
    seeds: int,
    jobs: int,
    problems: Sequence[str] | None = None,
    budget_scale: float = 1.0,
    modules: Sequence[str] = (),
    refresh_baseline: bool = False,
    verbose: bool = True,
    cache_dir: Path | None = None,
    seed0: int = 0,
    n_trials: int | None = None,
) -> tuple[list[RunResult], dict[str, dict[str, Any]], list[str]]:
    """Run the benchmark; return (results, baselines, notes)."""
    for m in modules:
        importlib.import_module(m)
    if problems:
        probs = [get_problem(p) for p in problems]
    else:
        probs = [p for p in PROBLEMS.values() if p.suite == suite]
        if not probs:
            raise SystemExit(f"no problems in suite {suite!r}")
    notes: list[str] = []
    usable = []
    for spec in optimizers:
        parse_spec(spec)
        ok, why = available(spec)
        if ok:
            usable.append(spec)
        else:
            notes.append(f"`{spec}` unavailable: {why}")
            if verbose:
                print(f"skipping {spec}: {why}", file=sys.stderr)
    _ORDER[:] = list(optimizers)
    baselines = load_baselines(
        probs, budget_scale, jobs, modules, refresh_baseline, verbose, cache_dir, n_trials
    )
    job_list = [
        (spec, p.name, seed0 + s, _budget(p, budget_scale, n_trials))
        for p in probs
        for spec in usable
        for s in range(seeds)
    ]
    if verbose:
        print(f"{len(job_list)} runs on {jobs} process(es)", file=sys.stderr)
    raw = _run_jobs(job_list, jobs, modules, verbose)
    results = []
    for r in raw:
        if "ok" in r:
            results.append(RunResult.from_dict(r["ok"]))
        elif "unavailable" in r:
            msg = f"`{r['spec']}` unavailable: {r['unavailable']}"
            if msg not in notes:
                notes.append(msg)
        else:
            first = r["error"].strip().splitlines()[-1]
            notes.append(f"`{r['spec']}` failed on {r['problem']} seed {r['seed']}: {first}")
            if verbose:
                print(r["error"], file=sys.stderr)
    return results, baselines, notes


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--suite", default="synthetic", help="synthetic | sklearn | another suite")
    ap.add_argument(
        "--optimizers",
        default=DEFAULT_OPTIMIZERS,
        help="comma-separated specs; a spec is name or name[key=value,...]",
    )
    ap.add_argument("--problems", default=None, help="comma-separated problem names (filter)")
    ap.add_argument("--seeds", type=int, default=5, help="number of seeds (0..N-1)")
    ap.add_argument("--seed0", type=int, default=0, help="first seed")
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes")
    ap.add_argument(
        "--budget-scale",
        type=float,
        default=1.0,
        help="multiply every problem's budget (quick runs: 0.2)",
    )
    ap.add_argument(
        "--n-trials",
        type=int,
        default=None,
        help="one budget for every problem (overrides the problems' own budgets)",
    )
    ap.add_argument(
        "--cache-dir",
        default=None,
        help=f"where the random-search baseline is cached (default {CACHE_DIR})",
    )
    ap.add_argument("--out", default=None, help="markdown output (raw JSON next to it)")
    ap.add_argument(
        "--import",
        dest="modules",
        default="",
        help="comma-separated modules to import first (they register problems or optimizers)",
    )
    ap.add_argument(
        "--refresh-baseline",
        action="store_true",
        help="recompute the cached random-search baseline",
    )
    ap.add_argument("--list", action="store_true", help="list problems and optimizers")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)
    modules = [m for m in args.modules.split(",") if m]
    for m in modules:
        importlib.import_module(m)
    if args.list:
        from benchmarks.optimizers import OPTIMIZERS

        for p in PROBLEMS.values():
            print(f"problem  {p.suite:10s} {p.name:16s} budget {p.n_trials:4d}  {p.description}")
        for o in OPTIMIZERS:
            print(f"optimizer {o}")
        return 0
    optimizers = [s for s in _split_specs(args.optimizers) if s]
    problems = [p for p in (args.problems or "").split(",") if p] or None
    t0 = time.perf_counter()
    commit = _git_commit()  # the code the workers run: they fork from this process
    results, baselines, notes = run_benchmark(
        args.suite,
        optimizers,
        args.seeds,
        args.jobs,
        problems,
        args.budget_scale,
        modules,
        args.refresh_baseline,
        not args.quiet,
        cache_dir=Path(args.cache_dir) if args.cache_dir else None,
        seed0=args.seed0,
        n_trials=args.n_trials,
    )
    wall = time.perf_counter() - t0
    if not results:
        print(
            "no results (every optimizer unavailable or failed):", *notes, sep="\n", file=sys.stderr
        )
        return 1
    scored = score_results(results, baselines)
    meta = _meta(argv, args.seeds, args.budget_scale, wall, commit)
    md = render_markdown(args.suite, scored, baselines, meta, notes)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(md)
        raw = {
            "meta": meta,
            "suite": args.suite,
            "baselines": {k: baselines[k] for k in scored["table"]},
            "scores": scored,
            "notes": notes,
            "results": [r.to_dict() for r in results],
        }
        out.with_suffix(".json").write_text(
            json.dumps(raw, default=_json_default, separators=(",", ":"))
        )
        print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)
    else:
        print(md)
    return 0


def _json_default(o: Any) -> Any:
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(type(o))


def _split_specs(s: str) -> list[str]:
    """Split on commas outside brackets: ``a,b[x=1,y=2],c``."""
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


if __name__ == "__main__":
    raise SystemExit(main())
