"""Faults a run on PostgreSQL survives: the server restarted mid-run, a connection reset on
one worker, the server gone for good (a clear error after ``reconnect_timeout``), a local
worker process killed. Each run ends with exactly its trials, unique numbers, none RUNNING.

These tests start their own PostgreSQL server (``pg_server``), since they stop it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

import slimtune as st
from slimtune.storage.sql import StorageUnavailableError
from slimtune.trial import TrialState


def _obj(trial):
    time.sleep(0.03)
    return trial.suggest_float("x", -1, 1) ** 2


def _check(study, n):
    trials = study.trials
    assert [t.number for t in trials] == list(range(n))  # none lost, none duplicated
    assert all(t.state == TrialState.COMPLETE for t in trials), [
        (t.number, t.state.name, t.system_attrs.get("fail_reason")) for t in trials
    ]
    assert len({t.params["x"] for t in trials}) == n


def test_server_restarted_mid_run(pg_server):
    """`pg_ctl restart -m fast` while 3 worker processes run trials: they retry with backoff
    and go on; the run ends with exactly its trials."""
    study = st.create_study(
        storage=pg_server.url,
        study_name=f"r-{uuid.uuid4().hex[:6]}",
        sampler=st.samplers.TPESampler(seed=0),
    )
    restarted = threading.Event()

    def restart():
        while len(study.trials) < 10:
            time.sleep(0.05)
        pg_server.restart()
        restarted.set()

    th = threading.Thread(target=restart)
    th.start()
    study.optimize(_obj, n_trials=40, n_jobs=3)
    th.join()
    assert restarted.is_set()
    _check(study, 40)


_RESET_WORKER = """
import logging, sys, time
import slimtune as st
logging.basicConfig(level=logging.WARNING)

def obj(trial):
    time.sleep(0.05)
    return trial.suggest_float("x", -1, 1) ** 2

study = st.load_study(study_name=sys.argv[2], storage=sys.argv[1],
                      sampler=st.samplers.RandomSampler(seed=7))
study.optimize(obj, n_trials=int(sys.argv[3]))
print("done", flush=True)
"""


def test_connection_reset_on_one_worker(pg_server, resetting_proxy, tmp_path):
    """One worker reaches the database through a proxy that resets every connection
    (TCP RST) several times; the other workers connect directly. All go on."""
    name = f"c-{uuid.uuid4().hex[:6]}"
    study = st.create_study(
        storage=pg_server.url, study_name=name, sampler=st.samplers.RandomSampler(seed=0)
    )
    proxy = resetting_proxy(pg_server.port)
    url = pg_server.url.replace(f":{pg_server.port}/", f":{proxy.port}/")
    (tmp_path / "w.py").write_text(_RESET_WORKER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    worker = subprocess.Popen(
        [sys.executable, str(tmp_path / "w.py"), url, name, "40"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stop = threading.Event()

    def blips():
        # 40 trials of 0.05 s take the worker 2 s at least: several resets, even on a
        # fast machine. At this rate a reset often lands mid-query, where the rollback on
        # the dead socket fails with "another command is already in progress"
        # (tests/storage/test_reconnect.py has that case alone).
        while not stop.is_set() and worker.poll() is None:
            time.sleep(0.25)
            proxy.reset()

    th = threading.Thread(target=blips)
    th.start()
    try:
        study.optimize(_obj, n_trials=30, n_jobs=2)
        out, _ = worker.communicate(timeout=180)
    finally:
        stop.set()
        th.join()
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0 and "done" in out, out
    assert proxy.n_resets >= 3
    assert "lost the connection" in out  # the worker met the resets, and retried
    _check(study, 70)


def test_killed_local_worker_on_postgres(pg_server):
    """A worker process SIGKILLed mid-trial: its trial FAIL at once with the reason, the
    worker replaced, exactly n_trials finished."""
    study = st.create_study(
        storage=pg_server.url,
        study_name=f"k-{uuid.uuid4().hex[:6]}",
        sampler=st.samplers.TPESampler(seed=0),
    )

    def obj(trial):
        x = trial.suggest_float("x", -1, 1)
        if trial.number == 4:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.02)
        return x

    study.optimize(obj, n_trials=16, n_jobs=3)
    trials = study.trials
    assert [t.number for t in trials] == list(range(16))
    assert trials[4].state == TrialState.FAIL
    assert "worker process died" in trials[4].system_attrs["fail_reason"]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 15


def test_server_gone_is_a_clear_error_after_reconnect_timeout(pg_server):
    """The server stops for good: the run stops with StorageUnavailableError, naming the
    database and the timeout, about ``reconnect_timeout`` seconds later."""
    storage = st.SQLStorage(pg_server.url, reconnect_timeout=2.0)
    study = st.create_study(storage=storage, study_name=f"g-{uuid.uuid4().hex[:6]}")
    study.optimize(_obj, n_trials=3)

    def obj(trial):
        if trial.number == 5:
            pg_server.stop()
        return _obj(trial)

    t0 = time.monotonic()
    try:
        with pytest.raises(
            StorageUnavailableError, match=r"unreachable for \d+s.*reconnect_timeout=2s"
        ):
            study.optimize(obj, n_trials=20)
        assert time.monotonic() - t0 < 30
    finally:
        pg_server.start()
    # Back up: the trial that was running when the server went is there, and nothing else.
    assert len(st.load_study(study_name=study.study_name, storage=pg_server.url).trials) == 6
