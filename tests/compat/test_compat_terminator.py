"""slimtune.terminator: evaluators, the Terminator rule and the callback."""

from __future__ import annotations

import math

import numpy as np
import pytest

import slimtune as st
from slimtune import terminator as T
from slimtune.distributions import FloatDistribution


def _trials(values: list[float], cv: list[list[float]] | None = None) -> list[st.FrozenTrial]:
    out = []
    rng = np.random.default_rng(0)
    for i, v in enumerate(values):
        sa = {"terminator:cv_scores": cv[i]} if cv else {}
        out.append(st.create_trial(
            params={"x": float(rng.uniform())}, distributions={"x": FloatDistribution(0, 1)},
            value=v, system_attrs=sa))
    return out


def test_report_cross_validation_scores_checks_and_stores() -> None:
    study = st.create_study()
    trial = study.ask()
    T.report_cross_validation_scores(trial, [0.9, 0.8, 0.85])
    assert trial.system_attrs["terminator:cv_scores"] == [0.9, 0.8, 0.85]
    with pytest.raises(ValueError, match="at least 2"):
        T.report_cross_validation_scores(trial, [0.9])
    with pytest.raises(ValueError, match="finite"):
        T.report_cross_validation_scores(trial, [0.9, math.nan])


def test_cross_validation_error_is_the_corrected_standard_error_of_the_best() -> None:
    scores = [[0.5, 0.6], [0.9, 0.8, 0.85, 0.95, 0.75], [0.1, 0.2]]
    trials = _trials([0.55, 0.85, 0.15], scores)
    s = np.array(scores[1])
    want = math.sqrt((1 / 5 + 1 / 4) * s.var(ddof=1))
    assert T.CrossValidationErrorEvaluator().evaluate(trials, "maximize") == pytest.approx(want)
    # Minimizing, the best is the third trial.
    s3 = np.array(scores[2])
    assert T.CrossValidationErrorEvaluator().evaluate(trials, "minimize") == pytest.approx(
        math.sqrt((1 / 2 + 1 / 1) * s3.var(ddof=1)))
    with pytest.raises(ValueError, match="report_cross_validation_scores"):
        T.CrossValidationErrorEvaluator().evaluate(_trials([1.0]), "minimize")


def test_static_and_stagnation_evaluators() -> None:
    assert T.StaticErrorEvaluator(0.3).evaluate([], "minimize") == 0.3
    ev = T.BestValueStagnationEvaluator(max_stagnation_trials=3)
    # Best (minimize) at index 1; 4 trials after it.
    assert ev.evaluate(_trials([5, 1, 2, 3, 4, 1]), "minimize") == 3 - 4
    assert ev.evaluate(_trials([5, 1, 2, 3, 4, 1]), "maximize") == 3 - 5


def test_regret_bound_is_inf_before_min_trials_and_shrinks_near_the_optimum() -> None:
    ev = T.RegretBoundEvaluator(min_n_trials=5, seed=0)
    assert ev.evaluate(_trials([1.0, 2.0]), "minimize") == math.inf
    rng = np.random.default_rng(0)
    dist = FloatDistribution(-1, 1)

    def trials_at(xs: np.ndarray) -> list[st.FrozenTrial]:
        return [st.create_trial(params={"x": float(x)}, distributions={"x": dist},
                                value=float(x**2)) for x in xs]

    spread = T.RegretBoundEvaluator(min_n_trials=5, seed=0).evaluate(
        trials_at(rng.uniform(0.5, 1, 12)), "minimize")
    dense = T.RegretBoundEvaluator(min_n_trials=5, seed=0).evaluate(
        trials_at(np.linspace(-1, 1, 41)), "minimize")
    assert 0 <= dense < spread and math.isfinite(spread)


def test_terminator_needs_min_trials_and_compares_improvement_with_error() -> None:
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    term = T.Terminator(T.BestValueStagnationEvaluator(2), min_n_trials=3)
    study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0 + 1.0, n_trials=2)
    assert not term.should_terminate(study)  # 2 < min_n_trials
    study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0 + 1.0, n_trials=2)
    # 4 trials, best the first: stagnation 3 > 2 -> improvement -1 < error 0.
    assert term.should_terminate(study)
    with pytest.raises(ValueError, match="positive int"):
        T.Terminator(min_n_trials=0)
    with pytest.raises(NotImplementedError, match="RegretBoundEvaluator"):
        T.EMMREvaluator()


def test_terminator_callback_stops_a_stagnating_study() -> None:
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    cb = T.TerminatorCallback(T.Terminator(T.BestValueStagnationEvaluator(3), min_n_trials=2))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) * 0 + 1.0, n_trials=50, callbacks=[cb])
    assert len(study.trials) == 5  # the first is best; stop once 4 trials follow it


def test_median_error_evaluator_fixes_a_threshold_from_the_first_trials() -> None:
    paired = T.BestValueStagnationEvaluator(10)
    ev = T.MedianErrorEvaluator(paired, warm_up_trials=1, n_initial_trials=3,
                                threshold_ratio=0.5)
    assert ev.evaluate(_trials([3, 2]), "minimize") == -math.inf
    # Prefixes of 2, 3, 4 trials (decreasing values: the last is always best) -> 10 each.
    assert ev.evaluate(_trials([4, 3, 2, 1]), "minimize") == 5.0
    assert ev.evaluate(_trials([4, 3, 2, 1, 9, 9]), "minimize") == 5.0  # fixed once set


def test_optuna_s_submodule_paths_exist() -> None:
    from slimtune.terminator.callback import TerminatorCallback
    from slimtune.terminator.erroreval import report_cross_validation_scores
    from slimtune.terminator.improvement.evaluator import RegretBoundEvaluator
    from slimtune.terminator.median_erroreval import MedianErrorEvaluator

    assert TerminatorCallback is T.TerminatorCallback
    assert report_cross_validation_scores is T.report_cross_validation_scores
    assert RegretBoundEvaluator is T.RegretBoundEvaluator
    assert MedianErrorEvaluator is T.MedianErrorEvaluator
