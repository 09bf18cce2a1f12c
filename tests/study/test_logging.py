"""What a study says while it runs: log lines, metric names, and the fail-fast rule."""

from __future__ import annotations

import logging

import pytest

import slimtune as st


def _messages(caplog, level=logging.INFO) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= level]


def test_one_info_line_per_finished_trial_with_names_and_best(caplog):
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.set_metric_names(["loss"])
    with caplog.at_level(logging.INFO, logger="slimtune"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    lines = [m for m in _messages(caplog) if m.startswith("Trial ")]
    assert len(lines) == 3
    best = study.best_trial
    assert "value: loss=" in lines[-1] and f"Best is trial {best.number}" in lines[-1]
    assert "'x':" in lines[0]


def test_failed_and_pruned_trials_are_logged_with_the_reason(caplog):
    def objective(trial: st.Trial) -> float:
        trial.suggest_int("a", 0, 3)
        if trial.number == 0:
            raise ValueError("bad a")
        if trial.number == 1:
            raise st.TrialPruned()
        if trial.number == 2:
            return float("nan")
        return 1.0

    study = st.create_study()
    with caplog.at_level(logging.INFO, logger="slimtune"):
        study.optimize(objective, n_trials=4)
    warn = _messages(caplog, logging.WARNING)
    assert any("Trial 0 failed" in m and "ValueError: bad a" in m for m in warn)
    assert any("Trial 2 failed" in m and "NaN" in m for m in warn)
    assert any("Trial 1 pruned" in m for m in _messages(caplog))


def test_set_verbosity_quiets_the_info_lines(caplog):
    old = st.logging.get_verbosity()
    try:
        st.logging.set_verbosity(st.logging.WARNING)
        assert st.logging.get_verbosity() == st.logging.WARNING
        with caplog.at_level(logging.NOTSET):
            st.create_study().optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        assert not [m for m in _messages(caplog) if m.startswith("Trial ")]
    finally:
        st.logging.set_verbosity(old)
    with pytest.raises(TypeError, match="set_verbosity"):
        st.logging.set_verbosity("loud")  # type: ignore[arg-type]


def test_default_handler_writes_to_stderr(capsys):
    old = st.logging.get_verbosity()
    st.logging.set_verbosity(st.logging.INFO)  # (another test may have quieted it)
    st.logging.disable_propagation()
    try:
        st.create_study().optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        err = capsys.readouterr().err
        assert "[I " in err and "Trial 0 finished with value:" in err
        st.logging.disable_default_handler()
        st.create_study().optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        assert "Trial 0" not in capsys.readouterr().err
    finally:
        st.logging.enable_default_handler()
        st.logging.enable_propagation()  # as tests/conftest.py set it
        st.logging.set_verbosity(old)


def test_metric_names_are_stored_and_checked(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = st.create_study(storage=url, study_name="s", directions=["maximize", "minimize"])
    assert study.metric_names is None
    assert study.objective_names() == ["values_0", "values_1"]
    with pytest.raises(ValueError, match="one name per objective"):
        study.set_metric_names(["accuracy"])
    with pytest.raises(ValueError, match="distinct"):
        study.set_metric_names(["a", "a"])
    with pytest.raises(TypeError):
        study.set_metric_names("accuracy")  # type: ignore[arg-type]
    study.set_metric_names(["accuracy", "macs"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 3.0), n_trials=2)
    again = st.load_study(study_name="s", storage=url)
    assert again.metric_names == ["accuracy", "macs"]
    rec = again.trials_records()[0]
    assert "values_accuracy" in rec and "values_macs" in rec and "values_0" not in rec


def _boom(trial: st.Trial) -> float:
    trial.suggest_float("x", 0, 1)
    raise RuntimeError("boom")


def test_first_trials_failing_alike_stop_the_study_with_a_note():
    study = st.create_study()
    with pytest.raises(RuntimeError, match="boom") as info:
        study.optimize(_boom, n_trials=50)
    assert len(study.trials) == st.study.engine.FAIL_FAST_TRIALS
    assert all(t.state == st.TrialState.FAIL for t in study.trials)
    assert any("all failed with this same error" in n for n in info.value.__notes__)


def test_fail_fast_is_off_with_an_explicit_catch_and_after_a_success():
    study = st.create_study()
    study.optimize(_boom, n_trials=6, catch=Exception)
    assert len(study.trials) == 6

    ok = st.create_study()
    ok.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    ok.optimize(_boom, n_trials=5)  # one trial succeeded: failures are not "the first"
    assert len(ok.trials) == 6


def test_fail_fast_needs_the_same_error():
    def objective(trial: st.Trial) -> float:
        raise RuntimeError(f"error {trial.number % 2}")

    study = st.create_study()
    study.optimize(objective, n_trials=6)
    assert len(study.trials) == 6


def test_fail_fast_with_worker_processes():
    study = st.create_study()
    with pytest.raises(RuntimeError, match="boom"):
        study.optimize(_boom, n_trials=40, n_jobs=2)
    assert len(study.trials) < 40
