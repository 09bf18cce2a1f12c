"""``GPSampler``: Bayesian optimisation with a Gaussian process (see ``docs/gp.md``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.distributions import BaseDistribution
from slimtune.multiobjective import crowding_distance, is_pareto_front, to_losses
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.gp.acquisition import (
    log_ehvi,
    log_ei,
    log_pof,
    nondominated_boxes,
    ucb,
)
from slimtune.samplers.gp.model import Features, GPModel, fit_gp
from slimtune.samplers.gp.optimize import optimize_acquisition, random_points
from slimtune.samplers.qmc import QMCSampler
from slimtune.samplers.random import sample_uniform
from slimtune.space import SpaceEncoder, union_search_space
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["GPSampler", "robust_standardize"]

logger = logging.getLogger("slimtune")

try:  # Small matrices: threaded BLAS only adds overhead (and spins on busy machines).
    from threadpoolctl import threadpool_limits as _threadpool_limits
except ImportError:  # pragma: no cover
    _threadpool_limits = None


def _single_thread_blas() -> contextlib.AbstractContextManager[Any]:
    if _threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return _threadpool_limits(limits=1, user_api="blas")

_ACQUISITIONS = ("logei", "ucb")

#: Two configurations closer than this in every continuous unit coordinate (0.1% of the
#: range; log scale for log parameters), and equal in every discrete one, are the same
#: configuration to the acquisition (see ``near_known``).
DUPLICATE_TOL = 1e-3


def near_known(
    enc: SpaceEncoder,
    U: np.ndarray,
    active: np.ndarray,
    known: np.ndarray,
    known_active: np.ndarray,
    tol: float = DUPLICATE_TOL,
) -> np.ndarray:
    """Rows of ``U`` (with their activity) that repeat a known configuration.

    Discrete and categorical values are compared after snapping to their grid, continuous
    ones within ``tol``; only parameters active in both count, and the activity patterns
    must agree. Why: on a plateau of equal values (a flat stretch of C for an SVC, every
    depth of a forest giving the same accuracy) expected improvement keeps a small positive
    value at the incumbents, and the GP used to re-evaluate (nearly) the same point dozens
    of times instead of looking elsewhere (issue 14).
    """
    out = np.zeros(len(U), dtype=bool)
    if len(known) == 0 or len(U) == 0:
        return out
    snapped = enc.to_unit(enc.from_unit(U))
    tols = np.where(enc.numeric & ~enc.is_discrete, tol, 1e-9)
    chunk = max(1, 200_000 // max(1, len(known) * U.shape[1]))
    for a in range(0, len(U), chunk):
        S, A = snapped[a : a + chunk], active[a : a + chunk]
        close = np.abs(S[:, None, :] - known[None, :, :]) <= tols
        same_pattern = np.all(A[:, None, :] == known_active[None, :, :], axis=2)
        ok = np.all(close | ~known_active[None, :, :], axis=2) & same_pattern
        out[a : a + chunk] = ok.any(axis=1)
    return out


def robust_standardize(y: np.ndarray) -> np.ndarray:
    """Median/MAD scaling, a log compression of the bad (upper) tail beyond 2 robust
    standard deviations, then zero mean and unit variance. Constant input -> zeros."""
    y = np.asarray(y, dtype=float)
    med = float(np.median(y))
    scale = 1.4826 * float(np.median(np.abs(y - med)))
    if not scale > 0:
        scale = float(np.std(y))
    if not scale > 0:
        return np.zeros_like(y)
    z = (y - med) / scale
    z = np.where(z > 2.0, 2.0 + np.log1p(np.maximum(z - 2.0, 0.0)), z)
    sd = float(np.std(z))
    return (z - z.mean()) / (sd if sd > 0 else 1.0)


class _ActivePredictor:
    """Predicts which parameters a candidate activates (conditional spaces).

    A candidate copies the activity pattern of the nearest observed trial, where distance
    counts categorical mismatches (weighted above all numeric differences together) and
    numeric unit-scale differences, only over the trial's *active* parameters. So a
    candidate with ``optimizer="sgd"`` inherits the pattern of the sgd trials
    (``momentum`` active) whatever its other values.
    """

    def __init__(self, U: np.ndarray, active: np.ndarray, is_cat: np.ndarray):
        self.conditional = bool((~active).any())
        if not self.conditional:
            return
        key = np.concatenate([np.round(U, 6), active], axis=1)
        _, idx = np.unique(key, axis=0, return_index=True)
        idx = np.sort(idx)
        self.U, self.active, self.is_cat = U[idx], active[idx], is_cat
        self.w_cat = 1.0 + float((~is_cat).sum())

    def __call__(self, U: np.ndarray) -> np.ndarray:
        if not self.conditional:
            return np.ones(U.shape, dtype=bool)
        cost = np.zeros((len(U), len(self.U)))
        for j in range(U.shape[1]):  # loop over dimensions only; vectorised over pairs
            a = self.active[:, j][None, :]
            if self.is_cat[j]:
                cost += a * self.w_cat * (U[:, j : j + 1] != self.U[:, j][None, :])
            else:
                cost += a * np.abs(U[:, j : j + 1] - self.U[:, j][None, :])
        return self.active[np.argmin(cost, axis=1)]


class GPSampler(BaseSampler):
    """Gaussian-process Bayesian optimisation for mixed, conditional spaces.

    Args:
        seed: seed of all random choices; the same seed and history give the same points.
        n_startup_trials: quasi-random (Sobol) trials before the model is used.
        acquisition: ``"logei"`` (log expected improvement, default) or ``"ucb"``. Several
            objectives always use log expected hypervolume improvement.
        beta: UCB exploration weight, the bound being ``mean - sqrt(beta) * std`` on
            standardised values; ``None`` uses ``beta_t = 0.2 * d * log(2 t)`` (Kandasamy
            et al. 2015) with ``d`` parameters and ``t`` observations.
        constraints_func: optional ``f(frozen_trial) -> sequence`` (Optuna's signature);
            values <= 0 are feasible. Without it, values given by ``trial.set_constraints``
            are used.
        max_train: past this many complete trials the model trains on a subset: the best
            quarter plus a seeded random sample of the rest.
        refit_interval: refit the hyperparameters every this many new observations
            (``None``: every trial up to 100 observations, then every ``n // 40``);
            in between the last hyperparameters are reused.
        n_candidates: quasi-random candidates per suggestion (``None``: by dimension).
        duplicate_tol: a candidate within this distance (unit coordinates, every
            continuous parameter; discrete ones equal) of a finished or running trial is
            not proposed while the best value is shared by several trials (a plateau; one
            objective); ``None`` turns the rule off, as before issue 14. See
            :func:`near_known`.
    """

    def __init__(
        self,
        seed: int | None = None,
        n_startup_trials: int = 10,
        acquisition: str = "logei",
        beta: float | None = None,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        max_train: int = 400,
        refit_interval: int | None = None,
        n_candidates: int | None = None,
        duplicate_tol: float | None = DUPLICATE_TOL,
    ):
        if acquisition not in _ACQUISITIONS:
            raise ValueError(f"acquisition={acquisition!r}: use one of {_ACQUISITIONS}.")
        if not isinstance(n_startup_trials, int) or n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be an int >= 1, got {n_startup_trials!r}.")
        if beta is not None and not beta > 0:
            raise ValueError(f"beta must be > 0 (or None for the schedule), got {beta!r}.")
        if not isinstance(max_train, int) or max_train < 20:
            raise ValueError(f"max_train must be an int >= 20, got {max_train!r}.")
        if refit_interval is not None and (not isinstance(refit_interval, int) or
                                           refit_interval < 1):
            raise ValueError(f"refit_interval must be an int >= 1, got {refit_interval!r}.")
        if n_candidates is not None and (not isinstance(n_candidates, int) or n_candidates < 16):
            raise ValueError(f"n_candidates must be an int >= 16, got {n_candidates!r}.")
        self.seed = seed
        self.n_startup_trials = n_startup_trials
        self.acquisition = acquisition
        self.beta = beta
        self.constraints_func = constraints_func
        self.max_train = max_train
        self.refit_interval = refit_interval
        if duplicate_tol is not None and (
            isinstance(duplicate_tol, bool) or not isinstance(duplicate_tol, (int, float))
            or not 0.0 <= duplicate_tol < 0.5
        ):
            raise ValueError(
                f"duplicate_tol must be a number in [0, 0.5) or None, got {duplicate_tol!r}."
            )
        self.n_candidates = n_candidates
        self.duplicate_tol = None if duplicate_tol is None else float(duplicate_tol)
        self._rng = np.random.default_rng(seed)
        self._startup = QMCSampler(seed=seed)
        # (space signature, output index) -> (n observations at fit, hyperparameters)
        self._hyper_cache: dict[tuple[Any, ...], tuple[int, np.ndarray]] = {}

    # --- protocol -----------------------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        space = union_search_space(study.get_trials(deepcopy=False))
        return {k: v for k, v in space.items() if not v.single()}

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return sample_uniform(self._rng, distribution)

    def reseed_rng(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        self._startup.reseed_rng(seed)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        if self.constraints_func is not None and state == TrialState.COMPLETE:
            cons = [float(c) for c in self.constraints_func(trial)]
            study.set_trial_system_attr(trial.trial_id, keys.CONSTRAINTS, cons)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        trials = study.get_trials(deepcopy=False)
        complete = [
            t for t in trials
            if t.state == TrialState.COMPLETE and t.values is not None
            and any(n in t.params for n in search_space)
        ]
        if len(complete) < self.n_startup_trials:
            return self._startup.sample_relative(study, trial, search_space)
        pending = [
            t for t in trials if t.state == TrialState.RUNNING and t.number != trial.number
        ]
        try:
            with _single_thread_blas():
                internal, active = self._suggest(study, search_space, complete, pending)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError) as e:  # pragma: no cover
            logger.warning("GPSampler: model failed (%s); using a quasi-random point.", e)
            return self._startup.sample_relative(study, trial, search_space)
        try:
            # Stored so that other workers see this point as pending (Kriging believer).
            proposal = {k: v for k, v in internal.items() if k in active}
            study.set_trial_system_attr(trial.trial_id, keys.GP_PROPOSAL, proposal)
        except Exception:  # pragma: no cover - storage without system attrs
            pass
        return {n: search_space[n].to_external(v) for n, v in internal.items()}

    # --- model --------------------------------------------------------------------------
    def _encode(
        self, enc: SpaceEncoder, trials: list[FrozenTrial], use_proposal: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        rows = []
        for t in trials:
            p = {k: v for k, v in t.internal_params.items() if k in enc.space}
            if use_proposal:
                prop = t.system_attrs.get(keys.GP_PROPOSAL)
                if isinstance(prop, dict):
                    p = {**{k: float(v) for k, v in prop.items() if k in enc.space}, **p}
            rows.append(p)
        return enc.encode(rows)

    def _subsample(self, y: np.ndarray) -> np.ndarray:
        """Row indices to train on: all, or the best quarter plus a random rest."""
        n = len(y)
        if n <= self.max_train:
            return np.arange(n)
        n_best = self.max_train // 4
        best = np.argsort(y, kind="stable")[:n_best]
        rest = np.setdiff1d(np.arange(n), best)
        extra = self._rng.choice(rest, self.max_train - n_best, replace=False)
        return np.sort(np.concatenate([best, extra]))

    def _fit(self, key: tuple[Any, ...], F: Features, z: np.ndarray, n_obs: int) -> GPModel:
        cached = self._hyper_cache.get(key)
        interval = self.refit_interval or (1 if n_obs <= 100 else max(1, n_obs // 40))
        if cached is None or len(cached[1]) != F.dim + 2:
            params = fit_gp(F, z)
        elif n_obs - cached[0] >= interval or n_obs < cached[0]:
            params = fit_gp(F, z, init=cached[1], maxiter=60, restart=n_obs <= 100)
        else:
            params = cached[1]
        if cached is None or not np.array_equal(params, cached[1]):
            self._hyper_cache[key] = (n_obs, params)
        return GPModel(F, z, params)

    def _suggest(
        self,
        study: Study,
        space: dict[str, BaseDistribution],
        complete: list[FrozenTrial],
        pending: list[FrozenTrial],
    ) -> tuple[dict[str, float], set[str]]:
        """The next point (internal values of every parameter) and the names it is
        predicted to activate."""
        enc = SpaceEncoder(space)
        is_cat = enc.is_categorical
        sig = tuple((n, repr(d)) for n, d in space.items())
        U_all, act_all = self._encode(enc, complete)
        L_all = to_losses(np.array([t.values for t in complete], dtype=float), study.directions)
        m = L_all.shape[1]
        # Subsample on the first objective (or Pareto rank proxy: sum of ranks).
        rank_key = L_all[:, 0] if m == 1 else np.argsort(np.argsort(L_all, axis=0), axis=0).sum(1)
        idx = self._subsample(rank_key)
        U, act, Lo = U_all[idx], act_all[idx], L_all[idx]
        n = len(idx)
        F = Features.build(U, act, is_cat)
        Z = np.stack([robust_standardize(Lo[:, i]) for i in range(m)], axis=1)
        models = [self._fit((sig, "obj", i), F, Z[:, i], len(complete)) for i in range(m)]

        # Constraints: one GP per constraint on the trials that reported them.
        cons = [self._constraints(t) for t in complete]
        cons = [cons[i] for i in idx]
        c_models: list[GPModel] = []
        c_thresh: list[float] = []
        feasible = np.ones(n, dtype=bool)
        have = np.array([c is not None for c in cons])
        if have.any():
            n_c = max(len(c) for c in cons if c is not None)
            C = np.array([c if c is not None and len(c) == n_c else [np.nan] * n_c
                          for c in cons], dtype=float)
            ok = ~np.isnan(C).any(axis=1)
            feasible = ~ok | (C <= 0).all(axis=1)
            Fc = F.take(np.flatnonzero(ok))
            for i in range(n_c):
                c = C[ok, i]
                mu, sd = float(c.mean()), float(c.std()) or 1.0
                c_models.append(self._fit((sig, "con", i), Fc, (c - mu) / sd, int(ok.sum())))
                c_thresh.append(-mu / sd)

        # Pending trials: Kriging believer (condition on the posterior mean).
        # The believed values also count as observations for the incumbent / the front.
        fantasy = np.zeros((0, m))
        if pending:
            Up, ap = self._encode(enc, pending, use_proposal=True)
            keep = ap.any(axis=1)
            if keep.any():
                Fp = Features.build(Up[keep], ap[keep], is_cat)
                models = [mdl.condition_on_mean(Fp) for mdl in models]
                c_models = [mdl.condition_on_mean(Fp) for mdl in c_models]
                fantasy = np.stack([mdl.y[n:] for mdl in models], axis=1)

        predictor = _ActivePredictor(U, act, is_cat)
        d = enc.dim

        def constraint_term(Fz: Features) -> np.ndarray:
            if not c_models:
                return np.zeros(len(Fz))
            ms, vs = zip(*(mdl.predict(Fz) for mdl in c_models))
            return log_pof([mu - t for mu, t in zip(ms, c_thresh)], list(vs))

        if m == 1:
            z = Z[:, 0]
            any_feasible = bool(feasible.any())
            best = float(z[feasible].min()) if any_feasible else 0.0
            if any_feasible and len(fantasy):
                best = min(best, float(fantasy[:, 0].min()))
            beta = self.beta if self.beta is not None else 0.2 * d * np.log(2.0 * n)
            beta = max(beta, 1e-3)

            def score(Uc: np.ndarray) -> np.ndarray:
                Fz = Features.build(Uc, predictor(Uc), is_cat)
                pof = constraint_term(Fz)
                if not any_feasible:
                    return pof
                mu, var = models[0].predict(Fz)
                if self.acquisition == "ucb":
                    return ucb(mu, var, beta) + pof
                return log_ei(mu, var, best) + pof

            order = np.argsort(np.where(feasible, z, np.inf), kind="stable")
        else:
            Zf = np.concatenate([Z[feasible] if feasible.any() else Z, fantasy])
            front = Zf[is_pareto_front(Zf)]
            ref = Z.max(axis=0) + 0.1 * (Z.max(axis=0) - Z.min(axis=0)) + 1e-6
            # m > 2: grid boxes grow as (k + 1)^m; keep the k most spread-out front points.
            k_max = max(3, int(800 ** (1.0 / m)) - 1)
            if m > 2 and len(front) > k_max:
                front = front[np.argsort(-crowding_distance(front), kind="stable")[:k_max]]
            lower, upper = nondominated_boxes(front, ref)

            def score(Uc: np.ndarray) -> np.ndarray:
                Fz = Features.build(Uc, predictor(Uc), is_cat)
                preds = [mdl.predict(Fz) for mdl in models]
                mu = np.stack([p[0] for p in preds], axis=1)
                var = np.stack([p[1] for p in preds], axis=1)
                return log_ehvi(mu, var, lower, upper) + constraint_term(Fz)

            ranks = np.where(feasible, 0, 1) * 1e9 + np.argsort(np.argsort(Z, axis=0), 0).sum(1)
            order = np.argsort(ranks, kind="stable")

        centers = U[order[:5]]
        n_cand = self.n_candidates or int(min(2048, 256 + 128 * d))
        known_U, known_a = U_all, act_all
        if pending:
            Up_all, ap_all = self._encode(enc, pending, use_proposal=True)
            known_U = np.concatenate([U_all, Up_all])
            known_a = np.concatenate([act_all, ap_all])

        u, _ = optimize_acquisition(score, enc, self._rng, centers, n_candidates=n_cand)
        tol = self.duplicate_tol
        # A plateau at the top: several trials share the best value exactly (accuracies of
        # small data sets, trees that collapse alike). Only then is a point next to a known
        # one uninformative; on a smooth function the GP must be free to refine finely.
        plateau = False
        if m == 1 and feasible.any():
            zf = Z[feasible, 0]
            plateau = int(np.sum(zf == zf.min())) >= 2
        if tol is not None and plateau and near_known(
            enc, u[None, :], predictor(u[None, :]), known_U, known_a, tol
        )[0]:
            # The best point repeats a known one: optimise again over new points only.
            # Checked after the fact, so that the usual case pays one comparison.
            def new_points_only(Uc: np.ndarray) -> np.ndarray:
                sc = np.asarray(score(Uc), dtype=float)
                dup = near_known(enc, Uc, predictor(Uc), known_U, known_a, tol)
                return np.where(dup, -np.inf, sc)

            u, _ = optimize_acquisition(
                new_points_only, enc, self._rng, centers, n_candidates=n_cand
            )
        # A flat acquisition (e.g. a constant objective) can point back at a known
        # configuration; evaluating it again teaches nothing, so explore instead.
        known = U_all if not pending else np.concatenate([U_all, self._encode(enc, pending)[0]])
        if np.any(np.all(np.abs(known - u[None, :]) < 1e-9, axis=1)):
            u = random_points(enc, 1, self._rng)[0]
        internal = enc.decode(u)
        active = predictor(u[None, :])[0]
        return internal, {k for k, a in zip(internal, active) if a}

    def _constraints(self, t: FrozenTrial) -> list[float] | None:
        c = t.system_attrs.get(keys.CONSTRAINTS)
        return [float(v) for v in c] if c is not None else None

    def __repr__(self) -> str:
        return (
            f"GPSampler(seed={self.seed}, acquisition={self.acquisition!r}, "
            f"n_startup_trials={self.n_startup_trials})"
        )
