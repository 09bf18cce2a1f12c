"""PartialFixedSampler: fixed values as given, the base sampler models the rest."""

from __future__ import annotations

import pytest

import slimtune as st
from slimtune.samplers import PartialFixedSampler, RandomSampler, TPESampler


def objective(trial: st.Trial) -> float:
    x = trial.suggest_float("x", -3.0, 3.0)
    y = trial.suggest_int("y", 0, 9)
    c = trial.suggest_categorical("c", ["a", "b"])
    return (x - 1.0) ** 2 + (y - 4) ** 2 + (c == "b")


def test_fixed_values_and_the_base_sampler_models_the_others():
    seen = []

    class Spy(TPESampler):
        def sample_relative(self, study, trial, search_space):
            seen.append(set(search_space))
            return super().sample_relative(study, trial, search_space)

    sampler = PartialFixedSampler({"y": 4, "c": "a"}, Spy(seed=0))
    study = st.create_study(sampler=sampler)
    study.optimize(objective, n_trials=40)
    assert {(t.params["y"], t.params["c"]) for t in study.trials} == {(4, "a")}
    assert seen and all(s == {"x"} for s in seen if s)  # the fixed names are left out
    assert abs(study.best_params["x"] - 1.0) < 0.3  # TPE optimised the free parameter
    assert sampler.fixed_params == {"y": 4, "c": "a"}
    assert isinstance(sampler.base_sampler, TPESampler)


def test_reproducible_and_a_fixed_value_outside_the_range_warns():
    def run():
        study = st.create_study(sampler=PartialFixedSampler({"y": 2}, RandomSampler(seed=3)))
        study.optimize(objective, n_trials=5)
        return [t.params for t in study.trials]

    assert run() == run()
    study = st.create_study(sampler=PartialFixedSampler({"x": 7.0}, RandomSampler(seed=0)))
    with pytest.warns(UserWarning, match="outside the suggested distribution"):
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1, catch=())


def test_errors():
    with pytest.raises(TypeError, match="fixed_params must be a dict"):
        PartialFixedSampler([("x", 1)], RandomSampler())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="base_sampler must be a sampler"):
        PartialFixedSampler({"x": 1}, "tpe")  # type: ignore[arg-type]
