"""Budgets and rungs are defined once (slimtune.multifidelity.schedule): ASHA, Hyperband,
BOHB, Budget and synchronous successive halving all read the same rungs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import slimtune as st
from slimtune import keys
from slimtune.multifidelity import (
    Budget,
    HyperbandPruner,
    MedianPruner,
    RungSchedule,
    SuccessiveHalvingPruner,
    SyncSuccessiveHalving,
    budgets_of,
)
from slimtune.multifidelity.bohb import BOHBSampler
from slimtune.multifidelity.schedule import HasRungSchedule, n_brackets, rung_levels

SRC = Path(st.__file__).resolve().parent

GRID = [
    (mn, rf, mx)
    for mn in (1, 2, 3)
    for rf in (2, 2.5, 3, 4)
    for mx in (1, 5, 9, 27, 40, 81, 100, 243)
    if mx >= mn
]


def _complete(study, last_step):
    t = study.ask()
    for s in range(1, last_step + 1):
        t.report(1.0 / s, s)
    study.tell(t, 1.0 / last_step)


@pytest.mark.parametrize("mn, rf, mx", GRID)
def test_every_part_uses_the_same_rungs(mn, rf, mx):
    sched = RungSchedule(mn, rf, mx)
    rungs = sched.rungs()
    assert rungs == [mn * rf**k for k in range(len(rungs))]
    assert all(r < mx for r in rungs) and (not rungs or rungs[-1] * rf >= mx)

    sh = SuccessiveHalvingPruner(mn, rf, max_resource=mx)
    hb = HyperbandPruner(mn, mx, rf)
    assert sh.rung_schedule().rungs() == rungs
    assert sh.rung_resources(mn) == rungs
    assert hb.rung_schedule() == sched
    assert hb.budgets() == rungs + [float(mx)] == sched.budgets()
    # BOHB reads the same budgets from either pruner, through the public schedule.
    for pruner in (sh, hb):
        study = st.create_study(pruner=pruner)
        assert budgets_of(pruner, []) == sched.budgets()
        assert BOHBSampler()._budgets(study, []) == sched.budgets()
    assert st.presets.bohb(mn, mx, rf)["sampler"].budgets == sched.budgets()
    # Budget (and so synchronous SH) runs at the same rungs, as whole steps.
    levels = Budget(mx, mn, rf).levels()
    assert levels == sched.levels()
    assert levels[-1] == mx
    assert levels[:-1] == sorted({int(round(r)) for r in rungs} - {mx})
    assert Budget.from_pruner(hb).levels() == levels


@pytest.mark.parametrize("mn, rf, mx", GRID)
def test_hyperband_brackets_are_successive_halving_with_a_later_first_rung(mn, rf, mx):
    hb = HyperbandPruner(mn, mx, rf)
    sched = hb.rung_schedule()
    assert hb.n_brackets() == sched.n_brackets() == n_brackets(mn, mx, rf)
    for b in range(hb.n_brackets()):
        sh = SuccessiveHalvingPruner(mn, rf, b, max_resource=mx)
        assert sched.bracket(b).rungs() == sh.rung_schedule().rungs() == rungs_from(mn, rf, mx, b)
    assert [hb.bracket_of(i) for i in range(50)] == [sched.bracket_of(i) for i in range(50)]


def rungs_from(mn, rf, mx, b):
    return [r for r in RungSchedule(mn, rf, mx).rungs() if r >= mn * rf**b]


def test_known_schedules():
    s = RungSchedule(1, 3, 81)
    assert s.rungs() == [1.0, 3.0, 9.0, 27.0]
    assert s.budgets() == [1.0, 3.0, 9.0, 27.0, 81.0]
    assert s.levels() == [1, 3, 9, 27, 81]
    assert s.n_brackets() == 5  # log3(81) = 4 despite float rounding
    assert [s.bracket(b).rungs() for b in range(5)] == [
        [1.0, 3.0, 9.0, 27.0], [3.0, 9.0, 27.0], [9.0, 27.0], [27.0], []
    ]
    assert n_brackets(1, 243, 3) == 6 and n_brackets(1, 100, 3) == 5
    assert RungSchedule(1, 2.5, 16).levels() == [1, 2, 6, 16]  # 15.6 rounds to the full 16
    assert len(rung_levels(1, 2)) == 32  # open-ended: the first 32 rungs
    assert RungSchedule(2, 4).budgets() == rung_levels(2, 4)  # no full budget yet
    with pytest.raises(ValueError, match="max_resource"):
        RungSchedule(1, 3).levels()


def test_auto_resources_are_resolved_from_complete_trials():
    hb = HyperbandPruner(1, "auto", 3)
    sh = SuccessiveHalvingPruner("auto", 3)
    assert isinstance(hb, HasRungSchedule) and isinstance(sh, HasRungSchedule)
    assert not isinstance(MedianPruner(), HasRungSchedule)
    study = st.create_study()
    assert hb.rung_schedule([]) is None and sh.rung_schedule([]) is None
    assert budgets_of(hb, []) == budgets_of(sh, []) == budgets_of(MedianPruner(), []) == []
    _complete(study, 27)
    trials = study.get_trials(deepcopy=False)
    assert hb.rung_schedule(trials) == RungSchedule(1, 3, 27)
    assert budgets_of(hb, trials) == [1.0, 3.0, 9.0, 27.0]
    # "auto" min_resource is 1/100 of the steps, at least 1; the full budget is the last step.
    assert sh.rung_schedule(trials) == RungSchedule(1, 3, None)
    assert budgets_of(sh, trials) == [1.0, 3.0, 9.0, 27.0]
    assert budgets_of(MedianPruner(), trials) == [27.0]


def test_pruners_record_decisions_only_at_their_rungs():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        for e in range(1, 41):
            trial.report(x + 1.0 / e, e)
            if trial.should_prune():
                raise st.TrialPruned()
        return x

    sh = SuccessiveHalvingPruner(1, 2, max_resource=40)
    hb = HyperbandPruner(1, 40, 2)
    for pruner in (sh, hb):
        study = st.create_study(sampler=st.samplers.RandomSampler(seed=0), pruner=pruner)
        study.optimize(objective, n_trials=30)
        sched = pruner.rung_schedule(study.trials)
        seen = set()
        for t in study.trials:
            mine = sched if pruner is sh else sched.bracket(sched.bracket_of(t.number))
            got = {k for k in t.system_attrs if k.startswith(keys.RUNG_PREFIX)}
            assert got <= {keys.rung_key(r) for r in mine.rungs()}
            seen |= got
        assert seen and any(t.state == st.TrialState.PRUNED for t in study.trials)


def test_sync_successive_halving_trains_to_the_budget_levels():
    stops = []

    def train(trial, state, start, stop):
        stops.append(stop)
        x = trial.suggest_float("x", 0, 1)
        return x, None

    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    budget = Budget(40, 1, 2.5)
    SyncSuccessiveHalving(study, n_configs=20, budget=budget).run(train)
    assert sorted(set(stops)) == budget.levels() == RungSchedule(1, 2.5, 40).levels()


def _rung_arithmetic(path: Path) -> bool:
    """Whether a module raises a reduction factor to a power or takes its logarithm."""
    tree = ast.parse(path.read_text())
    rf_names = {"reduction_factor", "rf"}

    def names(node):
        return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
            n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
        }

    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            if names(node) & rf_names:
                return True
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) in ("log", "log2"):
            if names(node) & rf_names:
                return True
    return False


def test_the_rung_arithmetic_lives_in_schedule_only():
    found = sorted(
        str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if _rung_arithmetic(p)
    )
    assert found == ["multifidelity/schedule.py"]


def test_old_import_paths_re_export_the_same_objects():
    import slimtune.fidelity as old_fidelity
    import slimtune.multifidelity as mf
    from slimtune.samplers.bohb import BOHBSampler as OldBOHB

    for name in ("HyperbandPruner", "MedianPruner", "PercentilePruner", "SuccessiveHalvingPruner"):
        assert getattr(st.pruners, name) is getattr(mf, name)
    assert st.pruners.NopPruner().prune(None, None) is False
    for name in old_fidelity.__all__:
        assert getattr(old_fidelity, name) is getattr(mf, name)
    assert st.samplers.BOHBSampler is OldBOHB is mf.BOHBSampler is BOHBSampler
    assert st.fidelity is old_fidelity
