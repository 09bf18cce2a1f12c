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
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.qmc import QMCSampler
from slimtune.samplers.random import sample_uniform
from slimtune.samplers.tpe.memo import DONE, USED, EncodingMemo, SpacePrefix
from slimtune.samplers.tpe.steps import (
    KernelSettings,
    ObservationCollector,
    Observations,
    TrialCollector,
    fit_estimators,
    log_scaled,
    pick_best,
    prior_models,
    sample_candidates,
    score_candidates,
    split_observations,
    subsample,
)
from slimtune.space import Prior, SpaceEncoder
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = [
    "TPESampler",
    "MOTPESampler",
    "Observations",
    "ObservationCollector",
    "TrialCollector",
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


# Kept importable from here (older code imports it from this module).
_subsample = subsample


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
    constant_liar : count RUNNING trials as bad observations (default True; given to the
        default collector when the sampler is made).
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
    good_weights : several objectives: ``"trial-order"`` (default; the ``weights`` rule) or
        ``"hypervolume"``: each good observation weighs its exclusive hypervolume within the
        good set (scaled to a maximum of 1; dominated ones next to nothing), as in MOTPE, so
        ``l`` follows the points that shape the front.
    objective_scales : one ``"linear"`` or ``"log"`` per objective (default all linear): the
        scale on which hypervolumes are measured (the split's cut and ``good_weights``).
        Ranks and non-domination do not depend on it. A cost that spans decades (MACs,
        parameters, latency) belongs on ``"log"``: a model 2x smaller then counts as much at
        5k as at 500k MACs; on the raw scale the big models dominate every hypervolume.
    startup : ``"random"`` (default) or ``"sobol"``: how the startup trials are drawn
        (parameters with a user prior are always drawn from it).
    seed : seed of the random stream (reproducible runs).

    collector : what the model is fitted on (step 1 of ``docs/tpe.md``): an
        :class:`ObservationCollector`, default :class:`TrialCollector` (complete, pruned and,
        with ``constant_liar``, running trials). BOHB passes its budget-aware collector.

    Each suggestion is computed from the study alone (no state is carried from one protocol
    call to the next): collect -> :func:`~slimtune.samplers.tpe.steps.split_observations`
    -> :func:`~slimtune.samplers.tpe.steps.fit_estimators` ->
    :func:`~slimtune.samplers.tpe.steps.sample_candidates` ->
    :func:`~slimtune.samplers.tpe.steps.score_candidates`. The sampler's only state is its
    random stream and pure memos (:mod:`slimtune.samplers.tpe.memo`).
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
        collector: ObservationCollector | None = None,
        good_weights: str = "trial-order",
        objective_scales: Sequence[str] | None = None,
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
        if good_weights not in ("trial-order", "hypervolume"):
            raise ValueError(
                f"good_weights={good_weights!r}: use 'trial-order' or 'hypervolume'."
            )
        if objective_scales is not None:
            objective_scales = [str(v) for v in objective_scales]
            bad = [v for v in objective_scales if v not in ("linear", "log")]
            if bad:
                raise ValueError(
                    f"objective_scales={objective_scales!r}: each entry is 'linear' or 'log'."
                )
        gamma = _gamma_from(gamma)
        weights = _weights_from(weights)
        if collector is not None and not isinstance(collector, ObservationCollector):
            raise TypeError(
                f"collector must have a collect(study, trials) method, got {collector!r}."
            )
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
        self.good_weights = good_weights
        self.objective_scales = None if objective_scales is None else tuple(objective_scales)
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
        self.collector: ObservationCollector = (
            collector if collector is not None else TrialCollector(self.constant_liar)
        )
        # Pure memos (see slimtune.samplers.tpe.memo): they save work, never change a result.
        self._history = SpacePrefix()
        self._encoding = EncodingMemo()

    # --- protocol -----------------------------------------------------------------------
    def reseed_rng(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        if self._qmc is not None:
            self._qmc.reseed_rng(seed)

    def _read(self, study: Study, trial: FrozenTrial) -> History:
        """One read of the study: its trials but ``trial`` (see :class:`History`)."""
        all_trials = study.get_trials(deepcopy=False)
        memo = self._history
        k = memo.sync(study.study_name, all_trials)
        tail = [t for t in all_trials[k:] if t.number != trial.number]
        n_done = memo.n_done + sum(1 for t in tail if t.state in DONE)
        space = dict(memo.space)
        for t in tail:
            if t.state in USED:
                space.update(t.distributions)
        return History(study.study_name, trial.number, memo.trials, k, tail, n_done, space)

    def in_startup(self, study: Study, trial: FrozenTrial) -> bool:
        """Whether ``trial`` is still a startup (random or prior-drawn) trial: fewer than
        ``max(n_startup_trials, 1)`` complete or pruned trials in the study."""
        return self._in_startup(self._read(study, trial))

    def _in_startup(self, h: History) -> bool:
        return h.n_done < max(self.n_startup_trials, 1)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        h = self._read(study, trial)
        if self._in_startup(h):
            if self._qmc is not None:
                space = self._qmc.infer_relative_search_space(study, trial)
                return RelativeSpace({k: v for k, v in space.items() if k not in self.priors}, h)
            return {}
        return RelativeSpace({k: v for k, v in sorted(h.space.items()) if not v.single()}, h)

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
        if self.constraints_func is not None and state in (TrialState.COMPLETE,
                                                           TrialState.PRUNED):
            cons = [float(c) for c in self.constraints_func(trial)]
            if any(math.isnan(c) for c in cons):
                raise ValueError(f"constraints_func returned NaN: {cons}.")
            study.set_trial_system_attr(trial.trial_id, keys.CONSTRAINTS, cons)

    # --- the model ----------------------------------------------------------------------
    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.propose(study, trial, search_space)[0]

    def propose(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> tuple[dict[str, Any], Observations | None]:
        """One joint proposal for ``trial`` over ``search_space``, from the study alone.

        Returns the parameters (empty: sample independently) and the observations the model
        was fitted on (None during startup). ``sample_relative`` returns the parameters;
        a subclass that needs the observations (BOHB records their budget) calls this.
        """
        if not search_space:
            return {}, None
        h = getattr(search_space, "history", None)
        if not (isinstance(h, History) and h.study_name == study.study_name
                and h.trial_number == trial.number):
            h = self._read(study, trial)  # a plain space: read the study here
        if self._in_startup(h):
            if self._qmc is None:
                return {}, None
            return self._qmc.sample_relative(study, trial, search_space), None
        obs = self.collector.collect(study, h.trials())  # 1. collect
        if len(obs.trials) == 0:
            return {}, obs
        if self.objective_scales is not None and "log" in self.objective_scales:
            obs = obs._replace(losses=self._scaled(study, obs.losses))
        split = split_observations(obs, self.gamma)  # 2. split
        X, A = self._encoding.encode(search_space, obs.trials, obs.stable, study.study_name)
        geom = self._encoding.geometry(search_space)
        prior_l, strength = prior_models(self.priors, geom, search_space)
        kernel = KernelSettings(
            prior_weight=self.prior_weight,
            bandwidth=self.bandwidth,
            bandwidth_factor=self.bandwidth_factor,
            magic_clip=self.consider_magic_clip,
            min_bandwidth=self.min_bandwidth,
            cat_smoothing=self.categorical_smoothing,
        )
        l_est, g_est = fit_estimators(  # 3. fit
            geom, X, A, obs, split, prior_l, kernel,
            weights=self.weights, gamma=self.gamma, branch_weight=self.branch_weight,
            max_observations=self.max_observations, rng=self._rng,
            good_weights=self.good_weights,
        )
        cand = sample_candidates(  # 4. sample
            l_est, self._rng, self.n_ei_candidates, X, A, multivariate=self.multivariate
        )
        score = score_candidates(  # 5. score
            cand, l_est, g_est,
            multivariate=self.multivariate,
            marginal_weight=self.marginal_weight,
            prior_l=prior_l,
            strength=strength,
            prior_scale=self.prior_decay / max(split.n_finished, 1),
            X=X if self.multivariate else None,
            A=A if self.multivariate else None,
        )
        return geom.encoder.decode_external(pick_best(cand, score)), obs

    def _scaled(self, study: Study, losses: np.ndarray) -> np.ndarray:
        scales = self.objective_scales or ()
        if len(scales) != losses.shape[1]:
            raise ValueError(
                f"objective_scales has {len(scales)} entries but the study has "
                f"{losses.shape[1]} objectives: give one 'linear' or 'log' per objective."
            )
        signs = np.array([-1.0 if d == "maximize" else 1.0 for d in study.directions])
        return log_scaled(losses, [v == "log" for v in scales], signs)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(seed={self.seed}, multivariate={self.multivariate}, "
            f"n_startup_trials={self.n_startup_trials}, n_ei_candidates={self.n_ei_candidates})"
        )


class History(NamedTuple):
    """One read of a study for one trial: its trials but that one, in trial order, as the
    leading finished ones (``prefix[:k]``, the memo's list: read it, never change it) and the
    rest (``tail``), with the number of complete or pruned trials and their union space."""

    study_name: str
    trial_number: int
    prefix: list[FrozenTrial]
    k: int
    tail: list[FrozenTrial]
    n_done: int
    space: dict[str, BaseDistribution]

    def trials(self) -> list[FrozenTrial]:
        """``prefix[:k] + tail``: the whole list."""
        pre = self.prefix if len(self.prefix) == self.k else self.prefix[: self.k]
        return pre + self.tail


class RelativeSpace(dict):  # type: ignore[type-arg]
    """The relative search space of one trial (a plain ``{name: distribution}`` dict) that
    also carries the :class:`History` it was inferred from, so that ``sample_relative``
    fits the model on the same trials without a second read of the study (explicitly
    passed through the protocol, not kept on the sampler)."""

    def __init__(self, space: Mapping[str, BaseDistribution], history: History):
        super().__init__(space)
        self.history = history


class MOTPESampler(TPESampler):
    """TPE for several objectives (MOTPE): the same sampler, named for discoverability.

    :class:`TPESampler` already splits multi-objective studies by non-domination rank and,
    at the cut, by hypervolume contribution; this subclass only changes the name.
    """


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
