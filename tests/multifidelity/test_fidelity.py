"""Fidelity helpers: Budget, stratified subsets, k-fold CV, synchronous SH with checkpoints."""

from __future__ import annotations

import numpy as np
import pytest

import slimtune as st
from slimtune import keys
from slimtune.multifidelity import (
    Budget,
    DirectoryCheckpoints,
    MemoryCheckpoints,
    SyncSuccessiveHalving,
    cross_validate,
    stratified_kfold,
    stratified_subset,
)

Y = np.repeat(np.arange(6), [50, 30, 20, 100, 10, 40])


def test_budget_levels_and_fidelities():
    b = Budget(81, 1, 3, max_epochs=40, min_fraction=0.1, resolution=(8, 32),
               resolution_multiple=4)
    assert b.levels() == [1, 3, 9, 27, 81]
    assert b.epochs_for(81) == 40 and b.epochs_for(1) == 1
    assert b.fraction_for(1) == pytest.approx(0.1) and b.fraction_for(81) == 1.0
    assert b.fraction_for(27) == pytest.approx(1 / 3)
    assert b.resolution_for(81) == 32 and b.resolution_for(1) == 8
    assert b.resolution_for(27) % 4 == 0
    assert Budget(10, 2, 2).levels() == [2, 4, 8, 10]
    plain = Budget(27)
    assert plain.epochs_for(9) == 9 and plain.fraction_for(1) == 1.0
    assert plain.resolution_for(9) is None


@pytest.mark.parametrize("kw, text", [
    ({"max_resource": 0}, "max_resource"),
    ({"max_resource": 3, "min_resource": 5}, "min_resource"),
    ({"reduction_factor": 1}, "reduction_factor"),
    ({"min_fraction": 0.0}, "min_fraction"),
    ({"resolution": (32, 8)}, "resolution"),
])
def test_budget_validation(kw, text):
    with pytest.raises((ValueError, TypeError), match=text):
        Budget(**kw)


def test_budget_attached_to_study_is_read_from_the_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'b.db'}"
    study = st.create_study(storage=url, study_name="b")
    b = Budget(27, 1, 3, min_fraction=0.2).attach(study)
    other = st.load_study(study_name="b", storage=url)  # another worker
    t = other.ask()
    assert Budget.from_trial(t) == b
    t.report(0.5, 3)
    assert [f.step for f in b.schedule(t)] == [9, 27]
    with pytest.raises(ValueError, match="attach"):
        Budget.from_trial(st.create_study().ask())


def test_budget_from_pruner():
    b = Budget.from_pruner(st.pruners.HyperbandPruner(1, 27, 3))
    assert b.levels() == [1, 3, 9, 27]


def test_stratified_subset_keeps_class_shares_and_is_nested():
    shares = np.bincount(Y) / len(Y)
    prev: set[int] = set()
    for f in (0.05, 0.1, 0.25, 0.5, 1.0):
        idx = stratified_subset(Y, f, seed=3)
        assert len(idx) == round(f * len(Y))
        counts = np.bincount(Y[idx], minlength=6)
        assert np.all(np.abs(counts - shares * len(idx)) <= 1.0 + 1e-9)
        assert prev <= set(idx.tolist())
        prev = set(idx.tolist())
    assert not np.array_equal(stratified_subset(Y, 0.1, seed=1), stratified_subset(Y, 0.1, seed=2))
    np.testing.assert_array_equal(stratified_subset(Y, n=25, seed=4),
                                  stratified_subset(Y, n=25, seed=4))


def test_stratified_subset_continuous_target_and_errors():
    y = np.random.default_rng(0).normal(size=500)
    idx = stratified_subset(y, 0.1, seed=0, n_bins=5)
    # Each quantile bin (100 samples) gives 10 samples.
    edges = np.quantile(y, [0.2, 0.4, 0.6, 0.8])
    assert np.all(np.bincount(np.searchsorted(edges, y[idx], side="right")) == 10)
    with pytest.raises(ValueError, match="fraction"):
        stratified_subset(y, 1.5)
    with pytest.raises(ValueError, match="exactly one"):
        stratified_subset(y, 0.5, n=3)
    with pytest.raises(ValueError, match="larger"):
        stratified_subset(y, n=501)


def test_stratified_kfold_partitions_and_balances():
    folds = stratified_kfold(Y, 5, seed=0)
    vals = np.concatenate([v for _, v in folds])
    assert sorted(vals.tolist()) == list(range(len(Y)))
    for tr, va in folds:
        assert len(np.intersect1d(tr, va)) == 0 and len(tr) + len(va) == len(Y)
        assert np.all(np.abs(np.bincount(Y[va], minlength=6) - np.bincount(Y) / 5) <= 1)
    with pytest.raises(ValueError, match="n_splits"):
        stratified_kfold(Y, 1)


def test_cross_validate_function_and_sklearn_estimator():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] > 0).astype(int)

    def fit_score(Xtr, ytr, Xva, yva):
        w = np.linalg.lstsq(np.c_[Xtr, np.ones(len(Xtr))], ytr, rcond=None)[0]
        return float(np.mean((np.c_[Xva, np.ones(len(Xva))] @ w > 0.5) == yva))

    assert cross_validate(fit_score, X, y, 4) > 0.9
    from sklearn.linear_model import LogisticRegression

    assert cross_validate(LogisticRegression(), X, y, 3) > 0.9


def test_cross_validate_reports_folds_and_prunes():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 2))
    y = (X[:, 0] > 0).astype(int)
    study = st.create_study(
        direction="maximize",
        pruner=st.pruners.SuccessiveHalvingPruner(1, 2, max_resource=5),
    )

    def objective(trial):
        good = trial.suggest_categorical("good", [True, False])

        def fs(Xtr, ytr, Xva, yva):
            return 0.9 if good else 0.1

        return cross_validate(fs, X, y, 5, trial=trial)

    study.enqueue_trial({"good": True})
    study.enqueue_trial({"good": False})
    study.optimize(objective, n_trials=2)
    t0, t1 = study.trials
    assert t0.state == st.TrialState.COMPLETE and sorted(t0.intermediate_values) == [1, 2, 3, 4, 5]
    assert t1.state == st.TrialState.PRUNED and t1.last_step == 1


def _train_factory(calls):
    def train(trial, state, start, stop):
        x = trial.suggest_float("x", 0.0, 1.0)
        calls.append((trial.number, start, stop, state is not None))
        epochs = (state or {"epochs": 0})["epochs"]
        assert epochs == start  # resumed exactly where the checkpoint left off
        epochs += stop - start
        return (x - 0.4) ** 2 + 1.0 / epochs, {"epochs": epochs}

    return train


@pytest.mark.parametrize("store", ["memory", "directory"])
def test_sync_successive_halving_resumes_from_checkpoints(store, tmp_path):
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    ck = MemoryCheckpoints() if store == "memory" else DirectoryCheckpoints(tmp_path / "ck")
    calls: list = []
    runner = SyncSuccessiveHalving(study, n_configs=27, budget=Budget(27, 1, 3), checkpoints=ck)
    best = runner.run(_train_factory(calls))
    states = [t.state for t in study.trials]
    assert states.count(st.TrialState.COMPLETE) == 1
    assert states.count(st.TrialState.PRUNED) == 26
    # 27 trials to 1, 9 to 3, 3 to 9, 1 to 27; resumed trials never restart from 0.
    assert [sum(1 for c in calls if c[2] == r) for r in (1, 3, 9, 27)] == [27, 9, 3, 1]
    assert all(c[3] == (c[1] > 0) for c in calls)
    assert runner.n_resumed == 13
    assert runner.resource_spent == 27 * 1 + 9 * 2 + 3 * 6 + 1 * 18
    xs = np.array([t.params["x"] for t in study.trials])
    assert abs(best.params["x"] - 0.4) <= np.sort(np.abs(xs - 0.4))[2] + 1e-12
    assert best.last_step == 27
    assert len(ck) == 0  # checkpoints of finished trials are deleted


def test_sync_successive_halving_with_callbacks_and_failures():
    saved: dict = {}
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=1))

    def train(trial, state, start, stop):
        x = trial.suggest_float("x", 0.0, 1.0)
        if trial.number == 0:
            raise RuntimeError("boom")
        return x, (state or 0) + 1

    runner = SyncSuccessiveHalving(
        study, n_configs=9, max_resource=9, reduction_factor=3,
        save=saved.__setitem__, load=saved.__getitem__,
    )
    runner.run(train)
    assert study.trials[0].state == st.TrialState.FAIL
    assert "boom" in study.trials[0].system_attrs["fail_reason"]
    complete = [t for t in study.trials if t.state == st.TrialState.COMPLETE]
    assert len(complete) == 1 and complete[0].last_step == 9
    with pytest.raises(ValueError, match="save"):
        SyncSuccessiveHalving(study, save=saved.__setitem__)


def test_sync_successive_halving_several_objectives():
    study = st.create_study(directions=["maximize", "minimize"],
                            sampler=st.samplers.RandomSampler(seed=2))

    def train(trial, state, start, stop):
        w = trial.suggest_int("w", 1, 100)
        return [np.log(w) * stop / 9, float(w)], None

    front = SyncSuccessiveHalving(study, n_configs=9, budget=Budget(9, 1, 3)).run(train)
    assert isinstance(front, list) and len(front) >= 1
    assert all(t.last_step == 9 for t in front)


def test_sync_successive_halving_with_bohb_sampler():
    from slimtune.multifidelity.bohb import BOHBSampler

    budget = Budget(9, 1, 3)
    study = st.create_study(sampler=BOHBSampler(budgets=budget.levels(), seed=0,
                                                random_fraction=0.0))
    calls: list = []
    for _ in range(3):  # three rounds of synchronous SH; later rounds use the model
        SyncSuccessiveHalving(study, n_configs=9, budget=budget).run(_train_factory(calls))
    used = [t.system_attrs.get(keys.BOHB_BUDGET) for t in study.trials]
    assert len(study.trials) == 27 and any(b is not None for b in used)
    assert max(b for b in used if b is not None) >= 3.0
