"""Candidates from a study, their Pareto front, and the pick rules."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import slimtune as st  # noqa: E402
from slimtune.nas import selection as S  # noqa: E402
from slimtune.nas.config import ConfigError  # noqa: E402
from slimtune.nas.objective import SKIPPED_OVER_BUDGET, TrialRecord  # noqa: E402

pytestmark = pytest.mark.nas


def _cands():
    mk = lambda n, acc, macs: S.Candidate(n, acc, acc, macs, macs // 10, None, {}, {})  # noqa: E731
    return [mk(0, 0.90, 1000), mk(1, 0.95, 4000), mk(2, 0.97, 20000), mk(3, 0.93, 2000)]


def test_pick_rules():
    c = _cands()
    assert S.pick_model(c, "best").number == 2
    assert S.pick_model(c, "budget", max_macs=5000).number == 1
    assert S.pick_model(c, "budget", max_macs=10).number == 0  # nothing fits: smallest
    assert S.pick_model(c, "smallest_above", accuracy=0.94).number == 1
    assert S.pick_model(c, "smallest_above", accuracy=0.99).number == 2
    # MnasNet reward acc * (macs / target) ** w
    rewards = [x.accuracy * (x.macs / 4000) ** -0.07 for x in c]
    assert S.pick_model(c, "mnasnet", target_macs=4000).number == int(np.argmax(rewards))
    assert S.pick_model(c, "mnasnet", target_macs=4000, w=-1.0).number == 0
    # pluggable: a callable or a registered rule
    assert S.pick_model(c, lambda cs: 3).number == 3
    S.register_pick_rule("fewest_params")(lambda cs, **_: int(np.argmin([x.params for x in cs])))
    try:
        assert S.pick_model(c, "fewest_params").number == 0
    finally:
        S.PICK_RULES.pop("fewest_params")
    for rule in ("budget", "mnasnet", "smallest_above"):
        with pytest.raises(ConfigError, match=f"pick rule `{rule}` needs"):
            S.pick_model(c, rule)
    with pytest.raises(ValueError, match="no candidate"):
        S.pick_model([], "best")


def test_best_breaks_ties_by_macs_and_scores_by_f1():
    mk = S.Candidate
    c = [mk(0, 0.9, 0.5, 3000, 1, None, {}, {}), mk(1, 0.9, 0.6, 2000, 1, None, {}, {})]
    assert S.pick_model(c, "best").number == 1  # same accuracy: fewer MACs
    c[1].f1 = 0.4
    assert S.pick_model(c, "best", by="f1").number == 0


def test_rank_by_rule_is_repeated_picking():
    c = _cands()
    assert [x.number for x in S.rank_by_rule(c, 3, "best")] == [2, 1, 3]
    assert [x.number for x in S.rank_by_rule(c, 10, "budget", max_macs=5000)] == [1, 3, 0, 2]
    assert S.rank_by_rule(c, 2)[0] is c[2]  # the candidates themselves, not copies
    assert len(c) == 4


def test_a_registered_rule_is_allowed_in_a_config():
    from slimtune.nas.config import SearchConfig

    model = {"stages": [{"block": "Conv", "c2": 8}]}
    with pytest.raises(ConfigError, match="pick.rule"):
        SearchConfig.from_dict({"model": model, "pick": {"rule": "coin"}})
    S.register_pick_rule("coin")(lambda cs, **_: 0)
    try:
        cfg = SearchConfig.from_dict({"model": model, "pick": {"rule": "coin", "w": 1}})
        assert cfg.pick.rule == "coin" and cfg.pick.options == {"w": 1}
    finally:
        S.PICK_RULES.pop("coin")


def test_collect_candidates_keeps_feasible_trained_trials_and_marks_the_front():
    study = st.create_study(directions=["maximize", "minimize"])

    def add(rec, values, constraints=None, state=None):
        t = study.ask()
        rec.save(t)
        if constraints is not None:
            t.set_constraints(constraints)
        study.tell(t, values, state=state)

    trained = lambda acc, macs: TrialRecord(macs, 10, None, {}, acc, acc, 2)  # noqa: E731
    add(trained(0.90, 1000), [0.90, 1000])  # 0: front
    add(trained(0.80, 3000), [0.80, 3000])  # 1: dominated by 0
    add(trained(0.95, 5000), [0.95, 5000])  # 2: front
    add(TrialRecord(400, 1, None, {}, skipped=SKIPPED_OVER_BUDGET), [0.0, 400], [0.5])  # 3
    add(trained(0.99, 100), [0.99, 100], [0.1])  # 4: infeasible
    add(TrialRecord(200, 1, None, {}, 0.5, 0.5), None, state=st.TrialState.PRUNED)  # 5
    add(trained(0.85, 800), [0.85, 800], [-0.2])  # 6: feasible, front
    cands = S.collect_candidates(study, study.directions)
    assert [c.number for c in cands] == [0, 1, 2, 6]
    assert {c.number for c in cands if c.on_front} == {0, 2, 6}
    assert all(c.epochs == 2 for c in cands)


def test_collect_candidates_counts_pruned_trials_at_the_epoch_they_stopped():
    study = st.create_study(directions=["maximize", "minimize"])

    def add(rec, values, steps=(), state=None):
        t = study.ask()
        rec.save(t)
        for step, v in steps:
            t.report(v, step)
        study.tell(t, values, state=state)

    add(TrialRecord(1000, 10, None, {}, 0.95, 0.95, 10), [0.95, 1000])  # 0: complete
    pruned = TrialRecord(200, 5, None, {}, 0.70, 0.69, 2)
    add(pruned, None, [(1, [0.5, 200]), (2, [0.7, 200])], st.TrialState.PRUNED)  # 1: front
    old = TrialRecord(3000, 5, None, {}, 0.60, 0.60)  # 2: no epochs stored (older record)
    add(old, None, [(3, [0.6, 3000])], st.TrialState.PRUNED)
    cands = S.collect_candidates(study, study.directions)
    assert [(c.number, c.pruned, c.epochs, c.on_front) for c in cands] == [
        (0, False, 10, True),
        (1, True, 2, True),  # the small end of the front, measured at epoch 2
        (2, True, 3, False),  # dominated by trial 0
    ]
    assert cands[1].accuracy == 0.70 and cands[1].f1 == 0.69
    only = S.collect_candidates(study, study.directions, evidence="complete")
    assert [c.number for c in only] == [0]
    with pytest.raises(ValueError, match="evidence must be one of"):
        S.collect_candidates(study, study.directions, evidence="best")
