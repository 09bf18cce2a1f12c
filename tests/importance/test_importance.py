"""slimtune.importance: the fANOVA decomposition is exact on hand-built trees, the
evaluators find the parameters that matter, follow Optuna's rules for trials and params,
and agree with Optuna's evaluators on the same trials."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import slimtune as st
from slimtune.importance import (
    BaseImportanceEvaluator,
    FanovaImportanceEvaluator,
    MeanDecreaseImpurityImportanceEvaluator,
    PedAnovaImportanceEvaluator,
    get_param_importances,
)
from slimtune.importance.fanova import TreeDecomposition, leaf_boxes

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: `benchmarks`

pytest.importorskip("sklearn")


def _quiet() -> None:
    st.logging.set_verbosity(st.logging.WARNING)


@pytest.fixture(autouse=True)
def _restore_verbosity():
    yield
    st.logging.set_verbosity(st.logging.INFO)


def _mixed_objective(trial):
    x = trial.suggest_float("x", -1.0, 1.0)
    trial.suggest_float("y", 1e-3, 1.0, log=True)
    c = trial.suggest_categorical("c", ["a", "b", "c"])
    n = trial.suggest_int("n", 0, 5)
    return 4 * x * x + 0.5 * (c == "a") + 0.01 * n


def _study(objective=_mixed_objective, n=80, seed=0, **kw):
    _quiet()
    s = st.create_study(sampler=st.samplers.RandomSampler(seed=seed), **kw)
    s.optimize(objective, n_trials=n)
    return s


# --- the decomposition itself ------------------------------------------------------------


def _tree(a: float, b: float):
    """f(x, y) = a [x > 0.5] + b [y > 0.25] on [0, 1]^2 as a scikit-learn-layout tree."""
    # node 0: x <= 0.5 ? 1 : 2; nodes 1, 2: y <= 0.25 ? leaf : leaf
    left = np.array([1, 3, 5, -1, -1, -1, -1])
    right = np.array([2, 4, 6, -1, -1, -1, -1])
    feature = np.array([0, 1, 1, -2, -2, -2, -2])
    threshold = np.array([0.5, 0.25, 0.25, -2, -2, -2, -2])
    value = np.array([0, 0, 0, 0.0, b, a, a + b])
    return left, right, feature, threshold, value


def test_main_effects_of_an_additive_tree_are_exact():
    a, b = 2.0, 3.0
    left, right, feature, threshold, value = _tree(a, b)
    leaves, lo, up = leaf_boxes(left, right, feature, threshold, 2)
    assert list(leaves) == [3, 4, 5, 6]
    bounds = np.array([[0.0, 1.0], [0.0, 1.0]])
    dec = TreeDecomposition(
        lo, up, value[leaves], bounds, [np.array([0]), np.array([1])], [False, False]
    )
    var_x = a * a * 0.25
    var_y = b * b * 0.25 * 0.75
    assert dec.mean == pytest.approx(a * 0.5 + b * 0.75)
    assert dec.variance == pytest.approx(var_x + var_y)  # additive: no interaction
    assert dec.main_effect_variance(0) == pytest.approx(var_x)
    assert dec.main_effect_variance(1) == pytest.approx(var_y)


def test_interaction_variance_is_not_a_main_effect():
    # f = [x > 0.5] XOR [y > 0.5]: both marginals are flat, the variance is all interaction
    left = np.array([1, 3, 5, -1, -1, -1, -1])
    right = np.array([2, 4, 6, -1, -1, -1, -1])
    feature = np.array([0, 1, 1, -2, -2, -2, -2])
    threshold = np.array([0.5, 0.5, 0.5, -2, -2, -2, -2])
    value = np.array([0, 0, 0, 0.0, 1.0, 1.0, 0.0])
    leaves, lo, up = leaf_boxes(left, right, feature, threshold, 2)
    dec = TreeDecomposition(
        lo,
        up,
        value[leaves],
        np.array([[0, 1.0], [0, 1.0]]),
        [np.array([0]), np.array([1])],
        [False, False],
    )
    assert dec.variance == pytest.approx(0.25)
    assert dec.main_effect_variance(0) == pytest.approx(0.0)
    assert dec.main_effect_variance(1) == pytest.approx(0.0)


def test_a_categorical_domain_is_its_choices():
    # three one-hot columns; the tree: col0 <= 0.5 ? 0 : 6  (choice 0 scores 6, others 0)
    left = np.array([1, -1, -1])
    right = np.array([2, -1, -1])
    feature = np.array([0, -2, -2])
    threshold = np.array([0.5, -2, -2])
    value = np.array([0, 0.0, 6.0])
    leaves, lo, up = leaf_boxes(left, right, feature, threshold, 3)
    dec = TreeDecomposition(
        lo, up, value[leaves], np.array([[0, 1.0]] * 3), [np.array([0, 1, 2])], [True]
    )
    # mass 1/3 on 6 and 2/3 on 0 (the unit cube of the columns would give 1/2 and 1/2)
    assert dec.mean == pytest.approx(2.0)
    assert dec.variance == pytest.approx(36 / 3 - 4)
    assert dec.main_effect_variance(0) == pytest.approx(dec.variance)


# --- the evaluators ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "evaluator",
    [
        FanovaImportanceEvaluator(seed=0, n_trees=16),
        MeanDecreaseImpurityImportanceEvaluator(seed=0),
        PedAnovaImportanceEvaluator(),
    ],
    ids=["fanova", "mdi", "ped_anova"],
)
def test_each_evaluator_ranks_the_dominant_parameter_first(evaluator):
    s = _study()
    imp = get_param_importances(s, evaluator=evaluator)
    assert set(imp) == {"x", "y", "c", "n"}
    assert next(iter(imp)) == "x"
    assert list(imp.values()) == sorted(imp.values(), reverse=True)
    assert sum(imp.values()) == pytest.approx(1.0)
    assert all(v >= 0 for v in imp.values())


def test_default_evaluator_is_ped_anova_and_normalize_false_keeps_raw_values():
    s = _study()
    default = get_param_importances(s, normalize=False)
    ped = PedAnovaImportanceEvaluator().evaluate(s)
    assert default == ped
    assert sum(default.values()) != pytest.approx(1.0)


def test_fanova_is_deterministic_for_a_seed_and_reports_a_spread():
    s = _study()
    ev = FanovaImportanceEvaluator(seed=3, n_trees=16)
    a = ev.evaluate(s)
    assert a == FanovaImportanceEvaluator(seed=3, n_trees=16).evaluate(s)
    assert set(ev.std_) == {"x", "y", "c", "n"}


def test_params_subset_and_user_mistakes():
    s = _study(n=30)
    assert set(get_param_importances(s, params=["x", "n"])) == {"x", "n"}
    assert get_param_importances(s, evaluator=FanovaImportanceEvaluator(seed=0), params=[]) == {}
    with pytest.raises(TypeError, match="list of parameter names"):
        get_param_importances(s, params="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        get_param_importances(s, params=["nope"])
    with pytest.raises(ValueError, match="no complete trial has all"):
        get_param_importances(s, evaluator=FanovaImportanceEvaluator(), params=["x", "nope"])
    with pytest.raises(TypeError, match="BaseImportanceEvaluator"):
        get_param_importances(s, evaluator=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="target_quantile"):
        PedAnovaImportanceEvaluator(target_quantile=0.5, region_quantile=0.4)
    with pytest.raises(ValueError, match="n_trees"):
        FanovaImportanceEvaluator(n_trees=0)


def test_forest_evaluators_need_a_target_with_several_objectives_ped_anova_does_not():
    _quiet()
    s = st.create_study(
        directions=["minimize", "minimize"], sampler=st.samplers.RandomSampler(seed=0)
    )
    s.optimize(
        lambda t: (t.suggest_float("x", 0, 1), (1 - t.suggest_float("y", 0, 1)) ** 2 + 0.0),
        n_trials=40,
    )
    with pytest.raises(ValueError, match="target="):
        get_param_importances(s, evaluator=FanovaImportanceEvaluator())
    with pytest.raises(ValueError, match="target="):
        get_param_importances(s, evaluator=MeanDecreaseImpurityImportanceEvaluator())
    imp = get_param_importances(
        s, evaluator=FanovaImportanceEvaluator(seed=0), target=lambda t: t.values[0]
    )
    assert next(iter(imp)) == "x"
    both = get_param_importances(s)  # PED-ANOVA: reaching the Pareto front
    assert set(both) == {"x", "y"}


def test_constant_target_and_too_few_trials():
    _quiet()
    s = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    s.optimize(
        lambda t: 1.0 + 0 * t.suggest_float("x", 0, 1) + 0 * t.suggest_float("y", 0, 1), n_trials=10
    )
    with pytest.raises(RuntimeError, match="constant"):
        FanovaImportanceEvaluator(seed=0).evaluate(s)
    one = st.create_study()
    one.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    assert get_param_importances(one) == {"x": 1.0}  # all zero -> equal shares
    assert FanovaImportanceEvaluator().evaluate(one) == {"x": 0.0}


def test_ped_anova_weighs_conditional_parameters_by_regime():
    def cond(trial):
        kind = trial.suggest_categorical("kind", ["a", "b"])
        if kind == "a":
            g = trial.suggest_float("gain", 0.0, 1.0)
            return 0.5 + 4 * (g - 0.2) ** 2
        trial.suggest_int("depth", 1, 4)
        return 1.5

    s = _study(cond, n=120)
    imp = get_param_importances(s)
    assert set(imp) == {"kind", "gain", "depth"}
    assert imp["depth"] == pytest.approx(0.0, abs=1e-3)  # never in the top decile
    assert imp["gain"] > imp["depth"]
    with pytest.raises(ValueError):  # forest evaluators want a shared space
        FanovaImportanceEvaluator().evaluate(s, params=["gain", "depth"])


def test_base_class_is_the_protocol():
    class Fixed(BaseImportanceEvaluator):
        def evaluate(self, study, params=None, *, target=None):
            return {"x": 3.0, "y": 1.0}

    assert get_param_importances(_study(n=5), evaluator=Fixed()) == {"x": 0.75, "y": 0.25}


# --- against Optuna, on the same trials ---------------------------------------------------


def test_same_trials_same_importances_as_optuna():
    optuna = pytest.importorskip("optuna")
    from benchmarks.importance import to_optuna_study

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    s = _study(n=100)
    twin = to_optuna_study(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = get_param_importances(s, evaluator=PedAnovaImportanceEvaluator(), normalize=False)
        theirs = optuna.importance.get_param_importances(
            twin, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), normalize=False
        )
        for k in ours:
            assert ours[k] == pytest.approx(theirs[k], rel=1e-6)
        ours = get_param_importances(s, evaluator=MeanDecreaseImpurityImportanceEvaluator(seed=1))
        theirs = optuna.importance.get_param_importances(
            twin, evaluator=optuna.importance.MeanDecreaseImpurityImportanceEvaluator(seed=1)
        )
        for k in ours:
            assert ours[k] == pytest.approx(theirs[k], abs=1e-9)
        ours = get_param_importances(s, evaluator=FanovaImportanceEvaluator(seed=1, n_trees=16))
        theirs = optuna.importance.get_param_importances(
            twin, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=1, n_trees=16)
        )
    # fANOVA measures the log parameter in log space and a categorical on its choices,
    # so values differ a little; the ranking of the dominant parameter and the bulk agree.
    assert next(iter(ours)) == next(iter(theirs)) == "x"
    assert ours["x"] == pytest.approx(theirs["x"], abs=0.03)
    assert not math.isnan(sum(ours.values()))


def test_fanova_equals_optunas_where_the_measures_agree():
    """No log and no categorical parameter: the same forest (same seed, same data) and an
    exact decomposition give Optuna's fANOVA numbers."""
    optuna = pytest.importorskip("optuna")
    from benchmarks.importance import to_optuna_study

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def f(trial):
        x = [trial.suggest_float(f"x{i}", -1.0, 1.0) for i in range(3)]
        n = trial.suggest_int("n", 0, 10)
        return 8 * x[0] ** 2 + 3 * x[1] ** 2 + x[2] + 0.2 * abs(n - 4)

    s = _study(f, n=60)
    ours = FanovaImportanceEvaluator(seed=0, n_trees=16).evaluate(s)
    theirs = optuna.importance.FanovaImportanceEvaluator(seed=0, n_trees=16).evaluate(
        to_optuna_study(s)
    )
    assert list(ours) == list(theirs)
    for k in ours:
        assert ours[k] == pytest.approx(float(theirs[k]), rel=1e-9, abs=1e-12)


def test_a_failed_trial_does_not_shrink_the_forest_space():
    def f(trial):
        x = trial.suggest_float("x", -1, 1)
        if trial.number == 5:
            raise ValueError("boom")
        return x * x + 0.1 * trial.suggest_float("y", -1, 1)

    s = _study(f, n=30)
    assert {t.state for t in s.trials} == {st.TrialState.COMPLETE, st.TrialState.FAIL}
    assert set(FanovaImportanceEvaluator(seed=0, n_trees=8).evaluate(s)) == {"x", "y"}


def test_ped_anova_on_several_objectives_equals_optunas():
    """No target: the top trials by non-domination rank, the last rank cut by greedy
    hypervolume subset selection, as Optuna picks them."""
    optuna = pytest.importorskip("optuna")
    from benchmarks.importance import to_optuna_study

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    _quiet()
    s = st.create_study(
        directions=["minimize", "maximize"], sampler=st.samplers.RandomSampler(seed=1)
    )
    s.optimize(
        lambda t: (
            t.suggest_float("x", 0, 1) + 0.2 * t.suggest_float("z", 0, 1),
            t.suggest_float("y", 0, 1) * t.params["x"],
        ),
        n_trials=80,
    )
    ours = get_param_importances(s, normalize=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = optuna.importance.get_param_importances(to_optuna_study(s), normalize=False)
    for k in ours:
        assert ours[k] == pytest.approx(float(theirs[k]), rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(
    "kw",
    [{}, {"target_quantile": 0.2, "region_quantile": 0.6}, {"evaluate_on_local": False}],
    ids=["default", "region", "global"],
)
def test_ped_anova_with_conditional_parameters_equals_optunas(kw):
    optuna = pytest.importorskip("optuna")
    from benchmarks.importance import to_optuna_study

    optuna.logging.set_verbosity(optuna.logging.ERROR)

    def cond(trial):
        kind = trial.suggest_categorical("kind", ["a", "b", "c"])
        if kind == "a":
            return 0.5 + 4 * (trial.suggest_float("gain", 0.0, 1.0) - 0.2) ** 2
        if kind == "b":
            return 1.0 + 0.1 * trial.suggest_int("depth", 1, 4)
        return 1.2 + trial.suggest_float("w", 1e-3, 1, log=True)

    s = _study(cond, n=120, directions=["maximize"])
    ours = get_param_importances(s, evaluator=PedAnovaImportanceEvaluator(**kw), normalize=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = optuna.importance.get_param_importances(
            to_optuna_study(s),
            evaluator=optuna.importance.PedAnovaImportanceEvaluator(**kw),
            normalize=False,
        )
    assert set(ours) == set(theirs) == {"kind", "gain", "depth", "w"}
    for k in ours:
        assert ours[k] == pytest.approx(float(theirs[k]), rel=1e-9, abs=1e-15)
