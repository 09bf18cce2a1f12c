"""A model of learning curves: predict a trial's *final* value, with uncertainty, from a
partial curve, and a pruner and a sampler collector that decide by it.

Why: on a family whose early epochs do not rank the final (curves cross: fast learners end
worse), any rule that stops by the current value anti-selects. This model extrapolates each
curve to the full budget instead, and stops a trial only when even its optimistic final is
worse than the best final seen or predicted so far (Domhan et al. 2015's rule, with a
power-law ensemble in the spirit of Kadra et al. 2023's DPL, but closed-form and in NumPy).

The model (:class:`LearningCurveModel`), per curve ``y(t)`` (losses; smaller is better):

* an ensemble of power laws ``y(t) = a + b * t**-c`` over a fixed grid of exponents ``c``;
  for each ``c`` the pair ``(a, b)`` is the closed-form least-squares fit, so all curves and
  all exponents are fitted at once with array sums, no optimiser and no randomness;
* the members are weighted by their likelihood ``exp(-SSE_c / (2 sigma^2))`` times a prior
  over ``c``; ``sigma`` (the observation noise) and the prior are *shared across trials*:
  the noise is pooled over every curve's residuals, the prior is the average posterior of
  the curves that reached the full budget (half-and-half with a flat prior);
* the prediction at the horizon is the mixture's mean and standard deviation (the spread
  between members plus each member's parameter and noise variance);
* **calibration**: the curves that reached the full budget are cut at the same step as the
  curve being judged, predicted from the cut, and their standardised errors
  ``(final - mean) / sd`` give the empirical ``alpha`` quantile and median that replace
  the Gaussian ones (split-conformal style), so a family that the power law fits badly
  (late overfitting, stretched exponentials) is judged by how wrong the model was on it.

:class:`LearningCurvePruner` stops a trial at a check step when its optimistic final (the
``alpha`` lower quantile, in loss space) is worse than the best final of the complete
trials; with several objectives, when the optimistic final point is dominated by one of
their final points. Objectives that do not change
over the steps (MACs, parameters, known before training) are used as they are.
:class:`PredictedFinalCollector` lets :class:`~slimtune.samplers.TPESampler` fit on
predicted finals of pruned trials instead of their last (early) values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.multifidelity.rungs import is_nan_value
from slimtune.multifidelity.schedule import auto_max_resource, check_int
from slimtune.multiobjective import to_losses
from slimtune.pruners.base import BasePruner
from slimtune.samplers.tpe import Observations
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = [
    "CurvePrediction",
    "LearningCurveModel",
    "LearningCurvePruner",
    "PredictedFinalCollector",
    "curves_to_array",
    "check_steps",
]

#: the default exponent grid of the power-law ensemble (0.02 .. 3, log-spaced)
DEFAULT_EXPONENTS = tuple(float(c) for c in np.geomspace(0.02, 3.0, 48))


@dataclass(frozen=True)
class CurvePrediction:
    """Predicted final values: ``mean`` and ``sd`` (n,), and the number of points seen."""

    mean: np.ndarray
    sd: np.ndarray
    n_points: np.ndarray

    def lower(self, z: float | np.ndarray) -> np.ndarray:
        """``mean + z * sd`` (``z < 0``: an optimistic bound on a loss)."""
        return self.mean + np.asarray(z, dtype=float) * self.sd


def curves_to_array(
    curves: Sequence[Mapping[int, float]], horizon: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, Y)``: the union of the curves' steps (T,) up to ``horizon`` and an (n, T)
    array of their values, NaN where a curve has no report at that step."""
    allsteps = sorted({s for c in curves for s in c if horizon is None or s <= horizon})
    steps = np.asarray(allsteps, dtype=float)
    Y = np.full((len(curves), len(steps)), np.nan)
    pos = {s: j for j, s in enumerate(allsteps)}
    for i, c in enumerate(curves):  # one pass per curve to build the array, not per decision
        if c:
            js = [pos[s] for s in c if s in pos]
            Y[i, js] = [float(c[s]) for s in c if s in pos]
    return steps, Y


class LearningCurveModel:
    """A power-law ensemble fitted per curve with a prior shared across curves.

    Args:
        horizon: the step whose value is predicted (the full budget, e.g. the last epoch).
        exponents: the grid of exponents ``c`` of ``a + b * t**-c``.
        min_points: curves with fewer points get an infinite ``sd`` (not judged).
        recency: points are weighted by ``(t / horizon) ** recency`` (the noise at step
            ``t`` is taken as ``sigma^2 / weight``): later points say more about the
            final, so a curve that has flattened is not extrapolated by its early drop.

    >>> import numpy as np
    >>> t = np.arange(1.0, 21.0)
    >>> m = LearningCurveModel(horizon=81).fit(t, (0.1 + 0.9 * t**-0.5)[None, :])
    >>> round(float(m.predict(t, (0.1 + 0.9 * t**-0.5)[None, :]).mean[0]), 2)  # true: 0.2
    0.2
    """

    def __init__(
        self,
        horizon: float,
        exponents: Sequence[float] = DEFAULT_EXPONENTS,
        min_points: int = 3,
        recency: float = 1.0,
    ):
        if not (isinstance(horizon, (int, float)) and horizon > 0):
            raise ValueError(f"horizon must be a positive number, got {horizon!r}.")
        c = np.asarray(exponents, dtype=float)
        if c.ndim != 1 or len(c) == 0 or np.any(c <= 0):
            raise ValueError(f"exponents must be positive numbers, got {exponents!r}.")
        self.horizon = float(horizon)
        self.exponents = c
        self.min_points = check_int("min_points", min_points, 2)
        if not (isinstance(recency, (int, float)) and recency >= 0):
            raise ValueError(f"recency must be a number >= 0, got {recency!r}.")
        self.recency = float(recency)
        self.noise = 0.0
        self.log_prior = np.full(len(c), -math.log(len(c)))

    # --- the fit of every curve and exponent at once ---------------------------------
    def _members(self, steps: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
        """Least-squares ``(a, b)`` per curve and exponent, their SSE and what the
        predictive variance needs; shapes (n, k)."""
        M = ~np.isnan(Y)
        y = np.where(M, Y, 0.0)
        logt = np.log(np.maximum(steps, 1e-12))
        X = np.exp(-self.exponents[:, None] * logt[None, :])  # (k, T)
        Mf = M * (np.maximum(steps, 1e-12) / self.horizon)[None, :] ** self.recency
        wy = Mf * y
        S0 = Mf.sum(axis=1)[:, None]  # (n, 1)
        S1 = Mf @ X.T  # (n, k)
        S2 = Mf @ (X * X).T
        Sy = wy.sum(axis=1)[:, None]
        Sxy = wy @ X.T
        Syy = (wy * y).sum(axis=1)[:, None]
        det = S0 * S2 - S1 * S1
        ok = det > 1e-12 * np.maximum(S0 * S2, 1e-300)
        safe = np.where(ok, det, 1.0)
        b = np.where(ok, (S0 * Sxy - S1 * Sy) / safe, 0.0)
        S0s = np.where(S0 > 0, S0, 1.0)
        a = np.where(ok, (Sy - b * S1) / S0s, Sy / S0s)
        sse = np.maximum(Syy - a * Sy - b * Sxy, 0.0)
        xh = self.horizon ** (-self.exponents)[None, :]  # (1, k)
        lev = np.where(ok, (S2 - 2 * xh * S1 + xh * xh * S0) / safe, np.inf)
        return {"a": a, "b": b, "sse": sse, "lev": lev, "n": M.sum(axis=1), "xh": xh}

    def fit(self, steps: np.ndarray, Y: np.ndarray, full: np.ndarray | None = None) -> Any:
        """Learn the shared noise level from every curve of ``Y`` (n, T) at ``steps`` (T,),
        and the prior over exponents from the rows marked ``full`` (default: the curves
        that reach the horizon). Returns ``self``."""
        steps = np.asarray(steps, dtype=float)
        Y = np.asarray(Y, dtype=float).reshape(-1, len(steps))
        f = self._members(steps, Y)
        n = f["n"]
        use = n > 3
        dof = float(np.sum(n[use] - 3))
        best = f["sse"].min(axis=1)
        noise = math.sqrt(float(np.sum(best[use])) / dof) if dof > 0 else 0.0
        # a floor at 1e-3 of the values' range: noise-free curves are still only nearly
        # power laws on the exponent grid
        span = float(np.nanmax(Y) - np.nanmin(Y)) if np.any(~np.isnan(Y)) else 0.0
        self.noise = max(noise, 1e-3 * span)
        if full is None:
            last = np.isin(steps, [self.horizon])
            full = (~np.isnan(Y[:, last])).any(axis=1) if last.any() else np.zeros(len(Y), bool)
        k = len(self.exponents)
        flat = np.full(k, 1.0 / k)
        prior = flat
        if np.any(full):
            w = self._weights(f, np.full((len(Y), k), -math.log(k)))[np.asarray(full)]
            prior = 0.5 * flat + 0.5 * w.mean(axis=0)
        self.log_prior = np.log(prior)
        return self

    def _sigma2(self) -> float:
        return max(self.noise, 1e-9) ** 2

    def _weights(self, f: dict[str, np.ndarray], log_prior: np.ndarray) -> np.ndarray:
        logw = log_prior - f["sse"] / (2.0 * self._sigma2())
        logw -= logw.max(axis=1, keepdims=True)
        w = np.exp(logw)
        return w / w.sum(axis=1, keepdims=True)

    def predict(self, steps: np.ndarray, Y: np.ndarray) -> CurvePrediction:
        """The predicted value at the horizon of each curve of ``Y`` (n, T) at ``steps``."""
        steps = np.asarray(steps, dtype=float)
        Y = np.asarray(Y, dtype=float).reshape(-1, len(steps))
        f = self._members(steps, Y)
        w = self._weights(f, np.broadcast_to(self.log_prior, f["a"].shape))
        mu_k = f["a"] + f["b"] * f["xh"]
        mean = np.sum(w * mu_k, axis=1)
        s2 = self._sigma2()
        var_k = s2 * (1.0 + f["lev"])
        var = np.sum(w * (np.where(np.isfinite(var_k), var_k, 0.0) + (mu_k - mean[:, None]) ** 2),
                     axis=1)
        sd = np.sqrt(var)
        n = f["n"]
        # a flat curve (a known-before-training value such as MACs) is used as it is
        flatc = np.nanmax(Y, axis=1, initial=-np.inf) == np.nanmin(Y, axis=1, initial=np.inf)
        last = _last_value(Y)
        flatc &= n >= 2
        mean = np.where(flatc, last, mean)
        sd = np.where(flatc, 0.0, sd)
        sd = np.where((n < self.min_points) & ~flatc, np.inf, sd)
        return CurvePrediction(mean, sd, n)

    def calibration(self, steps: np.ndarray, Y_full: np.ndarray, at: float) -> np.ndarray:
        """Standardised errors ``(final - mean) / sd`` of full curves ``Y_full`` predicted
        from their reports up to step ``at`` (their finals: the value at the horizon)."""
        steps = np.asarray(steps, dtype=float)
        Y_full = np.asarray(Y_full, dtype=float).reshape(-1, len(steps))
        hz = np.flatnonzero(steps == self.horizon)
        if len(Y_full) == 0 or len(hz) == 0:
            return np.zeros(0)
        final = Y_full[:, hz[0]]
        cut = np.where(steps[None, :] <= at, Y_full, np.nan)
        p = self.predict(steps, cut)
        ok = np.isfinite(p.sd) & (p.sd > 0) & np.isfinite(final)
        return (final[ok] - p.mean[ok]) / p.sd[ok]


def _last_value(Y: np.ndarray) -> np.ndarray:
    """The last non-NaN value of each row (NaN for an empty row)."""
    M = ~np.isnan(Y)
    idx = np.where(M.any(axis=1), Y.shape[1] - 1 - np.argmax(M[:, ::-1], axis=1), 0)
    v = Y[np.arange(len(Y)), idx]
    return np.where(M.any(axis=1), v, np.nan)


def check_steps(min_resource: int, max_resource: int, ratio: float) -> np.ndarray:
    """The steps at which the pruner decides: ``min_resource * ratio**k`` rounded, below
    ``max_resource`` (geometric, so that the number of decisions grows with log t)."""
    if max_resource <= min_resource:
        return np.zeros(0)
    n = int(math.ceil(math.log(max_resource / min_resource) / math.log(ratio))) + 1
    s = np.unique(np.round(min_resource * ratio ** np.arange(n)))
    return s[s < max_resource]


class _CurveMemo:
    """A pure memo of the finished trials' curves as one (n, horizon, m) array of losses at
    steps 1..horizon (NaN where not reported): finished trials never change, so each one's
    reports are turned into a row once, and a decision costs array work only."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] = ()
        self.ids: list[int] = []
        self.pos: dict[int, int] = {}
        self.Y = np.zeros((0, 0, 0))

    @staticmethod
    def row(t: FrozenTrial, directions: Sequence[str], horizon: int) -> np.ndarray:
        """One trial's losses at steps 1..horizon, (horizon, m), NaN where not reported
        (or everywhere when its reports do not match the objectives)."""
        m = len(directions)
        out = np.full((horizon, m), np.nan)
        iv = t.intermediate_values
        st = [s for s in iv if 1 <= s <= horizon]
        if st:
            V = [np.atleast_1d(np.asarray(iv[s], dtype=float)) for s in st]
            if all(len(v) == m for v in V):
                out[np.asarray(st, dtype=int) - 1] = to_losses(np.array(V), directions)
        return out

    def finished(
        self, trials: Sequence[FrozenTrial], directions: Sequence[str], horizon: int,
        exclude: int,
    ) -> np.ndarray:
        """The (n, horizon, m) losses of the finished trials other than ``exclude``."""
        key = (tuple(directions), horizon)
        if key != self.key:
            self.key, self.ids, self.pos = key, [], {}
            self.Y = np.zeros((0, horizon, len(directions)))
        fin = [t for t in trials if t.state.is_finished() and t.trial_id != exclude]
        new = [t for t in fin if t.trial_id not in self.pos]
        if new:
            rows = np.stack([self.row(t, directions, horizon) for t in new])
            for t in new:
                self.pos[t.trial_id] = len(self.ids)
                self.ids.append(t.trial_id)
            self.Y = np.concatenate([self.Y, rows])
        idx = np.fromiter((self.pos[t.trial_id] for t in fin), dtype=int, count=len(fin))
        return self.Y[idx]


class LearningCurvePruner(BasePruner):
    """Stop a trial when the learning-curve model says it will not beat the best final.

    At each check step (``min_resource * check_ratio**k``, below ``max_resource``) the
    trial's curve so far is extrapolated to ``max_resource`` by :class:`LearningCurveModel`
    (fitted on all the study's curves); the trial is stopped when its optimistic final (the
    ``alpha`` lower quantile of a loss, calibrated on the curves that reached the full
    budget) is worse than the best final of the complete trials (feasible ones, with
    constraints). Several objectives: stopped when the optimistic final point is dominated
    by one of their final points. Values that stay constant over the
    steps (MACs, known before training) are used as they are. A pruned trial stores its
    predicted final (``"lc:final"``) for :class:`PredictedFinalCollector`.

    Args:
        max_resource: the full budget (the step of the final value); ``"auto"``: the last
            step of the first complete trial(s) (no pruning before one completes).
        min_resource: the first check step (at least 2 reports are needed).
        alpha: stop only when the model gives the trial less than this probability of
            ending better than the best (smaller = more careful).
        n_startup_trials: no pruning until this many trials have completed.
        check_ratio: the check steps grow by this factor.
        n_calibration: with at least this many full curves, the optimistic bound is the
            empirical ``alpha`` quantile of their standardised errors when cut at the same
            step (conformal calibration); before, the Gaussian quantile.
        recency: the model's weighting of later points (:class:`LearningCurveModel`).

    >>> import slimtune as st
    >>> study = st.create_study(pruner=st.pruners.LearningCurvePruner(max_resource=81))
    """

    def __init__(
        self,
        max_resource: int | str = "auto",
        min_resource: int = 3,
        alpha: float = 0.05,
        n_startup_trials: int = 3,
        check_ratio: float = 1.25,
        n_calibration: int = 5,
        recency: float = 1.0,
    ):
        if max_resource != "auto":
            check_int("max_resource", max_resource, 2)
        self.max_resource = max_resource
        self.min_resource = check_int("min_resource", min_resource, 2)
        if not (isinstance(alpha, (int, float)) and 0.0 < alpha < 0.5):
            raise ValueError(f"alpha must be in (0, 0.5), got {alpha!r}; e.g. alpha=0.05.")
        self.alpha = float(alpha)
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, 1)
        if not (isinstance(check_ratio, (int, float)) and check_ratio > 1.0):
            raise ValueError(f"check_ratio must be > 1, got {check_ratio!r}; e.g. 1.25.")
        self.check_ratio = float(check_ratio)
        self.n_calibration = check_int("n_calibration", n_calibration, 1)
        LearningCurveModel(2, recency=recency)  # validates it
        self.recency = float(recency)
        self._z = NormalDist().inv_cdf(self.alpha)
        self._memo = _CurveMemo()

    def horizon(self, trials: Sequence[FrozenTrial]) -> int | None:
        """The full budget: ``max_resource``, or the ``"auto"`` value from ``trials``."""
        if self.max_resource == "auto":
            return auto_max_resource(trials)
        return int(self.max_resource)  # type: ignore[arg-type]

    def _is_check(self, iv: Mapping[int, Any], horizon: int) -> bool:
        steps = sorted(iv)
        step = steps[-1]
        prev = steps[-2] if len(steps) > 1 else 0
        if step >= horizon:
            return False
        cs = check_steps(self.min_resource, horizon, self.check_ratio)
        return bool(np.any((cs > prev) & (cs <= step)))

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        iv = trial.intermediate_values
        if not iv:
            return False
        step = max(iv)
        if is_nan_value(iv[step]):
            return True
        if self.max_resource != "auto" and not self._is_check(iv, int(self.max_resource)):
            return False
        trials = study.get_trials(deepcopy=False)
        horizon = self.horizon(trials)
        if horizon is None or not self._is_check(iv, horizon):
            return False
        complete = [t for t in trials if t.state == TrialState.COMPLETE and t.values]
        if len(complete) < self.n_startup_trials:
            return False
        pred = self.predict_final(study, trial, trials, horizon)
        if pred is None:
            return False
        mean, lower = pred
        ref = self._reference(study, trials, trial, horizon)
        if ref.size == 0:
            return False
        if ref.shape[1] == 1:
            stop = bool(lower[0] > ref[:, 0].min())
        else:
            stop = bool(np.any(np.all(ref <= lower, axis=1) & np.any(ref < lower, axis=1)))
        if stop:
            signs = np.array([1.0 if d == "minimize" else -1.0 for d in study.directions])
            v = [float(x) for x in signs * mean]
            study.set_trial_system_attr(trial.trial_id, keys.LC_FINAL, v)
        return stop

    # --- the model on the study's curves --------------------------------------------
    def predict_final(
        self, study: Study, trial: FrozenTrial, trials: Sequence[FrozenTrial], horizon: int
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """(median, optimistic lower bound) of ``trial``'s final losses (one per objective),
        from the model fitted on the finished ``trials`` and calibrated at the trial's
        current step; None when its reports do not match the study's objectives."""
        directions = study.directions
        m = len(directions)
        step = max(trial.intermediate_values)
        cur = self._memo.row(trial, directions, horizon)
        if np.all(np.isnan(cur)):
            return None
        Yf = self._memo.finished(trials, directions, horizon, trial.trial_id)
        steps = np.arange(1.0, horizon + 1.0)
        full = ~np.isnan(Yf[:, -1, :]).any(axis=1) if len(Yf) else np.zeros(0, bool)
        means, lows = np.zeros(m), np.zeros(m)
        for j in range(m):  # objectives: a few; all curves are fitted at once
            Y = Yf[:, :, j]
            model = LearningCurveModel(horizon, recency=self.recency).fit(steps, Y, full)
            p = model.predict(steps, cur[None, :, j])
            z = model.calibration(steps, Y[full], at=step)
            zq, zmed = self._z, 0.0
            if len(z) >= self.n_calibration:
                zq, zmed = (float(q) for q in np.quantile(z, [self.alpha, 0.5]))
            means[j] = p.mean[0] + zmed * p.sd[0] if np.isfinite(p.sd[0]) else p.mean[0]
            lows[j] = p.mean[0] + zq * p.sd[0] if np.isfinite(p.sd[0]) else -np.inf
        return means, lows

    def _reference(
        self, study: Study, trials: Sequence[FrozenTrial], trial: FrozenTrial, horizon: int
    ) -> np.ndarray:
        """Loss rows of the complete trials' final values (the front to beat); with
        constraints, only feasible trials count. Predicted finals of pruned trials are not
        used: a prediction is not evidence enough to stop another trial."""
        directions = study.directions
        m = len(directions)
        rows = []
        for t in trials:
            if t.trial_id == trial.trial_id:
                continue
            c = t.system_attrs.get(keys.CONSTRAINTS)
            if c and any(float(x) > 0 for x in c):
                continue
            if t.state == TrialState.COMPLETE and t.values and len(t.values) == m:
                rows.append(list(t.values))
        if not rows:
            return np.zeros((0, m))
        L = to_losses(np.array(rows, dtype=float).reshape(len(rows), m), directions)
        return L[np.all(np.isfinite(L), axis=1)]

    def __repr__(self) -> str:
        return (
            f"LearningCurvePruner(max_resource={self.max_resource!r}, min_resource="
            f"{self.min_resource}, alpha={self.alpha}, n_startup_trials="
            f"{self.n_startup_trials}, check_ratio={self.check_ratio}, n_calibration="
            f"{self.n_calibration}, recency={self.recency})"
        )


class PredictedFinalCollector:
    """A TPE observation collector that ranks pruned trials by their predicted final
    (``"lc:final"``, stored by :class:`LearningCurvePruner`) on equal terms with complete
    trials, instead of by their last early value below every complete trial.

    Trials pruned without a prediction (NaN, another pruner) rank after the others by their
    last value; running trials are constant liars (bad) when ``constant_liar``.
    """

    def __init__(self, constant_liar: bool = True):
        self.constant_liar = bool(constant_liar)

    def collect(self, study: Study, trials: Sequence[FrozenTrial]) -> Observations:
        directions = study.directions
        m = len(directions)
        keep: list[FrozenTrial] = []
        rows: list[list[float]] = []
        tiers: list[float] = []
        for t in trials:
            r = _observe(t, m, self.constant_liar)
            if r is not None:
                keep.append(t)
                rows.append(r[0])
                tiers.append(r[1])
        L = to_losses(np.array(rows, dtype=float).reshape(len(keep), m), directions)
        L[~np.isfinite(L)] = np.inf
        return Observations(keep, L, np.array(tiers, dtype=float))

    def __repr__(self) -> str:
        return f"PredictedFinalCollector(constant_liar={self.constant_liar})"


def _observe(t: FrozenTrial, m: int, liar: bool) -> tuple[list[float], float] | None:
    if t.state == TrialState.COMPLETE and t.values is not None and len(t.values) == m:
        return list(t.values), 0.0
    if t.state == TrialState.PRUNED:
        v = t.system_attrs.get(keys.LC_FINAL)
        if v is not None and len(v) == m:
            return [float(x) for x in v], 0.0
        iv = t.intermediate_values
        if not iv:
            return [math.inf] * m, 2.5
        last = iv[max(iv)]
        row = list(last) if isinstance(last, (list, tuple)) else [last]
        if len(row) != m:
            return [math.inf] * m, 2.5
        return [float(x) for x in row], 1.0 + 1.0 / (1.0 + max(max(iv), 0))
    if t.state == TrialState.RUNNING and liar and t.params:
        return [math.inf] * m, math.inf
    return None
