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
    assert main(["best", "--storage", db, "--study", "nope"]) == 2
    assert "no study named 'nope'" in capsys.readouterr().err
    assert main(["studies", "--storage", f"sqlite:///{tmp_path}/missing.db"]) == 2
    assert "no database" in capsys.readouterr().err


def _wide_study(url: str) -> st.Study:
    """Two named objectives, 12 parameters of mixed kinds, one failure with a long reason."""
    study = st.create_study(
        storage=url,
        study_name="wide",
        directions=["maximize", "minimize"],
        sampler=st.samplers.RandomSampler(seed=1),
    )
    study.set_metric_names(["accuracy", "macs"])

    def obj(trial):
        acc = sum(trial.suggest_float(f"lr_{i}", 1e-5, 1e-1, log=True) for i in range(8))
        trial.suggest_categorical("block", ["InvertedResidual", "DWSConv", "Ghost"])
        trial.suggest_int("c2", 8, 48)
        trial.suggest_float("augment", 0.0, 0.5)
        trial.suggest_categorical("se", [True, False])
        if trial.number == 3:
            raise ValueError("the width multiple 0.25 leaves stage 2 with no channels at all")
        return 0.9 + acc / 10, 478_123 + 1_000_003 * trial.number

    study.optimize(obj, n_trials=8)
    return study


@pytest.mark.parametrize("width", [100, 250])
def test_tables_fit_the_width_and_keep_numbers_whole(tmp_path, capsys, monkeypatch, width):
    url = f"sqlite:///{tmp_path}/wide.db"
    study = _wide_study(url)
    monkeypatch.setenv("COLUMNS", str(width))
    for cmd in ("trials", "best", "studies"):
        capsys.readouterr()
        assert main([cmd, "--storage", url]) == 0
        out = capsys.readouterr().out
        lines = out.splitlines()
        assert max(len(line) for line in lines) <= width, (cmd, width)
        assert "…" not in out, out
        assert not any(s in out for s in ("0.9…", "478…", "values_0", "(maximize)"))
        if cmd != "studies":
            assert "accuracy ↑" in out and "macs ↓" in out
    # the values appear rounded and whole: 4 significant digits, MACs as 478k / 1.48M
    capsys.readouterr()
    assert main(["trials", "--storage", url, "--columns", "number,accuracy,macs"]) == 0
    out = capsys.readouterr().out
    done = [t.number for t in study.trials if t.values]
    assert "478k" in out and all(f"{n}.48M" in out for n in done if n > 0)
    acc = study.trials[0].values[0]
    assert f"{acc:.4f}" in out


def test_trials_hides_columns_at_100_and_all_brings_them_back(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path}/wide.db"
    _wide_study(url)
    monkeypatch.setenv("COLUMNS", "100")
    assert main(["trials", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "more column(s)" in out and "--all" in out
    assert "fail_reason" in out.splitlines()[2]  # the reason is kept before the parameters
    assert main(["trials", "--storage", url, "--all"]) == 0
    out = capsys.readouterr().out
    assert "more column(s)" not in out and "lr_7" in out and "…" not in out
    assert main(["trials", "--storage", url, "--columns", "number", "--columns", "block,se"]) == 0
    header = capsys.readouterr().out.splitlines()[2]
    assert [h.strip() for h in header.strip("┃").split("┃")] == ["number", "block", "se"]


def test_best_front_sorted_and_json_exact(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/wide.db"
    study = _wide_study(url)
    assert main(["best", "--storage", url, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    front = {t.number: t.values for t in study.best_trials}
    assert {d["number"]: d["values"] for d in data} == front  # exact values in JSON
    assert all(set(d["objectives"]) == {"accuracy", "macs"} for d in data)
    accs = [d["objectives"]["accuracy"] for d in data]
    assert accs == sorted(accs, reverse=True)  # by the first objective, best first


def test_verbosity_flags(tmp_path, capsys):
    obj = tmp_path / "obj.py"
    obj.write_text("def f(trial):\n    return trial.suggest_float('x', -1, 1) ** 2\n")
    url = f"sqlite:///{tmp_path}/v.db"
    base = ["worker", "--storage", url, "--study", "v", "--objective", f"{obj}:f"]
    assert main([*base, "--n-trials", "2"]) == 0
    assert "Trial 1 finished with value" in capsys.readouterr().err
    assert main(["-q", *base, "--n-trials", "2"]) == 0
    assert "finished with value" not in capsys.readouterr().err
    assert st.logging.get_verbosity() == st.logging.INFO  # restored after the command


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
    assert "worker ran 5 trial(s) in study 'w': 5 complete" in capsys.readouterr().out
    assert main(args) == 0  # a second worker joins the same study
    assert len(st.load_study(study_name="w", storage=url).trials) == 10
    assert main(["worker", "--storage", url, "--study", "w", "--objective", "nofile.py:f"]) == 2
    assert "no file" in capsys.readouterr().err


def test_worker_exits_1_and_says_so_when_trials_failed(tmp_path, capsys):
    obj = tmp_path / "obj.py"
    obj.write_text(
        "def f(trial):\n"
        "    x = trial.suggest_float('x', -1, 1)\n"
        "    if trial.number % 2 == 0:\n"
        "        raise RuntimeError(f'boom {trial.number}')\n"
        "    return x\n"
        "def g(trial):\n"
        "    trial.suggest_float('x', -1, 1)\n"
        "    raise RuntimeError('boom')\n"
    )
    url = f"sqlite:///{tmp_path}/w.db"
    base = ["worker", "--storage", url, "--sampler", "RandomSampler", "--seed", "0"]
    assert main([*base, "--study", "w", "--objective", f"{obj}:f", "--n-trials", "4"]) == 1
    err = capsys.readouterr().err
    assert (
        "worker ran 4 trial(s) in study 'w': 2 complete, 0 pruned, 2 failed "
        "(first reason, trial 0: RuntimeError: boom 0)." in err
    )
    # the same error in the first 3 trials: the study stops (fail fast), one line says why
    assert main([*base, "--study", "g", "--objective", f"{obj}:g", "--n-trials", "10"]) == 1
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: RuntimeError: boom") and "fix the objective" in last
    assert len(st.load_study(study_name="g", storage=url).trials) == 3


def test_search_shows_the_bar_or_the_trial_lines_not_both():
    pytest.importorskip("torch")
    import logging

    from slimtune.nas.cli import _setup_logging

    before = st.logging.get_verbosity(), logging.getLogger("slimtune.nas").level
    try:
        _setup_logging(bar=True, verbosity=logging.INFO)
        assert st.logging.get_verbosity() == logging.WARNING  # no per-trial INFO lines
        assert logging.getLogger("slimtune.nas").getEffectiveLevel() == logging.INFO
        _setup_logging(bar=False, verbosity=logging.INFO)
        assert st.logging.get_verbosity() == logging.INFO
        _setup_logging(bar=True, verbosity=logging.DEBUG)  # -v: everything
        assert st.logging.get_verbosity() == logging.DEBUG
    finally:
        st.logging.set_verbosity(before[0])
        logging.getLogger("slimtune.nas").setLevel(before[1])


def test_empty_storage_and_study_say_so(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/e.db"
    assert main(["worker", "--storage", url, "--study", "e", "--objective", "x:y"]) == 2
    capsys.readouterr()
    st.create_study(storage=url, study_name="e")
    assert main(["trials", "--storage", url]) == 0
    assert capsys.readouterr().out.strip() == "study 'e' has no trials yet."
    assert main(["best", "--storage", url]) == 1
    assert "no complete (feasible) trial yet" in capsys.readouterr().err
    st.delete_study("e", url)
    assert main(["studies", "--storage", url]) == 0
    assert capsys.readouterr().out.startswith("no studies in")
