"""Anytime table of ``benchmarks/multifidelity.py`` runs: the learning-curve model vs peers.

Runs the (method, seed) tasks of :mod:`benchmarks.multifidelity` (each method's curves are
kept in ``--cache`` as ``.npz``, so adding a method does not rerun the others) and prints:
the incumbent's true final value at 25 / 50 / 75 / 100 % of the epoch budget (mean ± s.e.
over seeds), the share of the budget each method needs (on the mean curve) to reach each
other method's final, and, on ``lc``, the regret against the family's optimum (estimated
per seed by a dense random search over the true curves, then a local refinement).

    python -m benchmarks.curves_anytime --problem lc --seeds 10 --jobs 2 \
        --methods random,optuna-tpe-hb,asha,hyperband,bohb,curves
"""

from __future__ import annotations

import argparse
import math
import os
import warnings

import numpy as np

from benchmarks import multifidelity as mf


def lc_optimum(seed: int, n: int = 20000) -> float:
    """The smallest true final value of the ``lc`` instance ``seed`` (estimated)."""
    prob = mf.LearningCurves(seed)
    r = np.random.default_rng(seed)
    best, bp = math.inf, None
    for _ in range(n):
        p = {"lr": 10 ** r.uniform(-4, 0), "width": int(round(8 * 64 ** r.uniform())),
             "wd": 10 ** r.uniform(-6, 0), "batch": mf.BATCHES[r.integers(5)],
             "opt": mf.OPTIMIZERS[r.integers(3)]}
        v = prob.true_value(p)
        if v < best:
            best, bp = v, p
    assert bp is not None
    for scale in (0.3, 0.1, 0.03):  # local refinement of the continuous parameters
        for _ in range(300):
            q = dict(bp)
            q["lr"] = float(np.clip(bp["lr"] * 10 ** r.normal(0, scale), 1e-4, 1.0))
            q["wd"] = float(np.clip(bp["wd"] * 10 ** r.normal(0, scale), 1e-6, 1.0))
            q["width"] = int(np.clip(round(bp["width"] * 2 ** r.normal(0, scale)), 8, 512))
            v = prob.true_value(q)
            if v < best:
                best, bp = v, q
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problem", choices=["lc", "digits"], default="lc")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--seed0", type=int, default=0, help="first seed (held-out checks)")
    ap.add_argument("--methods", default="random,optuna-tpe-hb,asha,hyperband,bohb,curves")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--cache", default="/tmp/slimtune-curves-anytime")
    ap.add_argument("--rerun", default="", help="methods to run again despite the cache")
    args = ap.parse_args(argv)
    mf._one_thread()
    budget = mf.MAX_EPOCHS * (50 if args.problem == "lc" else 30)
    grid = np.unique(np.linspace(1, budget, 200).astype(int))
    from benchmarks.run import _split_specs

    methods = _split_specs(args.methods)
    rerun = set(_split_specs(args.rerun)) if args.rerun else set()
    os.makedirs(args.cache, exist_ok=True)

    def path(m: str) -> str:
        safe = "".join(ch if ch.isalnum() or ch in "-_=." else "_" for ch in m)
        tag = f"{args.seeds}" if args.seed0 == 0 else f"{args.seed0}+{args.seeds}"
        return os.path.join(args.cache, f"{args.problem}_{tag}_{safe}.npz")

    todo = [m for m in methods if m in rerun or not os.path.exists(path(m))]
    seeds = range(args.seed0, args.seed0 + args.seeds)
    import multiprocessing as mp

    pool = mp.get_context("fork").Pool(args.jobs, initializer=mf._one_thread)
    try:
        for m in todo:  # one method at a time, saved at once: a cut-off run keeps its rows
            tasks = [(m, s, args.problem, budget) for s in seeds]
            results = pool.map(mf._run_task, tasks, chunksize=1)
            C = np.vstack([mf.curve_on_grid(r[0], grid) for r in results])
            np.savez(path(m), curves=C, secs=np.array([r[1] for r in results]))
            print(f"{m}: done ({sum(r[1] for r in results):.0f} s)", flush=True)
    finally:
        pool.close()
    methods = [m for m in methods if os.path.exists(path(m))]
    curves = {m: np.load(path(m))["curves"] for m in methods}
    fracs = [0.25, 0.5, 0.75, 1.0]
    idx = [min(int(np.searchsorted(grid, f * budget)), len(grid) - 1) for f in fracs]
    print(f"## `{args.problem}`: seeds {args.seed0}-{args.seed0 + args.seeds - 1}, "
          f"{budget} epochs per run\n")
    print("| method | " + " | ".join(f"{int(f * 100)} %" for f in fracs) + " |")
    print("|---" * (len(fracs) + 1) + "|")
    for m, C in curves.items():
        cells = [f"{np.nanmean(C[:, i]):.4f} ± {np.nanstd(C[:, i]) / math.sqrt(len(C)):.4f}"
                 for i in idx]
        print(f"| {m} | " + " | ".join(cells) + " |")
    with warnings.catch_warnings():  # columns before the first trial ends are all NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = {m: np.nanmean(C, axis=0) for m, C in curves.items()}
    print("\nShare of the budget each row needs (mean curve) to reach each column's final "
          "mean (`-`: never):\n")
    print("| method | " + " | ".join(methods) + " |")
    print("|---" * (len(methods) + 1) + "|")
    for m in methods:
        cells = []
        for ref in methods:
            r = mf.first_reach(grid, mean[m], mean[ref][-1])
            cells.append("-" if math.isinf(r) else f"{r / budget:.2f}")
        print(f"| {m} | " + " | ".join(cells) + " |")
    if args.problem == "lc":
        opt = np.array([lc_optimum(s) for s in seeds])
        print(f"\nRegret against the optimum (mean optimum {opt.mean():.4f}), final:\n")
        print("| method | final regret | s.e. |")
        print("|---|---|---|")
        for m, C in curves.items():
            reg = C[:, -1] - opt
            print(f"| {m} | {reg.mean():.4f} | {reg.std() / math.sqrt(len(reg)):.4f} |")


if __name__ == "__main__":
    main()
