from __future__ import annotations

import csv
import io
import json

import pytest

import slimtune as st
from slimtune.cli import main


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path}/cli.db"
    study = st.create_study(
        storage=url, study_name="demo", sampler=st.samplers.RandomSampler(seed=0)
    )

    def obj(trial):
        x = trial.suggest_float("x", -1, 1)
        if trial.number == 2:
            raise RuntimeError("nope")
        return x * x

    study.optimize(obj, n_trials=6)
    mo = st.create_study(
        storage=url,
        study_name="mo",
        directions=["minimize", "maximize"],
        sampler=st.samplers.RandomSampler(seed=0),
    )
    mo.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)), n_trials=8)
    return url


def test_studies_table_and_json(db, capsys):
    assert main(["studies", "--storage", db]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "mo" in out
    assert main(["studies", "--storage", db, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {d["name"] for d in data} == {"demo", "mo"}
    assert next(d for d in data if d["name"] == "demo")["n_trials"] == 6


def test_trials_formats(db, capsys):
    assert main(["trials", "--storage", db, "--study", "demo", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 6 and recs[2]["state"] == "FAIL" and "nope" in recs[2]["fail_reason"]
    assert main(["trials", "--storage", db, "--study", "demo", "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 6 and "params_x" in rows[0]
    assert main(["trials", "--storage", db, "--study", "demo"]) == 0
    assert "Trials of demo" in capsys.readouterr().out
    assert (
        main(["trials", "--storage", db, "--study", "demo", "--state", "fail", "--format", "json"])
        == 0
    )
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_best_and_front(db, capsys):
    assert main(["best", "--storage", db, "--study", "demo", "--format", "json"]) == 0
    best = json.loads(capsys.readouterr().out)
    study = st.load_study(study_name="demo", storage=db)
    assert best[0]["number"] == study.best_trial.number
    assert main(["best", "--storage", db, "--study", "mo"]) == 0
    assert "Pareto front" in capsys.readouterr().out


def test_delete_and_errors(db, capsys, tmp_path):
    assert main(["delete", "--storage", db, "--study", "mo"]) == 0
    assert st.get_all_study_names(db) == ["demo"]
    assert main(["best", "--storage", db, "--study", "nope"]) == 1
    assert "no study named 'nope'" in capsys.readouterr().err
    assert main(["studies", "--storage", f"sqlite:///{tmp_path}/missing.db"]) == 1
    assert "no database" in capsys.readouterr().err


def test_report_writes_html_with_figures(db, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.html"
    assert main(["report", "--storage", db, "--study", "mo", "--out", str(out)]) == 0
    text = out.read_text()
    assert "Pareto front" in text and text.count("data:image/png;base64") >= 2


def test_worker_runs_trials_from_a_file(tmp_path, capsys):
    obj = tmp_path / "obj.py"
    obj.write_text("def f(trial):\n    return trial.suggest_float('x', -1, 1) ** 2\n")
    url = f"sqlite:///{tmp_path}/w.db"
    args = [
        "worker",
        "--storage",
        url,
        "--study",
        "w",
        "--objective",
        f"{obj}:f",
        "--n-trials",
        "5",
        "--sampler",
        "RandomSampler",
        "--seed",
        "0",
    ]
    assert main(args) == 0
    assert main(args) == 0  # a second worker joins the same study
    assert len(st.load_study(study_name="w", storage=url).trials) == 10
    assert main(["worker", "--storage", url, "--study", "w", "--objective", "nofile.py:f"]) == 1
    assert "no file" in capsys.readouterr().err
