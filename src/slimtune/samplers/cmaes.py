"""CMA-ES on the maintained ``cmaes`` library (Optuna's ``CmaEsSampler``; extra ``cmaes``).

The numeric parameters (floats and ints, log ones on the log scale) are optimised jointly
by CMA-ES in the unit cube of :class:`~slimtune.space.SpaceEncoder`; categorical parameters
and parameters seen for the first time go to ``independent_sampler`` (random by default),
as in Optuna. Where Optuna restricts CMA-ES to the parameters that *every* trial used, this
sampler takes the union (conditional parameters too): a parameter a trial did not use keeps
the value CMA-ES proposed for it, so the search distribution is still updated correctly.

State from storage alone: a trial sampled by CMA-ES carries its generation, restart and
proposal (``keys.CMA_*``, JSON). The optimizer is rebuilt by replaying the told generations
(``tell`` is deterministic; each ``ask`` is seeded from the sampler's random stream), and
kept in memory between trials, so a resumed study or another worker process continues the
same search instead of pickling optimizers into the database.

A generation is told once ``popsize`` of its trials are complete (the lowest numbers first;
with ``consider_pruned_trials`` pruned trials with a value count too). Restarts (IPOP,
BIPOP) begin when the library's stopping rule fires. ``source_trials`` warm-starts the
distribution from another study's trials (Nomura et al. 2021, ``get_warm_start_mgd``).
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.distributions import BaseDistribution, FloatDistribution, IntDistribution
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.random import RandomSampler
from slimtune.space import SpaceEncoder, union_search_space
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["CmaEsSampler"]

logger = logging.getLogger("slimtune")

_RESTARTS = (None, "ipop", "bipop")


def _import_cmaes() -> Any:
    try:
        import cmaes
    except ImportError:
        raise ImportError(
            "CmaEsSampler needs the cmaes package: pip install slimtune[cmaes]"
        ) from None
    return cmaes


def space_digest(space: dict[str, BaseDistribution]) -> str:
    """A short, stable name of a search space (names and distributions)."""
    text = ";".join(f"{n}={d!r}" for n, d in sorted(space.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@dataclass
class _Replay:
    """An optimizer rebuilt from the told generations, and where it stands."""

    optimizer: Any
    restart: int = 0
    generation: int = 0
    popsize: int = 0
    # ((restart, generation), trial numbers) of every generation told, in order.
    told: list[tuple[tuple[int, int], tuple[int, ...]]] = field(default_factory=list)
    # BIPOP bookkeeping: evaluations spent in the small and the large regime.
    small_evals: int = 0
    large_evals: int = 0
    large_popsize: int = 0
    n_large_restarts: int = 0


class CmaEsSampler(BaseSampler):
    """CMA-ES for numeric parameters; categoricals are sampled independently.

    Args (Optuna's names and meaning):
        x0: the initial mean, parameter name -> value (default: the centre of the space).
        sigma0: the initial step size, as a fraction of each parameter's range in [0, 1]
            coordinates (default ``1/6``).
        n_startup_trials: independent trials before CMA-ES starts.
        independent_sampler: the sampler of categorical and new parameters (default
            ``RandomSampler(seed)``).
        warn_independent_sampling: log a warning (once per parameter) when a parameter
            is sampled by ``independent_sampler`` after the startup trials.
        seed: makes the trials reproducible.
        consider_pruned_trials: count pruned trials (with their last reported value).
        restart_strategy: ``None``, ``"ipop"`` (restart with a population ``inc_popsize``
            times larger) or ``"bipop"`` (alternate large and small populations).
        popsize: the population size (default ``4 + floor(3 ln d)``).
        inc_popsize: the IPOP/BIPOP growth factor (``-1``: 2).
        use_separable_cma: a diagonal covariance (``cmaes.SepCMA``): cheaper in high
            dimension.
        with_margin: CMA-ES with margin for integer parameters; not supported here (a
            ``ValueError`` says so), integers are rounded from the continuous proposal.
        lr_adapt: the learning-rate adaptation of Nomura et al. 2023 (multimodal or noisy
            problems).
        source_trials: finished trials of a similar task to warm-start from.

    >>> import slimtune as st
    >>> sampler = st.samplers.CmaEsSampler(seed=0)  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        x0: dict[str, Any] | None = None,
        sigma0: float | None = None,
        n_startup_trials: int = 1,
        independent_sampler: BaseSampler | None = None,
        warn_independent_sampling: bool = True,
        seed: int | None = None,
        consider_pruned_trials: bool = False,
        restart_strategy: str | None = None,
        popsize: int | None = None,
        inc_popsize: int = -1,
        use_separable_cma: bool = False,
        with_margin: bool = False,
        lr_adapt: bool = False,
        source_trials: list[FrozenTrial] | None = None,
    ) -> None:
        _import_cmaes()
        if x0 is not None and not isinstance(x0, dict):
            raise TypeError(f"CmaEsSampler: x0 must be a dict name -> value, got {x0!r}.")
        if sigma0 is not None and not (isinstance(sigma0, (int, float)) and sigma0 > 0):
            raise ValueError(f"CmaEsSampler: sigma0 must be a number > 0, got {sigma0!r}.")
        if isinstance(n_startup_trials, bool) or not isinstance(n_startup_trials, int) or (
            n_startup_trials < 0
        ):
            raise ValueError(
                f"CmaEsSampler: n_startup_trials must be an int >= 0, got {n_startup_trials!r}."
            )
        if restart_strategy not in _RESTARTS:
            raise ValueError(
                f"CmaEsSampler: restart_strategy={restart_strategy!r}; use None, 'ipop' or "
                "'bipop'."
            )
        if popsize is not None and (not isinstance(popsize, int) or popsize < 2):
            raise ValueError(f"CmaEsSampler: popsize must be an int >= 2, got {popsize!r}.")
        if inc_popsize == -1:
            inc_popsize = 2
        if not isinstance(inc_popsize, int) or inc_popsize < 1:
            raise ValueError(
                f"CmaEsSampler: inc_popsize must be an int >= 1 (or -1), got {inc_popsize!r}."
            )
        if with_margin:
            raise ValueError(
                "CmaEsSampler: with_margin=True is not supported by slimtune; leave it False "
                "(integers are rounded from the continuous proposal)."
            )
        if use_separable_cma and lr_adapt:
            raise ValueError("CmaEsSampler: lr_adapt=True cannot be used with use_separable_cma.")
        if source_trials is not None and (x0 is not None or sigma0 is not None):
            raise ValueError(
                "CmaEsSampler: source_trials sets the initial distribution; leave x0 and "
                "sigma0 unset."
            )
        self.seed = seed
        self.x0 = dict(x0) if x0 is not None else None
        self.sigma0 = float(sigma0) if sigma0 is not None else None
        self.n_startup_trials = n_startup_trials
        self.independent_sampler = (
            independent_sampler if independent_sampler is not None else RandomSampler(seed=seed)
        )
        self.warn_independent_sampling = bool(warn_independent_sampling)
        self.consider_pruned_trials = bool(consider_pruned_trials)
        self.restart_strategy = restart_strategy
        self.popsize = popsize
        self.inc_popsize = inc_popsize
        self.use_separable_cma = bool(use_separable_cma)
        self.with_margin = False
        self.lr_adapt = bool(lr_adapt)
        self.source_trials = list(source_trials) if source_trials is not None else None
        self._rng = np.random.default_rng(seed)
        self._replays: dict[str, _Replay] = {}
        self._warned: set[str] = set()

    # --- helpers --------------------------------------------------------------------------
    @staticmethod
    def _check_single_objective(study: Study) -> None:
        if len(study.directions) != 1:
            raise ValueError(
                "CmaEsSampler supports one objective; for several objectives use "
                "NSGAIISampler or TPESampler."
            )

    def _usable(self, study: Study) -> list[FrozenTrial]:
        states = (TrialState.COMPLETE, TrialState.PRUNED) if self.consider_pruned_trials else (
            TrialState.COMPLETE,
        )
        return [t for t in study.get_trials(deepcopy=False, states=states) if t.values]

    def _x(self, enc: SpaceEncoder, t: FrozenTrial) -> np.ndarray:
        """A trial as a point of the unit cube: its parameters, the proposal elsewhere."""
        p = {k: v for k, v in t.internal_params.items() if k in enc.space}
        X, active = enc.encode([p])
        x = X[0]
        proposal = t.system_attrs.get(keys.CMA_PROPOSAL)
        if proposal is not None and len(proposal) == enc.dim:
            x = np.where(active[0], x, np.asarray(proposal, dtype=float))
        return np.clip(x, 0.0, 1.0)

    def _initial(
        self, enc: SpaceEncoder, sign: float
    ) -> tuple[np.ndarray, float, np.ndarray | None]:
        """Mean, sigma and covariance of a fresh optimizer."""
        d = enc.dim
        if self.source_trials is not None:
            cmaes = _import_cmaes()
            sols = []
            for t in self.source_trials:
                if t.state == TrialState.COMPLETE and t.values and set(enc.space) <= set(
                    t.params
                ):
                    sols.append((self._x(enc, t), sign * float(t.values[0])))
            if not sols:
                raise ValueError(
                    "CmaEsSampler: no complete trial of source_trials has every parameter "
                    f"of the search space ({', '.join(enc.names)})."
                )
            mean, sigma, cov = cmaes.get_warm_start_mgd(sols)
            return np.clip(mean, 1e-6, 1 - 1e-6), float(sigma), cov
        if self.x0 is not None:
            p = {}
            for name, dist in enc.space.items():
                if name in self.x0:
                    p[name] = dist.to_internal(self.x0[name])
            X, active = enc.encode([p])
            mean = np.where(active[0], X[0], 0.5)
        else:
            mean = np.full(d, 0.5)
        sigma = self.sigma0 if self.sigma0 is not None else 1.0 / 6.0
        return np.clip(mean, 1e-6, 1 - 1e-6), float(sigma), None

    def _new(
        self, enc: SpaceEncoder, sign: float, popsize: int, restart: int,
        sigma_scale: float = 1.0,
    ) -> Any:
        cmaes = _import_cmaes()
        base = 0 if self.seed is None else int(self.seed)
        seed = (base * 1000003 + restart) % (2**31)
        mean, sigma, cov = self._initial(enc, sign)
        if restart > 0:  # a restart begins at a random point of the space
            mean = np.random.default_rng(seed).uniform(0.0, 1.0, enc.dim)
            cov = None
        bounds = np.tile([0.0, 1.0], (enc.dim, 1))
        sigma = sigma * sigma_scale
        if self.use_separable_cma:
            return cmaes.SepCMA(mean, sigma, bounds=bounds, seed=seed, population_size=popsize)
        return cmaes.CMA(
            mean, sigma, bounds=bounds, seed=seed, population_size=popsize, cov=cov,
            lr_adapt=self.lr_adapt,
        )

    def _replay(self, study: Study, enc: SpaceEncoder, digest: str) -> _Replay:
        sign = 1.0 if study.directions[0] == "minimize" else -1.0
        groups: dict[tuple[int, int], list[FrozenTrial]] = {}
        for t in self._usable(study):
            a = t.system_attrs
            if a.get(keys.CMA_SPACE) != digest or keys.CMA_GENERATION not in a:
                continue
            key = (int(a.get(keys.CMA_RESTART, 0)), int(a[keys.CMA_GENERATION]))
            groups.setdefault(key, []).append(t)
        for g in groups.values():
            g.sort(key=lambda t: t.number)

        default_pop = self.popsize or 4 + int(math.floor(3 * math.log(enc.dim)))
        rep = self._replays.get(digest)
        if rep is not None and not all(
            tuple(t.number for t in groups.get(pos, [])[: len(nums)]) == nums
            for pos, nums in rep.told
        ):
            rep = None  # another process told a generation with other trials: rebuild
        if rep is None:
            rep = _Replay(self._new(enc, sign, default_pop, 0), popsize=default_pop,
                          large_popsize=default_pop)
        while True:
            trials = groups.get((rep.restart, rep.generation), [])
            if len(trials) < rep.popsize:
                break
            chosen = trials[: rep.popsize]
            sols = [(self._x(enc, t), sign * float(t.values[0])) for t in chosen]
            rep.optimizer.tell(sols)
            rep.told.append(((rep.restart, rep.generation), tuple(t.number for t in chosen)))
            rep.generation += 1
            if rep.restart == 0 or rep.popsize >= rep.large_popsize:
                rep.large_evals += rep.popsize
            else:
                rep.small_evals += rep.popsize
            if self.restart_strategy is not None and rep.optimizer.should_stop():
                self._restart(rep, enc, sign, default_pop)
        self._replays[digest] = rep
        return rep

    def _restart(self, rep: _Replay, enc: SpaceEncoder, sign: float, default_pop: int) -> None:
        rep.restart += 1
        rep.generation = 0
        scale = 1.0
        if self.restart_strategy == "ipop":
            rep.popsize = rep.popsize * self.inc_popsize
        else:  # BIPOP: a large population unless the small regime has spent less
            if rep.n_large_restarts == 0 or rep.small_evals >= rep.large_evals:
                rep.n_large_restarts += 1
                rep.large_popsize = default_pop * self.inc_popsize**rep.n_large_restarts
                rep.popsize = rep.large_popsize
            else:
                u = np.random.default_rng(
                    (0 if self.seed is None else int(self.seed)) + 7919 * rep.restart
                ).uniform()
                ratio = rep.large_popsize / default_pop
                rep.popsize = max(2, int(math.floor(default_pop * (0.5 * ratio) ** (u * u))))
                scale = 10.0 ** (-2.0 * u)
        rep.optimizer = self._new(enc, sign, rep.popsize, rep.restart, sigma_scale=scale)

    # --- protocol -------------------------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        trials = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
        space = union_search_space(trials)
        return {
            n: d for n, d in space.items()
            if isinstance(d, (FloatDistribution, IntDistribution)) and not d.single()
        }

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._check_single_objective(study)
        if not search_space:
            return {}
        if len(self._usable(study)) < self.n_startup_trials:
            return {}
        enc = SpaceEncoder(search_space)
        digest = space_digest(search_space)
        rep = self._replay(study, enc, digest)
        rep.optimizer.reseed_rng(int(self._rng.integers(2**31 - 1)))
        x = np.clip(np.asarray(rep.optimizer.ask(), dtype=float), 0.0, 1.0)
        study.set_trial_system_attr(trial.trial_id, keys.CMA_SPACE, digest)
        study.set_trial_system_attr(trial.trial_id, keys.CMA_RESTART, rep.restart)
        study.set_trial_system_attr(trial.trial_id, keys.CMA_GENERATION, rep.generation)
        study.set_trial_system_attr(trial.trial_id, keys.CMA_PROPOSAL, [float(v) for v in x])
        internal = enc.decode(x)
        return {n: search_space[n].to_external(v) for n, v in internal.items()}

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        self._check_single_objective(study)
        if (
            self.warn_independent_sampling
            and param_name not in self._warned
            and len(self._usable(study)) >= max(1, self.n_startup_trials)
        ):
            self._warned.add(param_name)
            logger.warning(
                "CmaEsSampler: parameter %r of trial %d is sampled by %s (CMA-ES handles "
                "numeric parameters it has seen before); pass warn_independent_sampling=False "
                "to silence this.", param_name, trial.number,
                type(self.independent_sampler).__name__,
            )
        return self.independent_sampler.sample_independent(
            study, trial, param_name, distribution
        )

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.independent_sampler.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.independent_sampler.after_trial(study, trial, state, values)

    def reseed_rng(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        self.independent_sampler.reseed_rng(seed)

    def __repr__(self) -> str:
        return (
            f"CmaEsSampler(seed={self.seed}, n_startup_trials={self.n_startup_trials}, "
            f"restart_strategy={self.restart_strategy!r}, popsize={self.popsize})"
        )
