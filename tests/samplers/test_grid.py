"""GridSampler and BruteForceSampler: every configuration exactly once, then the study stops."""

from __future__ import annotations

import logging
import math

import pytest

import slimtune as st
from slimtune import keys
from slimtune.samplers import BruteForceSampler, GridSampler

GRID = {"x": [-1, 0, 1], "y": ["a", "b"], "z": [None, True, 2.5]}


def grid_objective(trial: st.Trial) -> float:
    x = trial.suggest_int("x", -1, 1)
    y = trial.suggest_categorical("y", ["a", "b"])
    z = trial.suggest_categorical("z", [None, True, 2.5])
    return x + (y == "b") + (z is None)


def points(study: st.Study) -> list[tuple]:
    return [(t.params["x"], t.params["y"], t.params["z"]) for t in study.get_trials()]


# --- GridSampler -------------------------------------------------------------------------


def test_grid_covers_every_point_once_then_stops():
    study = st.create_study(sampler=GridSampler(GRID, seed=0))
    study.optimize(grid_objective, n_trials=100)  # stops by itself after 18
    seen = points(study)
    assert len(seen) == 18
    assert len(set(map(repr, seen))) == 18
    assert {p[2] for p in seen} == {None, True, 2.5}
    assert all(type(t.params["z"]) in (type(None), bool, float) for t in study.get_trials())
    assert GridSampler(GRID).is_exhausted(study)


def test_grid_order_is_shuffled_by_seed_and_reproducible():
    def order(seed):
        study = st.create_study(sampler=GridSampler(GRID, seed=seed))
        study.optimize(grid_objective)
        return points(study)

    assert order(3) == order(3)
    assert order(3) != order(4)
    assert order(None) == order(0)  # every process agrees on the order without a seed


def test_grid_n_trials_smaller_than_the_grid_resumes_where_it_stopped():
    sampler = GridSampler(GRID, seed=1)
    study = st.create_study(sampler=sampler)
    study.optimize(grid_objective, n_trials=5)
    assert not sampler.is_exhausted(study)
    study.optimize(grid_objective)  # the rest, then stop
    assert len(set(map(repr, points(study)))) == len(points(study)) == 18


def test_grid_exhausted_study_evaluates_nothing_more(caplog):
    study = st.create_study(sampler=GridSampler({"x": [0, 1]}))
    study.optimize(lambda t: t.suggest_int("x", 0, 1))
    with caplog.at_level(logging.WARNING, logger="slimtune"):
        study.optimize(lambda t: t.suggest_int("x", 0, 1), n_trials=5)
    # One more trial was started, evaluated nothing, and stopped the study.
    assert [t.state for t in study.trials] == [st.TrialState.COMPLETE] * 2 + [
        st.TrialState.PRUNED
    ]
    assert study.trials[2].params == {}
    assert "grid is exhausted" in caplog.text


def test_grid_enqueued_trial_and_unknown_parameter():
    study = st.create_study(sampler=GridSampler({"x": [0, 1, 2]}))
    study.enqueue_trial({"x": 1})
    study.optimize(lambda t: t.suggest_int("x", 0, 2), n_trials=10)
    assert [t.params["x"] for t in study.trials][0] == 1
    assert keys.GRID_ID not in study.trials[0].system_attrs

    study = st.create_study(sampler=GridSampler({"x": [0, 1]}))
    with pytest.raises(ValueError, match="'w' is not in the grid"):
        study.optimize(lambda t: t.suggest_int("x", 0, 1) + t.suggest_float("w", 0, 1),
                       n_trials=1, catch=())


def test_grid_value_outside_the_distribution_is_used_with_a_warning():
    study = st.create_study(sampler=GridSampler({"x": [0.5, 5.0]}))
    with pytest.warns(UserWarning, match="outside the suggested distribution"):
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), catch=())
    assert sorted(t.params["x"] for t in study.trials) == [0.5, 5.0]


def test_grid_rejects_bad_search_spaces():
    with pytest.raises(TypeError, match="dict of name"):
        GridSampler([("x", [1])])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'x' has no values"):
        GridSampler({"x": []})
    with pytest.raises(TypeError, match="must be a list"):
        GridSampler({"x": "abc"})  # type: ignore[dict-item]
    with pytest.warns(UserWarning, match="only str, int, float, bool and None"):
        GridSampler({"x": [object()]})


def _grid_worker_objective(trial: st.Trial) -> float:
    return trial.suggest_int("a", 0, 4) * 10 + trial.suggest_int("b", 0, 3)


def test_grid_two_worker_processes_on_sqlite_cover_it_exactly_once(tmp_path):
    storage = f"sqlite:///{tmp_path / 'grid.db'}"
    space = {"a": list(range(5)), "b": list(range(4))}
    study = st.create_study(storage=storage, sampler=GridSampler(space, seed=0))
    study.optimize(_grid_worker_objective, n_jobs=2)
    trials = study.get_trials()
    values = sorted(t.value for t in trials if t.state == st.TrialState.COMPLETE)
    assert values == sorted(a * 10 + b for a in range(5) for b in range(4))
    # A worker that started a trial just after the other took the last point evaluates
    # nothing: that trial is PRUNED, without parameters.
    extra = [t for t in trials if t.state != st.TrialState.COMPLETE]
    assert all(t.state == st.TrialState.PRUNED and not t.params for t in extra)
    assert len(extra) <= 1


def test_two_grids_in_one_study_do_not_mix():
    study = st.create_study(sampler=GridSampler({"x": [0, 1]}))
    study.optimize(lambda t: t.suggest_int("x", 0, 3))
    other = st.create_study(storage=study.storage, study_name=study.study_name,
                            load_if_exists=True, sampler=GridSampler({"x": [2, 3]}))
    other.optimize(lambda t: t.suggest_int("x", 0, 3))
    assert sorted(t.params["x"] for t in study.get_trials()) == [0, 1, 2, 3]


# --- BruteForceSampler ---------------------------------------------------------------------


def conditional(trial: st.Trial) -> float:
    kind = trial.suggest_categorical("kind", ["int", "float", "none"])
    if kind == "int":
        a = trial.suggest_int("a", 1, 3)
        b = trial.suggest_int("b", a, 3)  # a range that depends on a
        return a + b
    if kind == "float":
        return trial.suggest_float("x", 0.0, 1.0, step=0.25)
    return 0.0


# kind=int: (1,1..3), (2,2..3), (3,3) = 6; kind=float: 5; kind=none: 1.
N_CONDITIONAL = 12


def configs(study: st.Study) -> list[str]:
    return [repr(sorted(t.params.items())) for t in study.get_trials()]


def test_brute_force_covers_a_conditional_space_exactly_once_then_stops():
    study = st.create_study(sampler=BruteForceSampler(seed=0))
    study.optimize(conditional, n_trials=100)
    assert len(configs(study)) == N_CONDITIONAL
    assert len(set(configs(study))) == N_CONDITIONAL


def test_brute_force_is_reproducible_and_seeded():
    def run(seed):
        study = st.create_study(sampler=BruteForceSampler(seed=seed))
        study.optimize(conditional)
        return configs(study)

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_brute_force_running_trials_count_as_tried():
    study = st.create_study(sampler=BruteForceSampler(seed=1))
    asked = [study.ask() for _ in range(3)]
    got = {t.suggest_int("n", 0, 2) for t in asked}
    assert got == {0, 1, 2}  # three running trials, three different values
    for t in asked:
        study.tell(t, 1.0)
    # Every value is tried: a new optimize runs one trial (a repeat) and stops, as in Optuna.
    study.optimize(lambda t: t.suggest_int("n", 0, 2), n_trials=5)
    assert len(study.trials) == 4


def test_brute_force_failed_trial_still_counts_unless_avoid_premature_stop():
    def objective(trial):
        n = trial.suggest_int("n", 0, 3)
        if n == 2 and trial.study.user_attrs.get("fail", True):
            raise RuntimeError("boom")
        return n

    study = st.create_study(sampler=BruteForceSampler(seed=0))
    study.optimize(objective, catch=(RuntimeError,))
    assert sorted(t.params["n"] for t in study.trials) == [0, 1, 2, 3]
    assert sum(t.state == st.TrialState.FAIL for t in study.trials) == 1


def test_brute_force_needs_a_finite_space():
    study = st.create_study(sampler=BruteForceSampler())
    with pytest.raises(ValueError, match="give suggest_float a step"):
        study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1, catch=())


def test_brute_force_several_objectives_and_log_ints():
    study = st.create_study(directions=["minimize", "maximize"],
                            sampler=BruteForceSampler(seed=2))
    study.optimize(lambda t: (t.suggest_int("n", 1, 8, log=True), math.sqrt(
        t.suggest_float("q", 0.0, 1.0, step=0.5))))
    assert len(study.trials) == 8 * 3
    assert len(set(configs(study))) == 24


def test_grid_point_of_a_trial_another_process_is_starting_is_not_taken(tmp_path):
    # Another process has created trial 0 but not yet stored its point (the point of its
    # number). A later trial must not take that point; once trial 0 stores it, nothing is
    # left and the later trial evaluates nothing.
    import threading

    storage = f"sqlite:///{tmp_path / 'g.db'}"
    sampler = GridSampler({"x": [0, 1]})
    study = st.create_study(storage=storage, sampler=sampler)
    raw = study.storage.create_new_trial(study._study_id)  # trial 0, no grid id yet
    t1 = study.ask()
    assert t1.suggest_int("x", 0, 1) == sampler._all_grids[1][0]
    late = threading.Timer(0.2, lambda: sampler.before_trial(study, study.storage.get_trial(raw)))
    late.start()
    t2 = study.ask()
    late.join()
    with pytest.raises(st.TrialPruned):
        t2.suggest_int("x", 0, 1)
    assert study.storage.get_trial(raw).system_attrs[keys.GRID_ID] == 0


def test_grid_concurrent_later_trials_that_pick_the_same_point_do_not_both_keep_it():
    # Trials past the grid's size pick a random free point. Trial b read the storage before
    # trial a stored its pick and drew the same point: b sees a holding it and picks again.
    study = st.create_study(sampler=GridSampler({"x": [0, 1, 2]}))
    for _ in range(3):
        study.enqueue_trial({"x": 0})  # trials 0-2 are enqueued: they hold no grid point
    study.optimize(lambda t: t.suggest_int("x", 0, 2), n_trials=3)
    sampler = study.sampler
    a = study.ask()
    gid_a = study.storage.get_trial(a._trial_id).system_attrs[keys.GRID_ID]
    b_id = study.storage.create_new_trial(study._study_id)
    real_unvisited, real_rng = sampler._unvisited, sampler._rng
    calls = []

    def stale_then_real(s):
        calls.append(1)
        return [0, 1, 2] if len(calls) == 1 else real_unvisited(s)

    class SamePointFirst:
        draws = [gid_a]

        def choice(self, targets):
            return self.draws.pop() if self.draws else real_rng.choice(targets)

    sampler._unvisited, sampler._rng = stale_then_real, SamePointFirst()
    try:
        sampler.before_trial(study, study.storage.get_trial(b_id))
    finally:
        sampler._unvisited, sampler._rng = real_unvisited, real_rng
    gid_b = study.storage.get_trial(b_id).system_attrs[keys.GRID_ID]
    assert gid_b != gid_a and gid_b in (0, 1, 2)


def test_grid_a_point_given_up_counts_for_nothing():
    sampler = GridSampler({"x": [0, 1]})
    study = st.create_study(sampler=sampler)
    tid = study.storage.create_new_trial(study._study_id)
    study.storage.set_trial_system_attr(tid, keys.GRID_SEARCH_SPACE, sampler._search_space)
    study.storage.set_trial_system_attr(tid, keys.GRID_ID, -1)
    study.storage.set_trial_state_values(tid, st.TrialState.PRUNED)
    other = study.storage.create_new_trial(study._study_id)
    study.storage.set_trial_system_attr(other, keys.GRID_SEARCH_SPACE, sampler._search_space)
    study.storage.set_trial_system_attr(other, keys.GRID_ID, 0)
    study.storage.set_trial_state_values(other, st.TrialState.COMPLETE, [0.0])
    assert not sampler.is_exhausted(study)
    assert sampler._unvisited(study) == [1]
