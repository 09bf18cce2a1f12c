"""SlimSearchCV keeps OptunaSearchCV's contract: arguments, attributes, pruning, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import BaseEstimator, ClassifierMixin, clone, is_classifier  # noqa: E402
from sklearn.datasets import load_iris  # noqa: E402
from sklearn.exceptions import FitFailedWarning, NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression, SGDClassifier  # noqa: E402
from sklearn.model_selection import GroupKFold, KFold  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402

import slimtune as st  # noqa: E402
from slimtune.distributions import (  # noqa: E402
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from slimtune.integration import OptunaSearchCV, SlimSearchCV  # noqa: E402

X, Y = load_iris(return_X_y=True)
TREE = {
    "max_depth": IntDistribution(1, 6),
    "criterion": CategoricalDistribution(["gini", "entropy"]),
}


def _tree_search(**kw):
    kw.setdefault("n_trials", 6)
    kw.setdefault("random_state", 0)
    return SlimSearchCV(DecisionTreeClassifier(random_state=0), TREE, **kw)


def test_the_optuna_name_is_the_same_class():
    assert OptunaSearchCV is SlimSearchCV
    assert st.integration.OptunaSearchCV is SlimSearchCV


def test_fit_gives_the_best_trial_and_a_refitted_estimator():
    s = _tree_search(cv=3).fit(X, Y)
    complete = [t for t in s.trials_ if t.state == st.TrialState.COMPLETE]
    assert len(s.trials_) == s.n_trials_ == 6 and len(complete) == 6
    best = max(complete, key=lambda t: t.value)
    assert s.best_score_ == best.value == best.user_attrs["mean_test_score"]
    assert s.best_params_ == best.params and s.best_index_ == best.number
    assert s.best_trial_.number == best.number
    assert s.n_splits_ == 3 and s.study_.directions == ["maximize"]
    # the refit used the best parameters on all the data
    assert s.best_estimator_.get_params()["max_depth"] == s.best_params_["max_depth"]
    assert s.refit_time_ >= 0 and len(s.sample_indices_) == len(X)
    np.testing.assert_array_equal(s.predict(X), s.best_estimator_.predict(X))
    np.testing.assert_allclose(s.predict_proba(X), s.best_estimator_.predict_proba(X))
    assert s.score(X, Y) == pytest.approx(s.best_estimator_.score(X, Y))
    np.testing.assert_array_equal(s.classes_, [0, 1, 2])


def test_each_trial_keeps_split_scores_and_cv_results_gathers_them():
    s = _tree_search(cv=3, return_train_score=True).fit(X, Y)
    t = s.trials_[0]
    splits = [t.user_attrs[f"split{i}_test_score"] for i in range(3)]
    assert t.user_attrs["mean_test_score"] == pytest.approx(np.mean(splits))
    assert t.user_attrs["std_test_score"] == pytest.approx(np.std(splits))
    for k in ("mean_fit_time", "std_score_time", "split2_train_score", "mean_train_score"):
        assert k in t.user_attrs
    res = s.cv_results_
    assert len(res["mean_test_score"]) == 6 and res["params"][0] == t.params
    assert res["state"] == ["COMPLETE"] * 6


def test_same_random_state_gives_the_same_search():
    a = _tree_search().fit(X, Y)
    b = _tree_search().fit(X, Y)
    assert [t.params for t in a.trials_] == [t.params for t in b.trials_]
    assert a.best_score_ == b.best_score_


def test_it_is_a_scikit_learn_estimator():
    s = _tree_search(cv=KFold(3))
    c = clone(s)
    assert c.get_params()["param_distributions"] == TREE and c.get_params()["n_trials"] == 6
    assert is_classifier(s)
    assert not hasattr(SlimSearchCV(SVC(), {"C": FloatDistribution(0.1, 10)}), "predict_proba")
    assert hasattr(SlimSearchCV(LogisticRegression(), {"C": FloatDistribution(0.1, 10)}),
                   "predict_proba")
    with pytest.raises(NotFittedError):
        _ = s.best_params_


def test_optuna_distributions_and_a_given_study_are_accepted():
    optuna = pytest.importorskip("optuna")
    study = st.create_study(direction="maximize", sampler=st.samplers.RandomSampler(seed=1))
    s = SlimSearchCV(
        SVC(gamma="auto"),
        {"C": optuna.distributions.FloatDistribution(1e-3, 1e3, log=True)},
        n_trials=4, study=study,
    ).fit(X, Y)
    assert s.study_ is study and len(study.trials) == 4
    assert isinstance(study.trials[0].distributions["C"], FloatDistribution)


def test_user_mistakes_are_named():
    with pytest.raises(ValueError, match="direction 'maximize'"):
        _tree_search(study=st.create_study(direction="minimize")).fit(X, Y)
    with pytest.raises(TypeError, match=r"param_distributions\['max_depth'\].*distribution"):
        SlimSearchCV(DecisionTreeClassifier(), {"max_depth": [1, 2]}).fit(X, Y)
    with pytest.raises(TypeError, match="mapping"):
        SlimSearchCV(DecisionTreeClassifier(), [("max_depth", IntDistribution(1, 2))]).fit(X, Y)
    with pytest.raises(ValueError, match="max_iter must be > 0"):
        _tree_search(max_iter=0).fit(X, Y)
    with pytest.raises(ValueError, match="error_score"):
        _tree_search(error_score="ignore").fit(X, Y)
    with pytest.raises(ValueError, match="subsample"):
        _tree_search(subsample=1.5).fit(X, Y)
    with pytest.raises(TypeError, match="scikit-learn estimator"):
        SlimSearchCV(object(), TREE).fit(X, Y)


def test_subsample_groups_and_fit_params():
    s = _tree_search(subsample=60, n_trials=2, cv=GroupKFold(3)).fit(
        X, Y, groups=np.arange(len(X)) % 5, sample_weight=np.ones(len(X))
    )
    assert len(s.sample_indices_) == 60 and np.all(np.diff(s.sample_indices_) > 0)
    assert s.n_splits_ == 3
    s2 = _tree_search(subsample=0.5, n_trials=2, refit=False).fit(X, Y)
    assert len(s2.sample_indices_) == 75 and not hasattr(s2, "best_estimator_")
    with pytest.raises(AttributeError, match="refit=False"):
        s2.predict(X)


def test_callbacks_and_catch_are_passed_to_optimize():
    seen = []
    _tree_search(n_trials=3, callbacks=[lambda study, t: seen.append(t.number)]).fit(X, Y)
    assert seen == [0, 1, 2]


class _Fragile(ClassifierMixin, BaseEstimator):
    """A classifier whose fit fails for ``a > 0.5``."""

    def __init__(self, a: float = 0.0):
        self.a = a

    def fit(self, X, y):
        if self.a > 0.5:
            raise RuntimeError("fit failed on purpose")
        self.classes_ = np.unique(y)
        self.c_ = np.bincount(y).argmax()
        return self

    def predict(self, X):
        return np.full(len(X), self.c_)


def test_error_score_sets_the_value_of_failed_fits():
    dist = {"a": FloatDistribution(0.0, 1.0)}
    with pytest.warns(FitFailedWarning, match="on purpose"):
        s = SlimSearchCV(_Fragile(), dist, n_trials=8, error_score=-1.0, random_state=0).fit(X, Y)
    failed = [t for t in s.trials_ if t.params["a"] > 0.5]
    assert failed and all(t.value == -1.0 for t in failed)
    with pytest.warns(FitFailedWarning):
        s = SlimSearchCV(_Fragile(), dist, n_trials=8, random_state=0).fit(X, Y)
    # NaN scores (the default error_score): those trials FAIL, the others complete
    states = {t.params["a"] > 0.5: t.state for t in s.trials_}
    assert states == {True: st.TrialState.FAIL, False: st.TrialState.COMPLETE}
    with pytest.raises(RuntimeError, match="on purpose"):
        SlimSearchCV(_Fragile(a=0.9), {"a": FloatDistribution(0.6, 1.0)}, n_trials=1,
                     error_score="raise").fit(X, Y)


def test_no_completed_trial_is_a_clear_error_at_refit():
    with pytest.warns(FitFailedWarning), pytest.raises(ValueError, match="no trial completed"):
        SlimSearchCV(_Fragile(), {"a": FloatDistribution(0.6, 1.0)}, n_trials=2).fit(X, Y)


def test_pruning_by_epochs_with_partial_fit():
    s = SlimSearchCV(
        SGDClassifier(random_state=0),
        {"alpha": FloatDistribution(1e-5, 1e2, log=True)},
        n_trials=14, enable_pruning=True, max_iter=6, cv=3, random_state=0,
    ).fit(X, Y)
    states = [t.state for t in s.trials_]
    assert st.TrialState.PRUNED in states and st.TrialState.COMPLETE in states
    assert isinstance(s.study_.pruner, st.pruners.MedianPruner)
    for t in s.trials_:
        steps = sorted(t.intermediate_values)
        assert steps == list(range(len(steps)))
        if t.state == st.TrialState.COMPLETE:
            assert len(steps) == 6
            assert t.intermediate_values[5] == pytest.approx(t.user_attrs["mean_test_score"])
        else:
            assert len(steps) < 6 and "mean_test_score" in t.user_attrs


def test_pruning_by_folds_without_partial_fit():
    s = SlimSearchCV(
        SVC(gamma="auto"), {"C": FloatDistribution(1e-6, 1e2, log=True)},
        n_trials=14, enable_pruning=True, cv=5, random_state=0,
    ).fit(X, Y)
    pruned = [t for t in s.trials_ if t.state == st.TrialState.PRUNED]
    complete = [t for t in s.trials_ if t.state == st.TrialState.COMPLETE]
    assert pruned and complete
    for t in complete:
        iv = t.intermediate_values
        assert sorted(iv) == [0, 1, 2, 3, 4]
        splits = [t.user_attrs[f"split{i}_test_score"] for i in range(5)]
        for k in range(5):  # step k: the mean of folds 0..k
            assert iv[k] == pytest.approx(np.mean(splits[: k + 1]))
    for t in pruned:
        assert len(t.intermediate_values) < 5
    # pruned trials fitted fewer folds: the resource pruning saves
    assert sum(len(t.intermediate_values) for t in s.trials_) < 5 * len(s.trials_)
    assert not math.isnan(s.best_score_)


def test_parallel_trials_in_worker_processes():
    s = _tree_search(n_trials=4, n_jobs=2).fit(X, Y)
    assert len(s.trials_) == 4 and all(t.state == st.TrialState.COMPLETE for t in s.trials_)
