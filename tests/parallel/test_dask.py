"""optimize_on_dask: one task per trial, an exact budget, lost workers, a real scheduler."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

import slimtune as st
from slimtune.trial import TrialState

distributed = pytest.importorskip("distributed")

PG_URL = os.environ.get("SLIMTUNE_TEST_POSTGRES_URL")


@pytest.fixture(scope="module")
def client():
    """One LocalCluster of 2 worker processes for this module (starting one costs seconds);
    its nannies replace a killed worker."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_optimize_on_dask(client, tmp_path):
    from slimtune.parallel.dask import optimize_on_dask

    url = f"sqlite:///{tmp_path}/d.db"
    study = st.create_study(storage=url, study_name="d", sampler=st.samplers.RandomSampler(seed=0))
    seen = []

    def obj(trial):
        trial.set_user_attr("pid", os.getpid())
        time.sleep(0.02)
        return trial.suggest_float("x", -1, 1) ** 2

    numbers = optimize_on_dask(
        study, obj, n_trials=20, client=client, callbacks=[lambda s, t: seen.append(t.number)]
    )
    assert numbers == list(range(20))
    assert sorted(seen) == numbers  # callbacks ran here, once per trial
    trials = study.trials
    assert len(trials) == 20 and all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 2
    assert len({t.params["x"] for t in trials}) == 20
    # One task per trial: every trial carries its own task's key.
    assert len({t.system_attrs["executor:task"] for t in trials}) == 20


def test_dask_needs_sql_storage():
    from slimtune.parallel.dask import optimize_on_dask

    with pytest.raises(ValueError, match="needs a SQL storage"):
        optimize_on_dask(st.create_study(), lambda t: 0.0, n_trials=2, client=object())


@pytest.mark.parametrize("retry", [False, True])
def test_sigkilled_dask_worker_costs_one_trial(client, tmp_path, retry):
    """The issue's case: a worker SIGKILLed mid-trial. Exactly n_trials finished trials,
    the killed one FAIL with the reason at once (re-queued when asked), none RUNNING."""
    from slimtune.parallel.dask import optimize_on_dask

    cb = st.storage.RetryFailedTrialCallback(max_retry=1) if retry else None
    storage = st.SQLStorage(f"sqlite:///{tmp_path}/k.db", failed_trial_callback=cb)
    study = st.create_study(storage=storage, sampler=st.samplers.TPESampler(seed=0))

    def obj(trial):
        x = trial.suggest_float("x", -1, 1)
        if trial.number == 5 and "retried_from" not in trial.system_attrs:
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(0.05)
        return x**2

    numbers = optimize_on_dask(study, obj, n_trials=18, client=client)
    client.wait_for_workers(2, timeout=60)  # the nanny has replaced the killed worker
    trials = study.trials
    assert numbers == list(range(18))
    finished = [t for t in trials if t.state.is_finished()]
    assert [t.number for t in finished] == list(range(18))
    assert trials[5].state == TrialState.FAIL
    assert "Dask worker was lost" in trials[5].system_attrs["fail_reason"]
    retries = [t for t in trials if t.system_attrs.get("retried_from") == 5]
    if retry:
        assert len(retries) == 1
        # It ran within the budget, or (when Dask noticed the death after the last trial
        # was handed out) it waits, the only unfinished trial, for the study's next run.
        assert retries[0].state in (TrialState.COMPLETE, TrialState.WAITING)
        waiting = retries[0].state == TrialState.WAITING
        params = retries[0].system_attrs["fixed_params"] if waiting else retries[0].params
        assert params == trials[5].params
        assert len(trials) == 18 + (retries[0].state == TrialState.WAITING)
    else:
        assert not retries and len(trials) == 18
        assert sum(t.state == TrialState.COMPLETE for t in trials) == 17


def test_dask_timeout_stops_every_worker(client, tmp_path):
    from slimtune.parallel.dask import optimize_on_dask

    study = st.create_study(storage=f"sqlite:///{tmp_path}/t.db")

    def obj(trial):
        time.sleep(0.2)
        return trial.suggest_float("x", 0, 1)

    optimize_on_dask(study, obj, n_trials=2, client=client)  # the workers warm up
    t0 = time.time()
    numbers = optimize_on_dask(study, obj, n_trials=1000, client=client, timeout=1.5)
    took = time.time() - t0
    assert took < 1.5 + 3.0  # the trials in flight end; nothing starts after the deadline
    assert 2 <= len(numbers) <= 20
    assert len(study.trials) == 2 + len(numbers)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)


def test_max_trials_callback_stops_the_dask_run(client, tmp_path):
    from slimtune.parallel.dask import optimize_on_dask

    study = st.create_study(storage=f"sqlite:///{tmp_path}/m.db")
    numbers = optimize_on_dask(
        study,
        lambda t: t.suggest_float("x", 0, 1),
        n_trials=100,
        client=client,
        n_tasks=2,
        callbacks=[st.MaxTrialsCallback(6)],
    )
    assert 6 <= len(numbers) <= 6 + 2  # the tasks in flight when it stopped end too
    assert len(study.trials) == len(numbers)


def _wait_port(port: int, timeout: float = 60.0) -> None:
    import socket

    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on port {port}")


@pytest.fixture
def pg_url(request, tmp_path):
    """The shared test database when there is one, else a private server's."""
    if PG_URL:
        import sqlalchemy as sa

        try:
            eng = sa.create_engine(PG_URL)
            with eng.connect():
                pass
            eng.dispose()
            return PG_URL
        except Exception:  # noqa: BLE001
            pass
    return request.getfixturevalue("pg_server").url


_CLI_OBJECTIVE = """
import os, time

def objective(trial):
    trial.set_user_attr("who", "cli")
    time.sleep(0.05)
    return trial.suggest_float("x", -1, 1) ** 2
"""


def test_real_scheduler_postgres_and_a_cli_worker(tmp_path, pg_url):
    """`dask scheduler` + two `dask worker` processes on loopback, the storage reachable
    only through PostgreSQL, and a `slimtune worker` joining the same study."""
    import socket

    from slimtune.parallel.dask import optimize_on_dask

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    procs = [
        subprocess.Popen(
            [
                f"{bindir}/dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    name = f"real-{os.getpid()}"
    try:
        _wait_port(port)
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        f"{bindir}/dask",
                        "worker",
                        f"tcp://127.0.0.1:{port}",
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        study = st.create_study(
            storage=pg_url, study_name=name, sampler=st.samplers.TPESampler(seed=1)
        )
        (tmp_path / "obj.py").write_text(_CLI_OBJECTIVE)
        cli = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "slimtune.cli",
                "worker",
                "--storage",
                pg_url,
                "--study-name",
                name,
                "--objective",
                f"{tmp_path}/obj.py:objective",
                "--n-trials",
                "6",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        with distributed.Client(f"tcp://127.0.0.1:{port}", timeout=60) as client:
            client.wait_for_workers(2, timeout=60)

            def obj(trial):
                trial.set_user_attr("who", "dask")
                time.sleep(0.05)
                return trial.suggest_float("x", -1, 1) ** 2

            numbers = optimize_on_dask(study, obj, n_trials=16, client=client)
        out, _ = cli.communicate(timeout=120)
        assert cli.returncode == 0, out
        trials = study.trials
        assert len(numbers) == 16 and len(set(numbers)) == 16
        assert [t.number for t in trials] == list(range(22))  # unique, none skipped
        assert all(t.state == TrialState.COMPLETE for t in trials)
        who = [t.user_attrs["who"] for t in trials]
        assert who.count("dask") == 16 and who.count("cli") == 6
        assert len({t.params["x"] for t in trials}) == 22
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGINT)
        for p in reversed(procs):
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            st.delete_study(study_name=name, storage=pg_url)
        except Exception:  # noqa: BLE001
            pass
