"""BOHB: TPE per budget + Hyperband; the preset; parallel and SQL storage."""

from __future__ import annotations

import numpy as np
import pytest

import slimtune as st
from slimtune import keys
from slimtune.multifidelity.bohb import BOHBSampler, BudgetCollector
from slimtune.samplers.tpe import TrialCollector

MAX = 27


def _curve(x: float, y: float, e: int) -> float:
    """A smooth 2-D bowl whose value drops with epochs; ranks are mostly kept."""
    return (x - 0.3) ** 2 + (y - 0.7) ** 2 + 0.3 / e


def _objective(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    for e in range(1, MAX + 1):
        trial.report(_curve(x, y, e), e)
        if trial.should_prune():
            raise st.TrialPruned()
    return _curve(x, y, MAX)


def _manual(study, reports, state="complete"):
    """One trial with params x, y and intermediate values {step: value}."""
    t = study.ask()
    t.suggest_float("x", 0.0, 1.0)
    t.suggest_float("y", 0.0, 1.0)
    for step, v in reports.items():
        t.report(v, step)
    if state == "complete":
        study.tell(t, list(reports.values())[-1])
    elif state == "pruned":
        study.tell(t, state=st.TrialState.PRUNED)
    return t


def test_model_uses_largest_budget_with_enough_observations():
    sampler = BOHBSampler(budgets=[1, 3, 9, 27], min_points_in_model=4, seed=0)
    study = st.create_study(sampler=sampler)
    for i in range(6):
        _manual(study, {1: 1.0 + i, 3: 0.5 + i}, state="pruned")
    for i in range(2):
        _manual(study, {1: 0.1, 3: 0.1, 9: 0.05 * i}, state="pruned")
    obs = sampler.collector.collect(study, study.trials)
    assert obs.budget == 3.0
    assert [t.number for t in obs.trials] == list(range(8))
    np.testing.assert_allclose(obs.losses[:, 0], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 0.1, 0.1])
    assert np.all(obs.tier == 0)
    # Two more trials at budget 9 make it the modelled budget; pruned trials count.
    for i in range(2):
        _manual(study, {1: 0.1, 3: 0.1, 9: 0.3 + i}, state="pruned")
    obs = sampler.collector.collect(study, study.trials)
    assert obs.budget == 9.0
    fin = np.isfinite(obs.tier)
    assert sorted(obs.losses[fin, 0].tolist()) == [0.0, 0.05, 0.3, 1.3]
    # The six trials stopped at 3 join the bad side (tier inf: not in the split).
    assert [t.number for t, f in zip(obs.trials, fin) if not f] == list(range(6))
    paper = BOHBSampler(budgets=[1, 3, 9, 27], min_points_in_model=4, pruned_as_bad=False)
    obs = paper.collector.collect(study, study.trials)
    assert [t.number for t in obs.trials] == [6, 7, 8, 9]


def test_full_budget_uses_final_values_and_running_trials_are_liars():
    sampler = BOHBSampler(budgets=[1, 3], min_points_in_model=2, seed=0)
    study = st.create_study(sampler=sampler, direction="maximize")
    t0 = study.ask()
    t0.suggest_float("x", 0, 1)
    t0.report(0.2, 3)
    study.tell(t0, 0.9)  # the final value differs from the last report
    _manual(study, {1: 0.1, 3: 0.4})
    running = study.ask()
    running.suggest_float("x", 0, 1)
    running.report(0.5, 1)
    obs = sampler.collector.collect(study, study.trials)
    assert obs.budget == 3.0
    assert obs.losses[0, 0] == -0.9 and obs.losses[1, 0] == -0.4  # maximised -> negated
    assert obs.trials[-1].number == running.number and obs.tier[-1] == np.inf


def test_random_until_a_budget_has_enough_points():
    sampler = BOHBSampler(budgets=[1, 3], seed=0)  # 2 params -> needs 4 observations
    study = st.create_study(sampler=sampler)
    for _ in range(3):
        _manual(study, {1: 1.0})
    obs = sampler.collector.collect(study, study.trials)
    assert len(obs.trials) == 0 and obs.budget is None


def test_budgets_come_from_the_pruner():
    study = st.create_study(**st.presets.bohb(min_resource=1, max_resource=MAX, seed=0))
    assert study.sampler.budgets == [1.0, 3.0, 9.0, 27.0]
    auto = st.create_study(sampler=BOHBSampler(seed=0),
                           pruner=st.pruners.HyperbandPruner(1, "auto", 3))
    assert auto.sampler._budgets(auto, []) == []
    _manual(auto, {s: 1.0 for s in range(1, 10)})
    assert auto.sampler._budgets(auto, auto.trials) == [1.0, 3.0, 9.0]
    sh = st.create_study(sampler=BOHBSampler(seed=0),
                         pruner=st.pruners.SuccessiveHalvingPruner(1, 3, max_resource=9))
    assert sh.sampler._budgets(sh, []) == [1.0, 3.0, 9.0]


def test_bohb_plugs_in_its_collector():
    """BOHB is the TPE sampler with a budget-aware collector, not an override of TPE code."""
    sampler = BOHBSampler(budgets=[1, 3, 9], min_points_in_model=3, pruned_as_bad=False,
                          constant_liar=False, seed=0)
    c = sampler.collector
    assert isinstance(c, BudgetCollector)
    assert (c.min_points_in_model, c.pruned_as_bad, c.constant_liar) == (3, False, False)
    assert "_collect_observations" not in vars(BOHBSampler)


def test_bohb_uses_the_collector_it_is_given_and_records_its_budget():
    calls = []

    class Spy(BudgetCollector):
        def collect(self, study, trials):
            obs = super().collect(study, trials)
            calls.append(obs.budget)
            return obs

    sampler = BOHBSampler(budgets=[1, 3, 9, 27], seed=0, random_fraction=0.0)
    sampler.collector = Spy(sampler._budgets, None, True, True)
    study = st.create_study(sampler=sampler, pruner=st.pruners.HyperbandPruner(1, MAX, 3))
    study.optimize(_objective, n_trials=30)
    assert len(calls) >= 25 and any(b is not None for b in calls)
    recorded = [t.system_attrs.get(keys.BOHB_BUDGET) for t in study.trials]
    assert [b for b in recorded if b is not None] == [b for b in calls if b is not None]
    # Any collector can be passed instead (here the plain TPE one).
    plain = BOHBSampler(budgets=[1, 3, 9, 27], seed=0, collector=TrialCollector())
    assert isinstance(plain.collector, TrialCollector)


def test_bohb_propose_returns_the_observations_and_their_budget():
    sampler = BOHBSampler(budgets=[1, 3], min_points_in_model=2, seed=0)
    study = st.create_study(sampler=sampler)
    for i in range(3):
        _manual(study, {1: 1.0 + i, 3: 0.5 + i})
    t = study.ask()
    snap = study.get_trials(deepcopy=False)[-1]
    space = sampler.infer_relative_search_space(study, snap)
    params, obs = sampler.propose(study, snap, space)
    assert set(params) == {"x", "y"} and obs is not None and obs.budget == 3.0
    study.tell(t, 0.0)


def test_bohb_same_trials_without_memos():
    from slimtune.samplers.tpe.memo import EncodingMemo, SpacePrefix

    class NoMemo(BOHBSampler):
        def _read(self, study, trial):
            self._history = SpacePrefix()
            self._encoding = EncodingMemo()
            return super()._read(study, trial)

    def run(cls):
        study = st.create_study(sampler=cls(seed=3), pruner=st.pruners.HyperbandPruner(1, MAX, 3))
        study.optimize(_objective, n_trials=40)
        return [(t.params, t.state, t.system_attrs.get(keys.BOHB_BUDGET)) for t in study.trials]

    assert run(BOHBSampler) == run(NoMemo)


@pytest.mark.parametrize("kw, text", [
    ({"budgets": [3, 1]}, "budgets"),
    ({"budgets": []}, "budgets"),
    ({"min_points_in_model": 1}, "min_points_in_model"),
    ({"random_fraction": 1.5}, "random_fraction"),
])
def test_argument_errors(kw, text):
    with pytest.raises(ValueError, match=text):
        BOHBSampler(**kw)


def test_reproducible_with_a_seed():
    def run():
        study = st.create_study(**st.presets.bohb(1, MAX, 3, seed=7))
        study.optimize(_objective, n_trials=40)
        return [(t.params["x"], t.params["y"], t.state) for t in study.trials]

    assert run() == run()


def test_model_is_used_and_records_its_budget():
    study = st.create_study(**st.presets.bohb(1, MAX, 3, seed=0, random_fraction=0.0))
    study.optimize(_objective, n_trials=60)
    budgets = [t.system_attrs.get(keys.BOHB_BUDGET) for t in study.trials]
    used = [b for b in budgets if b is not None]
    assert len(used) >= 40
    assert set(used) <= {1.0, 3.0, 9.0, 27.0}
    assert max(used) == 27.0  # enough complete trials: the full budget is modelled


def test_bohb_beats_hyperband_with_random_sampling():
    """Same pruner, same number of trials: the per-budget model finds better points."""
    def best_true(kw):
        study = st.create_study(**kw)
        study.optimize(_objective, n_trials=150)
        return min(_curve(t.params["x"], t.params["y"], MAX) for t in study.trials
                   if t.state == st.TrialState.COMPLETE)

    gaps_b, gaps_h = [], []
    for seed in range(3):
        gaps_b.append(best_true(st.presets.bohb(1, MAX, 3, seed=seed)) - 0.3 / MAX)
        gaps_h.append(best_true(st.presets.hyperband(1, MAX, 3, seed=seed)) - 0.3 / MAX)
    assert np.mean(gaps_b) < 0.5 * np.mean(gaps_h), (gaps_b, gaps_h)


def test_bohb_parallel_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'bohb.db'}"
    study = st.create_study(storage=url, **st.presets.bohb(1, 9, 3, seed=0))
    study.optimize(_objective_9, n_trials=24, n_jobs=2)
    trials = study.trials
    assert len(trials) == 24
    assert all(t.state in (st.TrialState.COMPLETE, st.TrialState.PRUNED) for t in trials)
    assert any(t.state == st.TrialState.PRUNED for t in trials)
    # Parameters from the two workers differ (each worker has its own random stream).
    assert len({(t.params["x"], t.params["y"]) for t in trials}) == 24


def _objective_9(trial):
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    for e in range(1, 10):
        trial.report(_curve(x, y, e), e)
        if trial.should_prune():
            raise st.TrialPruned()
    return _curve(x, y, 9)


def test_bohb_several_objectives_with_mo_hyperband():
    study = st.create_study(directions=["minimize", "minimize"],
                            **st.presets.bohb(1, 9, 3, seed=0))

    def obj(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_float("y", 0.0, 1.0)
        cost = 1.0 + 10 * y  # known before training
        for e in range(1, 10):
            trial.report([_curve(x, y, e), cost], e)
            if trial.should_prune():
                raise st.TrialPruned()
        return _curve(x, y, 9), cost

    study.optimize(obj, n_trials=40)
    assert any(t.system_attrs.get(keys.BOHB_BUDGET) is not None for t in study.trials)
    assert len(study.best_trials) >= 2


def test_multifidelity_benchmark_smoke():
    """The benchmark's learning-curve problem and bookkeeping, at a tiny budget."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root
    mf = importlib.import_module("benchmarks.multifidelity")
    prob = mf.LearningCurves(0)
    hist = mf.run_method("bohb", prob, 0, 400)
    assert hist[-1][0] >= 400 and all(a[0] <= b[0] for a, b in zip(hist, hist[1:]))
    assert all(v >= 0.05 for _, v in hist)  # no true value below the problem's floor
    grid = np.array([1, 200, 400])
    c = mf.curve_on_grid(hist, grid)
    assert np.isnan(c[0]) and np.all(np.isfinite(c[1:])) and c[2] <= c[1]
    # Curves cross: the fastest starter at epoch 1 is not the best at epoch 81.
    rng = np.random.default_rng(0)
    ps = [{"lr": 10 ** rng.uniform(-4, 0), "width": int(rng.integers(8, 513)),
           "wd": 10 ** rng.uniform(-6, 0), "batch": 64, "opt": "sgd"} for _ in range(200)]
    C = np.array([prob.curve(p) for p in ps])
    assert np.argmin(C[:, 0]) != np.argmin(C[:, -1])


def test_multifidelity_benchmark_is_reproducible_and_reports_its_command(tmp_path):
    """Optuna rows repeat (fixed study names fix Hyperband's brackets); parallel runs give
    the same table as serial ones; the report starts with the command that made it."""
    import importlib
    import sys
    from pathlib import Path

    pytest.importorskip("optuna")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root
    mf = importlib.import_module("benchmarks.multifidelity")
    runs = [mf.run_method("optuna-tpe-hb", mf.LearningCurves(1), 1, 300) for _ in range(2)]
    assert runs[0] == runs[1] and runs[0][-1][0] >= 300
    tables = []
    for jobs in ("1", "2"):
        out = tmp_path / jobs
        mf.main(["--problem", "lc", "--seeds", "2", "--budget", "200", "--jobs", jobs,
                 "--methods", "random,asha-r9", "--out", str(out)])
        text = (out / "multifidelity_lc.md").read_text()
        assert f"`python -m benchmarks.multifidelity --problem lc --seeds 2 --budget 200 " \
               f"--jobs {jobs} " in text
        tables.append([ln.rsplit("|", 2)[0] for ln in text.splitlines()
                       if ln.startswith("| random") or ln.startswith("| asha-r9")])
    assert len(tables[0]) == 2 and tables[0] == tables[1]  # the same, wall times aside


def test_multifidelity_benchmark_method_options():
    """``bohb[key=value]`` passes sampler options; methods without options refuse them."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root
    mf = importlib.import_module("benchmarks.multifidelity")
    a = mf.run_method("bohb[random_fraction=1.0]", mf.LearningCurves(0), 0, 600)
    b = mf.run_method("bohb", mf.LearningCurves(0), 0, 600)
    assert a != b
    with pytest.raises(ValueError, match="random_fraction"):  # reaches the sampler
        mf.run_method("bohb[random_fraction=2.0]", mf.LearningCurves(0), 0, 100)
    with pytest.raises(ValueError, match="takes no options"):
        mf.run_method("asha[x=1]", mf.LearningCurves(0), 0, 100)
