"""DaskStorage: one study on the scheduler, reached from every task (Optuna's dask example)."""

from __future__ import annotations

import pickle

import pytest

pytest.importorskip("distributed")

from distributed import Client, LocalCluster, wait  # noqa: E402

import slimtune as st  # noqa: E402
from slimtune.integration.dask import DaskStorage  # noqa: E402


@pytest.fixture(scope="module")
def client():
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster, Client(cluster) as c:
        yield c


def _objective(trial):
    x = trial.suggest_int("x", -10, 10)
    y = trial.suggest_float("y", -1.0, 1.0)
    return -(x * x) - y * y


def test_the_dask_example_runs_as_written(client):
    # optuna-examples/dask/dask_simple.py with `import slimtune as optuna`: these calls.
    optuna = st
    storage = optuna.integration.dask.DaskStorage()
    study = optuna.create_study(storage=storage, direction="maximize")
    futures = [client.submit(study.optimize, _objective, n_trials=3, pure=False)
               for _ in range(4)]
    wait(futures)
    for f in futures:
        f.result()  # a task's error would be raised here
    trials = study.trials
    assert len(trials) == 12 and sorted(t.number for t in trials) == list(range(12))
    assert all(t.state == st.TrialState.COMPLETE for t in trials)
    best = max(trials, key=lambda t: t.value)
    assert study.best_params == best.params and study.best_value == best.value


def test_the_storage_is_shared_by_name_and_survives_pickling(client):
    storage = DaskStorage(client=client)
    study = st.create_study(storage=storage, study_name="shared")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    again = pickle.loads(pickle.dumps(storage))
    assert again.name == storage.name and repr(again) == f"DaskStorage(name={storage.name!r})"
    other = DaskStorage(name=storage.name, register=False)
    assert len(st.load_study(study_name="shared", storage=other).trials) == 2

    def count_in_task(s):
        return len(st.load_study(study_name="shared", storage=s).trials)

    assert client.submit(count_in_task, storage, pure=False).result() == 2
    base = storage.get_base_storage()
    assert isinstance(base, st.InMemoryStorage)
    assert len(base.get_all_trials(base.get_study_id_from_name("shared"))) == 2


def test_errors_on_the_scheduler_are_raised_here(client):
    storage = DaskStorage()
    with pytest.raises(KeyError, match="no study named 'missing'"):
        st.load_study(study_name="missing", storage=storage)
    st.create_study(storage=storage, study_name="one")
    with pytest.raises(st.storage.DuplicatedStudyError):
        st.create_study(storage=storage, study_name="one")
    with pytest.raises(KeyError, match="no DaskStorage named 'nowhere'"):
        DaskStorage(name="nowhere", register=False).get_all_study_names()


def test_heartbeats_are_on_for_memory_and_a_dead_trial_is_failed(client):
    storage = DaskStorage(st.InMemoryStorage(heartbeat_interval=0.2, grace_period=0.5))
    assert storage.heartbeat_interval == 0.2 and storage.is_heartbeat_enabled()
    assert DaskStorage().heartbeat_interval == 10.0
    study = st.create_study(storage=storage, study_name="hb")
    lost = study.ask()  # its process "dies": no beats
    import time

    time.sleep(0.8)
    st.load_study(study_name="hb", storage=storage)  # opening the study reaps it
    assert storage.get_trial(lost.trial_id).state == st.TrialState.FAIL


def test_a_database_storage_on_the_scheduler(client, tmp_path):
    url = f"sqlite:///{tmp_path / 'dask.db'}"
    storage = DaskStorage(url)
    study = st.create_study(storage=storage, study_name="sql", direction="maximize")
    wait([client.submit(study.optimize, _objective, n_trials=2, pure=False) for _ in range(2)])
    assert len(st.load_study(study_name="sql", storage=url).trials) == 4


def test_without_a_client_the_error_says_what_to_do(client, monkeypatch):
    import distributed

    storage = pickle.loads(pickle.dumps(DaskStorage()))  # as unpickled in a fresh process

    def no_client():
        raise ValueError("No clients found")

    monkeypatch.setattr(distributed, "get_client", no_client)
    with pytest.raises(RuntimeError, match="needs a Dask client"):
        storage.get_all_study_names()
