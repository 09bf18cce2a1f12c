"""optuna-dashboard over a slimtune storage: the adapter, the HTTP API, the command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

import slimtune as st
from slimtune.cli import main

SRC = Path(__file__).resolve().parents[2] / "src"


def _study(url: str, name: str = "demo") -> st.Study:
    study = st.create_study(storage=url, study_name=name,
                            sampler=st.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        trial.suggest_categorical("c", ["a", "b"])
        trial.suggest_int("n", 1, 8, log=True)
        for step in range(3):
            trial.report(x * x + step, step)
        return x * x

    study.optimize(objective, n_trials=5)
    return study


def _get(base: str, path: str) -> dict:
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return json.load(r)


def test_the_dashboard_serves_a_slimtune_study_over_http(tmp_path):
    pytest.importorskip("optuna_dashboard")
    from slimtune.integration.dashboard import make_dashboard_server

    url = f"sqlite:///{tmp_path / 'dash.db'}"
    study = _study(url)
    server = make_dashboard_server(url, host="127.0.0.1", port=0)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        studies = _get(base, "/api/studies")["study_summaries"]
        assert [(s["study_name"], s["directions"]) for s in studies] == [("demo", ["minimize"])]
        detail = _get(base, f"/api/studies/{studies[0]['study_id']}")
        trials = detail["trials"]
        assert [t["number"] for t in trials] == [0, 1, 2, 3, 4]
        assert [t["values"][0] for t in trials] == [t.value for t in study.trials]
        assert detail["best_trials"][0]["values"] == [study.best_value]
        assert [v["step"] for v in trials[0]["intermediate_values"]] == [0, 1, 2]
        params = {p["name"]: p for p in trials[0]["params"]}
        assert params["c"]["distribution"]["type"] == "CategoricalDistribution"
        assert params["n"]["distribution"]["log"] is True
        assert {p["name"] for p in detail["union_search_space"]} == {"x", "c", "n"}
        # a study created in the dashboard lands in the slimtune storage
        req = urllib.request.Request(
            base + "/api/studies", method="POST",
            data=json.dumps({"study_name": "made-there", "directions": ["maximize"]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 201
        made = st.load_study(study_name="made-there", storage=url)
        assert made.directions == ["maximize"]
        with urllib.request.urlopen(base + "/dashboard", timeout=30) as r:
            assert b"Optuna Dashboard" in r.read()
    finally:
        server.shutdown()
        server.server_close()


def test_the_adapter_keeps_optunas_storage_protocol(tmp_path):
    optuna = pytest.importorskip("optuna")
    from slimtune.integration.optuna_storage import OptunaStorageAdapter

    url = f"sqlite:///{tmp_path / 'a.db'}"
    ours = _study(url)
    adapter = OptunaStorageAdapter(url)
    assert isinstance(adapter, optuna.storages.BaseStorage)
    # Optuna's own Study reads the slimtune study through it
    theirs = optuna.load_study(study_name="demo", storage=adapter)
    assert theirs.best_value == ours.best_value and theirs.best_params == ours.best_params
    assert isinstance(theirs.trials[0].distributions["x"], optuna.distributions.FloatDistribution)
    assert theirs.trials[0].intermediate_values == ours.trials[0].intermediate_values
    # ... and writes to it: a trial told through Optuna is a slimtune trial
    t = theirs.ask()
    t.suggest_float("x", -5, 5)
    theirs.tell(t, -1.0)
    fresh = st.load_study(study_name="demo", storage=url)
    assert len(fresh.trials) == 6 and fresh.best_value == -1.0
    assert fresh.trials[-1].params == t.params
    # Optuna's exceptions where Optuna code expects them
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        adapter.set_trial_state_values(fresh.trials[-1].trial_id, optuna.trial.TrialState.FAIL)
    with pytest.raises(optuna.exceptions.DuplicatedStudyError):
        optuna.create_study(study_name="demo", storage=adapter)
    with pytest.raises(KeyError):
        adapter.get_study_id_from_name("missing")
    # copying trials (the dashboard's rename) keeps params, values and states
    copy = optuna.create_study(study_name="copy", storage=adapter)
    copy.add_trials(theirs.get_trials())
    again = st.load_study(study_name="copy", storage=url)
    assert [t.values for t in again.trials] == [t.values for t in fresh.trials]
    assert [t.params for t in again.trials] == [t.params for t in fresh.trials]


def test_the_command_checks_its_storage_and_exits_2(tmp_path, capsys):
    pytest.importorskip("optuna_dashboard")
    missing = tmp_path / "none.db"
    assert main(["dashboard", "--storage", f"sqlite:///{missing}"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no database at" in err
    assert main(["dashboard", "--storage", "nosuchdb://x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "sqlite:///study.db" in err
    url = f"sqlite:///{tmp_path / 'p.db'}"
    st.create_study(storage=url, study_name="p")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--storage", url, "--port", str(port)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "choose another --port" in err


def test_the_command_names_the_extra_when_it_is_missing(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'e.db'}"
    st.create_study(storage=url, study_name="e")
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # import fails
    assert main(["dashboard", "--storage", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "pip install 'slimtune[dashboard]'" in err


def test_the_command_serves_until_stopped(tmp_path):
    pytest.importorskip("optuna_dashboard")
    url = f"sqlite:///{tmp_path / 'c.db'}"
    _study(url, name="cli")
    env = dict(os.environ, PYTHONPATH=str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "slimtune.cli", "dashboard", "--storage", url, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("optuna-dashboard on http://127.0.0.1:"), proc.stderr.read()
        base = line.split()[2].rsplit("/dashboard", 1)[0]
        names = [s["study_name"] for s in _get(base, "/api/studies")["study_summaries"]]
        assert names == ["cli"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
