"""Resume safety of the NAS search (issue 11): a rerun with a changed objective, space,
constraint (or data, fidelity) is refused unless ``--force`` starts a new version of the
study; harmless changes resume; a resumed search does not repeat configurations; metric
names; the summary's text (pick rule, timings, infeasible trials); the fail-fast rule as
one line; Ctrl-C in a subprocess (1 and 2 workers) stores the running trials as
interrupted, writes the outputs and ends with the resume command."""

from __future__ import annotations

import copy
import io
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

import yaml  # noqa: E402

import slimtune as st  # noqa: E402
from slimtune import keys  # noqa: E402
from slimtune.nas import objective as O  # noqa: E402
from slimtune.nas import search as S  # noqa: E402
from slimtune.nas.data import load_digits  # noqa: E402
from slimtune.nas.outputs import SearchProgress, print_summary, resume_command  # noqa: E402
from slimtune.nas.selection import DUPLICATE_OF, describe_pick  # noqa: E402

pytestmark = pytest.mark.nas

BASE = {
    "study": {"name": "r", "n_trials": 2, "seed": 0},
    "data": {"name": "digits"},
    "objectives": ["accuracy", "macs"],
    "constraints": {"max_macs": 40000},
    "sampler": {"name": "RandomSampler"},
    "model": {
        "channel_divisor": 4,
        "stem": {"c2": [4, 8], "k": 3, "s": 1},
        "stages": [{"block": ["DWSConv", "Conv"], "depth": 1, "c2": [8, 16, 24], "s": 2}],
    },
    "train": {
        "optimizer": "adam",
        "lr": {"type": "float", "low": 3e-3, "high": 3e-2, "log": True},
        "batch_size": 64,
    },
    "fidelity": {"epochs": 1, "subset": 0.1},
    "output": {"plot": False, "export": [], "save_trial_weights": False},
}


@pytest.fixture(scope="module")
def digits():
    return load_digits(seed=0)


def _cfg(**sections):
    c = copy.deepcopy(BASE)
    c.update(copy.deepcopy(sections))
    return c


def _run(c, tmp_path, digits, **kw):
    kw.setdefault("out_dir", tmp_path / "out")
    return S.run_search(
        c, storage=f"sqlite:///{tmp_path / 's.db'}", progress=False, data=digits, **kw
    )


def test_changed_objectives_are_refused_and_force_starts_a_new_version(tmp_path, digits):
    first = _run(_cfg(), tmp_path, digits)
    assert first.study.metric_names == ["accuracy", "macs"]
    new = _cfg(objectives=["f1", "params"])
    with pytest.raises(S.ConfigChangedError) as e:
        _run(new, tmp_path, digits)
    msg = str(e.value)
    assert "\n" not in msg
    assert "objectives: [accuracy, macs] -> [f1, params]" in msg
    assert "--study-name" in msg and "--force" in msg and "'r-v2'" in msg
    db = f"sqlite:///{tmp_path / 's.db'}"
    assert len(st.load_study(study_name="r", storage=db).trials) == 2  # nothing was run
    res = _run(new, tmp_path, digits, force=True, n_trials=3)
    assert res.study.study_name == "r-v2" and len(res.study.trials) == 3
    assert res.study.metric_names == ["f1", "params"]
    out = tmp_path / "out"  # a version keeps its weights apart from the old study's
    assert S.weights_root(out, res.study) == out / "r-v2"
    assert S.weights_root(out, first.study) == out
    assert {c.number for c in res.candidates} <= {0, 1, 2}
    assert len(st.load_study(study_name="r", storage=db).trials) == 2  # old trials kept apart
    # the new config now resumes the newest version, without --force
    again = _run(new, tmp_path, digits, n_trials=1)
    assert again.study.study_name == "r-v2" and len(again.study.trials) == 4
    # and the old config is refused against it, naming the version to go to next
    with pytest.raises(S.ConfigChangedError, match=r"'r-v3'"):
        _run(_cfg(), tmp_path, digits)


def test_changed_choice_list_is_refused_naming_the_key(tmp_path, digits):
    _run(_cfg(), tmp_path, digits)
    c = _cfg()
    c["model"]["stages"][0]["c2"] = [8, 12, 24]
    with pytest.raises(
        S.ConfigChangedError,
        match=r"model\.stages\[0\]\.c2: \[8, 16, 24\] -> "
        r"\[8, 12, 24\]",
    ):
        _run(c, tmp_path, digits)


def test_changed_constraint_is_refused(tmp_path, digits):
    _run(_cfg(), tmp_path, digits)
    with pytest.raises(S.ConfigChangedError, match=r"constraints\.max_macs: 40000\.0 -> 9000"):
        _run(_cfg(constraints={"max_macs": 9000}), tmp_path, digits)
    with pytest.raises(S.ConfigChangedError, match=r"constraints\.max_params: \(unset\) -> 500"):
        _run(_cfg(constraints={"max_macs": 40000, "max_params": 500}), tmp_path, digits)


def test_harmless_changes_resume(tmp_path, digits):
    _run(_cfg(), tmp_path, digits)
    c = _cfg(study={"name": "r", "n_trials": 1, "seed": 0, "timeout": 600})
    res = _run(c, tmp_path, digits, out_dir=tmp_path / "other", n_trials=1, timeout=900)
    assert res.study.study_name == "r" and len(res.study.trials) == 3
    assert (tmp_path / "other" / "trials.csv").is_file()
    # what may change between runs of one study: the resume key does not move
    key = S.SearchConfig.from_dict(_cfg()).resume_key()
    for harmless in (
        {"study": {"name": "r", "n_trials": 50, "timeout": 10, "n_jobs": 2, "seed": 3}},
        {"sampler": {"name": "TPESampler"}, "pruner": {"name": "MedianPruner"}},
        {"pick": {"rule": "budget", "max_macs": 100}, "retrain": {"top_k": 2}},
        {"output": {"dir": "x", "plot": True}},
        {"train": {**BASE["train"], "threads": 2}},
        {"data": "digits", "constraints": {"max_macs": 40000.0}},  # the same, spelled otherwise
    ):
        assert S.SearchConfig.from_dict(_cfg(**harmless)).resume_key() == key, harmless
    for meaningful in (
        {"data": {"name": "digits", "val_fraction": 0.3}},
        {"fidelity": {"epochs": 2, "subset": 0.1}},
        {"train": {**BASE["train"], "batch_size": 32}},
    ):
        other = S.SearchConfig.from_dict(_cfg(**meaningful)).resume_key()
        assert S.config_changes(key, other), meaningful


def test_a_study_not_made_by_the_search_is_not_taken_over(tmp_path, digits):
    db = f"sqlite:///{tmp_path / 's.db'}"
    other = st.create_study(storage=db, study_name="r", directions=["maximize", "minimize"])
    other.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)
    with pytest.raises(S.ConfigChangedError, match="not made by `slimtune search`"):
        _run(_cfg(), tmp_path, digits)


def test_resume_draws_new_configurations(tmp_path, digits):
    c = _cfg(study={"name": "r", "n_trials": 6, "seed": 0})
    _run(c, tmp_path, digits)
    res = _run(c, tmp_path, digits)
    params = [tuple(sorted(t.params.items())) for t in res.study.trials]
    assert len(params) == 12 and len(set(params)) == 12
    # an explicit `sampler.seed` is derived the same way
    c2 = _cfg(
        study={"name": "q", "n_trials": 3, "seed": 0}, sampler={"name": "RandomSampler", "seed": 5}
    )
    _run(c2, tmp_path, digits)
    res2 = _run(c2, tmp_path, digits)
    params2 = {tuple(sorted(t.params.items())) for t in res2.study.trials}
    assert len(params2) == 6 and not any(DUPLICATE_OF in t.user_attrs for t in res2.study.trials)
    assert S.resume_seed(0, 0) == 0 and S.resume_seed(7, 0) == 7
    assert len({S.resume_seed(0, n) for n in range(1, 50)}) == 49
    assert S.resume_seed(0, 6) == S.resume_seed(0, 6) != S.resume_seed(1, 6)


def test_a_finished_configuration_is_not_run_again(tmp_path, digits, monkeypatch):
    trained = []
    real = O.train_model

    def spy(model, data, cfg, on_epoch=None, eval_on="val"):
        trained.append(1)
        return real(model, data, cfg, on_epoch, eval_on)

    monkeypatch.setattr(O, "train_model", spy)
    c = _cfg(study={"name": "r", "n_trials": 10, "seed": 0}, constraints={})
    c["train"]["lr"] = 0.01  # 2 x 2 x 3 = 12 configurations: 10 draws repeat some
    res = _run(c, tmp_path, digits)
    trials = res.study.trials
    dups = [t for t in trials if DUPLICATE_OF in t.user_attrs]
    assert dups, "10 random draws of 12 configurations should repeat one (seed 0)"
    distinct = {tuple(sorted(t.params.items())) for t in trials}
    assert len(trained) == len(distinct) == len(trials) - len(dups)
    by_number = {t.number: t for t in trials}
    for d in dups:
        orig = by_number[d.user_attrs[DUPLICATE_OF]]
        assert d.params == orig.params and d.values == orig.values
        assert DUPLICATE_OF not in orig.user_attrs
    assert {x.number for x in res.candidates}.isdisjoint({d.number for d in dups})


def test_progress_starts_from_the_stored_best_and_names_infeasible_trials(tmp_path, digits, caplog):
    first = _run(
        _cfg(constraints={"max_macs": 6000}, study={"name": "r", "n_trials": 6}), tmp_path, digits
    )
    cfg = S.SearchConfig.from_dict(_cfg(constraints={"max_macs": 6000}))
    bar = SearchProgress(first.study, 1, None, cfg, enabled=False)
    trained = [c.accuracy for c in first.candidates]
    if trained:
        assert bar.best == pytest.approx(max(trained))
    assert "-inf" not in bar._info()
    empty = st.create_study(directions=["maximize", "minimize"])
    assert (
        SearchProgress(empty, 1, None, cfg, enabled=False)
        ._info()
        .startswith("best accuracy: none trained yet")
    )
    caplog.set_level(logging.INFO, logger="slimtune")
    skipped = [t for t in first.study.trials if "skipped" in t.user_attrs]
    assert skipped, "the MACs cap should exclude some sampled models (seed 0)"
    bar.update(first.study, skipped[0])
    line = caplog.records[-1].getMessage()
    assert "infeasible, not trained" in line and "> max_macs 6,000" in line
    assert "-inf" not in line and "COMPLETE" not in line


def test_summary_states_the_pick_rule_timings_and_counts(tmp_path, digits):
    c = _cfg(pick={"rule": "budget", "max_macs": 10}, study={"name": "r", "n_trials": 3})
    res = _run(c, tmp_path, digits)
    buf = io.StringIO()
    from rich.console import Console

    print_summary(res, Console(file=buf, width=100))
    text = " ".join(buf.getvalue().split())  # lines wrap at the console's width
    assert "rule `budget`: the highest validation accuracy among models with MACs <= 10" in text
    assert "none has MACs <= 10, so the smallest was chosen" in text
    assert "3 trials in study 'r' (3 in this run)" in text
    assert "s setup (data, warm-up)" in text and "s trials" in text and "in all" in text
    assert set(res.timings) == {"setup", "trials", "finish"}
    assert sum(res.timings.values()) == pytest.approx(res.seconds, abs=0.05)
    assert "interrupted" not in text


def test_describe_pick_states_each_rule_and_its_parameters():
    assert "highest validation f1, ties to the fewest MACs" in describe_pick("best", by="f1")
    assert "MACs <= 60,000" in describe_pick("budget", max_macs=60000)
    assert "(MACs / 50,000) ** -0.07" in describe_pick("mnasnet", target_macs=50000)
    assert "accuracy >= 0.9" in describe_pick("smallest_above", accuracy=0.9)

    def my_rule(cands, **_):
        """The last one."""
        return len(cands) - 1

    assert describe_pick(my_rule, k=1) == "rule `my_rule`: The last one. (k=1)"


def test_timeout_counts_from_the_start(tmp_path, digits, monkeypatch):
    monkeypatch.setattr(S, "warm_up", lambda: time.sleep(1.0))
    c = _cfg(study={"name": "r", "n_trials": 50})
    res = _run(c, tmp_path, digits, timeout=0.5)
    assert res.n_run <= 1 and res.timeout == 0.5


def test_same_failure_in_the_first_trials_stops_with_one_line(tmp_path, monkeypatch, capsys):
    import argparse

    from slimtune.nas import cli

    def boom(*a, **k):
        raise RuntimeError("boom: the data has no labels")

    monkeypatch.setattr(O, "train_model", boom)
    c = _cfg(
        study={"name": "r", "n_trials": 20, "storage": f"sqlite:///{tmp_path / 's.db'}"},
        constraints={},
        output={**BASE["output"], "dir": str(tmp_path / "out")},
    )
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(c))
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["search", str(path), "--no-progress"])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "the first 3 trials of study 'r' all failed with " in err
    assert "RuntimeError: boom: the data has no labels" in err
    study = st.load_study(study_name="r", storage=c["study"]["storage"])
    assert len(study.trials) == 3


def _start(tmp_path: Path, n_jobs: int) -> subprocess.Popen:
    c = _cfg(
        study={
            "name": "ctrlc",
            "n_trials": 500,
            "seed": 0,
            "n_jobs": n_jobs,
            "storage": f"sqlite:///{tmp_path / 's.db'}",
        },
        constraints={},
        fidelity={"epochs": 12, "subset": 1.0},
        output={"plot": False, "export": [], "dir": str(tmp_path / "out")},
    )
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(c))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.Popen(
        [sys.executable, "-m", "slimtune.cli", "search", str(tmp_path / "c.yaml"), "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def _interrupt_after_first_trial(p: subprocess.Popen) -> tuple[int, str, str]:
    """Wait until a trial has finished (the next ones are training), then Ctrl-C."""
    err_lines = []
    assert p.stderr is not None
    deadline = time.monotonic() + 120
    for line in p.stderr:
        err_lines.append(line)
        said = line.split("] ", 1)[-1]
        if (said.startswith("Trial ") and " finished" in said) or time.monotonic() > deadline:
            break
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)  # Ctrl-C reaches the main process
    out, err = p.communicate(timeout=120)
    return p.returncode, out, "".join(err_lines) + err


def test_ctrl_c_stores_interrupted_trials_writes_outputs_and_says_how_to_resume(tmp_path):
    # one search with 1 worker and one with 2, side by side (the start-up is most of the time)
    dirs = {n: tmp_path / f"jobs{n}" for n in (1, 2)}
    procs = {}
    for n, d in dirs.items():
        d.mkdir()
        procs[n] = _start(d, n)
    for n, d in dirs.items():
        rc, out, err = _interrupt_after_first_trial(procs[n])
        assert rc == 130, (n, err)
        assert "Traceback" not in err and "Traceback" not in out
        study = st.load_study(study_name="ctrlc", storage=f"sqlite:///{d / 's.db'}")
        trials = study.trials
        assert not [t for t in trials if t.state == st.TrialState.RUNNING]
        fails = [t for t in trials if t.state == st.TrialState.FAIL]
        assert fails and len(fails) <= n, (n, [t.system_attrs for t in fails])
        for t in fails:
            assert t.system_attrs.get(keys.FAIL_REASON) == f"SearchInterrupted: {S.INTERRUPTED}"
        last = out.strip().splitlines()[-1]
        assert last.startswith(f"interrupted (Ctrl-C): {len(trials)} trials are saved in study")
        assert last.endswith(
            f"resume with: slimtune search {d / 'c.yaml'} --n-trials {500 - len(trials)}"
        )
        assert (d / "out" / "trials.csv").is_file() and (d / "out" / "pareto.csv").is_file()


def test_resume_command_names_what_differs_from_the_config(tmp_path, digits):
    res = _run(_cfg(), tmp_path, digits, n_trials=1)
    res.config.source = Path("cfg.yaml")
    res.n_trials, res.n_run = 5, 2
    cmd = resume_command(res)
    assert cmd == (
        f"slimtune search cfg.yaml --storage sqlite:///{tmp_path / 's.db'} --out "
        f"{tmp_path / 'out'} --n-trials 3"
    )
    res.timeout = 30.0
    assert resume_command(res).endswith("--n-trials 3 --timeout 30")


def test_the_search_objective_pickles_for_spawned_workers():
    import pickle

    obj = S._SearchObjective(None, None, workers=True)  # type: ignore[arg-type]
    assert obj.user_stop is not None
    back = pickle.loads(pickle.dumps(obj))
    assert back.user_stop is None and back.study is None and back.parent_pid == obj.parent_pid


def test_ctrl_c_while_retraining_keeps_the_tables(tmp_path, digits, monkeypatch):
    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(S, "retrain_candidate", interrupted)
    res = _run(_cfg(retrain={"top_k": 1, "epochs": 1}), tmp_path, digits)
    assert res.interrupted and res.chosen is None and len(res.study.trials) == 2
    assert res.files["trials_csv"].is_file()
    from rich.console import Console

    buf = io.StringIO()
    print_summary(res, Console(file=buf, width=100))
    assert (
        buf.getvalue()
        .strip()
        .splitlines()[-1]
        .startswith("interrupted (Ctrl-C): 2 trials are saved in study 'r'")
    )
