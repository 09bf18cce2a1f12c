"""The learning-curve model, its pruner, its collector and the ``curves`` preset."""

from __future__ import annotations

import numpy as np
import pytest

import slimtune as st
from slimtune import keys
from slimtune.multifidelity.curves import (
    LearningCurveModel,
    LearningCurvePruner,
    PredictedFinalCollector,
    check_steps,
    curves_to_array,
)

H = 81
T = np.arange(1.0, H + 1.0)


def power(a: float, b: float, c: float) -> np.ndarray:
    return a + b * T**-c


def cut(y: np.ndarray, at: int) -> np.ndarray:
    return np.where(at >= T, y, np.nan)


# --- the model ------------------------------------------------------------------------


@pytest.mark.parametrize("a,b,c", [(0.1, 0.9, 0.5), (0.3, 0.6, 1.2), (0.05, 1.5, 0.3)])
def test_recovers_a_power_law_final_from_a_partial_curve(a, b, c):
    y = power(a, b, c)
    m = LearningCurveModel(H).fit(T, y[None, :])
    p = m.predict(T, cut(y, 20)[None, :])
    assert abs(p.mean[0] - y[-1]) < 0.01
    assert p.sd[0] < 0.05


def test_noisy_partial_curve_final_within_its_uncertainty():
    rng = np.random.default_rng(0)
    y = power(0.1, 0.9, 0.5)
    ys = y + rng.normal(size=(20, H)) * 0.005
    m = LearningCurveModel(H).fit(T, ys)
    p = m.predict(T, np.where(T <= 27, ys, np.nan))
    z = (y[-1] - p.mean) / p.sd
    assert np.mean(np.abs(p.mean - y[-1])) < 0.02
    assert np.mean(np.abs(z) < 2.5) >= 0.8  # the sd is of the right size
    assert abs(m.noise - 0.005) < 0.003


def test_crossing_curves_are_ranked_by_their_finals_not_their_current_values():
    fast = power(0.30, 0.7, 1.5)  # better now, worse at the end
    slow = power(0.10, 1.0, 0.5)
    assert fast[9] < slow[9] and slow[-1] < fast[-1]
    m = LearningCurveModel(H).fit(T, np.vstack([fast, slow]))
    p = m.predict(T, np.vstack([cut(fast, 10), cut(slow, 10)]))
    assert p.mean[1] < p.mean[0]
    assert abs(p.mean[0] - fast[-1]) < 0.02 and abs(p.mean[1] - slow[-1]) < 0.03


def test_few_points_are_not_judged_and_constant_curves_are_used_as_they_are():
    m = LearningCurveModel(H)
    Y = np.full((2, H), np.nan)
    Y[0, :2] = [0.5, 0.4]  # two points: not enough
    Y[1, :5] = 7.0  # a value known before training (MACs)
    p = m.predict(T, Y)
    assert np.isinf(p.sd[0])
    assert p.mean[1] == 7.0 and p.sd[1] == 0.0


def test_calibration_is_the_standardised_error_of_cut_full_curves():
    rng = np.random.default_rng(1)
    Y = np.vstack([power(a, 0.8, 0.6) for a in rng.uniform(0.05, 0.3, 8)])
    m = LearningCurveModel(H).fit(T, Y)
    z = m.calibration(T, Y, at=30)
    assert z.shape == (8,) and np.all(np.abs(z) < 3)


def test_curves_to_array_and_check_steps():
    steps, Y = curves_to_array([{1: 0.5, 3: 0.3}, {2: 0.4}], horizon=2)
    assert steps.tolist() == [1.0, 2.0]
    assert np.array_equal(np.isnan(Y), [[False, True], [True, False]])
    cs = check_steps(3, 81, 1.25)
    assert cs[0] == 3 and cs[-1] < 81 and np.all(np.diff(cs) > 0)


def test_model_rejects_bad_arguments():
    with pytest.raises(ValueError, match="horizon"):
        LearningCurveModel(0)
    with pytest.raises(ValueError, match="exponents"):
        LearningCurveModel(10, exponents=[0.5, -1.0])
    with pytest.raises(ValueError, match="recency"):
        LearningCurveModel(10, recency=-1)


# --- the pruner -----------------------------------------------------------------------


def _add_full(study, ys):
    for y in ys:
        t = study.ask()
        t.suggest_float("x", 0, 1)
        for e, v in enumerate(y, 1):
            t.report(float(v), e)
        study.tell(t, float(y[-1]))


def _run_until(study, y, stop_at=H):
    """Report ``y`` epoch by epoch; the epoch at which the trial was pruned (or None)."""
    t = study.ask()
    t.suggest_float("x", 0, 1)
    for e in range(1, stop_at + 1):
        t.report(float(y[e - 1]), e)
        if t.should_prune():
            study.tell(t, state=st.TrialState.PRUNED)
            return e
    study.tell(t, float(y[stop_at - 1]))
    return None


def _study(**kw):
    return st.create_study(
        pruner=LearningCurvePruner(H, **kw), sampler=st.samplers.RandomSampler(0)
    )


def test_pruner_keeps_the_trial_whose_curve_will_cross_and_stops_a_hopeless_one():
    study = _study()
    # the complete trials: fast learners that end around 0.25
    _add_full(study, [power(a, 0.6, 1.5) for a in (0.22, 0.25, 0.28, 0.3, 0.26, 0.24)])
    slow = power(0.10, 1.0, 0.5)  # worse than all of them until epoch ~17, best at the end
    assert slow[5] > 0.3 + 0.6 * 6**-1.5
    assert _run_until(study, slow) is None
    hopeless = power(0.45, 0.6, 1.5)  # converged early, far above the best
    assert _run_until(study, hopeless) is not None
    pruned = study.trials[-1]
    assert pruned.state == st.TrialState.PRUNED
    assert abs(pruned.system_attrs[keys.LC_FINAL][0] - hopeless[-1]) < 0.05


def test_median_pruner_would_stop_the_crossing_curve():
    """The contrast: a rule by the current value anti-selects the slow learner."""
    study = st.create_study(pruner=st.pruners.MedianPruner(n_startup_trials=3),
                            sampler=st.samplers.RandomSampler(0))
    _add_full(study, [power(a, 0.6, 1.5) for a in (0.22, 0.25, 0.28, 0.3, 0.26, 0.24)])
    assert _run_until(study, power(0.10, 1.0, 0.5)) is not None


def test_no_pruning_before_startup_trials_complete():
    study = _study(n_startup_trials=3)
    _add_full(study, [power(0.1, 0.6, 1.5)] * 2)
    assert _run_until(study, power(0.6, 0.6, 1.5)) is None


def test_maximize_direction():
    study = st.create_study(direction="maximize", pruner=LearningCurvePruner(H),
                            sampler=st.samplers.RandomSampler(0))
    _add_full(study, [-power(a, 0.6, 1.5) for a in (0.22, 0.25, 0.28, 0.3, 0.26, 0.24)])
    assert _run_until(study, -power(0.10, 1.0, 0.5)) is None
    assert _run_until(study, -power(0.45, 0.6, 1.5)) is not None
    assert study.trials[-1].system_attrs[keys.LC_FINAL][0] < 0  # stored as a value, not a loss


def _mo_study():
    study = st.create_study(directions=["minimize", "minimize"], pruner=LearningCurvePruner(H),
                            sampler=st.samplers.RandomSampler(0))
    for a, macs in [(0.22, 100.0), (0.25, 50.0), (0.28, 20.0), (0.30, 10.0), (0.26, 60.0)]:
        y = power(a, 0.6, 1.5)
        t = study.ask()
        t.suggest_float("x", 0, 1)
        for e, v in enumerate(y, 1):
            t.report([float(v), macs], e)
        study.tell(t, [float(y[-1]), macs])
    return study


def _mo_run(study, y, macs):
    t = study.ask()
    t.suggest_float("x", 0, 1)
    for e in range(1, H + 1):
        t.report([float(y[e - 1]), macs], e)
        if t.should_prune():
            study.tell(t, state=st.TrialState.PRUNED)
            return e
    study.tell(t, [float(y[-1]), macs])
    return None


def test_several_objectives_prune_only_dominated_optimistic_finals():
    study = _mo_study()
    bad = power(0.45, 0.6, 1.5)
    assert _mo_run(study, bad, 5.0) is None  # less accurate but the cheapest: on the front
    assert _mo_run(study, bad, 200.0) is not None  # dominated by every complete trial
    assert _mo_run(study, power(0.10, 1.0, 0.5), 200.0) is None  # will cross: best accuracy


def test_infeasible_trials_are_not_the_reference():
    study = _study()
    for a in (0.05, 0.06, 0.07, 0.05, 0.06):
        y = power(a, 0.6, 1.5)
        t = study.ask()
        t.suggest_float("x", 0, 1)
        t.set_constraints([1.0])  # infeasible
        for e, v in enumerate(y, 1):
            t.report(float(v), e)
        study.tell(t, float(y[-1]))
    assert _run_until(study, power(0.3, 0.6, 1.5)) is None  # nothing feasible to beat


def test_nan_is_pruned_at_once():
    study = _study()
    t = study.ask()
    t.report(float("nan"), 1)
    assert t.should_prune()


def test_pruner_rejects_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        LearningCurvePruner(81, alpha=0.7)
    with pytest.raises(ValueError, match="check_ratio"):
        LearningCurvePruner(81, check_ratio=1.0)
    with pytest.raises((ValueError, TypeError), match="max_resource"):
        LearningCurvePruner(1)


def test_auto_max_resource_waits_for_a_complete_trial():
    p = LearningCurvePruner("auto")
    assert p.horizon([]) is None
    study = st.create_study(pruner=p, sampler=st.samplers.RandomSampler(0))
    _add_full(study, [power(0.2, 0.6, 1.5)])
    assert p.horizon(study.trials) == H


# --- the collector, the preset, names -------------------------------------------------


def test_collector_ranks_pruned_trials_by_their_predicted_final():
    study = _study()
    _add_full(study, [power(a, 0.6, 1.5) for a in (0.22, 0.25, 0.28, 0.3, 0.26, 0.24)])
    _run_until(study, power(0.45, 0.6, 1.5))
    obs = PredictedFinalCollector().collect(study, study.trials)
    assert len(obs.trials) == 7 and np.all(obs.tier == 0.0)
    assert obs.losses[-1, 0] == pytest.approx(study.trials[-1].system_attrs[keys.LC_FINAL][0])


def _objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
    a, tau = 0.05 + (x - 0.6) ** 2, 1.0 / lr
    v = 1.0
    for e in range(1, 28):
        v = a + (1.0 - a) * np.exp(-e / tau)
        trial.report(float(v), e)
        if trial.should_prune():
            raise st.TrialPruned()
    return float(v)


def test_preset_builds_runs_and_is_deterministic():
    def run():
        study = st.create_study(**st.presets.curves(max_resource=27, seed=3))
        study.optimize(_objective, n_trials=25)
        return [(t.state, t.params, t.value, t.last_step) for t in study.trials]

    a, b = run(), run()
    assert a == b
    assert any(s == st.TrialState.PRUNED for s, *_ in a)
    assert any(s == st.TrialState.COMPLETE for s, *_ in a)


def test_constructible_by_name():
    cls = st.pruners.LearningCurvePruner
    assert cls is LearningCurvePruner
    assert st.multifidelity.LearningCurvePruner is cls
    name = "LearningCurvePruner"  # as NAS configs give it: `pruner: {name: ...}`
    p = getattr(st.pruners, name)(max_resource=20, alpha=0.1)
    assert "alpha=0.1" in repr(p)
