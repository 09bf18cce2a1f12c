"""Sampler-only probe of the NAS search: the real space of an example config, exact MACs,
a synthetic accuracy; seconds per run instead of minutes.

Why: `nas_vs_optuna.py` trains every model, so one comparison costs half an hour and its
spread hides sampler effects. Here the objective is what the sampler sees in a NAS search,
without training: the architecture and recipe of `examples/nas_digits.yaml` are suggested by
the same :class:`~slimtune.nas.space.ArchSpace`, MACs are counted exactly by
:func:`~slimtune.nas.profile.profile_spec`, the MACs cap is a constraint (over the cap:
accuracy 0, as `NASObjective` returns), and the accuracy is a smooth saturating function of
log10 MACs plus a learning-rate term and noise:

    acc = 1 - 0.25 exp(-2 (log10 MACs - 3)) - 0.02 (log10 lr - log10 0.006)^2 + N(0, 0.004)

Metric: hypervolume of (1 - acc, log10 MACs), reference (1, log10 cap), of the feasible
trials, as in `nas_vs_optuna.py`; the median MACs of the trials sampled shows where a sampler
spends its budget. Optuna's MOTPE (its defaults, `constraints_func`) and slimtune TPE
variants run the same seeds; paired differences against Optuna with standard errors.

Run: ``python benchmarks/nas_sampler_probe.py --seeds 16 --trials 150``
(writes ``docs/bench/nas_sampler_probe.md``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import slimtune as st  # noqa: E402
from slimtune.multiobjective import hypervolume  # noqa: E402
from slimtune.nas.config import SearchConfig  # noqa: E402
from slimtune.nas.data import load_data  # noqa: E402
from slimtune.nas.profile import profile_spec  # noqa: E402
from slimtune.nas.space import ArchSpace  # noqa: E402

BASE = {"name": "TPESampler", "n_startup_trials": 12}  # the example config's sampler
MO = {"good_weights": "hypervolume", "objective_scales": ["linear", "log"]}
VARIANTS: dict[str, dict[str, Any]] = {
    "slimtune-old": {**BASE},  # the example config before the change
    "slimtune-b0": {**BASE, "branch_weight": 0.0},
    "slimtune-hv-raw": {**BASE, "good_weights": "hypervolume", "branch_weight": 0.0},
    "slimtune-mo": {**BASE, **MO, "branch_weight": 0.0},
    "slimtune-mo-b05": {**BASE, **MO},
    # the NAS defaults + the first 12 trials spread over log10 MACs (slimtune.nas.design)
    "slimtune-spread": {**BASE, **MO, "branch_weight": 0.0, "design": "cost-spread"},
    "optuna-spread": {"design": "cost-spread"},  # the same first design, then Optuna's MOTPE
}


def make_objective(arch: ArchSpace, cap: float, seed: int, optuna_side: bool) -> Any:
    rng = np.random.default_rng(seed)

    def objective(trial: Any) -> tuple[float, float]:
        values = arch.suggest(trial)
        macs = float(profile_spec(arch.to_spec(values)).to_dict()["macs"])
        v = macs / cap - 1.0
        if optuna_side:
            trial.set_user_attr("constraints", [v])
        else:
            trial.set_constraints([v])
        trial.set_user_attr("macs", macs)
        if v > 0:
            return 0.0, macs
        acc = 1 - 0.25 * math.exp(-2.0 * (math.log10(macs) - 3.0))
        acc -= 0.02 * (math.log10(values.get("lr", 0.006)) - math.log10(0.006)) ** 2
        return min(acc + rng.normal(0, 0.004), 1.0), macs

    return objective


def summary(rows: list[tuple[float, float]], cap: float) -> dict[str, Any]:
    macs = np.array([m for m, _ in rows])
    ref = np.array([1.0, math.log10(cap)])
    curve, pts = [], []
    for m, a in rows:  # the hypervolume after each trial
        if m <= cap:
            pts.append((1 - a, math.log10(m)))
        curve.append(float(hypervolume(np.array(pts), ref)) if pts else 0.0)
    return {"hv": curve[-1], "curve": curve, "median_macs": float(np.median(macs)),
            "median_macs_2nd_half": float(np.median(macs[len(macs) // 2:]))}


def trials_to(curve: list[float], target: float) -> int | None:
    """Trials a run needs to reach ``target`` (None: never)."""
    hit = np.nonzero(np.asarray(curve) >= target - 1e-12)[0]
    return int(hit[0]) + 1 if len(hit) else None


def run_one(method: str, arch: ArchSpace, cap: float, seed: int, n: int) -> dict[str, float]:
    directions = ["maximize", "minimize"]
    kw = dict(VARIANTS.get(method, {}))
    design = []
    if kw.pop("design", None) == "cost-spread":
        from slimtune.nas.design import cost_spread_design

        design = cost_spread_design(arch, 12, seed=seed, caps={"max_macs": cap})
    if method.startswith("optuna"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = optuna.samplers.TPESampler(
            seed=seed, constraints_func=lambda t: t.user_attrs["constraints"])
        study = optuna.create_study(directions=directions, sampler=sampler)
        for params in design:
            study.enqueue_trial(params)
        study.optimize(make_objective(arch, cap, seed, True), n_trials=n)
    else:
        cls = getattr(st.samplers, kw.pop("name"))
        study = st.create_study(directions=directions, sampler=cls(seed=seed, **kw))
        for params in design:
            study.enqueue_trial(params)
        study.optimize(make_objective(arch, cap, seed, False), n_trials=n)
    rows = [(t.user_attrs["macs"], t.values[0]) for t in study.trials]
    return summary(rows, cap)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", default="optuna," + ",".join(VARIANTS))
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--seed0", type=int, default=0)
    ap.add_argument("--trials", type=int, default=150)
    ap.add_argument("--config", default="examples/nas_digits.yaml")
    ap.add_argument("--out", default=str(ROOT / "docs" / "bench" / "nas_sampler_probe.md"))
    a = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    logging.getLogger("slimtune").setLevel(logging.ERROR)
    raw = yaml.safe_load((ROOT / a.config).read_text())
    cfg = SearchConfig.from_dict(raw, base_dir=ROOT)
    d = load_data(cfg.data)
    arch = ArchSpace(cfg.model, cfg.train, d.in_channels, d.num_classes, d.input_size)
    cap = float(cfg.constraints["max_macs"])
    methods = a.methods.split(",")
    res: dict[str, list[dict[str, float]]] = {m: [] for m in methods}
    t0 = time.time()
    for seed in range(a.seed0, a.seed0 + a.seeds):
        for m in methods:  # same seed, methods side by side
            res[m].append(run_one(m, arch, cap, seed, a.trials))
        print(f"seed {seed} done ({time.time() - t0:.0f} s): "
              + ", ".join(f"{m} {res[m][-1]['hv']:.3f}" for m in methods), flush=True)
    lines = [
        "# NAS sampler probe: real space, exact MACs, synthetic accuracy",
        "",
        f"`python benchmarks/nas_sampler_probe.py --seeds {a.seeds} --seed0 {a.seed0} "
        f"--trials {a.trials} --methods {a.methods}`; {platform.machine()}, "
        f"{a.trials} sequential trials per run, {a.seeds} seeds. Space and cap of "
        f"`{a.config}`; the accuracy is synthetic (see the script's docstring). HV of "
        "(1 - acc, log10 MACs), reference (1, log10 cap); paired difference against Optuna "
        "MOTPE per seed, mean ± s.e.; wins = seeds with a higher HV than Optuna.",
        "",
        f"| method | HV at {a.trials // 4} trials | HV mean ± s.e. | HV - Optuna (paired) | "
        "wins | trials to Optuna's final (median) | within 1/4 of the trials "
        "| median MACs sampled | median MACs, 2nd half |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    base = np.array([r["hv"] for r in res.get("optuna", [])])
    for m in methods:
        hv = np.array([r["hv"] for r in res[m]])
        se = hv.std(ddof=1) / math.sqrt(len(hv)) if len(hv) > 1 else 0.0
        if len(base) and m != "optuna":
            d = hv - base
            dse = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else 0.0
            diff, wins = f"{d.mean():+.3f} ± {dse:.3f}", f"{int((d > 0).sum())}/{len(d)}"
        else:
            diff, wins = "-", "-"
        mm = np.mean([r["median_macs"] for r in res[m]])
        m2 = np.mean([r["median_macs_2nd_half"] for r in res[m]])
        q = np.array([r["curve"][a.trials // 4 - 1] for r in res[m]])
        qse = q.std(ddof=1) / math.sqrt(len(q)) if len(q) > 1 else 0.0
        reach, quarter = "-", "-"
        if len(base) and m != "optuna":
            need = [trials_to(r["curve"], b) for r, b in zip(res[m], base)]
            ok = np.array([math.inf if k is None else k for k in need], dtype=float)
            med = float(np.median(ok))  # inf when at least half never reach it
            never = int(np.isinf(ok).sum())
            reach = ("never" if math.isinf(med) else f"{med:.0f}") + (
                f" ({never} never)" if never else "")
            quarter = f"{int((ok <= a.trials // 4).sum())}/{len(ok)}"
        lines.append(f"| {m} | {q.mean():.3f} ± {qse:.3f} | {hv.mean():.3f} ± {se:.3f} | "
                     f"{diff} | {wins} | {reach} | {quarter} | {mm:,.0f} | {m2:,.0f} |")
    lines += ["", "Variants (TPESampler keyword arguments):", ""]
    lines += [f"* `{m}`: `{VARIANTS[m]}`" for m in methods if m in VARIANTS]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines) + "\n")
    Path(a.out).with_suffix(".json").write_text(json.dumps({"argv": vars(a), "results": res}))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
