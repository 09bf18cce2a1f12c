"""Pruners: median/percentile, ASHA, Hyperband, MO-ASHA; storage-based rungs."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

import slimtune as st
from slimtune.multifidelity.rungs import promotable, rung_key
from slimtune.multifidelity.schedule import bracket_of, bracket_weights

P = st.pruners


def _finish(study, curve, state=None):
    """Run one trial through ask/tell that reports ``curve`` (step -> value) and completes."""
    t = study.ask()
    for step, v in curve.items():
        t.report(v, step)
    study.tell(t, list(curve.values())[-1] if state is None else None, state=state)
    return t


# --- argument checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, exc, text",
    [
        (lambda: P.MedianPruner(n_startup_trials=-1), ValueError, "n_startup_trials"),
        (lambda: P.MedianPruner(interval_steps=0), ValueError, "interval_steps"),
        (lambda: P.PercentilePruner(120), ValueError, "percentile"),
        (lambda: P.PercentilePruner("a"), TypeError, "percentile"),
        (lambda: P.SuccessiveHalvingPruner(min_resource=0), ValueError, "min_resource"),
        (lambda: P.SuccessiveHalvingPruner(reduction_factor=1), ValueError, "reduction_factor"),
        (lambda: P.SuccessiveHalvingPruner(min_early_stopping_rate=1.5), TypeError, "min_early"),
        (lambda: P.SuccessiveHalvingPruner(multi_objective_tiebreak="x"), ValueError, "tiebreak"),
        (lambda: P.HyperbandPruner(min_resource=10, max_resource=5), ValueError, "max_resource"),
        (lambda: P.HyperbandPruner(reduction_factor="3"), TypeError, "reduction_factor"),
    ],
)
def test_argument_errors_name_the_parameter(make, exc, text):
    with pytest.raises(exc, match=text):
        make()


# --- median / percentile --------------------------------------------------------------


def test_median_pruner_rules():
    study = st.create_study(pruner=P.MedianPruner(n_startup_trials=3, n_warmup_steps=2))
    for base in (1.0, 2.0, 3.0):
        _finish(study, {s: base for s in range(6)})
    t = study.ask()
    t.report(5.0, 0)
    assert not t.should_prune()  # warm-up
    t.report(5.0, 2)
    assert t.should_prune()  # 5 > median 2
    good = study.ask()
    good.report(1.5, 2)
    assert not good.should_prune()
    # The best value so far counts (Optuna's rule): a bad step after a good one is kept.
    good.report(9.0, 3)
    assert not good.should_prune()


def test_median_pruner_needs_startup_trials():
    study = st.create_study(pruner=P.MedianPruner(n_startup_trials=3))
    _finish(study, {0: 1.0})
    t = study.ask()
    t.report(100.0, 0)
    assert not t.should_prune()


def test_median_pruner_interval_and_min_trials():
    pr = P.MedianPruner(n_startup_trials=1, n_warmup_steps=1, interval_steps=3, n_min_trials=2)
    study = st.create_study(pruner=pr)
    _finish(study, {s: 0.0 for s in range(10)})
    t = study.ask()
    t.report(5.0, 1)
    assert not t.should_prune()  # only one completed trial at this step (n_min_trials=2)
    _finish(study, {s: 0.0 for s in range(10)})
    t.report(5.0, 2)
    assert not t.should_prune()  # 2 is not a check step (1, 4, 7, ...)
    t.report(5.0, 4)
    assert t.should_prune()


def test_percentile_pruner_maximize():
    study = st.create_study(direction="maximize", pruner=P.PercentilePruner(25.0, 1))
    for v in (0.1, 0.5, 0.9, 0.95):
        _finish(study, {0: v})
    t = study.ask()
    t.report(0.8, 0)
    assert t.should_prune()  # below the best quarter (top 25 % starts near 0.91)
    t2 = study.ask()
    t2.report(0.99, 0)
    assert not t2.should_prune()


def test_percentile_pruner_nan_is_pruned():
    study = st.create_study(pruner=P.MedianPruner(n_startup_trials=1))
    _finish(study, {0: 1.0})
    t = study.ask()
    t.report(float("nan"), 0)
    assert t.should_prune()


def test_median_pruner_several_objectives_uses_dominance():
    study = st.create_study(
        directions=["maximize", "minimize"], pruner=P.MedianPruner(n_startup_trials=3)
    )
    for acc, macs in ((0.9, 100.0), (0.8, 50.0), (0.7, 10.0)):
        _finish(study, {1: [acc, macs]})
    worse = study.ask()
    worse.report([0.5, 80.0], 1)  # median point (0.8, 50) dominates it
    assert worse.should_prune()
    cheap = study.ask()
    cheap.report([0.5, 1.0], 1)  # less accurate but cheaper than anything: keep
    assert not cheap.should_prune()


# --- successive halving ---------------------------------------------------------------


def test_promotable_single_and_multi():
    L = np.array([[1.0], [2.0], [3.0], [0.5]])
    assert promotable(L, 2)  # best of 4, k = 2
    assert not promotable(np.array([[1.0], [0.5], [3.0], [2.0]]), 2)
    assert promotable(np.array([[1.0], [1.0]]), 3)  # ties are promoted
    # Two objectives: a point on the first front, k = 1 of 3 rows -> extremes have inf crowding.
    L2 = np.array([[0.0, 2.0], [2.0, 0.0], [1.0, 1.0]])
    assert not promotable(L2, 3)  # middle of the front, others are extreme
    assert promotable(L2[[0, 2, 1]], 3)  # an extreme point
    assert not promotable(np.array([[0.0, 0.0], [1.0, 1.0]]), 2)  # dominated
    # By exclusive hypervolume the knee point (1, 1) contributes most.
    assert promotable(L2, 3, tiebreak="hypervolume")
    assert not promotable(L2[[2, 1, 0]], 3, tiebreak="hypervolume")


def test_asha_rungs_and_promotion():
    study = st.create_study(pruner=P.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2))
    a = study.ask()
    a.report(1.0, 1)
    assert not a.should_prune()  # the first at rung 1 is promoted
    assert study.trials[a.number].system_attrs[rung_key(1)] == 1.0
    b = study.ask()
    b.report(2.0, 1)
    assert b.should_prune()  # 2 trials, k = 1, 2.0 > 1.0
    c = study.ask()
    c.report(0.5, 1)
    assert not c.should_prune()
    a.report(3.0, 2)  # rung 2 (resource 2): a is the first there -> promoted
    assert not a.should_prune()
    a.report(50.0, 3)  # step 3 is no rung (next is 4)
    assert not a.should_prune()
    c.report(4.0, 2)  # c at rung 2: 2 trials, k = 1, 4.0 > 3.0
    assert c.should_prune()


def test_asha_sparse_reports_cross_several_rungs():
    study = st.create_study(pruner=P.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3))
    a = study.ask()
    a.report(1.0, 10)  # crosses rungs 1, 3, 9 at once; promoted at each (first there)
    assert not a.should_prune()
    attrs = study.trials[0].system_attrs
    assert {rung_key(1), rung_key(3), rung_key(9)} <= set(attrs)
    assert rung_key(27) not in attrs


def test_asha_auto_min_resource_waits_for_a_complete_trial():
    study = st.create_study(pruner=P.SuccessiveHalvingPruner("auto", reduction_factor=2))
    t = study.ask()
    t.report(1.0, 1)
    assert not t.should_prune()
    assert rung_key(1) not in study.trials[0].system_attrs
    study.tell(t, 1.0)
    _finish(study, {s: 0.0 for s in range(1, 201)})  # last step 200 -> min_resource 2
    u = study.ask()
    u.report(5.0, 2)
    assert u.should_prune()  # rung at 2: the complete trial (0.0 there) beats 5.0
    assert rung_key(2) in study.trials[u.number].system_attrs


def test_asha_bootstrap_count():
    study = st.create_study(pruner=P.SuccessiveHalvingPruner(1, 2, bootstrap_count=2))
    a = study.ask()
    a.report(0.0, 1)
    assert a.should_prune()  # no other trial at the rung yet


def test_asha_rungs_are_shared_through_the_storage(tmp_path):
    """Two studies (two workers) on one SQLite file with separate pruner objects."""
    url = f"sqlite:///{tmp_path / 'asha.db'}"
    s1 = st.create_study(storage=url, study_name="s",
                         pruner=P.SuccessiveHalvingPruner(1, 2))
    s2 = st.load_study(study_name="s", storage=url,
                       pruner=P.SuccessiveHalvingPruner(1, 2))
    a = s1.ask()
    b = s2.ask()
    a.report(1.0, 1)
    assert not a.should_prune()
    b.report(2.0, 1)
    assert b.should_prune()  # b's pruner saw a's rung value written by the other worker
    # A third, fresh process resuming the study agrees.
    s3 = st.load_study(study_name="s", storage=url, pruner=P.SuccessiveHalvingPruner(1, 2))
    c = s3.ask()
    c.report(0.5, 1)
    assert not c.should_prune()  # best of 3 at the rung
    assert s1.trials[c.number].system_attrs[rung_key(1)] == 0.5


def test_asha_three_trials_k_is_one():
    study = st.create_study(pruner=P.SuccessiveHalvingPruner(1, 2))
    for v, expect in ((1.0, False), (2.0, True), (1.5, True), (0.1, False)):
        t = study.ask()
        t.report(v, 1)
        assert t.should_prune() is expect, v


def _lc_objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    for e in range(1, 28):
        trial.report((x - 0.3) ** 2 * (1 + 3 / e) + 0.5 / e, e)
        if trial.should_prune():
            raise st.TrialPruned()
    return (x - 0.3) ** 2 * (1 + 3 / 27) + 0.5 / 27


@pytest.mark.parametrize("pruner", [
    P.SuccessiveHalvingPruner(1, 3),
    P.HyperbandPruner(1, 27, 3),
    P.MedianPruner(n_startup_trials=3),
])
def test_pruners_save_steps_and_keep_good_trials(pruner):
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=3), pruner=pruner)
    study.optimize(_lc_objective, n_trials=40)
    steps = sum(t.last_step for t in study.trials)
    assert steps < 0.6 * 40 * 27
    assert any(t.state == st.TrialState.PRUNED for t in study.trials)
    # Random search with the same seed, no pruning, for reference.
    ref = st.create_study(sampler=st.samplers.RandomSampler(seed=3))
    ref.optimize(_lc_objective, n_trials=40)
    assert study.best_value <= ref.best_value + 0.02


def test_asha_parallel_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'par.db'}"
    study = st.create_study(storage=url, sampler=st.samplers.RandomSampler(seed=0),
                            pruner=P.SuccessiveHalvingPruner(1, 3, max_resource=27))
    study.optimize(_lc_objective, n_trials=24, n_jobs=2)
    trials = study.trials
    assert len(trials) == 24
    assert all(t.state in (st.TrialState.COMPLETE, st.TrialState.PRUNED) for t in trials)
    pruned = [t for t in trials if t.state == st.TrialState.PRUNED]
    assert pruned
    for t in trials:
        for res in (1, 3, 9):
            key = rung_key(res)
            if t.last_step >= res:
                # Every rung a trial reached is recorded, with its value at that step.
                assert t.system_attrs[key] == t.intermediate_values[res]
        if t.state == st.TrialState.PRUNED:
            assert t.last_step in (1, 3, 9)
    assert sum(t.last_step for t in trials) < 0.6 * 24 * 27


# --- hyperband ------------------------------------------------------------------------


def test_hyperband_brackets_are_deterministic_and_balanced():
    hb = P.HyperbandPruner(1, 81, 3)
    assert hb.n_brackets() == 5
    assert hb.budgets() == [1.0, 3.0, 9.0, 27.0, 81.0]
    w = bracket_weights(5, 3)
    assert np.isclose(w.sum(), 1.0) and np.all(np.diff(w) < 0)
    for n in (30, 143, 1000):
        counts = Counter(bracket_of(i, 5, 3) for i in range(n))
        assert all(abs(counts[b] - n * w[b]) <= 2.5 for b in range(5)), (n, counts)
    assert [hb.bracket_of(i) for i in range(10)] == [hb.bracket_of(i) for i in range(10)]
    # Every bracket appears within the first 40 trials (the smallest share is 3.5 %).
    assert set(bracket_of(i, 5, 3) for i in range(40)) == set(range(5))


def test_hyperband_trials_compete_within_their_bracket():
    hb = P.HyperbandPruner(1, 9, 3)  # 3 brackets: rungs {1, 3}, {3}, {}
    study = st.create_study(pruner=hb)
    numbers = {b: [i for i in range(40) if hb.bracket_of(i) == b] for b in range(3)}
    decisions = {}
    for i in range(12):
        t = study.ask()
        assert t.number == i
        v = 10.0 - i  # later trials are better
        t.report(v, 1)
        p1 = t.should_prune()
        t.report(v, 3)
        p3 = t.should_prune() if not p1 else None
        decisions[i] = (p1, p3)
        study.tell(t, state=st.TrialState.PRUNED if p1 or p3 else None,
                   values=None if p1 or p3 else v)
    # Bracket 2 has no rungs below 9: never pruned.
    for i in numbers[2]:
        if i < 12:
            assert decisions[i] == (False, False)
    # Bracket 0: later trials are better, so each newcomer is promoted at rung 1.
    for i in numbers[0]:
        if i < 12:
            assert decisions[i][0] is False
    # Bracket 1's first rung is 3; its first trial is promoted although bracket 0
    # trials recorded better values at 3 (they are in another bracket).
    first1 = numbers[1][0]
    assert decisions[first1] == (False, False)


def test_hyperband_auto_max_resource():
    hb = P.HyperbandPruner(1, "auto", 3)
    study = st.create_study(pruner=hb)
    t = study.ask()
    t.report(1.0, 1)
    assert not t.should_prune()
    with pytest.raises(ValueError, match="max_resource"):
        hb.n_brackets()


# --- several objectives -----------------------------------------------------------------


def _mo_objective(trial):
    """Accuracy rises with width and epochs; MACs (known up front) grow with width."""
    width = trial.suggest_int("width", 1, 64, log=True)
    quality = trial.suggest_float("q", 0.0, 1.0)
    macs = float(width) * 1000.0
    acc = 0.0
    for e in range(1, 28):
        acc = quality * (1 - np.exp(-e / 5)) * (0.5 + 0.5 * np.log1p(width) / np.log(65))
        trial.report([acc, macs], e)
        if trial.should_prune():
            raise st.TrialPruned()
    return acc, macs


def test_mo_asha_prunes_dominated_trials_and_keeps_the_front():
    study = st.create_study(
        directions=["maximize", "minimize"],
        sampler=st.samplers.RandomSampler(seed=0),
        pruner=P.SuccessiveHalvingPruner(1, 3, max_resource=27),
    )
    study.optimize(_mo_objective, n_trials=60)
    trials = study.trials
    pruned = [t for t in trials if t.state == st.TrialState.PRUNED]
    assert len(pruned) >= 20
    # A pruned trial was dominated or crowded at its rung, never the sole best on MACs.
    small = min(trials, key=lambda t: t.params["width"])
    assert small.state == st.TrialState.COMPLETE or small.last_step > 1
    front = study.best_trials
    assert len(front) >= 2
    widths = {t.params["width"] for t in front}
    assert min(widths) <= 4  # a cheap model survives on the front
    assert sum(t.last_step for t in trials) < 0.5 * 60 * 27


def test_mo_hyperband_runs_with_hypervolume_tiebreak():
    study = st.create_study(
        directions=["maximize", "minimize"],
        sampler=st.samplers.RandomSampler(seed=1),
        pruner=P.HyperbandPruner(1, 27, 3, multi_objective_tiebreak="hypervolume"),
    )
    study.optimize(_mo_objective, n_trials=30)
    assert any(t.state == st.TrialState.PRUNED for t in study.trials)
    assert study.best_trials


def test_pruned_trial_keeps_last_intermediate_value():
    study = st.create_study(pruner=P.SuccessiveHalvingPruner(1, 2))
    _finish(study, {1: 0.0})
    study.optimize(lambda t: _raise_after_report(t), n_trials=1)
    t = study.trials[-1]
    assert t.state == st.TrialState.PRUNED and t.values == [3.0]


def _raise_after_report(trial):
    trial.report(3.0, 1)
    if trial.should_prune():
        raise st.TrialPruned()
    return 3.0


@pytest.mark.parametrize("keep_front", [False, True])
def test_mo_asha_keep_front_never_stops_a_point_of_the_rung_front(keep_front):
    study = st.create_study(
        directions=["maximize", "minimize"],
        pruner=P.SuccessiveHalvingPruner(1, 3, keep_front=keep_front),
    )

    def arrive(acc, macs):
        t = study.ask()
        t.report([acc, macs], 1)
        return t.should_prune()

    arrive(0.9, 100)  # the accurate end
    arrive(0.6, 5)  # the small end
    # non-dominated, in the middle of a front of 3 (quota 1): crowded out without keep_front
    assert arrive(0.7, 10) is not keep_front
    assert arrive(0.5, 50) is True  # dominated by (0.6, 5): stopped either way
    assert ("keep_front=True" in repr(study.pruner)) is keep_front


def test_keep_front_must_be_a_bool():
    with pytest.raises(TypeError, match="keep_front must be True or False"):
        P.SuccessiveHalvingPruner(keep_front="yes")
