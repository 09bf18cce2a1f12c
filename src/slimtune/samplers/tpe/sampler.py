"""The Tree-structured Parzen Estimator sampler (TPE, MOTPE), multivariate by default.

See ``docs/tpe.md`` for the algorithm, every setting and the benchmarks behind the defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from scipy.special import ndtr, ndtri

from slimtune import keys
from slimtune.distributions import BaseDistribution, CategoricalDistribution
from slimtune.multiobjective import hypervolume_contributions, non_dominated_sort, to_losses
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.qmc import QMCSampler
from slimtune.samplers.random import sample_uniform
from slimtune.samplers.tpe.parzen import Geometry, ParzenEstimator, PriorModel
from slimtune.space import Prior, SpaceEncoder
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = [
    "TPESampler",
    "MOTPESampler",
    "Observations",
    "default_gamma",
    "hyperopt_default_gamma",
    "default_weights",
    "uniform_weights",
]


def default_gamma(n: int) -> int:
    """Number of *good* observations among ``n``: ``min(ceil(0.15 n), 25)``.

    Optuna uses 0.10; 0.15 scored higher on the synthetic suite (see ``docs/tpe.md``).
    """
    return min(int(math.ceil(0.15 * n)), 25)


def hyperopt_default_gamma(n: int) -> int:
    """Hyperopt's rule: ``min(ceil(0.25 sqrt(n)), 25)``."""
    return min(int(math.ceil(0.25 * math.sqrt(n))), 25)


def default_weights(n: int) -> np.ndarray:
    """Observation weights in trial order: the 25 newest weigh 1, older ones ramp down to 1/n."""
    if n == 0:
        return np.zeros(0)
    if n < 25:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - 25), np.ones(25)])


def uniform_weights(n: int) -> np.ndarray:
    """Every observation weighs 1."""
    return np.ones(n)


class Observations(NamedTuple):
    """What the model is fitted on (the hook :meth:`TPESampler._collect_observations`).

    ``trials``: the trials whose parameters are the observations (in trial order).
    ``losses``: (n, m) values to minimise (m = number of objectives); ``inf`` = worst.
    ``tier``: (n,) sort key applied before the losses: 0 for complete trials, in (1, 2] for
    pruned ones (a later last step ranks first), ``inf`` for running trials (constant liar:
    they can only ever be *bad*, and they do not count towards ``gamma``).
    """

    trials: list[FrozenTrial]
    losses: np.ndarray
    tier: np.ndarray
    violation: np.ndarray | None = None  # total constraint violation; None: read from trials


_SIG_MULT = np.random.default_rng(12345).integers(1, 2**62, size=4096, dtype=np.int64).astype(
    np.uint64
) | np.uint64(1)


class TPESampler(BaseSampler):
    """Tree-structured Parzen Estimator: multivariate, conditional-aware, parallel-safe.

    The finished trials are split at ``gamma(n)`` into good (``l``) and bad (``g``), each
    modelled by a Parzen estimator over the *union* search space (conditional parameters
    masked as inactive, not dropped); ``n_ei_candidates`` points drawn from ``l`` are scored
    by ``log l(x) - log g(x)`` and the best one is proposed. Running trials are added to the
    bad set (constant liar) so that parallel workers spread out; pruned trials rank after
    the complete ones by their last intermediate value; infeasible trials (constraint
    values ``> 0``) rank after feasible ones by total violation; several objectives are
    ranked by non-domination and, at the cut, by hypervolume contribution (MOTPE).

    Parameters
    ----------
    n_startup_trials : random (or prior-drawn) trials before the model is used.
    n_ei_candidates : candidates drawn from ``l`` per suggestion.
    gamma : ``n -> number of good trials``, or a fraction ``f`` meaning
        ``min(ceil(f n), 25)``; default :func:`default_gamma`.
    weights : ``n -> weights (n,)`` of observations in trial order, or ``"default"`` /
        ``"uniform"``; default :func:`default_weights`.
    prior_weight : weight of the prior component in both estimators (an observation
        weighs up to 1).
    consider_magic_clip : floor each bandwidth at ``1 / min(100, n + 2)`` of the range.
    bandwidth : ``"neighbor"`` (default; Hyperopt's rule: each kernel as wide as the larger
        gap to its sorted neighbours) or ``"scott"`` (``bandwidth_factor * n**(-1/(d+4))``).
    bandwidth_factor : scale of Scott's rule, as a fraction of the (log-)range.
    min_bandwidth : absolute floor of every numeric bandwidth, as a fraction of the
        (log-)range (default 0.05: keeps ``l`` from collapsing onto one basin).
    categorical_smoothing : ``a`` in the categorical kernel ``(1[k=c] + a/K) / (1 + a)``;
        default ``K * prior_weight / (n + 1)`` (n = observations in the estimator).
    multivariate : joint product kernels (default) or independent per-parameter models.
    constant_liar : count RUNNING trials as bad observations (default True).
    priors : user beliefs, ``{name: Prior | {"center": .., "width": ..} | {"weights": ..}}``
        or a declarative :class:`~slimtune.space.Space` (its ``priors`` are used).
        A prior replaces the broad prior component of ``l``, draws the startup trials,
        and multiplies the acquisition by ``prior(x) ** (strength * prior_decay / n)``
        (piBO), so it fades as observations arrive.
    prior_decay : ``beta`` of the piBO factor above.
    constraints_func : optional ``frozen_trial -> sequence of floats`` (Optuna style),
        evaluated after each trial and stored like ``trial.set_constraints``.
    branch_weight : in conditional spaces, the best ``gamma(n_b)`` observations of every
        branch (set of active parameters) join ``l`` with this weight (0 = off), so that a
        branch is judged by its best configurations, not by its random ones.
    max_observations : cap on the observations of ``g`` (default 1000): beyond it, the
        newest half is kept and the older ones are subsampled in proportion to their
        weights (and re-weighted), so a suggestion costs the same after 1000 or 100,000
        trials. ``None``: no cap.
    marginal_weight : multivariate mode: weight ``w`` of the per-parameter density ratios
        in the score, ``log l(x)/g(x) + w * sum_j log l_j(x_j)/g_j(x_j)`` (active parameters
        only). With few good trials the joint ratio alone can lock onto a spurious
        combination; the marginals keep each parameter's own evidence in view. 0: joint only.
    startup : ``"random"`` (default) or ``"sobol"``: how the startup trials are drawn
        (parameters with a user prior are always drawn from it).
    seed : seed of the random stream (reproducible runs).

    Subclass hook (used by BOHB)
    ----------------------------
    Override ``_collect_observations(study, trials) -> Observations`` to choose what the
    model is fitted on: ``trials`` are the study's trials (all states, the current one
    excluded); return the observations in trial order with their ``losses`` (n, m) to
    minimise and a ``tier`` per observation (see :class:`Observations`). Constraint
    handling, the split, weights and the estimators stay in the base class.
    """

    def __init__(
        self,
        consider_prior: bool = True,
        prior_weight: float = 1.0,
        consider_magic_clip: bool = True,
        consider_endpoints: bool = False,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: Callable[[int], int] | float | None = None,
        weights: Callable[[int], np.ndarray] | str | None = None,
        seed: int | None = None,
        *,
        multivariate: bool = True,
        group: bool = False,
        warn_independent_sampling: bool = False,
        constant_liar: bool = True,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        bandwidth: str = "neighbor",
        bandwidth_factor: float = 0.2,
        min_bandwidth: float = 0.05,
        categorical_smoothing: float | None = None,
        priors: Any = None,
        prior_decay: float = 3.0,
        startup: str = "random",
        branch_weight: float = 0.5,
        max_observations: int | None = 1000,
        marginal_weight: float = 0.5,
    ):
        if not isinstance(n_startup_trials, int) or n_startup_trials < 0:
            raise ValueError(
                f"n_startup_trials must be an int >= 0, got n_startup_trials={n_startup_trials!r}."
            )
        if not isinstance(n_ei_candidates, int) or n_ei_candidates < 1:
            raise ValueError(
                f"n_ei_candidates must be an int >= 1, got n_ei_candidates={n_ei_candidates!r}."
            )
        if not (prior_weight > 0 and math.isfinite(prior_weight)):
            raise ValueError(f"prior_weight must be > 0, got prior_weight={prior_weight!r}.")
        if bandwidth not in ("scott", "neighbor"):
            raise ValueError(f"bandwidth={bandwidth!r}: use 'scott' or 'neighbor'.")
        if not (0 < bandwidth_factor <= 1):
            raise ValueError(
                f"bandwidth_factor must be in (0, 1], got bandwidth_factor={bandwidth_factor!r}."
            )
        if not (0 <= min_bandwidth < 1):
            raise ValueError(
                f"min_bandwidth must be in [0, 1), got min_bandwidth={min_bandwidth!r}."
            )
        if categorical_smoothing is not None and categorical_smoothing < 0:
            raise ValueError(
                "categorical_smoothing must be >= 0, got "
                f"categorical_smoothing={categorical_smoothing!r}."
            )
        if max_observations is not None and (
            not isinstance(max_observations, int) or max_observations < 2
        ):
            raise ValueError(
                "max_observations must be an int >= 2 or None, got "
                f"max_observations={max_observations!r}."
            )
        if startup not in ("random", "sobol"):
            raise ValueError(f"startup={startup!r}: use 'random' or 'sobol'.")
        if not (0 <= marginal_weight < math.inf):
            raise ValueError(
                f"marginal_weight must be >= 0, got marginal_weight={marginal_weight!r}."
            )
        if prior_decay < 0:
            raise ValueError(f"prior_decay must be >= 0, got prior_decay={prior_decay!r}.")
        gamma = _gamma_from(gamma)
        weights = _weights_from(weights)
        if constraints_func is not None and not callable(constraints_func):
            raise TypeError(f"constraints_func must be callable or None, got {constraints_func!r}.")
        self.consider_prior = consider_prior  # accepted for Optuna compatibility; always on
        self.prior_weight = float(prior_weight)
        self.consider_magic_clip = bool(consider_magic_clip)
        self.consider_endpoints = consider_endpoints  # accepted for compatibility; unused
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.gamma = gamma if gamma is not None else default_gamma
        self.weights = weights if weights is not None else default_weights
        self.seed = seed
        self.multivariate = bool(multivariate)
        self.group = group  # conditional spaces are always modelled jointly (union space)
        self.warn_independent_sampling = warn_independent_sampling
        self.constant_liar = bool(constant_liar)
        self.constraints_func = constraints_func
        self.bandwidth = bandwidth
        self.bandwidth_factor = float(bandwidth_factor)
        self.min_bandwidth = float(min_bandwidth)
        self.categorical_smoothing = (
            None if categorical_smoothing is None else float(categorical_smoothing)
        )
        self.priors = _parse_priors(priors)
        self.prior_decay = float(prior_decay)
        self.startup = startup
        self.branch_weight = float(branch_weight)
        self.max_observations = max_observations
        self.marginal_weight = float(marginal_weight)
        self._rng = np.random.default_rng(seed)
        self._qmc = QMCSampler(seed=seed) if startup == "sobol" else None
        self._in_startup = False
        self._trials_cache: tuple[int, list[FrozenTrial]] | None = None
        self._prefix = _Prefix()
        self._tail: list[FrozenTrial] = []
        self._fast_prefix = 0
        self._enc_space: dict[str, BaseDistribution] | None = None
        self._encoder: SpaceEncoder | None = None
        self._geom: Geometry | None = None
        self._enc_index: dict[int, int] = {}
        self._enc_X = np.zeros((0, 0))
        self._enc_A = np.zeros((0, 0), dtype=bool)
        self._enc_n = 0

    # --- protocol -----------------------------------------------------------------------
    def reseed_rng(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        if self._qmc is not None:
            self._qmc.reseed_rng(seed)

    def _trials(self, study: Study, trial: FrozenTrial) -> list[FrozenTrial]:
        """The study's trials but ``trial``; finished ones are cached as an immutable prefix."""
        if self._trials_cache is not None and self._trials_cache[0] == trial.number:
            return self._trials_cache[1]
        all_trials = study.get_trials(deepcopy=False)
        pf = self._prefix
        k = len(pf.ids)
        if k and (len(all_trials) < k or all_trials[k - 1].trial_id != pf.ids[-1]):
            pf = self._prefix = _Prefix()  # the history changed under us: start again
            k = 0
        while k < len(all_trials):
            t = all_trials[k]
            if not t.state.is_finished():
                break
            pf.add(t)
            k += 1
        tail = [t for t in all_trials[k:] if t.number != trial.number]
        trials = pf.trials + tail
        self._tail = tail
        self._trials_cache = (trial.number, trials)
        return trials

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        self._trials_cache = None
        self._trials(study, trial)
        pf = self._prefix
        n_done = pf.n_done + sum(1 for t in self._tail if t.state in _DONE)
        self._in_startup = n_done < max(self.n_startup_trials, 1)
        if self._in_startup:
            if self._qmc is not None:
                space = self._qmc.infer_relative_search_space(study, trial)
                return {k: v for k, v in space.items() if k not in self.priors}
            return {}
        space = dict(pf.space)
        for t in self._tail:
            if t.state in _USED:
                space.update(t.distributions)
        return {k: v for k, v in sorted(space.items()) if not v.single()}

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        prior = self.priors.get(param_name)
        if prior is None:
            return sample_uniform(self._rng, distribution)
        prior.check(distribution, param_name)
        enc = SpaceEncoder({param_name: distribution})
        if isinstance(distribution, CategoricalDistribution):
            w = np.asarray(prior.weights, dtype=float)
            idx = int(self._rng.choice(len(w), p=w / w.sum()))
            return distribution.choices[idx]
        c = float(enc.to_unit(np.array([[prior.center]]))[0, 0])
        s = float(prior.width)
        lo, hi = ndtr(-c / s), ndtr((1 - c) / s)
        u = float(np.clip(lo + (hi - lo) * self._rng.random(), 1e-12, 1 - 1e-12))
        x = float(np.clip(c + s * ndtri(u), 0.0, 1.0))
        return enc.decode_external(np.array([x]))[param_name]

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._trials_cache = None
        if self.constraints_func is not None and state in (TrialState.COMPLETE,
                                                           TrialState.PRUNED):
            cons = [float(c) for c in self.constraints_func(trial)]
            if any(math.isnan(c) for c in cons):
                raise ValueError(f"constraints_func returned NaN: {cons}.")
            study.set_trial_system_attr(trial.trial_id, keys.CONSTRAINTS, cons)

    # --- the hook -----------------------------------------------------------------------
    def _collect_observations(self, study: Study, trials: list[FrozenTrial]) -> Observations:
        """Complete trials (tier 0), pruned ones by last intermediate value (tier in (1, 2]),
        and, with ``constant_liar``, running ones (tier inf). Override to change it."""
        directions = study.directions
        m = len(directions)
        pf = self._prefix
        fast = self._trials_cache is not None and trials is self._trials_cache[1]
        rest = self._tail if fast else trials
        keep: list[FrozenTrial] = []
        rows: list[Sequence[float]] = []
        tiers: list[float] = []
        for t in rest:
            r = _observe(t, m, self.constant_liar)
            if r is not None:
                keep.append(t)
                rows.append(r[0])
                tiers.append(r[1])
        losses = np.array(rows, dtype=float).reshape(len(keep), m)
        tier = np.array(tiers, dtype=float)
        viol = _violations(keep)
        if fast and pf.n_obs:
            P, T, V = pf.arrays(m)
            keep = pf.obs_trials + keep
            losses = np.vstack([P, losses])
            tier = np.concatenate([T, tier])
            viol = np.concatenate([V, viol])
            self._fast_prefix = pf.n_obs
        else:
            self._fast_prefix = 0
        losses = to_losses(losses, directions)
        losses[~np.isfinite(losses)] = np.inf
        return Observations(keep, losses, tier, viol)

    # --- split --------------------------------------------------------------------------
    def _violations(self, trials: list[FrozenTrial]) -> np.ndarray:
        return _violations(trials)

    def _split(self, obs: Observations) -> tuple[np.ndarray, int]:
        """Boolean mask of the good observations and the number of finished ones."""
        n_all = len(obs.trials)
        finished = np.isfinite(obs.tier)
        n = int(finished.sum())
        n_below = int(min(max(self.gamma(n), 0), n))
        below = np.zeros(n_all, dtype=bool)
        self._last_order = np.flatnonzero(finished)
        if n_below == 0:
            return below, n
        viol = obs.violation if obs.violation is not None else self._violations(obs.trials)
        infeasible = (viol > 0).astype(float)
        L = obs.losses
        tier = np.where(finished, obs.tier, np.inf)
        if L.shape[1] == 1:
            primary = np.where(infeasible > 0, viol, L[:, 0])
            # One group key: finished feasible trials by tier (0 .. 2.5), then infeasible
            # ones (10), then running ones (inf); within a group the primary value.
            group = np.where(finished, np.where(infeasible > 0, 10.0, tier), np.inf)
            order = np.lexsort((primary, group))
            self._last_order = order
            below[order[:n_below]] = True
            if n_below < n:
                # A tie across the cut (a plateau of equal losses) says nothing about where
                # to go: the tied trials are all left out of the good set.
                c, nxt = order[n_below - 1], order[n_below]
                if group[c] == group[nxt] and primary[c] == primary[nxt]:
                    below &= ~((group == group[c]) & (primary == primary[c]))
            return below, n
        # Several objectives: non-domination rank within each (feasibility, tier) group.
        rank = np.zeros(n_all)
        feas_f = finished & (infeasible == 0)
        for tv in np.unique(tier[feas_f]):
            idx = np.flatnonzero(feas_f & (tier == tv))
            rank[idx] = non_dominated_sort(L[idx])
        primary = np.where(infeasible > 0, viol, rank)
        key_tier = np.where(infeasible > 0, 0.0, tier)
        order = np.lexsort((primary, key_tier, infeasible, ~finished))
        self._last_order = order
        # The group that straddles the cut is thinned by hypervolume contribution.
        cut = order[n_below - 1]
        same = (
            (primary == primary[cut]) & (key_tier == key_tier[cut])
            & (infeasible == infeasible[cut]) & finished
        )
        sel = order[:n_below]
        inside = sel[~same[sel]]
        tied = np.flatnonzero(same)
        need = n_below - len(inside)
        if len(tied) > need and infeasible[cut] == 0:
            P = L[tied]
            span = np.ptp(P, axis=0)
            ref = P.max(axis=0) + 0.1 * np.where(span > 0, span, 1.0)
            contrib = hypervolume_contributions(P, ref)
            pick = tied[np.argsort(-contrib, kind="stable")[:need]]
        else:
            pick = tied[:need]
        below[inside] = True
        below[pick] = True
        return below, n

    # --- encoding -----------------------------------------------------------------------
    def _encode(
        self, space: dict[str, BaseDistribution], trials: list[FrozenTrial]
    ) -> tuple[np.ndarray, np.ndarray]:
        if self._enc_space != space:
            self._enc_space = dict(space)
            self._encoder = SpaceEncoder(space)
            self._geom = Geometry(self._encoder)
            self._enc_index = {}
            self._enc_n = 0
            d = self._encoder.dim
            self._enc_X = np.zeros((64, d))
            self._enc_A = np.zeros((64, d), dtype=bool)
        enc = self._encoder
        assert enc is not None
        k = self._fast_prefix
        if k:
            Xp, Ap = self._prefix.encoded(enc, k)
            if len(trials) == k:
                return Xp, Ap
            Xt, At = enc.encode([t.internal_params for t in trials[k:]])
            return np.vstack([Xp, Xt]), np.vstack([Ap, At])
        index = self._enc_index
        idx = np.fromiter((index.get(t.trial_id, -1) for t in trials), dtype=np.int64,
                          count=len(trials))
        miss = np.flatnonzero(idx < 0)
        if len(miss):
            Xm, Am = enc.encode([trials[i].internal_params for i in miss])
            fin = np.array([trials[i].state.is_finished() for i in miss], dtype=bool)
            k = int(fin.sum())
            if k:
                need = self._enc_n + k
                if need > len(self._enc_X):
                    cap = max(need, 2 * len(self._enc_X))
                    self._enc_X = np.resize(self._enc_X, (cap, enc.dim))
                    self._enc_A = np.resize(self._enc_A, (cap, enc.dim))
                rows = np.arange(self._enc_n, need)
                self._enc_X[rows] = Xm[fin]
                self._enc_A[rows] = Am[fin]
                for r, i in zip(rows, miss[fin]):
                    index[trials[i].trial_id] = int(r)
                idx[miss[fin]] = rows
                self._enc_n = need
            X = self._enc_X[np.maximum(idx, 0)]
            A = self._enc_A[np.maximum(idx, 0)]
            X[miss] = Xm
            A[miss] = Am
            return X, A
        return self._enc_X[idx], self._enc_A[idx]

    def _prior_model(self, geom: Geometry, space: dict[str, BaseDistribution]) -> tuple[
        PriorModel, np.ndarray
    ]:
        pm = PriorModel.flat(geom)
        strength = np.zeros(geom.d)
        if not self.priors:
            return pm, strength
        enc = geom.encoder
        pm.cat_logp = list(pm.cat_logp)
        cat_pos = {int(j): k for k, j in enumerate(geom.cat_idx)}
        for j, name in enumerate(enc.names):
            p = self.priors.get(name)
            if p is None:
                continue
            p.check(space[name], name)
            pm.user[j] = True
            strength[j] = p.strength
            if geom.cat[j]:
                w = np.asarray(p.weights, dtype=float)
                w = w / w.sum()
                pm.cat_logp[cat_pos[j]] = np.log(np.maximum(w, 1e-12))
            else:
                row = np.zeros((1, geom.d))
                row[0, j] = p.center  # type: ignore[assignment]
                pm.center[j] = enc.to_unit(row)[0, j]
                pm.sigma[j] = p.width
        return pm, strength

    # --- the model ----------------------------------------------------------------------
    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        if self._in_startup:
            assert self._qmc is not None
            return self._qmc.sample_relative(study, trial, search_space)
        trials = self._trials(study, trial)
        self._fast_prefix = 0
        obs = self._collect_observations(study, trials)
        if len(obs.trials) == 0:
            return {}
        k = self._fast_prefix
        pf_obs = self._prefix.obs_trials
        if k and (len(obs.trials) < k or obs.trials[0] is not pf_obs[0]
                  or obs.trials[k - 1] is not pf_obs[k - 1]):
            self._fast_prefix = 0  # an override changed the observations: no fast path
        below, n_finished = self._split(obs)
        X, A = self._encode(search_space, obs.trials)
        geom = self._geom
        assert geom is not None
        prior_l, strength = self._prior_model(geom, search_space)
        prior_g = PriorModel.flat(geom)
        above = ~below
        wb = np.asarray(self.weights(int(below.sum())), dtype=float)
        wa = np.asarray(self.weights(int(above.sum())), dtype=float)
        if self.branch_weight > 0 and not A.all():
            extra = _branch_good(A, below, np.isfinite(obs.tier), self._last_order, self.gamma)
            if extra.any():
                good = below | extra
                w_good = np.zeros(len(below))
                w_good[below] = wb
                w_good[extra] = self.branch_weight
                below, above = good, ~good
                wb = w_good[good]
                wa = np.asarray(self.weights(int(above.sum())), dtype=float)
        kw = dict(
            prior_weight=self.prior_weight,
            bandwidth=self.bandwidth,
            bandwidth_factor=self.bandwidth_factor,
            magic_clip=self.consider_magic_clip,
            min_bandwidth=self.min_bandwidth,
            cat_smoothing=self.categorical_smoothing,
        )
        idx_a = np.flatnonzero(above)
        cap = self.max_observations
        if cap is not None and len(idx_a) > cap:
            idx_a, wa = _subsample(self._rng, idx_a, wa, cap)
        l_est = ParzenEstimator(geom, X[below], A[below], wb, prior_l, **kw)
        g_est = ParzenEstimator(geom, X[idx_a], A[idx_a], wa, prior_g, **kw)
        c = self.n_ei_candidates
        if self.multivariate:
            Xc, comp = l_est.sample(self._rng, c)
            M = l_est.active[comp]
            if not A.all():
                M = _infer_masks(geom, Xc, M, X, A)
            score = l_est.log_pdf(Xc, M) - g_est.log_pdf(Xc, M)
            if self.marginal_weight > 0:
                S = l_est.log_pdf_per_dim(Xc) - g_est.log_pdf_per_dim(Xc)
                score = score + self.marginal_weight * np.where(M, S, 0.0).sum(axis=1)
            if strength.any():
                score += (self.prior_decay / max(n_finished, 1)) * prior_l.log_density(
                    geom, Xc, M, strength
                )
            dup = _duplicates(geom, Xc, M, X, A)
            if dup.any() and not dup.all():
                score = np.where(dup, -np.inf, score)  # do not re-run a known grid point
            best = Xc[int(np.argmax(score))]
        else:
            Xc, _ = l_est.sample(self._rng, c, per_dim=True)
            S = l_est.log_pdf_per_dim(Xc) - g_est.log_pdf_per_dim(Xc)
            if strength.any():
                full = np.ones_like(Xc, dtype=bool)
                S += (self.prior_decay / max(n_finished, 1)) * (
                    prior_l.log_density_per_dim(geom, Xc, full) * strength[None, :]
                )
            pick = np.argmax(S, axis=0)
            best = Xc[pick, np.arange(geom.d)]
        enc = geom.encoder
        return enc.decode_external(best)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(seed={self.seed}, multivariate={self.multivariate}, "
            f"n_startup_trials={self.n_startup_trials}, n_ei_candidates={self.n_ei_candidates})"
        )


class MOTPESampler(TPESampler):
    """TPE for several objectives (MOTPE): the same sampler, named for discoverability.

    :class:`TPESampler` already splits multi-objective studies by non-domination rank and,
    at the cut, by hypervolume contribution; this subclass only changes the name.
    """


def _observe(t: FrozenTrial, m: int, liar: bool) -> tuple[Sequence[float], float] | None:
    """(loss row, tier) of one trial, or None when it is not an observation."""
    st = t.state
    if st == TrialState.COMPLETE and t.values is not None:
        return t.values, 0.0
    if st == TrialState.PRUNED:
        iv = t.intermediate_values
        if not iv:
            return [math.inf] * m, 2.5
        step = max(iv)
        v = iv[step]
        v = list(v) if isinstance(v, (list, tuple)) else [v]
        if len(v) != m:
            v = [math.inf] * m
        return v, 1.0 + 1.0 / (1.0 + max(step, 0))
    if st == TrialState.RUNNING and liar and t.params:
        return [math.inf] * m, math.inf
    return None


def _violations(trials: Sequence[FrozenTrial]) -> np.ndarray:
    """Total constraint violation (sum of positive constraint values) of each trial."""
    out = np.zeros(len(trials))
    for i, t in enumerate(trials):
        c = t.system_attrs.get(keys.CONSTRAINTS)
        if c:
            out[i] = float(np.sum(np.maximum(np.asarray(c, dtype=float), 0.0)))
    return out


class _Prefix:
    """Cache of the leading finished trials of a study (they never change again).

    Holds their union space, their count of complete/pruned trials and, for the default
    observation collector, their loss rows, tiers, violations and encoded parameters, so
    that a suggestion costs O(new trials) of Python work instead of O(all trials).
    """

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.trials: list[FrozenTrial] = []
        self.space: dict[str, BaseDistribution] = {}
        self.n_done = 0
        self.obs_trials: list[FrozenTrial] = []
        self.rows: list[Sequence[float]] = []
        self.tiers: list[float] = []
        self.viols: list[float] = []
        self._arr: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._enc: tuple[Any, np.ndarray, np.ndarray] | None = None

    @property
    def n_obs(self) -> int:
        return len(self.obs_trials)

    def add(self, t: FrozenTrial) -> None:
        self.ids.append(t.trial_id)
        self.trials.append(t)
        if t.state in _USED:
            self.space.update(t.distributions)
        if t.state in _DONE:
            self.n_done += 1
            if t.state == TrialState.PRUNED or t.values is not None:
                self.obs_trials.append(t)

    def arrays(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Loss rows (n, m), tiers and violations of the prefix observations."""
        n = self.n_obs
        for t in self.obs_trials[len(self.rows):]:
            r = _observe(t, m, False)
            assert r is not None
            self.rows.append(list(r[0]))
            self.tiers.append(r[1])
        if len(self.viols) < n:
            self.viols.extend(_violations(self.obs_trials[len(self.viols):]).tolist())
        if self._arr is None:
            self._arr = (0, np.zeros((0, m)), np.zeros(0), np.zeros(0))
        k, P, T, V = self._arr
        if k < n:  # append only the new rows
            P = np.vstack([P, np.array(self.rows[k:], dtype=float).reshape(n - k, m)])
            T = np.concatenate([T, np.array(self.tiers[k:], dtype=float)])
            V = np.concatenate([V, np.array(self.viols[k:], dtype=float)])
            self._arr = (n, P, T, V)
        return P, T, V

    def encoded(self, enc: SpaceEncoder, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Encoded parameters of the first ``k`` prefix observations (grown incrementally)."""
        if self._enc is None or self._enc[0] is not enc:
            self._enc = (enc, np.zeros((0, enc.dim)), np.zeros((0, enc.dim), dtype=bool))
        _, X, A = self._enc
        if len(X) < k:
            Xn, An = enc.encode([t.internal_params for t in self.obs_trials[len(X):k]])
            X, A = np.vstack([X, Xn]), np.vstack([A, An])
            self._enc = (enc, X, A)
        return X[:k], A[:k]


_DONE = (TrialState.COMPLETE, TrialState.PRUNED)
_USED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


def _gamma_from(gamma: Any) -> Callable[[int], int] | None:
    if gamma is None or callable(gamma):
        return gamma
    if isinstance(gamma, (int, float)) and not isinstance(gamma, bool) and 0 < gamma <= 1:
        frac = float(gamma)
        return lambda n: min(int(math.ceil(frac * n)), 25)
    raise TypeError(f"gamma must be callable or a fraction in (0, 1], got gamma={gamma!r}.")


def _weights_from(weights: Any) -> Callable[[int], np.ndarray] | None:
    if weights is None or callable(weights):
        return weights
    table = {"default": default_weights, "uniform": uniform_weights}
    if isinstance(weights, str) and weights in table:
        return table[weights]
    raise TypeError(
        f"weights must be callable, 'default' or 'uniform', got weights={weights!r}."
    )


def _parse_priors(priors: Any) -> dict[str, Prior]:
    if priors is None:
        return {}
    if hasattr(priors, "priors") and not isinstance(priors, Mapping):
        priors = priors.priors
    if not isinstance(priors, Mapping):
        raise TypeError(
            f"priors must be a mapping name -> Prior (or a Space), got {type(priors).__name__}."
        )
    out: dict[str, Prior] = {}
    for name, p in priors.items():
        if not isinstance(name, str):
            raise TypeError(f"prior names must be strings, got {name!r}.")
        out[name] = Prior.from_obj(p, name)
    return out


def _duplicates(
    geom: Geometry, Xc: np.ndarray, M: np.ndarray, X: np.ndarray, A: np.ndarray
) -> np.ndarray:
    """Candidates equal to an observation (finished or running) on every active parameter.

    Only candidates whose active parameters are all discrete (ints, steps, choices) can
    repeat a configuration exactly; in small grids such repeats waste the budget.
    """
    cont = geom.cont
    possible = ~(M & cont[None, :]).any(axis=1)
    if not possible.any() or len(X) == 0:
        return np.zeros(len(Xc), dtype=bool)
    r = np.random.default_rng(7).standard_normal(geom.d) + 3.0
    hc = np.where(M, Xc + 1.0, 0.0) @ r
    ho = np.where(A, X + 1.0, 0.0) @ r
    return possible & np.isin(hc, ho)


def _subsample(
    rng: np.random.Generator, idx: np.ndarray, w: np.ndarray, cap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the newest ``cap // 2`` of ``idx`` and a weighted sample of the older ones.

    The sampled old observations share the old ones' total weight equally, so the
    mixture keeps its balance between old and new observations.
    """
    n_new = cap // 2
    old, w_old = idx[:-n_new], w[:-n_new]
    m_old = cap - n_new
    tot = float(w_old.sum())
    p = w_old / tot if tot > 0 else None
    # Systematic sampling on the cumulative weights: O(n), low variance.
    cw = np.cumsum(p) if p is not None else np.arange(1, len(old) + 1) / len(old)
    u = (rng.random() + np.arange(m_old)) / m_old
    pick = np.unique(np.minimum(np.searchsorted(cw, u, side="right"), len(old) - 1))
    m_old = len(pick)
    new_w = np.concatenate([np.full(m_old, tot / m_old if tot > 0 else 1.0), w[-n_new:]])
    return np.concatenate([old[pick], idx[-n_new:]]), new_w


def _branch_good(
    A: np.ndarray,
    below: np.ndarray,
    finished: np.ndarray,
    order: np.ndarray,
    gamma: Callable[[int], int],
) -> np.ndarray:
    """The best observations of every branch (set of active parameters) not already good.

    Each branch with ``n_b`` finished observations contributes its ``gamma(n_b)`` best
    (at least one), so that ``l`` knows a good region of every branch explored so far.
    """
    d = A.shape[1]
    mult = _SIG_MULT[:d] if d <= len(_SIG_MULT) else np.resize(_SIG_MULT, d)
    sig = (A.astype(np.uint64) * mult[None, :]).sum(axis=1, dtype=np.uint64)
    _, grp = np.unique(sig, return_inverse=True)
    n_grp = int(grp.max()) + 1 if len(grp) else 0
    extra = np.zeros(len(A), dtype=bool)
    if n_grp <= 1:
        return extra
    fin_order = order[finished[order]]
    g_sorted = grp[fin_order]
    counts = np.bincount(g_sorted, minlength=n_grp)
    # Position of each observation within its branch, in rank order.
    pos = np.zeros(len(fin_order), dtype=np.int64)
    starts = np.zeros(n_grp, dtype=np.int64)
    idx = np.argsort(g_sorted, kind="stable")
    starts[1:] = np.cumsum(counts)[:-1]
    pos[idx] = np.arange(len(fin_order)) - np.repeat(starts, counts)
    quota = np.array([max(1, gamma(int(c))) for c in counts])  # loop over branches
    take = pos < quota[g_sorted]
    extra[fin_order[take]] = True
    return extra & ~below


def _infer_masks(
    geom: Geometry, Xc: np.ndarray, M: np.ndarray, X: np.ndarray, A: np.ndarray
) -> np.ndarray:
    """Activity masks of candidates from their categorical values.

    A candidate starts with the mask of the observation it was drawn from; when a categorical
    value changed on the way (another branch), it takes the mask of an observation with the
    same active categorical values (the newest one), up to three levels of nesting.
    """
    cj = geom.cat_idx
    if len(cj) == 0 or len(cj) > len(_SIG_MULT):
        return M
    mult = _SIG_MULT[: len(cj)]

    def codes(V: np.ndarray, act: np.ndarray) -> np.ndarray:
        s = np.where(act[:, cj], V[:, cj].astype(np.int64) + 1, 0).astype(np.uint64)
        return (s * mult[None, :]).sum(axis=1, dtype=np.uint64)

    obs_codes = codes(X, A)
    rev = obs_codes[::-1]
    uniq, first = np.unique(rev, return_index=True)
    rep = A[len(A) - 1 - first]  # the newest observation of each signature
    out = M.copy()
    for _ in range(3):
        cc = codes(Xc, out)
        pos = np.clip(np.searchsorted(uniq, cc), 0, len(uniq) - 1)
        hit = uniq[pos] == cc
        new = np.where(hit[:, None], rep[pos], out)
        if np.array_equal(new, out):
            break
        out = new
    return out
