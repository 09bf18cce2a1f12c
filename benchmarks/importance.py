"""slimtune's importance evaluators against Optuna's, on the same trials.

Each problem is a synthetic function whose important parameters are known by
construction. For every problem and seed, one slimtune study is run with random sampling,
copied trial by trial into an Optuna study, and each pair of evaluators (fANOVA, PED-ANOVA,
mean decrease in impurity) rates the same trials. Reported per problem and evaluator:
Spearman's rank correlation between the two importance vectors, how often the two agree on
the most important parameter, and how often each finds the true most important parameter.

    python -m benchmarks.importance --seeds 5 --trials 200   # the table of docs/importance.md
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import slimtune as st
from slimtune import importance as st_importance


def to_optuna_study(study: st.Study) -> Any:
    """An in-memory Optuna study holding a copy of ``study``'s trials (same params,
    distributions, values, states, intermediate values, attributes and times)."""
    import optuna

    def dist(d: Any) -> Any:
        if isinstance(d, st.CategoricalDistribution):
            return optuna.distributions.CategoricalDistribution(list(d.choices))
        if isinstance(d, st.IntDistribution):
            return optuna.distributions.IntDistribution(d.low, d.high, log=d.log, step=d.step)
        return optuna.distributions.FloatDistribution(d.low, d.high, log=d.log, step=d.step)

    states = {s.name: getattr(optuna.trial.TrialState, s.name) for s in st.TrialState}
    out = optuna.create_study(directions=list(study.directions))
    if study.metric_names is not None:
        out.set_metric_names(study.metric_names)
    for t in study.get_trials(deepcopy=False):
        state = states[t.state.name]
        values = t.values if state == optuna.trial.TrialState.COMPLETE else None
        ft = optuna.trial.create_trial(
            state=state,
            values=values,
            params=dict(t.params),
            distributions={k: dist(d) for k, d in t.distributions.items()},
            user_attrs=dict(t.user_attrs),
            system_attrs={k: v for k, v in t.system_attrs.items() if k == "constraints"},
            intermediate_values=dict(t.intermediate_values),
        )
        ft.datetime_start = t.datetime_start
        ft.datetime_complete = t.datetime_complete
        out.add_trial(ft)
    return out


@dataclass
class Problem:
    name: str
    objective: Callable[[Any], float]
    ranking: list[str]  # the parameters from most to least important, by construction
    n_trials: int | None = None  # fewer trials than --trials for the hard problem


def _additive(trial: Any) -> float:
    # weights 8 : 3 : 1 : 0 on four uniform parameters
    x = [trial.suggest_float(f"x{i}", -1.0, 1.0) for i in range(4)]
    return 8 * x[0] ** 2 + 3 * x[1] ** 2 + 1 * x[2] ** 2 + 0 * x[3]


def _mixed(trial: Any) -> float:
    # a log learning rate dominates, then a categorical, then an int; one noise parameter
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    opt = trial.suggest_categorical("opt", ["sgd", "adam", "rmsprop"])
    layers = trial.suggest_int("layers", 1, 8)
    trial.suggest_float("noise", 0.0, 1.0)
    return (
        (math.log10(lr) + 3) ** 2
        + {"sgd": 2.0, "adam": 0.0, "rmsprop": 1.0}[opt]
        + 0.1 * abs(layers - 4)
    )


def _interaction(trial: Any) -> float:
    # a strong main effect plus an interaction; z is weak, w irrelevant
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    z = trial.suggest_float("z", 0.0, 1.0)
    trial.suggest_float("w", 0.0, 1.0)
    return 5 * (x - 0.3) ** 2 + 2 * x * y + y + 0.2 * z


def _steps(trial: Any) -> float:
    # step and integer parameters: a dominant integer, a stepped float, a small categorical
    n = trial.suggest_int("n", 0, 20)
    q = trial.suggest_float("q", 0.0, 1.0, step=0.1)
    k = trial.suggest_categorical("k", [0, 1])
    trial.suggest_int("m", 1, 64, log=True)
    return abs(n - 7) + 3 * abs(q - 0.5) + 0.5 * k


def _noisy8(trial: Any) -> float:
    # eight parameters with geometric weights, three irrelevant, Gaussian noise; few trials
    x = [trial.suggest_float(f"p{i}", -1.0, 1.0) for i in range(8)]
    w = [4.0, 2.0, 1.0, 0.5, 0.25, 0.0, 0.0, 0.0]
    noise = np.random.default_rng(trial.number).normal(0.0, 0.3)
    return float(sum(wi * xi * xi for wi, xi in zip(w, x)) + noise)


PROBLEMS = [
    Problem("additive", _additive, ["x0", "x1", "x2", "x3"]),
    Problem("mixed", _mixed, ["lr", "opt", "layers", "noise"]),
    Problem("interaction", _interaction, ["x", "y", "z", "w"]),
    Problem("steps", _steps, ["n", "q", "k", "m"]),
    Problem("noisy8 (60 trials)", _noisy8, [f"p{i}" for i in range(8)], n_trials=60),
]


def _pairs(seed: int) -> list[tuple[str, Any, Any]]:
    import optuna

    return [
        (
            "fANOVA",
            st_importance.FanovaImportanceEvaluator(seed=seed),
            optuna.importance.FanovaImportanceEvaluator(seed=seed),
        ),
        (
            "PED-ANOVA",
            st_importance.PedAnovaImportanceEvaluator(),
            optuna.importance.PedAnovaImportanceEvaluator(),
        ),
        (
            "MDI",
            st_importance.MeanDecreaseImpurityImportanceEvaluator(seed=seed),
            optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=seed),
        ),
    ]


def spearman(a: dict[str, float], b: dict[str, float]) -> float:
    """Spearman's rank correlation of two importance dicts over the same keys."""
    from scipy.stats import spearmanr

    keys = sorted(a)
    r = spearmanr([a[k] for k in keys], [b[k] for k in keys]).statistic
    return float(r) if np.isfinite(r) else 0.0


def run(seeds: int, n_trials: int) -> list[dict[str, Any]]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    before = st.logging.get_verbosity()
    st.logging.set_verbosity(st.logging.WARNING)
    try:
        return _run(seeds, n_trials)
    finally:
        st.logging.set_verbosity(before)


def _run(seeds: int, n_trials: int) -> list[dict[str, Any]]:
    import optuna

    rows = []
    for prob in PROBLEMS:
        acc: dict[str, dict[str, list[float]]] = {}
        for seed in range(seeds):
            study = st.create_study(sampler=st.samplers.RandomSampler(seed=seed))
            study.optimize(prob.objective, n_trials=prob.n_trials or n_trials)
            twin = to_optuna_study(study)
            for label, ours, theirs in _pairs(seed):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t0 = time.perf_counter()
                    a = st_importance.get_param_importances(study, evaluator=ours)
                    t1 = time.perf_counter()
                    b = optuna.importance.get_param_importances(twin, evaluator=theirs)
                    t2 = time.perf_counter()
                d = acc.setdefault(
                    label, {k: [] for k in ("rho", "top1", "ours", "optuna", "t_ours", "t_optuna")}
                )
                d["rho"].append(spearman(a, b))
                d["top1"].append(float(next(iter(a)) == next(iter(b))))
                d["ours"].append(float(next(iter(a)) == prob.ranking[0]))
                d["optuna"].append(float(next(iter(b)) == prob.ranking[0]))
                d["t_ours"].append(t1 - t0)
                d["t_optuna"].append(t2 - t1)
        for label, d in acc.items():
            row: dict[str, Any] = {"problem": prob.name, "evaluator": label}
            for k, v in d.items():
                arr = np.asarray(v)
                row[k] = (
                    float(arr.mean()),
                    float(arr.std(ddof=1) / math.sqrt(len(arr))) if len(arr) > 1 else 0.0,
                )
            rows.append(row)
    return rows


def table(rows: list[dict[str, Any]], seeds: int, n_trials: int) -> str:
    lines = [
        f"Importance evaluators, slimtune vs Optuna on the same trials ({seeds} seeds x "
        f"{n_trials} random-search trials per problem unless named; mean ± standard error "
        "over seeds).",
        "",
        "| problem | evaluator | Spearman ρ | same top-1 | true top-1 (slimtune) | "
        "true top-1 (Optuna) | time slimtune (s) | time Optuna (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def f(k: str, p: int = 2, r: dict[str, Any] = r) -> str:
            m, s = r[k]
            return f"{m:.{p}f} ± {s:.{p}f}"

        lines.append(
            f"| {r['problem']} | {r['evaluator']} | {f('rho')} | {f('top1')} | {f('ours')} | "
            f"{f('optuna')} | {f('t_ours', 3)} | {f('t_optuna', 3)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--out", default=None, help="write the markdown table here too")
    a = ap.parse_args(argv)
    text = table(run(a.seeds, a.trials), a.seeds, a.trials)
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
