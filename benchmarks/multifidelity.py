"""Multi-fidelity benchmark: quality of the incumbent against epochs spent.

Problems
* ``lc``: a family of learning-curve problems (one instance per seed). Each configuration
  (learning rate, width, weight decay, batch size, optimizer) has a loss curve over 1..81
  epochs: a high learning rate starts fast and ends worse (curves cross), wide models with
  little weight decay overfit late (the loss rises again), observations are noisy. The true
  value is the noise-free loss at epoch 81.
* ``digits``: a one-hidden-layer MLP in NumPy (``width // 4`` hidden units, mini-batches of
  ``2 * batch``, SGD with momentum, Adam or RMSprop) trained on 600 images of scikit-learn's
  digits, epochs as the budget (1..81). Observed: validation log-loss after each
  epoch (600 images); true value: test log-loss (597 images) after 81 epochs.

Methods, all at the same total budget of epochs (cost = epochs run)
  random        random search, every trial to 81 epochs (no stopping)
  optuna-tpe-hb Optuna TPESampler + HyperbandPruner(1, 81, 3)
  optuna-tpe-sh Optuna TPESampler + SuccessiveHalvingPruner(1, 3)
  asha          slimtune RandomSampler + SuccessiveHalvingPruner(1, 3, max_resource=81)
  asha-r3       the same with min_resource=3 (first rung at epoch 3)
  asha-r9       slimtune RandomSampler + SuccessiveHalvingPruner(9, 4, max_resource=81): rungs
                at 9 and 36 only (the best fixed setting on both problems in a 10-seed grid,
                see docs/multifidelity.md)
  hyperband     slimtune RandomSampler + HyperbandPruner(1, 81, 3)
  bohb          slimtune presets.bohb(1, 81, 3)
  bohb-paper    the same with pruned_as_bad=False (trials stopped below the modelled budget
                are ignored, as in the paper)
  asha-promo, asha-r9-promo, hyperband-promo, bohb-promo
                the same pruners, promotion type (PromotionASHAPruner /
                PromotionHyperbandPruner): a trial not promotable at a rung is paused with its
                trainer as checkpoint, and resumed from it when it becomes promotable (cost:
                the epochs actually run, never an epoch twice)
  curves        slimtune presets.curves(81): LearningCurvePruner (power-law ensemble, stop when
                the optimistic extrapolated final cannot beat the best) + TPE on predicted finals
  curves-random the same pruner with random sampling (the pruner's share of the gain)

The incumbent after each trial is the best observed configuration at the largest budget
any trial has reached; the curves show its *true* full-budget value (mean over seeds).

    python -m benchmarks.multifidelity --problem lc --seeds 10 --jobs 2
    python -m benchmarks.multifidelity --problem digits --seeds 10 --jobs 2

(default budgets: 50 full runs = 4050 epochs on ``lc``, 30 = 2430 on ``digits``). Every run
is seeded, so a rerun gives the same table (the wall times aside).

Writes ``docs/bench/multifidelity_<problem>.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import slimtune as st

MAX_EPOCHS = 81
METHODS = ["random", "optuna-tpe-hb", "optuna-tpe-sh", "asha", "asha-r3", "asha-r9", "hyperband",
           "bohb", "bohb-paper", "asha-promo", "asha-r9-promo", "hyperband-promo", "bohb-promo",
           "curves", "curves-random"]
BATCHES = [16, 32, 64, 128, 256]
OPTIMIZERS = ["sgd", "adam", "rmsprop"]


def suggest(trial: Any) -> dict[str, Any]:
    """The search space (the same calls for Optuna and slimtune trials)."""
    return {
        "lr": trial.suggest_float("lr", 1e-4, 1.0, log=True),
        "width": trial.suggest_int("width", 8, 512, log=True),
        "wd": trial.suggest_float("wd", 1e-6, 1.0, log=True),
        "batch": trial.suggest_categorical("batch", BATCHES),
        "opt": trial.suggest_categorical("opt", OPTIMIZERS),
    }


# --- problem 1: learning curves --------------------------------------------------------


class LearningCurves:
    """One instance of the learning-curve family (``seed`` moves the optimum)."""

    def __init__(self, seed: int):
        r = np.random.default_rng(1000 + seed)
        self.c_lr = r.uniform(0.35, 0.6)  # best log-lr position (in [0, 1])
        self.c_w = r.uniform(0.55, 0.85)
        self.c_wd = r.uniform(0.3, 0.6)
        self.c_b = r.uniform(0.5, 3.0)
        self.opt_pen = r.permutation([0.0, 0.02, 0.05])
        self.opt_speed = r.permutation([0.7, 1.0, 1.4])
        self.noise_seed = seed

    def curve(self, p: dict[str, Any]) -> np.ndarray:
        """Noise-free loss at epochs 1..81."""
        u_lr = (math.log10(p["lr"]) + 4.0) / 4.0
        u_w = math.log(p["width"] / 8.0) / math.log(64.0)
        u_wd = (math.log10(p["wd"]) + 6.0) / 6.0
        b = BATCHES.index(p["batch"])
        o = OPTIMIZERS.index(p["opt"])
        asym = (
            0.05
            + 0.8 * (u_lr - self.c_lr) ** 2
            + 0.12 * (u_w - self.c_w) ** 2
            + 0.25 * (u_wd - self.c_wd) ** 2
            + 0.012 * abs(b - self.c_b)
            + self.opt_pen[o]
        )
        # Higher learning rates learn faster (and end worse); big batches learn slower.
        tau = 2.0 * 10 ** (1.5 * (self.c_lr + 0.05 - u_lr)) * (1 + 0.2 * b)
        tau = tau / self.opt_speed[o]
        tau = min(max(tau, 0.3), 400.0)
        e = np.arange(1, MAX_EPOCHS + 1, dtype=float)
        loss = asym + (1.2 - asym) * np.exp(-((e / tau) ** 0.8))
        # Wide, weakly regularised models overfit late.
        onset = 15.0 + 50.0 * u_wd
        ovf = 0.25 * u_w * (1.0 - u_wd) ** 2
        loss += ovf * np.maximum(e - onset, 0.0) / MAX_EPOCHS
        return loss

    def run(self, p: dict[str, Any], number: int) -> Trainer:
        c = self.curve(p)
        rng = np.random.default_rng([self.noise_seed, number])
        e = np.arange(1, MAX_EPOCHS + 1)
        obs = c + rng.normal(size=MAX_EPOCHS) * 0.005 * (1 + 2 / np.sqrt(e))
        return _ArrayTrainer(obs, float(c[-1]))

    def true_value(self, p: dict[str, Any]) -> float:
        return float(self.curve(p)[-1])


class Trainer:
    """Gives the observed value after each further epoch."""

    def step(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError


class _ArrayTrainer(Trainer):
    def __init__(self, obs: np.ndarray, true: float):
        self.obs, self.i, self.true = obs, 0, true

    def step(self) -> float:
        v = float(self.obs[self.i])
        self.i += 1
        return v


# --- problem 2: an MLP on digits --------------------------------------------------------


class Digits:
    """A NumPy MLP on scikit-learn digits; a trial's stream of validation log-losses."""

    def __init__(self, seed: int):
        from sklearn.datasets import load_digits

        from slimtune.fidelity import stratified_subset

        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        rng = np.random.default_rng(seed)
        perm = rng.permutation(len(y))
        X, y = X[perm], y[perm]
        tr = stratified_subset(y, n=600, seed=seed)
        rest = np.setdiff1d(np.arange(len(y)), tr)
        va = rest[stratified_subset(y[rest], n=600, seed=seed)]
        te = np.setdiff1d(rest, va)
        self.Xtr, self.ytr = X[tr], y[tr]
        self.Xva, self.yva = X[va], y[va]
        self.Xte, self.yte = X[te], y[te]
        self.seed = seed
        self._true: dict[tuple, float] = {}

    def run(self, p: dict[str, Any], number: int) -> Trainer:
        return _MLP(self, p)

    def true_value(self, p: dict[str, Any]) -> float:
        key = tuple(sorted(p.items()))
        if key not in self._true:
            m = _MLP(self, p)
            for _ in range(MAX_EPOCHS):
                m.step()
            self._true[key] = m.test_loss()
        return self._true[key]


def _log_loss(W1, b1, W2, b2, X, y) -> float:
    H = np.maximum(X @ W1 + b1, 0.0)
    Z = H @ W2 + b2
    Z -= Z.max(axis=1, keepdims=True)
    logp = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


class _MLP(Trainer):
    def __init__(self, prob: Digits, p: dict[str, Any]):
        self.prob, self.p = prob, p
        seed = zlib.crc32(repr((prob.seed, sorted(p.items()))).encode())
        self.rng = np.random.default_rng(seed)
        h = max(int(p["width"]) // 4, 2)  # 2..128 hidden units (keeps the benchmark fast)
        f32 = np.float32
        self.W1 = (self.rng.normal(size=(64, h)) * math.sqrt(2 / 64)).astype(f32)
        self.b1 = np.zeros(h, f32)
        self.W2 = (self.rng.normal(size=(h, 10)) * math.sqrt(1 / h)).astype(f32)
        self.b2 = np.zeros(10, f32)
        self.state = [np.zeros_like(a) for a in (self.W1, self.b1, self.W2, self.b2)]
        self.state2 = [np.zeros_like(a) for a in (self.W1, self.b1, self.W2, self.b2)]
        self.t = 0

    def step(self) -> float:
        P, X, y = self.p, self.prob.Xtr, self.prob.ytr
        lr, wd, bs, opt = P["lr"], P["wd"], 2 * int(P["batch"]), P["opt"]
        if opt != "sgd":
            lr = lr * 0.03  # adaptive methods want smaller steps
        order = self.rng.permutation(len(y))
        params = [self.W1, self.b1, self.W2, self.b2]
        for s in range(0, len(y), bs):
            idx = order[s:s + bs]
            xb, yb = X[idx], y[idx]
            H0 = xb @ self.W1 + self.b1
            H = np.maximum(H0, 0.0)
            Z = H @ self.W2 + self.b2
            Z -= Z.max(axis=1, keepdims=True)
            Pr = np.exp(Z)
            Pr /= Pr.sum(axis=1, keepdims=True)
            Pr[np.arange(len(yb)), yb] -= 1.0
            Pr /= len(yb)
            gW2 = H.T @ Pr + wd * self.W2
            gb2 = Pr.sum(axis=0)
            dH = (Pr @ self.W2.T) * (H0 > 0)
            gW1 = xb.T @ dH + wd * self.W1
            gb1 = dH.sum(axis=0)
            self.t += 1
            for a, g, m, v in zip(params, (gW1, gb1, gW2, gb2), self.state, self.state2):
                if opt == "sgd":
                    m *= 0.9
                    m += g
                    a -= lr * m
                elif opt == "adam":
                    m *= 0.9
                    m += 0.1 * g
                    v *= 0.999
                    v += 0.001 * g * g
                    mh = m / (1 - 0.9**self.t)
                    vh = v / (1 - 0.999**self.t)
                    a -= lr * mh / (np.sqrt(vh) + 1e-8)
                else:
                    v *= 0.99
                    v += 0.01 * g * g
                    a -= lr * g / (np.sqrt(v) + 1e-8)
        val = _log_loss(self.W1, self.b1, self.W2, self.b2, self.prob.Xva, self.prob.yva)
        return val if math.isfinite(val) else 10.0

    def test_loss(self) -> float:
        v = _log_loss(self.W1, self.b1, self.W2, self.b2, self.prob.Xte, self.prob.yte)
        return v if math.isfinite(v) else 10.0


# --- bookkeeping -------------------------------------------------------------------------


@dataclass
class Tracker:
    """Epochs spent and the incumbent's true value after each finished trial."""

    problem: Any
    budget: int
    epochs: int = 0
    best_at: dict[int, tuple[float, dict]] = field(default_factory=dict)
    history: list[tuple[int, float]] = field(default_factory=list)
    _true_cache: dict[tuple, float] = field(default_factory=dict)

    def finish(self, p: dict[str, Any], last_step: int, observed: float) -> None:
        cur = self.best_at.get(last_step)
        if cur is None or observed < cur[0]:
            self.best_at[last_step] = (observed, p)
        top = max(self.best_at)
        inc = self.best_at[top][1]
        key = tuple(sorted(inc.items()))
        if key not in self._true_cache:
            self._true_cache[key] = self.problem.true_value(inc)
        self.history.append((self.epochs, self._true_cache[key]))

    def done(self) -> bool:
        return self.epochs >= self.budget


def make_objective(problem: Any, tracker: Tracker, pruned_exc: type[Exception]) -> Callable:
    def objective(trial: Any) -> float:
        p = suggest(trial)
        tr = problem.run(p, trial.number)
        v = math.nan
        for e in range(1, MAX_EPOCHS + 1):
            v = tr.step()
            tracker.epochs += 1
            trial.report(v, e)
            if trial.should_prune():
                tracker.finish(p, e, v)
                raise pruned_exc()
        tracker.finish(p, MAX_EPOCHS, v)
        return v

    return objective


def make_resuming_objective(problem: Any, tracker: Tracker) -> Callable:
    """The objective for the promotion methods: a promoted trial continues its parent's
    trainer from ``trial.resume_step`` (``trial.load_checkpoint()``); a paused one keeps it."""

    def objective(trial: Any) -> float:
        p = suggest(trial)
        tr = trial.load_checkpoint() or problem.run(p, trial.number)
        v = math.nan
        for e in range(trial.resume_step + 1, MAX_EPOCHS + 1):
            v = tr.step()
            tracker.epochs += 1
            trial.report(v, e)
            if trial.should_prune():
                trial.save_checkpoint(tr)
                tracker.finish(p, e, v)
                raise st.TrialPruned()
        tracker.finish(p, MAX_EPOCHS, v)
        return v

    return objective


def run_method(method: str, problem: Any, seed: int, budget: int) -> list[tuple[int, float]]:
    tracker = Tracker(problem, budget)
    if method.startswith("optuna"):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        pruner = (
            optuna.pruners.HyperbandPruner(min_resource=1, max_resource=MAX_EPOCHS,
                                           reduction_factor=3)
            if method == "optuna-tpe-hb"
            else optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
        )
        # A fixed name per method and seed: Optuna's HyperbandPruner assigns brackets by a
        # hash of the study name, so a random name would make the row irreproducible.
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed),
                                    pruner=pruner, study_name=f"mf-{method}-{seed}")
        obj = make_objective(problem, tracker, optuna.TrialPruned)
    else:
        from benchmarks.optimizers import parse_spec

        method, opts = parse_spec(method)  # "bohb[random_fraction=0.15]": sampler options
        if opts and method not in ("random", "bohb", "bohb-paper", "bohb-promo", "curves",
                                   "curves-random"):
            raise ValueError(f"method {method!r} takes no options (only random and bohb do).")
        if method == "random":
            # NopPruner: a study's default pruner is the median rule (as Optuna's), and
            # this row is random search with no stopping.
            kw: dict[str, Any] = {"sampler": st.samplers.RandomSampler(seed=seed, **opts),
                                  "pruner": st.pruners.NopPruner()}
        elif method == "asha":
            kw = st.presets.asha(1, MAX_EPOCHS, 3, seed=seed)
        elif method == "asha-r3":
            kw = st.presets.asha(3, MAX_EPOCHS, 3, seed=seed)
        elif method == "asha-r9":
            kw = st.presets.asha(9, MAX_EPOCHS, 4, seed=seed)
        elif method == "hyperband":
            kw = st.presets.hyperband(1, MAX_EPOCHS, 3, seed=seed)
        elif method == "bohb":
            kw = st.presets.bohb(1, MAX_EPOCHS, 3, seed=seed, **opts)
        elif method == "bohb-paper":
            kw = st.presets.bohb(1, MAX_EPOCHS, 3, seed=seed, pruned_as_bad=False, **opts)
        elif method in ("curves", "curves-random"):
            kw = curves_method(method, seed, opts)
        elif method.endswith("-promo"):
            from slimtune.multifidelity import MemoryCheckpoints

            mem = MemoryCheckpoints()  # one process per run: no files
            if method == "asha-promo":
                kw = st.presets.asha(1, MAX_EPOCHS, 3, seed=seed, promotion=True,
                                     checkpoints=mem)
            elif method == "asha-r9-promo":
                kw = st.presets.asha(9, MAX_EPOCHS, 4, seed=seed, promotion=True,
                                     checkpoints=mem)
            elif method == "hyperband-promo":
                kw = st.presets.hyperband(1, MAX_EPOCHS, 3, seed=seed, promotion=True,
                                          checkpoints=mem)
            elif method == "bohb-promo":
                kw = st.presets.bohb(1, MAX_EPOCHS, 3, seed=seed, promotion=True,
                                     checkpoints=mem, **opts)
            else:
                raise ValueError(f"unknown method {method!r}; choose from {METHODS}.")
        else:
            raise ValueError(f"unknown method {method!r}; choose from {METHODS}.")
        study = st.create_study(**kw)
        obj = (make_resuming_objective(problem, tracker) if method.endswith("-promo")
               else make_objective(problem, tracker, st.TrialPruned))

    def stop(study: Any, _: Any) -> None:
        if tracker.done():
            study.stop()

    study.optimize(obj, n_trials=100_000, callbacks=[stop])
    return tracker.history


def curves_method(method: str, seed: int, opts: dict[str, Any]) -> dict[str, Any]:
    """The learning-curve model's rows: ``curves[alpha=..,recency=..]`` (pruner options,
    the rest go to TPE), ``curves-random`` (the same pruner, random sampling)."""
    names = ("alpha", "min_resource", "recency", "n_calibration", "check_ratio",
             "n_startup_trials")
    pk = {k: opts.pop(k) for k in names if k in opts}
    kw = st.presets.curves(MAX_EPOCHS, seed=seed, **opts)
    kw["pruner"] = st.pruners.LearningCurvePruner(MAX_EPOCHS, **pk)
    if method == "curves-random":
        kw["sampler"] = st.samplers.RandomSampler(seed=seed)
    return kw


def curve_on_grid(history: list[tuple[int, float]], grid: np.ndarray) -> np.ndarray:
    """Incumbent true value at each epoch count of ``grid`` (NaN before the first trial)."""
    ep = np.array([h[0] for h in history])
    val = np.array([h[1] for h in history])
    pos = np.searchsorted(ep, grid, side="right") - 1
    return np.where(pos >= 0, val[np.maximum(pos, 0)], np.nan)


def first_reach(grid: np.ndarray, curve: np.ndarray, target: float) -> float:
    ok = np.flatnonzero(curve <= target + 1e-12)
    return float(grid[ok[0]]) if len(ok) else math.inf


def _one_thread() -> None:
    try:  # small matrices: BLAS threads only contend with each other
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover
        pass


def _run_task(task: tuple[str, int, str, int]) -> tuple[list[tuple[int, float]], float]:
    """One (method, seed) run: the incumbent history and the wall time in seconds."""
    m, s, problem, budget = task
    logging.getLogger("slimtune").setLevel(logging.WARNING)
    t0 = time.perf_counter()
    prob = LearningCurves(s) if problem == "lc" else Digits(s)
    return run_method(m, prob, s, budget), time.perf_counter() - t0


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problem", choices=["lc", "digits"], default="lc")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=None, help="total epochs per run")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default="docs/bench")
    ap.add_argument("--jobs", type=int, default=1, help="runs in parallel (processes)")
    args = ap.parse_args(argv)
    _one_thread()
    logging.getLogger("slimtune").setLevel(logging.WARNING)
    budget = args.budget or (MAX_EPOCHS * (50 if args.problem == "lc" else 30))
    from benchmarks.run import _split_specs

    methods = _split_specs(args.methods)
    grid = np.unique(np.linspace(1, budget, 200).astype(int))
    curves: dict[str, np.ndarray] = {}
    secs: dict[str, float] = {}
    tasks = [(m, s, args.problem, budget) for m in methods for s in range(args.seeds)]
    if args.jobs > 1:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(args.jobs, initializer=_one_thread) as pool:
            results = pool.map(_run_task, tasks, chunksize=1)
    else:
        results = [_run_task(t) for t in tasks]
    for m in methods:
        mine = [r for t, r in zip(tasks, results) if t[0] == m]
        secs[m] = sum(r[1] for r in mine)
        curves[m] = np.vstack([curve_on_grid(r[0], grid) for r in mine])
        print(f"{m:14s} final {np.nanmean(curves[m][:, -1]):.4f}  ({secs[m]:.1f} s)", flush=True)
    cmd = " ".join(["python -m benchmarks.multifidelity", *(argv if argv is not None
                                                           else sys.argv[1:])])
    report(args.problem, args.seeds, budget, grid, curves, secs, args.out, cmd)


def report(problem: str, seeds: int, budget: int, grid: np.ndarray,
           curves: dict[str, np.ndarray], secs: dict[str, float], out: str,
           cmd: str = "") -> None:
    os.makedirs(out, exist_ok=True)
    fracs = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0]
    idx = [int(np.searchsorted(grid, f * budget, side="left")) for f in fracs]
    idx = [min(i, len(grid) - 1) for i in idx]
    with warnings.catch_warnings():  # all-NaN columns before the first trial ends
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = {m: np.nanmean(c, axis=0) for m, c in curves.items()}
    lines = [
        f"# Multi-fidelity benchmark: `{problem}` ({seeds} seeds, {budget} epochs per run)",
        "",
        *([f"`{cmd}`", ""] if cmd else []),
        "True full-budget value (lower is better) of the incumbent after a share of the "
        "epoch budget; mean ± standard error over seeds.",
        "",
        "| method | " + " | ".join(f"{f:g} ({int(f * budget)} ep)" for f in fracs)
        + " | wall s |",
        "|---" * (len(fracs) + 2) + "|",
    ]
    for m, c in curves.items():
        cells = []
        for i in idx:
            col = c[:, i]
            with warnings.catch_warnings():  # a column before any trial ended is all NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                se = np.nanstd(col) / math.sqrt(max(np.sum(~np.isnan(col)), 1))
                cells.append(f"{np.nanmean(col):.4f} ± {se:.4f}")
        lines.append(f"| {m} | " + " | ".join(cells) + f" | {secs[m]:.0f} |")
    lines += ["", "wall s: the run times of all seeds added up (CPU seconds of the method, "
              "including the problem's own training)."]
    lines.append("")
    def reach(method: str, ref: str) -> tuple[float, float, float] | None:
        """(ref's final mean, epochs until ``method`` reaches it, method's final mean)."""
        if method not in mean or ref not in mean:
            return None
        tgt = mean[ref][-1]
        return tgt, first_reach(grid, mean[method], tgt), mean[method][-1]

    goals = []
    if (g := reach("bohb", "optuna-tpe-hb")) is not None:
        tgt, r, end = g
        goals.append(
            f"- BOHB reaches Optuna TPE+Hyperband's final mean ({tgt:.4f}) after {r:g} epochs "
            f"= {r / budget:.2f} of the budget (goal <= 0.5); BOHB ends at "
            f"{end:.4f} (goal: below {tgt:.4f})."
        )
    if (g := reach("asha", "random")) is not None:
        tgt, r, _ = g
        goals.append(
            f"- ASHA (random sampling) reaches random search's final mean ({tgt:.4f}) after "
            f"{r:g} epochs = {r / budget:.2f} of the budget (goal <= 0.25)."
        )
    for name, what in (("asha-r3", "min_resource=3"), ("asha-r9", "min_resource=9, rf=4")):
        if (g := reach(name, "random")) is not None:
            _, r, end = g
            goals.append(
                f"- ASHA with {what} reaches it after {r:g} epochs = {r / budget:.2f} of the "
                f"budget; it ends at {end:.4f}."
            )
    lines += ["Goals (on the mean curves):", "", *goals, ""]
    lines += [
        "Notes: every trial reports each epoch and asks the pruner; the incumbent is the best "
        "observed configuration at the largest budget reached so far. Every row is "
        "reproducible (Optuna's studies are named `mf-<method>-<seed>`: its HyperbandPruner "
        "assigns brackets by a hash of the study name).",
        "",
    ]
    path = os.path.join(out, f"multifidelity_{problem}.md")
    with open(path, "w") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    print("\n".join(lines))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for m, c in mean.items():
        ax.plot(grid, c, label=m)
    ax.set_xlabel("epochs spent")
    ax.set_ylabel("true full-budget value of the incumbent")
    ax.set_xscale("log")
    ax.set_title(f"{problem}: mean over {seeds} seeds")
    lo = np.nanmin([np.nanmin(c) for c in mean.values()])
    q = int(np.searchsorted(grid, budget / 8))  # show every curve from 1/8 of the budget
    hi = float(np.nanmax([np.nanmax(c[q:]) for c in mean.values()]))
    ax.set_ylim(lo - 0.05 * (hi - lo), hi)
    ax.legend()
    fig.tight_layout()
    fig.savefig(os.path.join(out, f"multifidelity_{problem}.png"), dpi=110)


if __name__ == "__main__":
    main()
