"""TPE as pure steps: collect -> split -> fit -> sample -> score.

Each step is a function (or, for *collect*, a small replaceable object) with explicit inputs
and outputs; :class:`~slimtune.samplers.TPESampler` only wires them together:

1. **collect** (:class:`ObservationCollector`, default :class:`TrialCollector`): which trials
   the model is fitted on, with their losses and a sort tier (:class:`Observations`).
   BOHB passes its own, budget-aware collector.
2. **split** (:func:`split_observations`): the good/bad index sets (rank by tier,
   feasibility, losses; non-domination and hypervolume for several objectives).
3. **fit** (:func:`fit_estimators`): the Parzen estimators ``l`` (good) and ``g`` (bad).
4. **sample** (:func:`sample_candidates`): candidates drawn from ``l``.
5. **score** (:func:`score_candidates`, :func:`pick_best`): ``log l/g`` plus the
   ``marginal_weight`` term, the piBO prior term and the duplicate filter.

Only the steps that draw random numbers take the generator (``fit`` when ``g`` is capped,
``sample``); they draw in the same order as before the split into steps, so a seed gives the
same trials.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

import numpy as np

from slimtune import keys
from slimtune.distributions import BaseDistribution
from slimtune.multiobjective import hypervolume_contributions, non_dominated_sort, to_losses
from slimtune.samplers.tpe.memo import FinishedPrefix
from slimtune.samplers.tpe.parzen import Geometry, ParzenEstimator, PriorModel
from slimtune.space import Prior
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = [
    "Observations",
    "ObservationCollector",
    "TrialCollector",
    "Split",
    "split_observations",
    "fit_estimators",
    "Candidates",
    "sample_candidates",
    "score_candidates",
    "pick_best",
    "prior_models",
    "violations",
    "hypervolume_weights",
    "log_scaled",
]


# --- 1. collect ------------------------------------------------------------------------
class Observations(NamedTuple):
    """What the model is fitted on (the output of an :class:`ObservationCollector`).

    ``trials``: the trials whose parameters are the observations (in trial order).
    ``losses``: (n, m) values to minimise (m = number of objectives); ``inf`` = worst.
    ``tier``: (n,) sort key applied before the losses: 0 for complete trials, in (1, 2] for
    pruned ones (a later last step ranks first), ``inf`` for running trials (constant liar:
    they can only ever be *bad*, and they do not count towards ``gamma``).
    ``violation``: (n,) total constraint violation; None: read from the trials.
    ``budget``: the resource the observations were taken at (multi-fidelity collectors such
    as BOHB's); None otherwise.
    ``stable``: a promise of the collector that the first ``stable`` observations are
    finished trials returned as the same objects, in the same order, by its earlier calls
    too (0: no promise). The sampler's encoding memo uses it to encode only new rows.
    """

    trials: list[FrozenTrial]
    losses: np.ndarray
    tier: np.ndarray
    violation: np.ndarray | None = None
    budget: float | None = None
    stable: int = 0


@runtime_checkable
class ObservationCollector(Protocol):
    """Chooses what the TPE model is fitted on (step 1).

    ``collect(study, trials)`` gets the study and its trials in trial order (all states, the
    trial being sampled excluded) and returns :class:`Observations` in trial order. It may
    read the study only through its public methods and must not change it. Split, weights
    and estimators stay in the sampler.
    """

    def collect(self, study: Study, trials: Sequence[FrozenTrial]) -> Observations: ...


class TrialCollector:
    """The default collector: complete trials (tier 0), pruned ones by their last
    intermediate value (tier in (1, 2], 2.5 without any report) and, with
    ``constant_liar``, running ones that already have parameters (tier ``inf``).

    It keeps a pure memo of the loss rows of the study's leading finished trials
    (:class:`ObservationPrefix`), so a call costs Python work only for new trials; results
    are the same with a fresh collector.
    """

    def __init__(self, constant_liar: bool = True):
        self.constant_liar = bool(constant_liar)
        self._memo = ObservationPrefix()

    def collect(self, study: Study, trials: Sequence[FrozenTrial]) -> Observations:
        directions = study.directions
        m = len(directions)
        memo = self._memo
        k = memo.sync(study.study_name, trials)
        keep: list[FrozenTrial] = []
        rows: list[Sequence[float]] = []
        tiers: list[float] = []
        for t in trials[k:]:  # only the trials after the finished prefix
            r = observe(t, m, self.constant_liar)
            if r is not None:
                keep.append(t)
                rows.append(r[0])
                tiers.append(r[1])
        losses = np.array(rows, dtype=float).reshape(len(keep), m)
        tier = np.array(tiers, dtype=float)
        viol = violations(keep)
        stable = 0
        if memo.n_obs:
            P, T, V = memo.arrays(m)
            keep = memo.obs_trials + keep
            losses = np.vstack([P, losses])
            tier = np.concatenate([T, tier])
            viol = np.concatenate([V, viol])
            stable = memo.n_obs
        losses = to_losses(losses, directions)
        losses[~np.isfinite(losses)] = np.inf
        return Observations(keep, losses, tier, viol, stable=stable)

    def __repr__(self) -> str:
        return f"TrialCollector(constant_liar={self.constant_liar})"


class ObservationPrefix(FinishedPrefix):
    """Pure memo of :class:`TrialCollector`: the observations among the leading finished
    trials (complete with values, or pruned) and their loss rows, tiers and violations."""

    def reset(self, key: str | None) -> None:
        super().reset(key)
        self.obs_trials: list[FrozenTrial] = []
        self._m = -1
        self._P = np.zeros((0, 0))
        self._T = np.zeros(0)
        self._V = np.zeros(0)

    @property
    def n_obs(self) -> int:
        return len(self.obs_trials)

    def add(self, t: FrozenTrial) -> None:
        if t.state == TrialState.PRUNED or (t.state == TrialState.COMPLETE
                                            and t.values is not None):
            self.obs_trials.append(t)

    def arrays(self, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Loss rows (n, m) (as stored: not yet flipped for maximised objectives), tiers and
        violations of the prefix observations; only new rows are computed."""
        if m != self._m:
            self._m = m
            self._P, self._T, self._V = np.zeros((0, m)), np.zeros(0), np.zeros(0)
        k, n = len(self._T), self.n_obs
        if k < n:
            new = self.obs_trials[k:]
            rows, tiers = [], []
            for t in new:
                r = observe(t, m, False)
                assert r is not None
                rows.append(list(r[0]))
                tiers.append(r[1])
            self._P = np.vstack([self._P, np.array(rows, dtype=float).reshape(n - k, m)])
            self._T = np.concatenate([self._T, np.array(tiers, dtype=float)])
            self._V = np.concatenate([self._V, violations(new)])
        return self._P, self._T, self._V


def observe(t: FrozenTrial, m: int, liar: bool) -> tuple[Sequence[float], float] | None:
    """(loss row, tier) of one trial for the default collector, or None when it is not an
    observation (``m`` objectives; ``liar``: running trials count)."""
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


def violations(trials: Sequence[FrozenTrial]) -> np.ndarray:
    """Total constraint violation (sum of positive constraint values) of each trial."""
    out = np.zeros(len(trials))
    for i, t in enumerate(trials):
        c = t.system_attrs.get(keys.CONSTRAINTS)
        if c:
            out[i] = float(np.sum(np.maximum(np.asarray(c, dtype=float), 0.0)))
    return out


# --- 2. split --------------------------------------------------------------------------
class Split(NamedTuple):
    """The good/bad split of :class:`Observations`.

    ``good``: (n,) mask of the good observations (all others are bad).
    ``order``: the observation indices in rank order (used to pick each branch's best).
    ``n_finished``: the number of finished observations (finite tier).
    """

    good: np.ndarray
    order: np.ndarray
    n_finished: int


def own_contributions(P: np.ndarray) -> np.ndarray:
    """Exclusive hypervolume of each row of ``P`` (losses) with the reference point 10 % of
    the range beyond the rows' worst (the MOTPE cut and the ``hypervolume`` good weights)."""
    span = np.ptp(P, axis=0)
    return hypervolume_contributions(P, P.max(axis=0) + 0.1 * np.where(span > 0, span, 1.0))


def split_observations(obs: Observations, gamma: Callable[[int], int]) -> Split:
    """Rank the observations and mark the best ``gamma(n_finished)`` as good (pure).

    Finished feasible observations rank by tier, then losses; infeasible ones after them by
    total violation; running ones (tier ``inf``) last, never good. A tie of equal losses
    across the cut (a plateau) is left out of the good set entirely. Several objectives:
    non-domination rank within each (feasibility, tier) group, and the group straddling the
    cut is thinned by hypervolume contribution (MOTPE).
    """
    n_all = len(obs.trials)
    finished = np.isfinite(obs.tier)
    n = int(finished.sum())
    n_below = int(min(max(gamma(n), 0), n))
    below = np.zeros(n_all, dtype=bool)
    if n_below == 0:
        return Split(below, np.flatnonzero(finished), n)
    viol = obs.violation if obs.violation is not None else violations(obs.trials)
    infeasible = (viol > 0).astype(float)
    L = obs.losses
    tier = np.where(finished, obs.tier, np.inf)
    if L.shape[1] == 1:
        primary = np.where(infeasible > 0, viol, L[:, 0])
        # One group key: finished feasible trials by tier (0 .. 2.5), then infeasible
        # ones (10), then running ones (inf); within a group the primary value.
        group = np.where(finished, np.where(infeasible > 0, 10.0, tier), np.inf)
        order = np.lexsort((primary, group))
        below[order[:n_below]] = True
        if n_below < n:
            # A tie across the cut (a plateau of equal losses) says nothing about where
            # to go: the tied trials are all left out of the good set.
            c, nxt = order[n_below - 1], order[n_below]
            if group[c] == group[nxt] and primary[c] == primary[nxt]:
                below &= ~((group == group[c]) & (primary == primary[c]))
        return Split(below, order, n)
    # Several objectives: non-domination rank within each (feasibility, tier) group.
    rank = np.zeros(n_all)
    feas_f = finished & (infeasible == 0)
    for tv in np.unique(tier[feas_f]):  # loop over tiers (a handful), not observations
        idx = np.flatnonzero(feas_f & (tier == tv))
        rank[idx] = non_dominated_sort(L[idx])
    primary = np.where(infeasible > 0, viol, rank)
    key_tier = np.where(infeasible > 0, 0.0, tier)
    order = np.lexsort((primary, key_tier, infeasible, ~finished))
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
        contrib = own_contributions(L[tied])
        pick = tied[np.argsort(-contrib, kind="stable")[:need]]
    else:
        pick = tied[:need]
    below[inside] = True
    below[pick] = True
    return Split(below, order, n)


# --- 3. fit ----------------------------------------------------------------------------
class KernelSettings(NamedTuple):
    """The :class:`ParzenEstimator` settings shared by ``l`` and ``g``."""

    prior_weight: float
    bandwidth: str
    bandwidth_factor: float
    magic_clip: bool
    min_bandwidth: float
    cat_smoothing: float | None


def fit_estimators(
    geom: Geometry,
    X: np.ndarray,
    A: np.ndarray,
    obs: Observations,
    split: Split,
    prior_l: PriorModel,
    kernel: KernelSettings,
    *,
    weights: Callable[[int], np.ndarray],
    gamma: Callable[[int], int],
    branch_weight: float,
    max_observations: int | None,
    rng: np.random.Generator,
    good_weights: str = "trial-order",
) -> tuple[ParzenEstimator, ParzenEstimator]:
    """Fit ``l`` on the good observations and ``g`` on the bad ones (step 3).

    ``X``, ``A``: the encoded observations and their activity masks. In a conditional space,
    the best ``gamma(n_b)`` observations of every branch join ``l`` with ``branch_weight``.
    When the bad set exceeds ``max_observations`` it is subsampled (one draw from ``rng``);
    otherwise ``rng`` is not used.
    """
    below = split.good
    above = ~below
    wb = np.asarray(weights(int(below.sum())), dtype=float)
    if good_weights == "hypervolume" and obs.losses.shape[1] > 1 and below.sum() > 1:
        wb = hypervolume_weights(obs, below)
    wa = np.asarray(weights(int(above.sum())), dtype=float)
    if branch_weight > 0 and not A.all():
        extra = branch_good(A, below, np.isfinite(obs.tier), split.order, gamma)
        if extra.any():
            good = below | extra
            w_good = np.zeros(len(below))
            w_good[below] = wb
            w_good[extra] = branch_weight
            below, above = good, ~good
            wb = w_good[good]
            wa = np.asarray(weights(int(above.sum())), dtype=float)
    kw = kernel._asdict()
    idx_a = np.flatnonzero(above)
    if max_observations is not None and len(idx_a) > max_observations:
        idx_a, wa = subsample(rng, idx_a, wa, max_observations)
    l_est = ParzenEstimator(geom, X[below], A[below], wb, prior_l, **kw)
    g_est = ParzenEstimator(geom, X[idx_a], A[idx_a], wa, PriorModel.flat(geom), **kw)
    return l_est, g_est


def log_scaled(losses: np.ndarray, log: Sequence[bool], signs: np.ndarray) -> np.ndarray:
    """Losses with the objectives flagged in ``log`` measured on a log scale.

    ``signs`` (m,): +1 where an objective is minimised (loss = value), -1 where it is
    maximised (loss = -value). The transform is monotone, so ranks and non-domination do not
    change; only hypervolumes do (a model 2x smaller counts the same at 5k or 500k MACs).
    Values <= 0 of a log objective are clipped to the smallest positive float; non-finite
    losses (running trials) stay as they are.
    """
    out = np.array(losses, dtype=float, copy=True)
    for j, is_log in enumerate(log):  # loop over objectives (a handful)
        if not is_log:
            continue
        col = out[:, j]
        fin = np.isfinite(col)
        v = np.maximum(signs[j] * col[fin], np.finfo(float).tiny)
        col[fin] = signs[j] * np.log(v)
    return out


def hypervolume_weights(obs: Observations, below: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Weights of the good observations (in trial order) by their exclusive hypervolume
    within the good set, scaled to a maximum of 1 (MOTPE): the points that shape the front
    weigh most, dominated ones almost nothing. Infeasible good observations weigh ``eps``
    when some good one is feasible."""
    idx = np.flatnonzero(below)
    viol = obs.violation if obs.violation is not None else violations(obs.trials)
    ok = np.isfinite(obs.tier) & (viol <= 0) & np.all(np.isfinite(obs.losses), axis=1)
    L = obs.losses[idx]
    feas = ok[idx]
    w = np.full(len(idx), eps)
    if feas.sum() == 0:
        return np.ones(len(idx))
    c = own_contributions(L[feas])
    top = c.max()
    w[feas] = np.maximum(c / top, eps) if top > 0 else 1.0
    return w


def prior_models(
    priors: Mapping[str, Prior], geom: Geometry, space: Mapping[str, BaseDistribution]
) -> tuple[PriorModel, np.ndarray]:
    """The prior component of ``l`` (user beliefs where given, broad elsewhere) and the
    per-dimension piBO strength (0 where there is no user prior)."""
    pm = PriorModel.flat(geom)
    strength = np.zeros(geom.d)
    if not priors:
        return pm, strength
    enc = geom.encoder
    pm.cat_logp = list(pm.cat_logp)
    cat_pos = {int(j): k for k, j in enumerate(geom.cat_idx)}
    for j, name in enumerate(enc.names):  # loop over parameters, not observations
        p = priors.get(name)
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


# --- 4. sample -------------------------------------------------------------------------
class Candidates(NamedTuple):
    """Candidates drawn from ``l``: points (c, d) in model coordinates and their activity
    masks (c, d) (all True in univariate mode)."""

    X: np.ndarray
    M: np.ndarray


def sample_candidates(
    l_est: ParzenEstimator,
    rng: np.random.Generator,
    n: int,
    X: np.ndarray,
    A: np.ndarray,
    *,
    multivariate: bool = True,
) -> Candidates:
    """Draw ``n`` candidates from ``l`` (step 4).

    Multivariate: joint draws; a candidate takes the mask of its source component, or, when
    a categorical value moved it to another branch, that of an observation of the branch
    (``X``, ``A``: the observations). Univariate: each dimension from its own marginal.
    """
    if multivariate:
        Xc, comp = l_est.sample(rng, n)
        M = l_est.active[comp]
        if not A.all():
            M = infer_masks(l_est.geom, Xc, M, X, A)
        return Candidates(Xc, M)
    Xc, _ = l_est.sample(rng, n, per_dim=True)
    return Candidates(Xc, np.ones_like(Xc, dtype=bool))


# --- 5. score --------------------------------------------------------------------------
def score_candidates(
    cand: Candidates,
    l_est: ParzenEstimator,
    g_est: ParzenEstimator,
    *,
    multivariate: bool = True,
    marginal_weight: float = 0.0,
    prior_l: PriorModel | None = None,
    strength: np.ndarray | None = None,
    prior_scale: float = 0.0,
    X: np.ndarray | None = None,
    A: np.ndarray | None = None,
) -> np.ndarray:
    """Acquisition of the candidates (step 5); larger is better.

    Multivariate, (c,): ``log l(x) - log g(x) + marginal_weight * sum_j log l_j/g_j`` over
    the candidate's active parameters, plus ``prior_scale * log prior(x)`` weighted by
    ``strength`` (piBO), with ``-inf`` for candidates that repeat a known discrete
    configuration of ``X``, ``A`` (unless all do). Univariate, (c, d): per-parameter ratios.
    """
    geom = l_est.geom
    Xc, M = cand
    user = strength is not None and prior_l is not None and bool(strength.any())
    if multivariate:
        score = l_est.log_pdf(Xc, M) - g_est.log_pdf(Xc, M)
        if marginal_weight > 0:
            S = l_est.log_pdf_per_dim(Xc) - g_est.log_pdf_per_dim(Xc)
            score = score + marginal_weight * np.where(M, S, 0.0).sum(axis=1)
        if user:
            assert prior_l is not None and strength is not None
            score += prior_scale * prior_l.log_density(geom, Xc, M, strength)
        if X is not None and A is not None:
            dup = duplicates(geom, Xc, M, X, A)
            if dup.any() and not dup.all():
                score = np.where(dup, -np.inf, score)  # do not re-run a known grid point
        return score
    S = l_est.log_pdf_per_dim(Xc) - g_est.log_pdf_per_dim(Xc)
    if user:
        assert prior_l is not None and strength is not None
        full = np.ones_like(Xc, dtype=bool)
        S += prior_scale * (prior_l.log_density_per_dim(geom, Xc, full) * strength[None, :])
    return S


def pick_best(cand: Candidates, score: np.ndarray) -> np.ndarray:
    """The best point: the top-scoring candidate (score (c,)) or, per dimension, the
    top-scoring candidate value (score (c, d), univariate mode)."""
    Xc = cand.X
    if score.ndim == 1:
        return Xc[int(np.argmax(score))]
    pick = np.argmax(score, axis=0)
    return Xc[pick, np.arange(Xc.shape[1])]


# --- helpers (vectorised) ----------------------------------------------------------------
_SIG_MULT = np.random.default_rng(12345).integers(1, 2**62, size=4096, dtype=np.int64).astype(
    np.uint64
) | np.uint64(1)


def duplicates(
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


def subsample(
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


def branch_good(
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


def infer_masks(
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
