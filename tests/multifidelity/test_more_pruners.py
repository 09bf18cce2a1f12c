"""PatientPruner, ThresholdPruner, WilcoxonPruner on hand-made curves; MedianPruner as the
default pruner."""

from __future__ import annotations

import logging

import pytest

import slimtune as st
from slimtune.pruners import (
    MedianPruner,
    NopPruner,
    PatientPruner,
    ThresholdPruner,
    WilcoxonPruner,
)


def decisions(pruner, curve, direction="minimize", history=()):
    """should_prune() after each report of ``curve`` (steps 0, 1, ...), in a study that
    holds the complete trials of ``history`` (curves, the last value is the result)."""
    study = st.create_study(direction=direction, pruner=pruner)
    for h in history:
        t = study.ask()
        for step, v in enumerate(h):
            t.report(v, step)
        study.tell(t, h[-1])
    t = study.ask()
    out = []
    for step, v in enumerate(curve):
        t.report(v, step)
        out.append(t.should_prune())
    return out


class Always(st.pruners.BasePruner):
    def prune(self, study, trial):
        return True


class Never(st.pruners.BasePruner):
    def prune(self, study, trial):
        return False


# --- PatientPruner -------------------------------------------------------------------------


def test_patient_prunes_after_patience_steps_without_improvement():
    curve = [5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 2.0]
    # patience 2: the last 3 steps must all be worse than the best before them.
    assert decisions(PatientPruner(None, patience=2), curve) == [
        False, False, False, False, False, True, False
    ]


def test_patient_maximize_and_min_delta():
    curve = [0.5, 0.6, 0.61, 0.605, 0.6]
    assert decisions(PatientPruner(None, 1), curve, "maximize") == [
        False, False, False, False, True
    ]
    # min_delta is a tolerance: 0.605 is within 0.05 of the earlier best 0.61.
    assert decisions(PatientPruner(None, 1, min_delta=0.05), curve, "maximize") == [False] * 5
    drop = [0.5, 0.6, 0.61, 0.5, 0.5]
    assert decisions(PatientPruner(None, 1, min_delta=0.05), drop, "maximize") == [
        False, False, False, False, True
    ]


def test_patient_asks_the_wrapped_pruner_only_when_stalled():
    curve = [1.0, 2.0, 3.0, 4.0]  # worse and worse (minimize): stalled from step 2
    assert decisions(PatientPruner(Never(), 1), curve) == [False] * 4
    assert decisions(PatientPruner(Always(), 1), curve) == [False, False, True, True]
    improving = [4.0, 3.0, 2.0, 1.0]
    assert decisions(PatientPruner(Always(), 1), improving) == [False] * 4


def test_patient_validates():
    with pytest.raises(ValueError, match="patience must be >= 0"):
        PatientPruner(None, -1)
    with pytest.raises(TypeError, match="patience must be an int"):
        PatientPruner(None, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_delta must be >= 0"):
        PatientPruner(None, 1, min_delta=-0.1)
    with pytest.raises(TypeError, match="wrapped_pruner must be a pruner"):
        PatientPruner("median", 1)  # type: ignore[arg-type]


# --- ThresholdPruner ---------------------------------------------------------------------


def test_threshold_bounds_warmup_interval_and_nan():
    assert decisions(ThresholdPruner(upper=1.0), [0.5, 0.9, 1.5]) == [False, False, True]
    assert decisions(ThresholdPruner(lower=0.2), [0.5, 0.1], "maximize") == [False, True]
    assert decisions(ThresholdPruner(upper=1.0, n_warmup_steps=2), [5.0, 5.0, 5.0]) == [
        False, False, True
    ]
    assert decisions(ThresholdPruner(upper=1.0), [0.5, float("nan")]) == [False, True]
    # interval 2 after the warm-up: checked at steps 0, 2, 4.
    assert decisions(ThresholdPruner(upper=1.0, interval_steps=2), [0, 5, 0, 5, 5]) == [
        False, False, False, False, True
    ]


def test_threshold_validates():
    with pytest.raises(TypeError, match="give lower=, upper= or both"):
        ThresholdPruner()
    with pytest.raises(ValueError, match="must not be larger than upper"):
        ThresholdPruner(lower=2.0, upper=1.0)
    with pytest.raises(TypeError, match="lower must be a number"):
        ThresholdPruner(lower="0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n_warmup_steps must be >= 0"):
        ThresholdPruner(upper=1.0, n_warmup_steps=-1)


# --- WilcoxonPruner ------------------------------------------------------------------------

BEST = [0.10, 0.20, 0.15, 0.30, 0.25, 0.12, 0.18, 0.22, 0.28, 0.14]  # losses per instance


def test_wilcoxon_prunes_a_consistently_worse_trial():
    worse = [v + 0.05 for v in BEST]
    got = decisions(WilcoxonPruner(p_threshold=0.1), worse, history=[BEST])
    # Too few paired instances at first; then the one-sided test finds it worse.
    assert got[:1] == [False]
    assert got[-1] is True
    first = got.index(True)
    assert 2 <= first <= 5


def test_wilcoxon_keeps_a_better_or_equal_trial():
    better = [v - 0.01 for v in BEST]
    assert decisions(WilcoxonPruner(), better, history=[BEST]) == [False] * len(BEST)
    assert decisions(WilcoxonPruner(), list(BEST), history=[BEST]) == [False] * len(BEST)


def test_wilcoxon_maximize_and_startup_steps():
    gains = [1.0 - v for v in BEST]
    worse = [v - 0.05 for v in gains]
    got = decisions(WilcoxonPruner(n_startup_steps=6), worse, "maximize", history=[gains])
    assert got[:5] == [False] * 5 and got[-1] is True


def test_wilcoxon_without_a_best_trial_or_with_nan(caplog):
    assert decisions(WilcoxonPruner(), [1.0, 2.0, 3.0]) == [False] * 3
    with caplog.at_level(logging.WARNING, logger="slimtune"):
        got = decisions(WilcoxonPruner(), [1.0, float("nan"), 3.0], history=[BEST])
    assert got == [False] * 3
    assert "inf or NaN" in caplog.text


def test_wilcoxon_validates():
    with pytest.raises(ValueError, match="p_threshold must be in"):
        WilcoxonPruner(p_threshold=1.5)
    with pytest.raises(ValueError, match="n_startup_steps must be >= 0"):
        WilcoxonPruner(n_startup_steps=-1)


def test_single_objective_pruners_name_the_alternative_for_several_objectives():
    study = st.create_study(directions=["minimize", "minimize"],
                            pruner=PatientPruner(None, 1))
    t = study.ask()
    t.report([1.0, 2.0], 0)
    with pytest.raises(ValueError, match="one objective.*MedianPruner"):
        t.should_prune()


# --- the default pruner ----------------------------------------------------------------------


def test_median_pruner_is_the_default_as_in_optuna():
    assert type(st.create_study().pruner) is MedianPruner
    study = st.create_study()
    loaded = st.load_study(study_name=study.study_name, storage=study.storage)
    assert type(loaded.pruner) is MedianPruner
    assert type(st.create_study(pruner=NopPruner()).pruner) is NopPruner


def curve_objective(trial: st.Trial) -> float:
    x = trial.suggest_float("x", 0.0, 1.0)
    for step in range(10):
        trial.report(x + 1.0 / (step + 1), step)
        if trial.should_prune():
            raise st.TrialPruned()
    return x


def test_default_pruner_prunes_a_reporting_objective_and_nop_turns_it_off():
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(curve_objective, n_trials=30)
    assert any(t.state == st.TrialState.PRUNED for t in study.trials)
    off = st.create_study(sampler=st.samplers.RandomSampler(seed=0), pruner=NopPruner())
    off.optimize(curve_objective, n_trials=30)
    assert all(t.state == st.TrialState.COMPLETE for t in off.trials)


def test_default_pruner_leaves_an_objective_that_never_reports_alone():
    def objective(trial):
        return trial.suggest_float("x", 0.0, 1.0)

    a = st.create_study(sampler=st.samplers.RandomSampler(seed=1))
    a.optimize(objective, n_trials=20)
    b = st.create_study(sampler=st.samplers.RandomSampler(seed=1), pruner=NopPruner())
    b.optimize(objective, n_trials=20)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert all(t.state == st.TrialState.COMPLETE for t in a.trials)
