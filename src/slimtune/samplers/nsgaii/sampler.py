"""NSGA-II (Deb et al. 2002), Optuna's ``NSGAIISampler``: a genetic algorithm for one or
several objectives, with constraints.

Generations of ``population_size`` trials. Generation 0 is random. The parents of
generation ``g`` are the elite of the parents of ``g - 1`` together with the finished
trials of ``g - 1``: non-dominated sorting (constrained domination when there are
constraints: feasible before infeasible, infeasible by total violation), ties on the last
front broken by crowding distance. A child takes parents by binary tournament, crosses
them with probability ``crossover_prob`` and mutates each gene with ``mutation_prob``.
Everything is read from storage (the generation and parents of every trial are stored in
``keys.NSGA2_*``), so workers and resumed studies continue the same evolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.distributions import BaseDistribution
from slimtune.multiobjective import crowding_distance, non_dominated_sort, to_losses
from slimtune.samplers.base import BaseSampler
from slimtune.samplers.nsgaii.operators import BaseCrossover, BaseMutation, UniformCrossover
from slimtune.samplers.random import RandomSampler
from slimtune.space import SpaceEncoder, union_search_space
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["NSGAIISampler", "elite_select"]


def _violation(t: FrozenTrial) -> float | None:
    c = t.system_attrs.get(keys.CONSTRAINTS)
    if c is None:
        return None
    return float(sum(max(0.0, float(v)) for v in c))


def _ranks(study: Study, trials: list[FrozenTrial]) -> np.ndarray:
    """Front index of each trial (0 best), constrained domination if any has constraints."""
    L = to_losses(np.array([t.values for t in trials], dtype=float), study.directions)
    viol = [_violation(t) for t in trials]
    if all(v is None for v in viol):
        return np.asarray(non_dominated_sort(L), dtype=int)
    # A trial without constraint values counts as infeasible (it cannot be checked).
    v = np.array([np.inf if x is None else x for x in viol])
    ranks = np.zeros(len(trials), dtype=int)
    feas = v <= 0
    offset = 0
    if feas.any():
        ranks[feas] = non_dominated_sort(L[feas])
        offset = int(ranks[feas].max()) + 1
    infeas = np.flatnonzero(~feas)
    if len(infeas):
        # Infeasible trials: by total violation, equal violations share a rank.
        _, inv = np.unique(v[infeas], return_inverse=True)
        ranks[infeas] = offset + inv
    return ranks


def elite_select(study: Study, trials: list[FrozenTrial], size: int) -> list[FrozenTrial]:
    """The ``size`` best trials: by front, then by crowding distance within the last front."""
    if len(trials) <= size:
        return list(trials)
    ranks = _ranks(study, trials)
    L = to_losses(np.array([t.values for t in trials], dtype=float), study.directions)
    chosen: list[int] = []
    for r in np.unique(ranks):
        idx = np.flatnonzero(ranks == r)
        if len(chosen) + len(idx) <= size:
            chosen.extend(idx.tolist())
            continue
        cd = crowding_distance(L[idx])
        order = np.argsort(-cd, kind="stable")
        chosen.extend(idx[order[: size - len(chosen)]].tolist())
        break
    return [trials[i] for i in sorted(chosen, key=lambda i: trials[i].number)]


class NSGAIISampler(BaseSampler):
    """NSGA-II with Optuna's arguments.

    Args:
        population_size: trials per generation (an int >= 2).
        mutation: ``None`` (a mutated gene is drawn afresh at random) or a
            :class:`~slimtune.samplers.nsgaii.BaseMutation` for numeric genes.
        mutation_prob: probability of mutating each gene (``None``: ``1 / n_params``).
        crossover: a :class:`~slimtune.samplers.nsgaii.BaseCrossover` for numeric genes
            (default :class:`UniformCrossover`); categorical genes are swapped uniformly.
        crossover_prob: probability that a child is a crossover (else a copy of a parent).
        swapping_prob: the swapping probability of categorical genes (and of the default
            uniform crossover).
        seed: makes the trials reproducible.
        constraints_func: ``f(frozen_trial) -> sequence`` of constraint values, <= 0 is
            feasible; stored on the trial. Without it, ``trial.set_constraints`` values
            are used.
        elite_population_selection_strategy: ``f(study, population) -> parents`` instead
            of the NSGA-II elite selection.
        child_generation_strategy: ``f(study, search_space, parent_population) -> params``
            instead of tournament, crossover and mutation.
        after_trial_strategy: ``f(study, trial, state, values)`` instead of storing the
            constraints.

    >>> import slimtune as st
    >>> sampler = st.samplers.NSGAIISampler(population_size=20, seed=0)
    """

    def __init__(
        self,
        *,
        population_size: int = 50,
        mutation: BaseMutation | None = None,
        mutation_prob: float | None = None,
        crossover: BaseCrossover | None = None,
        crossover_prob: float = 0.9,
        swapping_prob: float = 0.5,
        seed: int | None = None,
        constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
        elite_population_selection_strategy: (
            Callable[[Study, list[FrozenTrial]], list[FrozenTrial]] | None
        ) = None,
        child_generation_strategy: (
            Callable[[Study, dict[str, BaseDistribution], list[FrozenTrial]], dict[str, Any]]
            | None
        ) = None,
        after_trial_strategy: (
            Callable[[Study, FrozenTrial, TrialState, Sequence[float] | None], None] | None
        ) = None,
    ) -> None:
        if isinstance(population_size, bool) or not isinstance(population_size, int) or (
            population_size < 2
        ):
            raise ValueError(
                f"NSGAIISampler: population_size must be an int >= 2, got {population_size!r}."
            )
        if mutation_prob is not None and not 0.0 <= mutation_prob <= 1.0:
            raise ValueError(
                f"NSGAIISampler: mutation_prob must be in [0, 1], got {mutation_prob!r}."
            )
        for name, p in (("crossover_prob", crossover_prob), ("swapping_prob", swapping_prob)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"NSGAIISampler: {name} must be in [0, 1], got {p!r}.")
        if crossover is not None and not isinstance(crossover, BaseCrossover):
            raise TypeError(
                "NSGAIISampler: crossover must be a BaseCrossover (e.g. "
                f"st.samplers.nsgaii.SBXCrossover()), got {crossover!r}."
            )
        if mutation is not None and not isinstance(mutation, BaseMutation):
            raise TypeError(
                "NSGAIISampler: mutation must be a BaseMutation (e.g. "
                f"st.samplers.nsgaii.PolynomialMutation()) or None, got {mutation!r}."
            )
        self.seed = seed
        self.population_size = population_size
        self.mutation = mutation
        self.mutation_prob = mutation_prob
        self.crossover = crossover if crossover is not None else UniformCrossover(swapping_prob)
        if population_size < self.crossover.n_parents:
            raise ValueError(
                f"NSGAIISampler: population_size ({population_size}) must be at least the "
                f"crossover's number of parents ({self.crossover.n_parents})."
            )
        self.crossover_prob = float(crossover_prob)
        self.swapping_prob = float(swapping_prob)
        self.constraints_func = constraints_func
        self.elite_population_selection_strategy = elite_population_selection_strategy
        self.child_generation_strategy = child_generation_strategy
        self.after_trial_strategy = after_trial_strategy
        self._rng = np.random.default_rng(seed)
        self._random = RandomSampler(seed=seed)
        # generation -> (trial numbers it was computed from, parent trial numbers)
        self._parents_cache: dict[int, tuple[frozenset[int], list[int]]] = {}
        self._generation_of: dict[int, int] = {}

    # --- generations and parents ---------------------------------------------------------
    def _generation_trials(self, study: Study) -> dict[int, list[FrozenTrial]]:
        out: dict[int, list[FrozenTrial]] = {}
        for t in study.get_trials(deepcopy=False):
            g = t.system_attrs.get(keys.NSGA2_GENERATION)
            if g is not None:
                out.setdefault(int(g), []).append(t)
        return out

    def _select(self, study: Study, population: list[FrozenTrial]) -> list[FrozenTrial]:
        if self.elite_population_selection_strategy is not None:
            return list(self.elite_population_selection_strategy(study, population))
        return elite_select(study, population, self.population_size)

    def parent_population(self, study: Study, generation: int) -> list[FrozenTrial]:
        """The parents of ``generation`` (empty for generation 0)."""
        by_gen = self._generation_trials(study)
        by_number = {t.number: t for ts in by_gen.values() for t in ts}
        parents: list[FrozenTrial] = []
        for g in range(1, generation + 1):
            finished = [
                t for t in by_gen.get(g - 1, [])
                if t.state == TrialState.COMPLETE and t.values
            ]
            pool = {t.number: t for t in parents + finished}
            key = frozenset(pool)
            cached = self._parents_cache.get(g)
            if cached is not None and cached[0] == key:
                parents = [by_number[n] for n in cached[1] if n in by_number]
                continue
            parents = self._select(study, sorted(pool.values(), key=lambda t: t.number))
            self._parents_cache[g] = (key, [t.number for t in parents])
        return parents

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        by_gen = self._generation_trials(study)
        if not by_gen:
            g = 0
        else:
            g = max(by_gen)
            live = [t for t in by_gen[g] if t.state != TrialState.WAITING]
            if len(live) >= self.population_size:
                g += 1
        study.set_trial_system_attr(trial.trial_id, keys.NSGA2_GENERATION, g)
        self._generation_of[trial.trial_id] = g

    def _generation(self, study: Study, trial: FrozenTrial) -> int:
        g = self._generation_of.get(trial.trial_id)
        if g is None:
            g = trial.system_attrs.get(keys.NSGA2_GENERATION)
        if g is None:
            g = study.get_trial(trial.trial_id).system_attrs.get(keys.NSGA2_GENERATION, 0)
        return int(g)

    # --- protocol ------------------------------------------------------------------------
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        trials = [t for t in study.get_trials(deepcopy=False) if t.state != TrialState.WAITING]
        return {n: d for n, d in union_search_space(trials).items() if not d.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        g = self._generation(study, trial)
        if g == 0 or not search_space:
            return {}
        parents = self.parent_population(study, g)
        if not parents:
            return {}
        if self.child_generation_strategy is not None:
            return dict(self.child_generation_strategy(study, search_space, parents))
        return self._child(study, trial, search_space, parents)

    def _tournament(self, study: Study, parents: list[FrozenTrial], k: int) -> list[int]:
        """``k`` distinct parents (indices) by binary tournament on (front, crowding)."""
        n = len(parents)
        ranks = _ranks(study, parents)
        L = to_losses(np.array([t.values for t in parents], dtype=float), study.directions)
        crowd = np.zeros(n)
        for r in np.unique(ranks):
            idx = np.flatnonzero(ranks == r)
            crowd[idx] = crowding_distance(L[idx])
        chosen: list[int] = []
        pool = list(range(n))
        while len(chosen) < k:
            cand = [i for i in pool if i not in chosen]
            if len(cand) == 1:
                chosen.append(cand[0])
                continue
            a, b = self._rng.choice(cand, 2, replace=False)
            better = a if (ranks[a], -crowd[a]) <= (ranks[b], -crowd[b]) else b
            chosen.append(int(better))
        return chosen

    def _child(
        self, study: Study, trial: FrozenTrial, space: dict[str, BaseDistribution],
        parents: list[FrozenTrial],
    ) -> dict[str, Any]:
        n_par = min(self.crossover.n_parents, len(parents))
        picked = [parents[i] for i in self._tournament(study, parents, n_par)]
        enc = SpaceEncoder(space)
        X, active = enc.encode([{k: v for k, v in t.internal_params.items() if k in space}
                                for t in picked])
        rs = np.random.RandomState(int(self._rng.integers(2**31 - 1)))
        child = X[0].copy()
        child_active = active[0].copy()
        # A parameter the first parent lacks comes from another parent that has it.
        for j in range(enc.dim):
            if not child_active[j]:
                have = np.flatnonzero(active[:, j])
                if len(have):
                    child[j], child_active[j] = X[have[0], j], True
        if self._rng.random() < self.crossover_prob and len(picked) >= self.crossover.n_parents:
            num = enc.numeric & active.all(axis=0)
            if num.any():
                bounds = np.tile([0.0, 1.0], (int(num.sum()), 1))
                for _ in range(10):
                    c = np.asarray(
                        self.crossover.crossover(X[:, num], rs, study, bounds), dtype=float
                    )
                    if np.all((c >= 0.0) & (c <= 1.0)):
                        break
                child[num] = np.clip(c, 0.0, 1.0)
            cat = enc.is_categorical & active[:2].all(axis=0)
            swap = cat & (self._rng.random(enc.dim) < self.swapping_prob)
            child[swap] = X[1, swap]
        p_mut = self.mutation_prob if self.mutation_prob is not None else 1.0 / max(1, enc.dim)
        mutate = self._rng.random(enc.dim) < p_mut
        drop = np.zeros(enc.dim, dtype=bool)
        for j in np.flatnonzero(mutate):
            if self.mutation is not None and enc.numeric[j]:
                child[j] = self.mutation.mutation(float(child[j]), rs, study, np.array([0.0, 1.0]))
            else:
                drop[j] = True  # drawn afresh by the independent (random) sampler
        internal = enc.decode(child)
        study.set_trial_system_attr(trial.trial_id, keys.NSGA2_PARENTS, [t.number for t in picked])
        return {
            n: space[n].to_external(v)
            for j, (n, v) in enumerate(internal.items())
            if child_active[j] and not drop[j]
        }

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        return self._random.sample_independent(study, trial, param_name, distribution)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._generation_of.pop(trial.trial_id, None)
        if self.after_trial_strategy is not None:
            self.after_trial_strategy(study, trial, state, values)
            return
        if self.constraints_func is not None and state == TrialState.COMPLETE:
            cons = [float(c) for c in self.constraints_func(trial)]
            study.set_trial_system_attr(trial.trial_id, keys.CONSTRAINTS, cons)

    def reseed_rng(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        self._random.reseed_rng(seed)

    def __repr__(self) -> str:
        return (
            f"NSGAIISampler(population_size={self.population_size}, seed={self.seed}, "
            f"crossover={self.crossover!r}, mutation={self.mutation!r})"
        )
