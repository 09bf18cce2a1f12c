"""NSGAIISampler and its operators: hypervolume against random search, constraints,
generations, strategies; operators stay in bounds."""

from __future__ import annotations

import numpy as np
import pytest

import slimtune as st
from slimtune import keys
from slimtune.multiobjective import hypervolume
from slimtune.samplers import NSGAIISampler, RandomSampler
from slimtune.samplers.nsgaii import (
    BaseCrossover,
    BLXAlphaCrossover,
    PolynomialMutation,
    SBXCrossover,
    SPXCrossover,
    UNDXCrossover,
    UniformCrossover,
)
from slimtune.samplers.nsgaii.sampler import elite_select


def zdt1(trial: st.Trial) -> tuple[float, float]:
    x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(5)]
    g = 1.0 + 9.0 * sum(x[1:]) / 4.0
    return x[0], g * (1.0 - np.sqrt(x[0] / g))


REF = np.array([1.1, 11.0])


def front_hv(sampler, n=300, objective=zdt1) -> float:
    study = st.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=n)
    return hypervolume(np.array([t.values for t in study.best_trials]), REF)


def test_front_beats_random_hypervolume():
    # ZDT1, seed 0 (at 300 trials: NSGA-II 11.03, random 10.07; the ideal front 11.77).
    nsga = front_hv(NSGAIISampler(population_size=20, seed=0), n=250)
    rnd = front_hv(RandomSampler(seed=0), n=250)
    assert nsga > rnd + 0.5, (nsga, rnd)


def test_generations_and_parents_are_stored():
    study = st.create_study(directions=["minimize", "minimize"],
                            sampler=NSGAIISampler(population_size=6, seed=0))
    study.optimize(zdt1, n_trials=20)
    gens = [t.system_attrs[keys.NSGA2_GENERATION] for t in study.trials]
    assert gens == [0] * 6 + [1] * 6 + [2] * 6 + [3] * 2
    assert all(keys.NSGA2_PARENTS not in t.system_attrs for t in study.trials[:6])
    for t in study.trials[6:12]:  # parents of generation 1 come from generation 0
        assert all(p < 6 for p in t.system_attrs[keys.NSGA2_PARENTS])


def test_reproducible_with_a_seed():
    def params(seed):
        study = st.create_study(directions=["minimize", "minimize"],
                                sampler=NSGAIISampler(population_size=8, seed=seed))
        study.optimize(zdt1, n_trials=30)
        return [t.params for t in study.trials]

    assert params(3) == params(3)
    assert params(3) != params(4)


def test_constraints_func_steers_to_the_feasible_region():
    def constraints(trial):
        return trial.user_attrs["c"]

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_float("y", 0.0, 1.0)
        trial.set_user_attr("c", [0.6 - x])  # feasible: x >= 0.6
        return x, y + (1 - x)

    sampler = NSGAIISampler(population_size=10, seed=0, constraints_func=constraints)
    study = st.create_study(directions=["minimize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=80)
    stored = [t.system_attrs[keys.CONSTRAINTS] for t in study.trials]
    assert stored[0] == [pytest.approx(0.6 - study.trials[0].params["x"])]
    last = study.trials[-20:]
    # Random search puts 40% there; mutation keeps drawing some genes afresh.
    assert np.mean([t.params["x"] >= 0.6 for t in last]) > 0.55
    assert all(t.params["x"] >= 0.6 for t in study.best_trials)  # feasible front only


def test_elite_select_by_front_then_crowding():
    study = st.create_study(directions=["minimize", "minimize"])
    for v in [(0, 4), (1, 3), (2, 2), (3, 1), (4, 0), (2.5, 2.5), (5, 5)]:
        study.tell(study.ask(), list(v))
    chosen = elite_select(study, study.trials, 4)
    got = sorted(tuple(t.values) for t in chosen)
    # The five front points compete for four places: the extremes (infinite crowding)
    # stay, and the least crowded of the inner ones.
    assert (0.0, 4.0) in got and (4.0, 0.0) in got
    assert (5.0, 5.0) not in got and (2.5, 2.5) not in got
    assert len(got) == 4


def test_single_objective_categorical_and_operators_converge():
    def objective(trial):
        x = trial.suggest_float("x", -5.0, 5.0)
        k = trial.suggest_int("k", 0, 10)
        c = trial.suggest_categorical("c", ["a", "b", "c"])
        return (x - 1.0) ** 2 + (k - 3) ** 2 + (c != "b")

    for crossover in (UniformCrossover(), BLXAlphaCrossover(), SBXCrossover(),
                      SPXCrossover(), UNDXCrossover()):
        sampler = NSGAIISampler(population_size=10, seed=0, crossover=crossover,
                                mutation=PolynomialMutation())
        study = st.create_study(sampler=sampler)
        study.optimize(objective, n_trials=60)
        assert study.best_value < 2.0, (crossover, study.best_value)


@pytest.mark.parametrize("crossover", [UniformCrossover(0.3), BLXAlphaCrossover(0.5),
                                       SBXCrossover(eta=2.0), SPXCrossover(), UNDXCrossover()])
def test_operators_shape_and_bounds(crossover):
    rng = np.random.RandomState(0)
    study = st.create_study()
    bounds = np.tile([0.0, 1.0], (4, 1))
    parents = rng.uniform(0.2, 0.8, (crossover.n_parents, 4))
    for _ in range(50):
        child = crossover.crossover(parents, rng, study, bounds)
        assert child.shape == (4,) and np.all(np.isfinite(child))
    if isinstance(crossover, (UniformCrossover, SBXCrossover)):
        assert np.all((child >= 0) & (child <= 1))


def test_polynomial_mutation_stays_in_bounds_and_moves():
    rng = np.random.RandomState(1)
    m = PolynomialMutation(eta=5.0)
    vals = [m.mutation(0.9, rng, st.create_study(), np.array([0.0, 1.0])) for _ in range(200)]
    assert all(0.0 <= v <= 1.0 for v in vals)
    assert np.std(vals) > 0.01


def test_custom_strategies_are_used():
    calls = {"elite": 0, "child": 0, "after": 0}

    def elite(study, population):
        calls["elite"] += 1
        return population[:3]

    def child(study, space, parents):
        calls["child"] += 1
        return {"x": 0.5}

    def after(study, trial, state, values):
        calls["after"] += 1

    sampler = NSGAIISampler(population_size=4, seed=0, elite_population_selection_strategy=elite,
                            child_generation_strategy=child, after_trial_strategy=after)
    study = st.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=8)
    assert [t.params["x"] for t in study.trials[4:]] == [0.5] * 4
    assert calls["child"] == 4 and calls["after"] == 8 and calls["elite"] >= 1


def test_a_user_crossover_written_for_optuna_runs():
    class Midpoint(BaseCrossover):
        @property
        def n_parents(self):
            return 2

        def crossover(self, parents_params, rng, study, search_space_bounds):
            return parents_params.mean(axis=0)

    sampler = NSGAIISampler(population_size=4, seed=0, crossover=Midpoint(), crossover_prob=1.0)
    study = st.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=12)
    assert len(study.trials) == 12


def test_errors():
    with pytest.raises(ValueError, match="population_size must be an int >= 2"):
        NSGAIISampler(population_size=1)
    with pytest.raises(ValueError, match="crossover_prob"):
        NSGAIISampler(crossover_prob=1.5)
    with pytest.raises(TypeError, match="crossover must be a BaseCrossover"):
        NSGAIISampler(crossover="sbx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least the crossover's number of parents"):
        NSGAIISampler(population_size=2, crossover=SPXCrossover())
