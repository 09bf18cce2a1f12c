"""Crash safety by default: heartbeats, dead workers, resumes, and the rules that span
trials (checked against what is stored, not what one process remembers)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import slimtune as st
from slimtune import keys
from slimtune.storage.heartbeat import DEFAULT_GRACE, DEFAULT_INTERVAL, resolve
from slimtune.trial import TrialState

PLAIN_URL_WORKER = textwrap.dedent("""
    import sys, time
    import slimtune as st
    study = st.load_study(study_name="hb", storage=sys.argv[1])   # the plain way: a URL
    def obj(trial):
        trial.suggest_float("x", 0, 1)
        print("started", flush=True)
        time.sleep(60)
        return 0.0
    study.optimize(obj, n_trials=1)
""")


def test_heartbeats_are_on_by_default_for_sql():
    s = st.SQLStorage("sqlite://")
    assert (s.heartbeat_interval, s.grace_period) == (DEFAULT_INTERVAL, DEFAULT_GRACE)
    assert st.SQLStorage("sqlite://", heartbeat_interval=None).heartbeat_interval is None
    m = st.InMemoryStorage()
    assert m.heartbeat_interval is None  # in-process: it dies with the process
    assert m.heartbeat_for_workers() == (DEFAULT_INTERVAL, DEFAULT_GRACE)
    assert st.InMemoryStorage(heartbeat_interval=None).heartbeat_for_workers() == (None, None)


def test_heartbeat_settings_are_validated():
    assert resolve(2.0, None) == (2.0, 6.0)
    with pytest.raises(ValueError, match="grace_period"):
        resolve(10.0, 5.0)
    with pytest.raises(ValueError, match="heartbeat_interval"):
        resolve(-1.0, None)


def test_sigkilled_process_on_a_plain_sqlite_url_leaves_no_running_trial(tmp_path):
    """The default way to open a storage: the killed trial is FAIL once its beat is stale."""
    url = f"sqlite:///{tmp_path}/hb.db"
    st.create_study(storage=url, study_name="hb")
    proc = subprocess.Popen(
        [sys.executable, "-c", PLAIN_URL_WORKER, url], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert st.load_study(study_name="hb", storage=url).trials[0].state == TrialState.RUNNING
    time.sleep(1.2)
    # A reader with a short grace period (the default is 30 s) opens the study: reaped.
    study = st.load_study(
        study_name="hb", storage=st.SQLStorage(url, heartbeat_interval=0.2, grace_period=1.0)
    )
    t = study.trials[0]
    assert t.state == TrialState.FAIL
    assert "heartbeat stale" in t.system_attrs[keys.FAIL_REASON]


def test_heartbeat_keeps_a_long_trial_alive(tmp_path):
    """A live trial that runs longer than the grace period is not failed by another reader."""
    url = f"sqlite:///{tmp_path}/alive.db"
    storage = st.SQLStorage(url, heartbeat_interval=0.1, grace_period=0.5)
    study = st.create_study(storage=storage, study_name="a")
    other = st.SQLStorage(url, heartbeat_interval=0.1, grace_period=0.5)
    seen = []

    def obj(trial):
        for _ in range(8):
            time.sleep(0.1)
            other.fail_stale_trials(study.study_id)  # another process looking for the dead
        seen.append(st.load_study(study_name="a", storage=other).trials[0].state)
        return 1.0

    study.optimize(obj, n_trials=1)
    assert seen == [TrialState.RUNNING]
    assert study.trials[0].state == TrialState.COMPLETE


def test_a_trial_failed_while_running_warns_that_its_result_is_dropped(caplog):
    storage = st.InMemoryStorage()
    study = st.create_study(storage=storage)

    def obj(trial):
        storage.fail_trial(trial.trial_id, "heartbeat stale for 99s (test)")
        return 1.0

    study.optimize(obj, n_trials=1)
    assert study.trials[0].state == TrialState.FAIL
    assert "its result is not stored" in caplog.text


def test_retry_callback_is_an_optuna_constructor_argument(tmp_path):
    cb = st.storage.RetryFailedTrialCallback(max_retry=1)
    s = st.SQLStorage(f"sqlite:///{tmp_path}/r.db", failed_trial_callback=cb)
    assert s.failed_trial_callback is cb
    study = st.create_study(storage=s)
    t = study.ask()
    t.suggest_float("x", 0, 1)
    t.report(0.5, 1)
    s.fail_trial(t.trial_id, "heartbeat stale (test)")
    cb(study, study.trials[0])
    again = study.trials[1]
    assert again.state == TrialState.WAITING
    assert again.system_attrs[keys.FIXED_PARAMS] == study.trials[0].params
    assert cb.retried_trial_number(again) == 0 and cb.retry_history(again) == [0]
    cb(study, again)  # max_retry=1: no third try
    assert len(study.trials) == 2


def test_parameter_kind_is_checked_against_the_stored_history(tmp_path):
    """Bug (a): a loaded study must refuse a name reused with another kind of distribution."""
    url = f"sqlite:///{tmp_path}/kind.db"
    for sampler in (st.samplers.RandomSampler(seed=0), st.samplers.TPESampler(seed=0)):
        name = type(sampler).__name__
        study = st.create_study(storage=url, study_name=name, sampler=sampler)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        again = st.load_study(study_name=name, storage=url, sampler=sampler)
        again.optimize(lambda t: float(t.suggest_categorical("x", [1, 2])), n_trials=1)
        last = again.trials[-1]
        assert last.state == TrialState.FAIL
        assert "must keep its kind" in last.system_attrs[keys.FAIL_REASON]
    # Ranges may change (dynamic spaces): same kind, other bounds is fine.
    again.optimize(lambda t: t.suggest_float("x", 0, 5), n_trials=1)
    assert again.trials[-1].state == TrialState.COMPLETE


def test_deleted_study_does_not_leak_trials_into_a_new_one(tmp_path):
    """Bug (b): deleting a study drops its cache, and ids are never reused."""
    url = f"sqlite:///{tmp_path}/del.db"
    storage = st.storage.get_storage(url)
    a = st.create_study(storage=storage, study_name="A")
    a.ask()  # RUNNING
    assert len(a.trials) == 1
    st.delete_study(study_name="A", storage=storage)
    c = st.create_study(storage=storage, study_name="C")
    d = st.create_study(storage=storage, study_name="D")
    assert c.study_id != a.study_id  # AUTOINCREMENT: ids are never reused
    d.ask()
    assert c.trials == [] and len(d.trials) == 1


DASK_OBJECTIVE_FLAG = "SLIMTUNE_TEST_KILL_FLAG"


def _dask_objective(trial):
    x = trial.suggest_float("x", -1, 1)
    flag = os.environ[DASK_OBJECTIVE_FLAG]
    if trial.number == 3 and not os.path.exists(flag):
        open(flag, "w").close()
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies in the middle of a trial
    time.sleep(0.02)
    return x * x


@pytest.mark.slow
def test_dask_worker_killed_mid_trial_costs_one_trial_not_the_count(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from slimtune.parallel.dask import optimize_on_dask

    monkeypatch.setenv(DASK_OBJECTIVE_FLAG, str(tmp_path / "killed"))
    url = f"sqlite:///{tmp_path}/dk.db"
    study = st.create_study(storage=url, study_name="dk", sampler=st.samplers.RandomSampler(0))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        numbers = optimize_on_dask(study, _dask_objective, n_trials=12, client=client, n_tasks=2)
    trials = study.trials
    states = [t.state for t in trials]
    assert (tmp_path / "killed").exists()
    assert len(trials) == 12 and sorted(numbers) == list(range(12))
    assert states.count(TrialState.FAIL) == 1 and states.count(TrialState.COMPLETE) == 11
    failed = next(t for t in trials if t.state == TrialState.FAIL)
    assert "Dask task was restarted" in failed.system_attrs[keys.FAIL_REASON]
    assert TrialState.RUNNING not in states


def test_a_trial_failed_while_it_reports_is_not_blamed_on_the_objective(caplog):
    """The objective's next write meets the finished trial: no traceback, one warning."""
    storage = st.InMemoryStorage()
    study = st.create_study(storage=storage)

    def obj(trial):
        storage.fail_trial(trial.trial_id, "heartbeat stale for 99s (test)")
        trial.report(0.5, 1)  # raises UpdateFinishedTrialError inside the objective
        return 1.0

    study.optimize(obj, n_trials=1, catch=())  # not re-raised: the trial was already failed
    t = study.trials[0]
    assert t.state == TrialState.FAIL and "heartbeat stale" in t.system_attrs[keys.FAIL_REASON]
    assert "its result is not stored" in caplog.text


def test_a_write_to_another_finished_trial_is_the_objectives_error():
    study = st.create_study()
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    done = study.trials[0].trial_id

    def obj(trial):
        study.set_trial_system_attr(done, keys.GP_PROPOSAL, [0.5])  # a finished trial
        return 1.0

    study.optimize(obj, n_trials=1)
    t = study.trials[1]
    assert t.state == TrialState.FAIL
    assert "UpdateFinishedTrialError" in t.system_attrs[keys.FAIL_REASON]
