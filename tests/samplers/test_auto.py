"""AutoSampler: the rule, fallbacks, pickling, seeding, quality."""

from __future__ import annotations

import pickle
import sys

import pytest

import slimtune as st
from slimtune.samplers import AutoSampler
from slimtune.samplers.gp import GPSampler


def _quad(trial):
    return sum((trial.suggest_float(f"x{i}", -3, 3) - 0.5) ** 2 for i in range(3))


def _delegate_type(study):
    return type(study.sampler.delegate).__name__


def test_default_sampler_is_auto_and_starts_with_the_gp():
    s = st.create_study()
    assert isinstance(s.sampler, AutoSampler)
    s.optimize(_quad, n_trials=3)
    assert _delegate_type(s) == "GPSampler"


def test_switches_to_tpe_past_the_gp_budget():
    s = st.create_study(sampler=AutoSampler(seed=0, gp_max_trials=12))
    s.optimize(_quad, n_trials=12)
    assert _delegate_type(s) == "GPSampler"
    s.optimize(_quad, n_trials=2)
    assert _delegate_type(s) == "TPESampler"
    assert all(t.state == st.TrialState.COMPLETE for t in s.trials)


def test_high_dimensional_space_uses_tpe():
    s = st.create_study(sampler=AutoSampler(seed=0, gp_max_dim=2))
    s.optimize(_quad, n_trials=2)
    assert _delegate_type(s) == "TPESampler"


def test_mostly_conditional_space_uses_tpe():
    def objective(trial):
        k = trial.suggest_categorical("k", ["a", "b"])
        return sum(trial.suggest_float(f"{k}{i}", 0, 1) for i in range(3))

    s = st.create_study(sampler=AutoSampler(seed=0, gp_max_conditional_fraction=0.5))
    s.optimize(objective, n_trials=6)
    assert _delegate_type(s) == "TPESampler"


def test_multi_objective_uses_the_gp_then_tpe():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, (1 - x) ** 2

    s = st.create_study(directions=["minimize", "minimize"],
                        sampler=AutoSampler(seed=0, gp_max_trials=11))
    s.optimize(objective, n_trials=11)
    assert _delegate_type(s) == "GPSampler"
    s.optimize(objective, n_trials=2)
    assert _delegate_type(s) == "TPESampler"
    assert len(s.best_trials) >= 3


def test_falls_back_to_the_gp_when_tpe_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "slimtune.samplers.tpe", None)  # import raises
    s = st.create_study(sampler=AutoSampler(seed=0, gp_max_dim=1))
    s.optimize(_quad, n_trials=3)
    assert _delegate_type(s) == "GPSampler"


def test_falls_back_to_qmc_when_no_model_imports(monkeypatch):
    monkeypatch.setitem(sys.modules, "slimtune.samplers.tpe", None)
    monkeypatch.setitem(sys.modules, "slimtune.samplers.gp", None)
    s = st.create_study(sampler=AutoSampler(seed=0))
    s.optimize(_quad, n_trials=3)
    assert _delegate_type(s) == "QMCSampler"


def test_seeded_picklable_and_reproducible():
    def run(sampler):
        s = st.create_study(sampler=sampler)
        s.optimize(_quad, n_trials=12)
        return [t.params for t in s.trials], sampler

    a, used = run(AutoSampler(seed=7))
    b, _ = run(AutoSampler(seed=7))
    assert a == b
    clone = pickle.loads(pickle.dumps(used))
    assert isinstance(clone, AutoSampler) and clone.seed == 7
    assert isinstance(clone.delegate, GPSampler)


def test_validation():
    with pytest.raises(ValueError, match="gp_max_trials"):
        AutoSampler(gp_max_trials=-1)
    with pytest.raises(ValueError, match="gp_max_conditional_fraction"):
        AutoSampler(gp_max_conditional_fraction=2.0)


def test_delegate_kwargs_reach_the_delegates_and_mistakes_are_one_line():
    a = AutoSampler(seed=3, gp_max_dim=0, tpe_kwargs={"n_startup_trials": 2, "gamma": 0.2})
    s = st.create_study(sampler=a)
    s.optimize(_quad, n_trials=4)
    tpe = a.delegate
    assert isinstance(tpe, st.samplers.TPESampler)
    assert tpe.n_startup_trials == 2 and tpe.seed == 3
    with pytest.raises(ValueError, match=r"AutoSampler\(tpe_kwargs=.*n_startup"):
        AutoSampler(tpe_kwargs={"n_startup": 2})
    with pytest.raises(ValueError, match="must not set 'seed'"):
        AutoSampler(gp_kwargs={"seed": 1})
    with pytest.raises(ValueError, match="must be a dict"):
        AutoSampler(tpe_kwargs=[("gamma", 0.2)])


def test_beats_random_search():
    auto = st.create_study(sampler=AutoSampler(seed=1))
    auto.optimize(_quad, n_trials=25)
    rnd = st.create_study(sampler=st.samplers.RandomSampler(seed=1))
    rnd.optimize(_quad, n_trials=25)
    assert auto.best_value < 0.2 * rnd.best_value
