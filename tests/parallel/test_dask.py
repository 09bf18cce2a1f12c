from __future__ import annotations

import os

import pytest

import slimtune as st

distributed = pytest.importorskip("distributed")


def test_optimize_on_dask(tmp_path):
    from slimtune.parallel.dask import optimize_on_dask

    url = f"sqlite:///{tmp_path}/d.db"
    study = st.create_study(storage=url, study_name="d", sampler=st.samplers.RandomSampler(seed=0))

    def obj(trial):
        trial.set_user_attr("pid", os.getpid())
        return trial.suggest_float("x", -1, 1) ** 2

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        numbers = optimize_on_dask(study, obj, n_trials=20, client=client)
    assert numbers == list(range(20))
    trials = study.trials
    assert len(trials) == 20 and all(t.state == st.TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 2
    assert len({t.params["x"] for t in trials}) == 20


def test_dask_needs_sql_storage():
    from slimtune.parallel.dask import optimize_on_dask

    with pytest.raises(ValueError, match="needs a SQL storage"):
        optimize_on_dask(st.create_study(), lambda t: 0.0, n_trials=2, client=object())
