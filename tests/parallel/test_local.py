from __future__ import annotations

import os
import signal

import pytest

import slimtune as st
from slimtune.trial import TrialState


def objective(trial):
    x = trial.suggest_float("x", -1, 1)
    trial.set_user_attr("pid", os.getpid())
    return x * x


def test_n_jobs_uses_processes(storage_url):
    study = st.create_study(storage=storage_url, sampler=st.samplers.RandomSampler(seed=0))
    seen = []
    study.optimize(objective, n_trials=24, n_jobs=2, callbacks=[lambda s, t: seen.append(t.number)])
    trials = study.trials
    assert len(trials) == 24
    assert sorted(t.number for t in trials) == list(range(24))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert os.getpid() not in pids and len(pids) == 2
    assert sorted(seen) == list(range(24))  # callbacks run in the parent, once per trial
    # Workers got different random streams: no duplicated configurations.
    assert len({t.params["x"] for t in trials}) == 24


def test_n_jobs_closure_objective_with_fork():
    offset = 3.0
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + offset, n_trials=6, n_jobs=2)
    assert len(study.trials) == 6 and study.best_value >= 3.0


def test_unpicklable_objective_with_spawn_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SLIMTUNE_MP_START", "spawn")
    study = st.create_study()
    with pytest.raises(TypeError, match="cannot be pickled.*module level"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2, n_jobs=2)
    assert study.trials == []


def _raising(trial):
    trial.suggest_float("x", 0, 1)
    if trial.number == 3:
        raise ValueError("bad config")
    return 1.0


def test_uncaught_exception_stops_workers_and_reraises():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    with pytest.raises(ValueError, match="bad config"):
        study.optimize(_raising, n_trials=40, n_jobs=2, catch=())
    states = {t.number: t.state for t in study.trials}
    assert states[3] == TrialState.FAIL
    assert len(states) < 40
    # The default catch keeps going.
    study2 = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study2.optimize(_raising, n_trials=8, n_jobs=2)
    assert len(study2.trials) == 8


def _suicidal(trial):
    trial.suggest_float("x", 0, 1)
    if trial.number == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return 0.5


def test_killed_worker_trial_failed_and_study_goes_on(tmp_path):
    study = st.create_study(
        storage=f"sqlite:///{tmp_path}/k.db", sampler=st.samplers.RandomSampler(seed=0)
    )
    study.optimize(_suicidal, n_trials=10, n_jobs=2)
    trials = study.trials
    assert len(trials) == 10
    assert trials[2].state == TrialState.FAIL
    assert "worker process died" in trials[2].system_attrs["fail_reason"]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 9


def test_timeout_with_processes():
    import time

    def slow(trial):
        time.sleep(0.1)
        return trial.suggest_float("x", 0, 1)

    study = st.create_study()
    t0 = time.time()
    study.optimize(slow, timeout=1.0, n_jobs=2)
    # Ends soon after the timeout (no new trial starts after it), even on a loaded machine
    # where the worker processes take a while to start.
    assert time.time() - t0 < 10
    assert 1 <= len(study.trials) <= 40


def _suicidal_once(trial):
    import time

    x = trial.suggest_float("x", 0, 1)
    if trial.number == 2 and "retried_from" not in trial.system_attrs:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.1)  # the parent sees the death (and re-queues) long before the budget ends
    return x


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_killed_worker_trial_is_retried_when_asked(tmp_path, kind):
    cb = st.storage.RetryFailedTrialCallback(max_retry=1)
    storage = (
        st.InMemoryStorage(failed_trial_callback=cb)
        if kind == "memory"
        else st.SQLStorage(f"sqlite:///{tmp_path}/r.db", failed_trial_callback=cb)
    )
    study = st.create_study(storage=storage, sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(_suicidal_once, n_trials=8, n_jobs=2)
    trials = study.trials
    assert trials[2].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("retried_from") == 2]
    assert len(retries) == 1 and retries[0].params == trials[2].params
    assert retries[0].state == TrialState.COMPLETE
    assert TrialState.RUNNING not in [t.state for t in trials]


def test_memory_storage_served_to_workers_beats():
    """While served to worker processes, the memory storage runs heartbeats (default on)."""
    storage = st.InMemoryStorage()

    def obj(trial):
        trial.set_user_attr("interval", trial.study.storage.heartbeat_interval)  # the worker's
        return trial.suggest_float("x", 0, 1)

    study = st.create_study(storage=storage)
    study.optimize(obj, n_trials=2, n_jobs=2)
    assert [t.user_attrs["interval"] for t in study.trials] == [10.0, 10.0]
    assert storage.heartbeat_interval is None  # restored after the run
