"""Budgets: MaxTrialsCallback (Optuna's spec) in one process and across worker processes."""

from __future__ import annotations

import pytest

import slimtune as st
from slimtune.trial import TrialState


def _half_fail(trial):
    x = trial.suggest_float("x", 0, 1)
    if trial.number % 2 == 1:
        raise ValueError("odd trial")
    return x


def test_max_trials_callback_counts_complete_trials_by_default():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(_half_fail, n_trials=100, callbacks=[st.MaxTrialsCallback(5)])
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) == 5 and states.count(TrialState.FAIL) == 4


def test_max_trials_callback_states_none_counts_every_trial():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(_half_fail, n_trials=100, callbacks=[st.MaxTrialsCallback(5, states=None)])
    assert len(study.trials) == 5


def test_max_trials_callback_counts_the_whole_study_across_runs():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    cb = st.study.MaxTrialsCallback(4, states=(TrialState.COMPLETE, TrialState.PRUNED))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=100, callbacks=[cb])
    assert len(study.trials) == 4


def _slow(trial):
    import time

    # Long enough that a parent slowed by a loaded machine (it runs the callbacks) still
    # sees each result before the workers are far ahead of it.
    time.sleep(0.2)
    return trial.suggest_float("x", 0, 1)


def test_max_trials_callback_with_worker_processes(tmp_path):
    study = st.create_study(
        storage=f"sqlite:///{tmp_path}/m.db", sampler=st.samplers.RandomSampler(seed=0)
    )
    study.optimize(
        _slow,
        n_trials=200,
        n_jobs=2,
        callbacks=[st.MaxTrialsCallback(10)],
    )
    # Checked in the parent after each trial: the trials in flight, and those the workers
    # started before the parent saw the tenth, end too.
    assert 10 <= len(study.trials) <= 10 + 4


def test_max_trials_callback_needs_an_int():
    with pytest.raises(TypeError, match="n_trials must be an int"):
        st.MaxTrialsCallback("10")  # type: ignore[arg-type]
