from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import sqlalchemy as sa

import slimtune as st
from slimtune.distributions import CategoricalDistribution, FloatDistribution
from slimtune.storage import SchemaVersionError, SQLStorage
from slimtune.trial import TrialState


def test_storage_protocol(make_storage):
    s = make_storage()
    sid = s.create_new_study(["minimize"], "p")
    assert s.get_study_id_from_name("p") == sid
    assert s.get_study_directions(sid) == ["minimize"]
    tid = s.create_new_trial(sid)
    d = CategoricalDistribution(["a", None, 3])
    s.set_trial_param(tid, "c", 1.0, d)
    s.set_trial_param(tid, "x", 0.25, FloatDistribution(0, 1))
    s.set_trial_intermediate_value(tid, 3, 0.5)
    s.set_trial_user_attr(tid, "u", [1, "two"])
    s.set_trial_system_attr(tid, "k", {"a": 1})
    assert s.set_trial_state_values(tid, TrialState.COMPLETE, [0.125])
    assert not s.set_trial_state_values(tid, TrialState.FAIL)  # finished trials stay
    t = s.get_trial(tid)
    assert t.params == {"c": None, "x": 0.25}
    assert t.internal_params == {"c": 1.0, "x": 0.25}
    assert t.distributions["c"] == d
    assert t.intermediate_values == {3: 0.5}
    assert t.user_attrs == {"u": [1, "two"]} and t.system_attrs == {"k": {"a": 1}}
    assert t.values == [0.125] and t.state == TrialState.COMPLETE
    assert t.datetime_complete is not None
    # Waiting trials are claimed once.
    w = s.create_new_trial(sid, state=TrialState.WAITING, system_attrs={"fixed_params": {"x": 1}})
    assert s.pop_waiting_trial_id(sid) == w
    assert s.pop_waiting_trial_id(sid) is None
    assert [x.number for x in s.get_all_trials(sid)] == [0, 1]
    assert s.get_n_trials(sid, (TrialState.RUNNING,)) == 1
    summ = s.get_all_studies()
    assert summ[0].study_name == "p" and summ[0].n_trials == 2 and summ[0].best_values == [0.125]
    s.delete_study(sid)
    assert s.get_all_study_names() == []


def test_sql_cache_sees_updates_from_other_connections(tmp_path):
    url = f"sqlite:///{tmp_path}/c.db"
    a, b = SQLStorage(url), SQLStorage(url)
    sid = a.create_new_study(["minimize"], "c")
    t1 = a.create_new_trial(sid)
    assert [t.state for t in b.get_all_trials(sid)] == [TrialState.RUNNING]
    a.set_trial_param(t1, "x", 0.5, FloatDistribution(0, 1))
    a.set_trial_state_values(t1, TrialState.COMPLETE, [1.0])
    a.create_new_trial(sid)
    got = b.get_all_trials(sid)
    assert [t.state for t in got] == [TrialState.COMPLETE, TrialState.RUNNING]
    assert got[0].params == {"x": 0.5}


def test_schema_version_is_checked(tmp_path):
    url = f"sqlite:///{tmp_path}/v.db"
    SQLStorage(url).close()
    eng = sa.create_engine(url)
    with eng.begin() as c:
        c.execute(sa.text("UPDATE slimtune_meta SET value='999' WHERE key='schema_version'"))
    eng.dispose()
    with pytest.raises(SchemaVersionError, match="schema version 999"):
        SQLStorage(url)


def test_bad_storage_argument():
    with pytest.raises(ValueError, match="not a database URL"):
        SQLStorage("study.db")
    with pytest.raises(TypeError, match="storage must be"):
        st.create_study(storage=42)  # type: ignore[arg-type]


def _worker(url: str, n: int, seed: int) -> None:
    study = st.load_study(
        study_name="conc", storage=url, sampler=st.samplers.RandomSampler(seed=seed)
    )

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        trial.report(x, 0)
        trial.set_user_attr("pid", os.getpid())
        return x

    study.optimize(obj, n_trials=n)


def test_four_processes_fifty_trials_each(storage_url):
    """4 processes x 50 trials on one database: 200 trials, unique numbers, none lost."""
    if storage_url is None:
        pytest.skip("separate processes need a database (n_jobs covers memory)")
    url = storage_url
    st.create_study(storage=url, study_name="conc")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_worker, args=(url, 50, i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
        assert p.exitcode == 0
    trials = st.load_study(study_name="conc", storage=url).trials
    assert len(trials) == 200
    assert sorted(t.number for t in trials) == list(range(200))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 4


KILLED_WORKER = textwrap.dedent("""
    import sys, time
    import slimtune as st
    storage = st.SQLStorage(sys.argv[1], heartbeat_interval=0.2, grace_period=1.0)
    study = st.load_study(study_name="hb", storage=storage)
    def obj(trial):
        trial.suggest_float("x", 0, 1)
        print("started", flush=True)
        time.sleep(60)
        return 0.0
    study.optimize(obj, n_trials=1)
""")


@pytest.mark.parametrize("retry", [False, True])
def test_sigkilled_trial_is_failed_after_grace_and_optimize_goes_on(tmp_path, retry):
    url = f"sqlite:///{tmp_path}/hb.db"
    st.create_study(storage=url, study_name="hb")
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, url], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    storage = st.SQLStorage(url, heartbeat_interval=0.2, grace_period=1.0)
    if retry:
        storage.failed_trial_callback = st.storage.RetryFailedTrialCallback(max_retry=2)
    study = st.load_study(study_name="hb", storage=storage)
    assert study.trials[0].state == TrialState.RUNNING  # not stale yet
    time.sleep(1.3)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    trials = study.trials
    assert trials[0].state == TrialState.FAIL
    assert "heartbeat stale" in trials[0].system_attrs["fail_reason"]
    assert [t.state for t in trials[1:]] == [TrialState.COMPLETE] * 2
    if retry:  # the killed configuration was re-queued and run again
        assert trials[1].params == trials[0].params
        assert trials[1].system_attrs["retried_from"] == trials[0].number
