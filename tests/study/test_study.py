from __future__ import annotations

import math

import numpy as np
import pytest

import slimtune as st
from slimtune.storage import DuplicatedStudyError, StudyNotFoundError


def quad(trial):
    x = trial.suggest_float("x", -10, 10)
    y = trial.suggest_int("y", -5, 5)
    return (x - 2) ** 2 + (y + 1) ** 2


def test_optimize_best_and_resume(storage_url):
    study = st.create_study(
        storage=storage_url,
        study_name="s",
        direction="minimize",
        sampler=st.samplers.RandomSampler(seed=0),
    )
    study.optimize(quad, n_trials=30)
    assert len(study.trials) == 30
    assert all(t.state == st.TrialState.COMPLETE for t in study.trials)
    best = study.best_trial
    assert best.value == min(t.value for t in study.trials)
    assert study.best_value == best.value and study.best_params == best.params
    assert [t.number for t in study.trials] == list(range(30))
    if storage_url is not None:
        again = st.create_study(
            storage=storage_url,
            study_name="s",
            load_if_exists=True,
            sampler=st.samplers.RandomSampler(seed=1),
        )
        again.optimize(quad, n_trials=5)
        assert len(again.trials) == 35
        assert st.load_study(study_name="s", storage=storage_url).best_value <= best.value
        with pytest.raises(DuplicatedStudyError, match="load_if_exists=True"):
            st.create_study(storage=storage_url, study_name="s")


def test_maximize_and_directions():
    study = st.create_study(direction="maximize", sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: -quad(t), n_trials=20)
    assert study.best_value == max(t.value for t in study.trials)
    assert study.direction == "maximize"
    with pytest.raises(ValueError, match="minimize' or 'maximize"):
        st.create_study(direction="up")


def test_same_seed_same_trials():
    runs = []
    for _ in range(2):
        for sampler in (st.samplers.RandomSampler(seed=3), st.samplers.QMCSampler(seed=3)):
            s = st.create_study(sampler=sampler)
            s.optimize(quad, n_trials=15)
            runs.append([t.params for t in s.trials])
    assert runs[0] == runs[2] and runs[1] == runs[3]
    assert runs[0] != runs[1]


@pytest.mark.parametrize(
    "ret,reason",
    [
        (float("nan"), "NaN"),
        (float("inf"), "inf"),
        (None, "None"),
        ((1.0, 2.0), "2 value"),
        ("abc", "not a number"),
    ],
)
def test_bad_return_values_fail_and_study_goes_on(ret, reason):
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    calls = []

    def obj(trial):
        trial.suggest_float("x", 0, 1)
        calls.append(1)
        return ret if len(calls) == 2 else 1.0

    study.optimize(obj, n_trials=4)
    states = [t.state for t in study.trials]
    assert states.count(st.TrialState.FAIL) == 1 and len(states) == 4
    bad = study.trials[1]
    assert bad.state == st.TrialState.FAIL
    assert reason in bad.system_attrs["fail_reason"]
    assert bad.params  # what was suggested is kept


def test_exceptions_are_caught_by_default_and_catch_switch_stops(storage_url):
    study = st.create_study(storage=storage_url, sampler=st.samplers.RandomSampler(seed=0))

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        if trial.number % 2 == 1:
            raise RuntimeError(f"boom {trial.number}")
        return x

    study.optimize(obj, n_trials=6)
    fails = [t for t in study.trials if t.state == st.TrialState.FAIL]
    assert len(fails) == 3 and "RuntimeError: boom 1" in fails[0].system_attrs["fail_reason"]
    # catch=() (Optuna's convention): an exception stops the study, after the trial is stored.
    with pytest.raises(RuntimeError, match="boom 7"):
        study.optimize(obj, n_trials=6, catch=())
    assert len(study.trials) == 8
    assert study.trials[-1].state == st.TrialState.FAIL
    # catch=(RuntimeError,) keeps going
    study.optimize(obj, n_trials=4, catch=(RuntimeError,))
    assert len(study.trials) == 12


def test_keyboard_interrupt_stores_fail_then_stops():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))

    def obj(trial):
        trial.suggest_float("x", 0, 1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        study.optimize(obj, n_trials=3)
    assert [t.state for t in study.trials] == [st.TrialState.FAIL]


def test_pruned_trials_keep_last_value():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))

    def obj(trial):
        trial.suggest_float("x", 0, 1)
        for step in range(3):
            trial.report(10.0 - step, step)
        raise st.TrialPruned()

    study.optimize(obj, n_trials=2)
    t = study.trials[0]
    assert t.state == st.TrialState.PRUNED
    assert t.values == [8.0]
    assert t.intermediate_values == {0: 10.0, 1: 9.0, 2: 8.0}
    with pytest.raises(ValueError, match="no complete"):
        study.best_trial  # noqa: B018


def test_report_validation():
    study = st.create_study()
    t = study.ask()
    with pytest.raises(TypeError, match="step must be an int"):
        t.report(1.0, 1.5)
    with pytest.raises(ValueError, match="step must be >= 0"):
        t.report(1.0, -1)
    with pytest.raises(ValueError, match="1 objective"):
        t.report([1.0, 2.0], 0)
    t.report(1.0, 0)
    t.report(5.0, 0)  # a step is kept once
    assert t.intermediate_values == {0: 1.0}


def test_suggest_same_name_different_distribution():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    t = study.ask()
    x = t.suggest_float("x", 0, 1)
    assert t.suggest_float("x", 0, 1) == x  # same distribution: same value
    with pytest.raises(ValueError, match="'x' was already suggested"):
        t.suggest_float("x", 0, 2)
    with pytest.raises(ValueError, match="parameter 'bad': low=3.0 must be <= high=1.0"):
        t.suggest_float("bad", 3, 1)
    with pytest.raises(ValueError, match="'lr'.*log=True needs low > 0"):
        t.suggest_float("lr", 0, 1, log=True)
    study.tell(t, 1.0)
    # Dynamic space: another range in a later trial is fine ...
    t2 = study.ask()
    assert 5 <= t2.suggest_float("x", 5, 6) <= 6
    # ... another kind of distribution is not.
    study.tell(t2, 1.0)
    t3 = study.ask()
    with pytest.raises(ValueError, match="keep its kind"):
        t3.suggest_categorical("x", ["a", "b"])


def test_multi_objective_pareto_front(storage_url):
    study = st.create_study(
        storage=storage_url,
        directions=["minimize", "maximize"],
        sampler=st.samplers.RandomSampler(seed=0),
    )

    def obj(trial):
        x = trial.suggest_float("x", 0, 1)
        y = trial.suggest_float("y", 0, 1)
        return x, x * y

    study.optimize(obj, n_trials=40)
    front = study.best_trials
    vals = np.array([t.values for t in study.trials])
    for t in front:
        a = np.array(t.values)
        dominated = (
            (vals[:, 0] <= a[0])
            & (vals[:, 1] >= a[1])
            & ((vals[:, 0] < a[0]) | (vals[:, 1] > a[1]))
        )
        assert not dominated.any()
    n_nondominated = sum(
        not any((o[0] <= v[0] and o[1] >= v[1]) and (o[0] < v[0] or o[1] > v[1]) for o in vals)
        for v in vals
    )
    assert len(front) == n_nondominated
    with pytest.raises(RuntimeError, match="best_trials"):
        study.best_trial  # noqa: B018


def test_constraints_prefer_feasible():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))

    def obj(trial):
        x = trial.suggest_float("x", -1, 1)
        trial.set_constraints([x - 0.5])  # feasible when x <= 0.5
        return -x

    study.optimize(obj, n_trials=30)
    assert study.best_params["x"] <= 0.5
    assert study.best_trial.constraints == [pytest.approx(study.best_params["x"] - 0.5)]


def test_enqueue_trial_runs_first(storage_url):
    study = st.create_study(storage=storage_url, sampler=st.samplers.RandomSampler(seed=0))
    study.enqueue_trial({"x": 1.5, "y": 2})
    study.enqueue_trial({"x": 1.5, "y": 2}, skip_if_exists=True)
    study.enqueue_trial({"x": -3.0})  # y is sampled
    study.optimize(quad, n_trials=3)
    t0, t1, t2 = study.trials
    assert t0.params == {"x": 1.5, "y": 2}
    assert t1.params["x"] == -3.0 and -5 <= t1.params["y"] <= 5
    assert len(study.trials) == 3


def test_enqueued_value_out_of_range_fails_trial():
    study = st.create_study()
    study.enqueue_trial({"x": 99.0})
    study.optimize(quad, n_trials=1)
    t = study.trials[0]
    assert t.state == st.TrialState.FAIL
    assert "outside [-10.0, 10.0]" in t.system_attrs["fail_reason"]


def test_ask_tell_interface():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    t = study.ask({"x": st.FloatDistribution(0, 1)})
    assert 0 <= t.params["x"] <= 1
    ft = study.tell(t, 0.25)
    assert ft.state == st.TrialState.COMPLETE and ft.value == 0.25
    with pytest.raises(RuntimeError, match="already finished"):
        study.tell(t, 0.3)
    study.tell(t, 0.3, skip_if_finished=True)
    t2 = study.ask()
    study.tell(t2.number, state=st.TrialState.FAIL)
    assert study.trials[1].state == st.TrialState.FAIL


def test_callbacks_stop_and_timeout():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    seen = []

    def cb(s, ft):
        seen.append(ft.number)
        if len(seen) == 5:
            s.stop()

    study.optimize(quad, n_trials=100, callbacks=[cb])
    assert seen == [0, 1, 2, 3, 4]
    import time

    def slow(trial):
        time.sleep(0.05)
        return quad(trial)

    t0 = time.time()
    study.optimize(slow, timeout=0.3)
    assert time.time() - t0 < 2.0
    assert 5 < len(study.trials) < 40


def test_user_attrs_json_only():
    study = st.create_study()
    t = study.ask()
    t.set_user_attr("note", {"a": [1, 2]})
    with pytest.raises(TypeError, match="JSON"):
        t.set_user_attr("bad", object())
    study.tell(t, 1.0)
    assert study.trials[0].user_attrs == {"note": {"a": [1, 2]}}
    study.set_user_attr("owner", "me")
    assert study.user_attrs == {"owner": "me"}


def test_fixed_trial():
    assert quad(st.FixedTrial({"x": 2.0, "y": -1})) == 0.0
    with pytest.raises(ValueError, match="outside"):
        quad(st.FixedTrial({"x": 20.0, "y": -1}))


def test_load_missing_study(tmp_path):
    url = f"sqlite:///{tmp_path}/x.db"
    with pytest.raises(StudyNotFoundError, match="no study named 'nope'"):
        st.load_study(study_name="nope", storage=url)
    st.create_study(storage=url, study_name="only")
    assert st.load_study(study_name=None, storage=url).study_name == "only"
    st.delete_study("only", url)
    assert st.get_all_study_names(url) == []


def test_copy_study(tmp_path):
    src = st.create_study(study_name="a", sampler=st.samplers.RandomSampler(seed=0))
    src.optimize(quad, n_trials=5)
    url = f"sqlite:///{tmp_path}/c.db"
    st.copy_study(from_study_name="a", from_storage=src.storage, to_storage=url)
    dst = st.load_study(study_name="a", storage=url)
    assert [t.params for t in dst.trials] == [t.params for t in src.trials]
    assert [t.values for t in dst.trials] == [t.values for t in src.trials]


def test_inf_in_intermediate_and_values_roundtrip(tmp_path):
    url = f"sqlite:///{tmp_path}/v.db"
    study = st.create_study(storage=url, directions=["minimize", "minimize"])
    t = study.ask()
    t.report([1.0, math.inf], 0)
    study.tell(t, [1.0, 2.0])
    back = st.load_study(study_name=study.study_name, storage=url).trials[0]
    assert (
        back.intermediate_values[0][1] == math.inf or back.intermediate_values[0][1] == "Infinity"
    )


def test_progress_bar_advances_once_per_trial(monkeypatch) -> None:
    import io
    import sys

    from slimtune import progress

    class TTY(io.StringIO):
        def isatty(self) -> bool:
            return True

    infos: list[str] = []
    monkeypatch.setattr(sys, "stderr", TTY())
    monkeypatch.setattr(progress.ProgressBar, "advance", lambda self, info="": infos.append(info))
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4, show_progress_bar=True)
    assert len(infos) == 4 and all(i.startswith("best: ") for i in infos)
