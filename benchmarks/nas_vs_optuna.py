"""NAS search against Optuna's multi-objective TPE on the same objective, at equal wall-clock
and workers: hypervolume of the (validation error, log10 MACs) front over time.

Protocol
* Objective: slimtune's :class:`~slimtune.nas.objective.NASObjective` of an example config
  (``examples/nas_digits.yaml``, ``examples/nas_mnist1d.yaml``): same space, training recipe,
  epochs, validation split and MACs cap for both sides. The objectives are (accuracy, MACs)
  for both (the MNIST-1D example searches F1 against measured latency; here both sides use
  accuracy and MACs so the hypervolume means the same thing and no trial measures latency).
* Optuna: ``TPESampler`` with two directions (Optuna 5's MOTPE), its defaults, and a
  ``constraints_func`` reading the MACs-cap violation that the objective sets (a thin trial
  adapter turns ``trial.set_constraints`` into a user attribute; Optuna does not prune
  multi-objective studies, so ``report`` records nothing and ``should_prune`` is False).
  Two worker processes (forked), each ``n_jobs=1`` and one torch thread, sharing a
  ``JournalStorage`` file; worker ``i`` seeds its sampler with ``seed * 100 + i``.
* slimtune: :func:`~slimtune.nas.search.run_search` of the example config (its sampler and
  pruner), 2 worker processes (``study.n_jobs``), one torch thread each, a SQLite file.
  Retraining, export and the plot are off (they come after the search anyway).
* The same budget ``--budget`` seconds per run, counted from just before the search call /
  the worker start (the data are loaded and torch's one-time imports done before, once, for
  both: the workers of both are forked from the benchmark process). Only trials that completed
  within the budget count. The methods alternate their order from seed to seed, so a
  change of load hits both.
* What counts: feasible (MACs within the cap) trials with a measured validation accuracy.
  Optuna: every complete trial (all are trained to the end). slimtune: "complete" (trained
  to the last epoch) and "all evidence" (also the trials its pruner stopped: a model stopped
  at epoch e has a measured validation accuracy at epoch e; it is a real, usable model).
  Both columns are reported.
* Metric: :func:`slimtune.multiobjective.hypervolume` of (1 - accuracy, log10 MACs) with the
  reference point (1, log10 cap), over time from each trial's ``datetime_complete``.

Run: ``python benchmarks/nas_vs_optuna.py`` (``make bench-nas``); ``--quick`` is a smoke run.
Writes ``docs/bench/nas_vs_optuna.md``, ``docs/bench/nas_vs_optuna_<dataset>.png`` and the raw
evidence ``docs/bench/nas_vs_optuna.json`` (``--report-only`` rebuilds the tables from it).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import logging
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from slimtune.multiobjective import hypervolume  # noqa: E402
from slimtune.nas import selection  # noqa: E402, F401  (registers the pick rules)

CONFIGS = {"digits": "examples/nas_digits.yaml", "mnist1d": "examples/nas_mnist1d.yaml"}

# slimtune variants measured side by side: overrides of the example config's sections.
VARIANTS: dict[str, dict[str, Any]] = {
    "slimtune": {},
    "slimtune-nop": {"pruner": {"name": "NopPruner"}},
    # the first trials as the sampler draws them (before study.initial_design: cost-spread)
    "slimtune-random-start": {"study": {"initial_design": "random"}},
    "slimtune-spread": {"study": {"initial_design": "cost-spread"}},
    "slimtune-front": {
        "pruner": {
            "name": "SuccessiveHalvingPruner",
            "min_resource": 2,
            "reduction_factor": 3,
            "keep_front": True,
        }
    },
    "slimtune-front-s6": {
        "pruner": {
            "name": "SuccessiveHalvingPruner",
            "min_resource": 2,
            "reduction_factor": 3,
            "keep_front": True,
        },
        "sampler": {"name": "TPESampler", "n_startup_trials": 6},
    },
    # the example config's TPE as it ran before the NAS defaults of a multi-objective TPE
    # (slimtune.nas.search.TPE_NAS_DEFAULTS): good set weighted by trial order, hypervolume
    # on raw MACs, per-branch extras in l; random first trials
    "slimtune-old": {
        "study": {"initial_design": "random"},
        "sampler": {
            "name": "TPESampler",
            "n_startup_trials": 12,
            "good_weights": "trial-order",
            "objective_scales": ["linear", "linear"],
            "branch_weight": 0.5,
        }
    },
    # promotion-type ASHA: a trial not (yet) promotable at a rung is paused with its
    # training state and resumed from it when promoted (nothing trained twice)
    "slimtune-promo": {
        "pruner": {
            "name": "PromotionASHAPruner",
            "min_resource": 2,
            "reduction_factor": 3,
            "max_resource": 10,
        }
    },
    # the learning-curve model: stop when the extrapolated optimistic final is dominated
    "slimtune-curves": {
        "pruner": {"name": "LearningCurvePruner", "max_resource": 10, "min_resource": 2}
    },
}


# --- configs ------------------------------------------------------------------------------
def bench_config(dataset: str, seed: int, overrides: dict[str, Any] | None = None) -> dict:
    """The example config of ``dataset`` as the benchmark runs it (objectives accuracy and
    MACs, no retraining, export or plot; ``seed`` for the study and the sampler)."""
    raw = yaml.safe_load((ROOT / CONFIGS[dataset]).read_text())
    raw = copy.deepcopy(raw)
    raw["objectives"] = ["accuracy", "macs"]
    raw["pick"] = {"rule": "best"}
    raw["study"].update(seed=seed, n_trials=None, n_jobs=2, name=f"bench_{dataset}_{seed}")
    raw["study"].pop("storage", None)
    raw["retrain"] = {"top_k": 0}
    # weights kept as in the example (the pick then needs no retraining after the search)
    raw["output"] = {"plot": False, "export": [], "save_trial_weights": True}
    for k, v in (overrides or {}).items():
        if k == "study":  # merged: the benchmark's name, seed and workers stay
            raw["study"].update(copy.deepcopy(v))
        else:
            raw[k] = copy.deepcopy(v)
    return raw


# --- the Optuna side ----------------------------------------------------------------------
class OptunaTrialAdapter:
    """An Optuna trial as NASObjective uses it: suggest_*, number and user attributes pass
    through; ``set_constraints`` becomes the user attribute ``constraints`` (read by the
    sampler's ``constraints_func``); ``report`` and ``should_prune`` do nothing (Optuna
    prunes no multi-objective study)."""

    def __init__(self, trial: Any):
        self._t = trial

    def __getattr__(self, name: str) -> Any:
        return getattr(self._t, name)

    def set_constraints(self, values: Sequence[float]) -> None:
        self._t.set_user_attr("constraints", [float(v) for v in values])

    def report(self, value: Any, step: int) -> None:  # noqa: ARG002 - the Optuna contract
        return None

    def should_prune(self) -> bool:
        return False


def _constraints(frozen: Any) -> list[float]:
    return list(frozen.user_attrs.get("constraints", [0.0]))


def _optuna_worker(i: int, seed: int, journal: str, raw: dict, data: Any, deadline: float) -> None:
    import optuna
    import torch
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    from slimtune.nas.config import SearchConfig
    from slimtune.nas.objective import NASObjective
    from slimtune.nas.space import ArchSpace

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=FutureWarning)  # constraints_func, Optuna 5
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    cfg = SearchConfig.from_dict(raw, base_dir=ROOT)
    arch = ArchSpace(cfg.model, cfg.train, data.in_channels, data.num_classes, data.input_size)
    objective = NASObjective(cfg, data, arch, None)
    storage = JournalStorage(JournalFileBackend(journal))
    sampler = optuna.samplers.TPESampler(seed=seed * 100 + i, constraints_func=_constraints)
    study = optuna.load_study(study_name="bench", storage=storage, sampler=sampler)
    study.optimize(
        lambda t: objective(OptunaTrialAdapter(t)), timeout=max(deadline - time.time(), 0.01)
    )


def run_optuna(raw: dict, data: Any, seed: int, budget: float, tmp: Path) -> dict:
    """Two Optuna worker processes for ``budget`` seconds; the evidence of their trials."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    journal = str(tmp / "optuna.journal")
    storage = JournalStorage(JournalFileBackend(journal))
    optuna.create_study(study_name="bench", storage=storage, directions=["maximize", "minimize"])
    ctx = mp.get_context("fork")
    t0 = dt.datetime.now()
    deadline = time.time() + budget
    procs = [
        ctx.Process(target=_optuna_worker, args=(i, seed, journal, raw, data, deadline))
        for i in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    study = optuna.load_study(study_name="bench", storage=storage)
    rows = []
    for t in study.get_trials(deepcopy=False):
        if t.datetime_complete is None:
            continue
        rows.append(_row(t.user_attrs, t.state.name, _constraints(t), t.datetime_complete, t0))
    return {"rows": rows, "seconds": (dt.datetime.now() - t0).total_seconds()}


# --- the slimtune side --------------------------------------------------------------------
def run_slimtune(raw: dict, data: Any, seed: int, budget: float, tmp: Path) -> dict:
    """``run_search`` of ``raw`` with a SQLite file for ``budget`` seconds; the evidence."""
    from slimtune.nas.search import run_search

    t0 = dt.datetime.now()
    res = run_search(
        raw,
        storage=f"sqlite:///{tmp / 'slimtune.db'}",
        timeout=budget,
        out_dir=tmp / "out",
        progress=False,
        data=data,
    )
    rows = []
    for t in res.study.get_trials(deepcopy=False):
        if t.datetime_complete is None or "duplicate_of" in t.user_attrs:
            continue
        cons = list(t.constraints) if t.constraints is not None else [0.0]
        rows.append(_row(t.user_attrs, t.state.name, cons, t.datetime_complete, t0))
    return {"rows": rows, "seconds": res.timings.get("setup", 0) + res.timings.get("trials", 0)}


def _row(ua: dict, state: str, cons: list[float], done: dt.datetime, t0: dt.datetime) -> dict:
    return {
        "t": (done - t0).total_seconds(),
        "state": state,
        "feasible": bool(max(cons) <= 0),
        "accuracy": ua.get("accuracy"),
        "macs": ua.get("macs"),
        "epochs": ua.get("epochs"),
    }


# --- metrics ------------------------------------------------------------------------------
def evidence(rows: list[dict], budget: float, full_epochs: int, which: str) -> list[dict]:
    """The counted rows: feasible, with a measured accuracy, done within ``budget``;
    ``which="complete"`` also needs a trial trained to the last epoch."""
    out = []
    for r in rows:
        if not r["feasible"] or r["accuracy"] is None or r["macs"] is None or r["t"] > budget:
            continue
        if r["state"] not in ("COMPLETE", "PRUNED"):
            continue
        if which == "complete" and not (r["state"] == "COMPLETE" and r["epochs"] == full_epochs):
            continue
        out.append(r)
    return sorted(out, key=lambda r: r["t"])


def hv_curve(rows: list[dict], cap: float, grid: np.ndarray) -> np.ndarray:
    """Hypervolume of the rows completed by each time of ``grid``."""
    ref = np.array([1.0, np.log10(cap)])
    if not rows:
        return np.zeros(len(grid))
    t = np.array([r["t"] for r in rows])
    L = np.array([[1.0 - r["accuracy"], np.log10(max(r["macs"], 1))] for r in rows])
    # the HV only changes at completion times: compute it there, then step-interpolate
    hv_at = np.array([hypervolume(L[: k + 1], ref) for k in range(len(rows))])
    idx = np.searchsorted(t, grid, side="right") - 1
    return np.where(idx >= 0, hv_at[np.maximum(idx, 0)], 0.0)


def time_to_reach(curve: np.ndarray, grid: np.ndarray, target: float) -> float | None:
    """First time of ``grid`` at which ``curve`` is at least ``target`` (None: never)."""
    ok = np.flatnonzero(curve >= target - 1e-12)
    return float(grid[ok[0]]) if ok.size and target > 0 else None


def summarize(run: dict, cap: float, budget: float, full_epochs: int, which: str) -> dict:
    ev = evidence(run["rows"], budget, full_epochs, which)
    grid = np.linspace(0, budget, 401)
    curve = hv_curve(ev, cap, grid)
    small = [r["accuracy"] for r in ev if r["macs"] <= cap / 4]
    done = [r for r in run["rows"] if r["t"] <= budget]
    full = [r for r in done if r["state"] == "COMPLETE" and r["epochs"] == full_epochs]
    return {
        "hv": float(curve[-1]),
        "hv_q": [float(curve[int(len(grid) * f) - 1]) for f in (0.25, 0.5, 0.75)],
        "trials": len(done),
        "trained_full": len(full),
        "points": len(ev),
        "best_small": max(small) if small else float("nan"),
        "curve": curve,
        "grid": grid,
    }


# --- the run ------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="digits,mnist1d")
    ap.add_argument("--methods", default="optuna,slimtune", help="optuna and VARIANTS names")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--budget", type=float, default=90.0, help="seconds per run")
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench"))
    ap.add_argument("--name", default="nas_vs_optuna", help="stem of the output files")
    ap.add_argument("--report-only", action="store_true", help="tables from the saved json")
    ap.add_argument("--quick", action="store_true", help="smoke run: digits, 1 seed, 20 s")
    args = ap.parse_args()
    if args.quick:
        args.datasets, args.seeds, args.budget = "digits", 1, 20.0
        args.name = args.name + "_quick"
    logging.getLogger("slimtune").setLevel(logging.WARNING)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jpath = out / f"{args.name}.json"
    methods = args.methods.split(",")
    for m in methods:
        if m != "optuna" and m not in VARIANTS:
            ap.error(f"--methods: unknown {m!r}; use optuna or one of {sorted(VARIANTS)}")
    if args.report_only:
        saved = json.loads(jpath.read_text())
    else:
        saved = {
            "budget": args.budget,
            "methods": methods,
            "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
            "load_before": os.getloadavg(),
            "runs": [],
        }
        from slimtune.nas.config import SearchConfig
        from slimtune.nas.data import load_data
        from slimtune.nas.profile import warm_up

        warm_up()  # torch's one-time imports, before any clock starts (workers are forked)

        for ds in args.datasets.split(","):
            base = SearchConfig.from_dict(bench_config(ds, 0), base_dir=ROOT)
            data = load_data(base.data)
            for s in range(args.seed0, args.seed0 + args.seeds):
                k = s - args.seed0
                order = methods[k % len(methods) :] + methods[: k % len(methods)]
                for m in order:
                    raw = bench_config(ds, s, VARIANTS.get(m))
                    with tempfile.TemporaryDirectory(prefix="nasbench-") as tmp:
                        t_start = time.time()
                        fn = run_optuna if m == "optuna" else run_slimtune
                        run = fn(raw, data, s, args.budget, Path(tmp))
                    run.update(dataset=ds, seed=s, method=m, load=os.getloadavg()[0])
                    saved["runs"].append(run)
                    n = len([r for r in run["rows"] if r["t"] <= args.budget])
                    print(
                        f"{ds} seed {s} {m}: {n} trials in {time.time() - t_start:.0f} s, "
                        f"load {run['load']:.1f}",
                        flush=True,
                    )
                    jpath.write_text(json.dumps(saved))
    report(saved, out, args.name)
    return 0


def _ms(x: Sequence[float]) -> str:
    a = np.asarray([v for v in x if v == v], dtype=float)
    if a.size == 0:
        return "-"
    se = a.std(ddof=1) / np.sqrt(a.size) if a.size > 1 else 0.0
    return f"{a.mean():.3f} ± {se:.3f}"


def _t(x: float | None) -> str:
    return "never" if x is None else f"{x:.0f} s"


def report(saved: dict, out: Path, name: str) -> None:
    """Tables (markdown) and hypervolume-over-time plots of the saved runs."""
    from slimtune.nas.config import SearchConfig

    budget = float(saved["budget"])
    methods = saved["methods"]
    lines = [
        "# NAS search vs Optuna multi-objective TPE (equal wall-clock, 2 workers each)",
        "",
        f"Budget {budget:.0f} s per run; {saved['machine']}; load average before the run "
        f"{saved['load_before'][0]:.1f} (the machine is shared: ratios measured side by side, "
        "methods alternating per seed). Hypervolume of (1 - val. accuracy, log10 MACs), "
        "reference (1, log10 cap). `complete`: trials trained to the last epoch; `all "
        "evidence`: also the trials the pruner stopped, at the epoch they were stopped.",
        f"Command: `python benchmarks/nas_vs_optuna.py --budget {budget:.0f} --methods "
        f"{','.join(methods)}`.",
        "",
    ]
    datasets = list(dict.fromkeys(r["dataset"] for r in saved["runs"]))
    for ds in datasets:
        cfg = SearchConfig.from_dict(bench_config(ds, 0), base_dir=ROOT)
        cap = float(cfg.constraints["max_macs"])
        full_epochs = int(cfg.fidelity.epochs)
        runs = [r for r in saved["runs"] if r["dataset"] == ds]
        seeds = sorted({r["seed"] for r in runs})
        cols: dict[tuple[str, str], dict[int, dict]] = {}
        for r in runs:
            whiches = ["complete"] if r["method"] == "optuna" else ["complete", "all"]
            for w in whiches:
                cols.setdefault((r["method"], w), {})[r["seed"]] = summarize(
                    r, cap, budget, full_epochs, w
                )
        lines += [
            f"## {ds} (`{CONFIGS[ds]}`, cap {cap:,.0f} MACs, {full_epochs} epochs)",
            "",
            "| method | counted | seed | final HV | HV at 1/4 | 1/2 | 3/4 | trials | trained "
            "to the end | points | best acc. <= cap/4 |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for (m, w), per in cols.items():
            for s in seeds:
                if s not in per:
                    continue
                x = per[s]
                lines.append(
                    f"| {m} | {w} | {s} | {x['hv']:.3f} | "
                    + " | ".join(f"{v:.3f}" for v in x["hv_q"])
                    + f" | {x['trials']} | {x['trained_full']} | {x['points']} | "
                    f"{x['best_small']:.4f} |"
                )
            xs = list(per.values())
            lines.append(
                f"| **{m}** | **{w}** | mean ± s.e. | **{_ms([x['hv'] for x in xs])}** | "
                + " | ".join(_ms([x["hv_q"][j] for x in xs]) for j in range(3))
                + f" | {_ms([x['trials'] for x in xs])} | {_ms([x['trained_full'] for x in xs])}"
                f" | {_ms([x['points'] for x in xs])} | {_ms([x['best_small'] for x in xs])} |"
            )
        lines.append("")
        # time to reach the other's final HV, seed by seed
        if ("optuna", "complete") in cols:
            opt = cols[("optuna", "complete")]
            lines += [
                "Time to reach the other's final hypervolume (per seed; ratio = slimtune's "
                "time to Optuna's final HV / the budget Optuna used for it):",
                "",
                "| method | counted | seed | HV vs Optuna's | t(reach Optuna's final) | ratio "
                "| Optuna's t(reach its final) | Optuna's t(reach this final) |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for (m, w), per in cols.items():
                if m == "optuna":
                    continue
                ratios = []
                for s in seeds:
                    if s not in per or s not in opt:
                        continue
                    x, o = per[s], opt[s]
                    t_s = time_to_reach(x["curve"], x["grid"], o["hv"])
                    t_o_own = time_to_reach(o["curve"], o["grid"], o["hv"])
                    t_o = time_to_reach(o["curve"], o["grid"], x["hv"])
                    ratio = None if t_s is None else t_s / budget
                    ratios.append(np.nan if ratio is None else ratio)
                    lines.append(
                        f"| {m} | {w} | {s} | {x['hv'] - o['hv']:+.3f} | {_t(t_s)} | "
                        f"{'-' if ratio is None else f'{ratio:.2f}'} | {_t(t_o_own)} | "
                        f"{_t(t_o)} |"
                    )
                paired = [s for s in seeds if s in per and s in opt]
                wins = sum(per[s]["hv"] > opt[s]["hv"] for s in paired)
                lines.append(
                    f"| **{m}** | **{w}** | wins {wins}/{len(paired)} | | | median "
                    f"{np.nanmedian(ratios) if ratios else float('nan'):.2f} | | |"
                )
            lines.append("")
        png = out / f"{name}_{ds}.png"
        plot(cols, png, ds, budget)
        lines += [f"![HV over time, {ds}]({png.name})", ""]
    (out / f"{name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


def plot(cols: dict, path: Path, ds: str, budget: float) -> None:
    """Mean ± s.e. band of the hypervolume over time, one line per method and count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for (m, w), per in cols.items():
        curves = np.array([x["curve"] for x in per.values()])
        grid = next(iter(per.values()))["grid"]
        mean = curves.mean(axis=0)
        se = curves.std(axis=0, ddof=1) / np.sqrt(len(curves)) if len(curves) > 1 else 0 * mean
        label = f"{m} ({'complete trials' if w == 'complete' else 'all evidence'})"
        style = "--" if (m != "optuna" and w == "complete") else "-"
        (line,) = ax.plot(grid, mean, style, label=label, lw=1.8)
        ax.fill_between(grid, mean - se, mean + se, color=line.get_color(), alpha=0.12)
    ax.set_xlim(0, budget)
    ax.set_xlabel("wall-clock (s), 2 workers")
    ax.set_ylabel("hypervolume (1 - val. acc., log10 MACs)")
    n = len(next(iter(cols.values())))
    ax.set_title(f"{ds}: front hypervolume over time (mean ± s.e., {n} seeds)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=7, framealpha=0.85)
    lo = min(float(np.array([x["curve"] for x in p.values()])[:, -1].min()) for p in cols.values())
    ax.set_ylim(max(0.0, lo - 0.5), None)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
