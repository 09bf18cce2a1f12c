"""Record, then compare, the exact trials every sampler and pruner produces for fixed seeds.

A refactor that does not change an algorithm must not change a single trial. This script
runs each sampler (and the pruners, with intermediate values) on small problems that cover
float/log/step/int/categorical, conditional and multi-objective spaces, and writes every
trial's state, params and values to a JSON file. Run it before and after a change:

    python -m benchmarks.same_trials --out /tmp/before.json
    ... change the code ...
    python -m benchmarks.same_trials --compare /tmp/before.json

``--compare`` exits 1 and names the first differing trial of each run that changed.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from typing import Any

import slimtune as st


def _mixed(trial: Any) -> float:
    x = trial.suggest_float("x", -3.0, 3.0)
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    q = trial.suggest_float("q", 0.0, 1.0, step=0.25)
    n = trial.suggest_int("n", 1, 9)
    w = trial.suggest_int("w", 8, 256, log=True)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    y = (x - 1.0) ** 2 + (math.log10(lr) + 2.0) ** 2 + (q - 0.5) ** 2 + abs(n - 4) * 0.3
    y += abs(math.log2(w) - 5.0) * 0.2
    if kind == "a":
        y += trial.suggest_float("a_gain", 0.0, 2.0) ** 2
    elif kind == "b":
        y += 0.5 + 0.1 * trial.suggest_int("b_depth", 1, 4)
    else:
        y += 1.0
    return y


def _two(trial: Any) -> tuple[float, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    k = trial.suggest_categorical("k", [0, 1])
    return x + 0.1 * k, (1 - x) ** 2 + y**2 + 0.1 * (1 - k)


def _curve(trial: Any) -> float:
    x = trial.suggest_float("x", -2.0, 2.0)
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    loss = 1.0
    for epoch in range(1, 28):
        loss = (x - 0.5) ** 2 + 1.0 / (1.0 + lr * epoch * 3) + 0.01 * ((epoch * 7) % 3)
        trial.report(loss, epoch)
        if trial.should_prune():
            raise st.TrialPruned()
    return loss


def _sqlite_url(seed: int) -> str:
    import os
    import tempfile

    path = os.path.join(tempfile.mkdtemp(prefix="slimtune-same-"), f"s{seed}.db")
    return f"sqlite:///{path}"


Case = tuple[str, Callable[[int], dict[str, Any]], Callable[[Any], Any], int]


def _cases() -> list[Case]:
    S = st.samplers
    P = st.pruners
    one = {"direction": "minimize"}
    two = {"directions": ["minimize", "minimize"]}
    return [
        ("random/mixed", lambda s: {**one, "sampler": S.RandomSampler(seed=s)}, _mixed, 40),
        ("qmc/mixed", lambda s: {**one, "sampler": S.QMCSampler(seed=s)}, _mixed, 40),
        ("tpe/mixed", lambda s: {**one, "sampler": S.TPESampler(seed=s)}, _mixed, 60),
        (
            "tpe-indep/mixed",
            lambda s: {**one, "sampler": S.TPESampler(seed=s, multivariate=False)},
            _mixed,
            40,
        ),
        (
            "tpe-sqlite/mixed",
            lambda s: {**one, "sampler": S.TPESampler(seed=s), "storage": _sqlite_url(s)},
            _mixed,
            40,
        ),
        ("tpe/two", lambda s: {**two, "sampler": S.TPESampler(seed=s)}, _two, 40),
        ("motpe/two", lambda s: {**two, "sampler": S.MOTPESampler(seed=s)}, _two, 30),
        ("gp/mixed", lambda s: {**one, "sampler": S.GPSampler(seed=s)}, _mixed, 25),
        ("gp/two", lambda s: {**two, "sampler": S.GPSampler(seed=s)}, _two, 20),
        ("auto/mixed", lambda s: {**one, "sampler": S.AutoSampler(seed=s)}, _mixed, 30),
        ("auto/two", lambda s: {**two, "sampler": S.AutoSampler(seed=s)}, _two, 20),
        (
            "tpe+median/curve",
            lambda s: {**one, "sampler": S.TPESampler(seed=s), "pruner": P.MedianPruner()},
            _curve,
            40,
        ),
        (
            "tpe+asha/curve",
            lambda s: {
                **one,
                "sampler": S.TPESampler(seed=s),
                "pruner": P.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
            },
            _curve,
            40,
        ),
        (
            "tpe+hyperband/curve",
            lambda s: {
                **one,
                "sampler": S.TPESampler(seed=s),
                "pruner": P.HyperbandPruner(min_resource=1, max_resource=27),
            },
            _curve,
            40,
        ),
        (
            "bohb/curve",
            lambda s: {**one, **st.presets.bohb(min_resource=1, max_resource=27, seed=s)},
            _curve,
            50,
        ),
    ]


def _record(seeds: int, only: str | None) -> dict[str, Any]:
    import logging

    logging.getLogger("slimtune").setLevel(logging.ERROR)
    out: dict[str, Any] = {}
    for name, make, func, n in _cases():
        if only and only not in name:
            continue
        for seed in range(seeds):
            t0 = time.perf_counter()
            study = st.create_study(**make(seed))
            study.optimize(func, n_trials=n)
            rows = []
            for t in study.trials:
                rows.append(
                    {
                        "number": t.number,
                        "state": t.state.name,
                        "params": {k: t.params[k] for k in sorted(t.params)},
                        "values": t.values,
                        "last_step": t.last_step,
                    }
                )
            out[f"{name}#{seed}"] = rows
            print(f"{name}#{seed}: {n} trials in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return out


def _compare(before: dict[str, Any], after: dict[str, Any]) -> int:
    bad = 0
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            print(f"{key}: only in {'after' if a is None else 'before'}")
            bad += 1
            continue
        for ra, rb in zip(a, b):
            if ra != rb:
                print(f"{key}: trial {ra['number']} differs:\n  before {ra}\n  after  {rb}")
                bad += 1
                break
        else:
            if len(a) != len(b):
                print(f"{key}: {len(a)} trials before, {len(b)} after")
                bad += 1
    n = len(set(before) | set(after))
    print(f"{n - bad} of {n} runs identical" + ("" if bad else " (all)"))
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--only", help="run only the cases whose name contains this")
    ap.add_argument("--out", help="write the trials to this JSON file")
    ap.add_argument("--compare", help="compare with the trials in this JSON file")
    args = ap.parse_args(argv)
    got = _record(args.seeds, args.only)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(got, f, indent=0, sort_keys=True)
    if args.compare:
        with open(args.compare) as f:
            before = json.load(f)
        if args.only:
            before = {k: v for k, v in before.items() if args.only in k}
        return _compare(before, got)
    return 0


if __name__ == "__main__":
    sys.exit(main())
