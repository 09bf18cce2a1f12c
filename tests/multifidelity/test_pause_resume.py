"""Pause and resume in the asynchronous path: the trial checkpoint API and promotion-type
ASHA / Hyperband (slimtune.multifidelity.promotion)."""

from __future__ import annotations

import math
import os
import sqlite3

import numpy as np
import pytest

import slimtune as st
from slimtune import keys
from slimtune.multifidelity import (
    DirectoryCheckpoints,
    MemoryCheckpoints,
    PromotionASHAPruner,
    PromotionHyperbandPruner,
    epochs_trained,
)
from slimtune.multifidelity.promotion import is_paused, resumed_from
from slimtune.multifidelity.schedule import bracket_of
from slimtune.trial import TrialState

MAX = 27


def curve(x: float, e: int) -> float:
    """Crossing learning curves: small x learns fast and ends worse, x near 0.7 ends best."""
    tau = 1.0 + 20.0 * x
    return 0.2 + 2.0 * (x - 0.7) ** 2 + math.exp(-e / tau)


def objective(trial, keep_checkpoints: bool = True):
    """A toy training loop that resumes: its state is the list of epochs it trained."""
    x = trial.suggest_float("x", 0.0, 1.0)
    state = trial.load_checkpoint() or {"trained": []}
    ran = 0
    loss = math.nan
    for e in range(trial.resume_step + 1, MAX + 1):
        state["trained"].append(e)
        ran += 1
        loss = curve(x, e)
        trial.report(loss, e)
        if trial.should_prune():
            trial.set_user_attr("trained", state["trained"])
            trial.set_user_attr("ran", ran)
            if keep_checkpoints:
                trial.save_checkpoint(state)
            raise st.TrialPruned()
    trial.set_user_attr("trained", state["trained"])
    trial.set_user_attr("ran", ran)
    return loss


def _until_complete(n: int):
    def cb(study, _t):
        if len(study.get_trials(states=(TrialState.COMPLETE,))) >= n:
            study.stop()

    return cb


def _run(pruner, n_complete: int = 4, seed: int = 0, func=objective):
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=seed), pruner=pruner)
    study.optimize(func, n_trials=400, callbacks=[_until_complete(n_complete)])
    return study


def _check_chains(study) -> None:
    """Every trial's state continued its parent's: it trained each epoch exactly once."""
    trials = study.get_trials()
    by_number = {t.number: t for t in trials}
    children: dict[int, int] = {}
    for t in trials:
        if t.state == TrialState.FAIL or not t.intermediate_values:
            continue
        last = max(t.intermediate_values)
        assert t.user_attrs["trained"] == list(range(1, last + 1))  # no epoch retrained
        assert t.user_attrs["ran"] == epochs_trained(t) == last - t.system_attrs.get(
            keys.RESUME_STEP, 0
        )
        p = resumed_from(t)
        if p is not None:
            assert p not in children, "a paused trial was resumed twice"
            children[p] = t.number
            parent = by_number[p]
            assert is_paused(parent)
            step = t.system_attrs[keys.RESUME_STEP]
            assert step == parent.system_attrs[keys.CHECKPOINT_STEP] == max(
                parent.intermediate_values
            )
            # The child's curve continues the parent's (same values up to the resume step).
            for s, v in parent.intermediate_values.items():
                assert t.intermediate_values[s] == v


def test_resuming_trains_fewer_epochs_than_restarting_for_the_same_full_runs(caplog):
    """The same promotion decisions (the curves are deterministic), once resuming from the
    checkpoint and once training every promoted configuration again from scratch."""
    totals, finals, saved = {}, {}, 0
    for keep in (True, False):
        pruner = PromotionASHAPruner(1, 3, max_resource=MAX, checkpoints=MemoryCheckpoints())
        study = _run(pruner, n_complete=4, seed=3,
                     func=lambda t, keep=keep: objective(t, keep_checkpoints=keep))
        trials = study.get_trials()
        assert sum(t.state == TrialState.COMPLETE for t in trials) == 4
        totals[keep] = sum(t.user_attrs["ran"] for t in trials)
        assert totals[keep] == sum(epochs_trained(t) for t in trials)
        finals[keep] = sorted(t.params["x"] for t in trials if t.state == TrialState.COMPLETE)
        if keep:
            saved = sum(
                t.system_attrs[keys.RESUME_STEP] for t in trials if resumed_from(t) is not None
            )
    assert finals[True] == finals[False]  # the same configurations ran to the full budget
    assert saved > 0 and totals[True] == totals[False] - saved, (totals, saved)
    assert "trains from scratch" in caplog.text  # a pause without a checkpoint says so


def test_promoted_trial_resumes_from_its_parents_checkpoint(tmp_path):
    study = _run(PromotionASHAPruner(1, 3, max_resource=MAX, checkpoints=tmp_path), 3, seed=1)
    trials = study.get_trials()
    resumed = [t for t in trials if resumed_from(t) is not None]
    assert resumed, "no paused trial was promoted"
    _check_chains(study)
    # Parents are stored as Optuna stores a pruned trial: PRUNED with their last value.
    for t in resumed:
        parent = study.trials[resumed_from(t)]
        assert parent.state == TrialState.PRUNED
        assert parent.value == parent.intermediate_values[max(parent.intermediate_values)]
        assert parent.params == t.params
    # Each configuration trained every epoch once: the chain's total is its final step.
    roots: dict[int, int] = {}
    for t in trials:
        r = t.system_attrs.get(keys.RESUME_ROOT, t.number)
        roots[r] = roots.get(r, 0) + t.user_attrs["ran"]
    for r, total in roots.items():
        last = max(
            max(t.intermediate_values)
            for t in trials
            if t.system_attrs.get(keys.RESUME_ROOT, t.number) == r
        )
        assert total == last


def test_pausing_and_promotion_follow_the_asha_rule():
    """First arrivals pause (floor(n / rf) = 0); once three trials reached rung 1, the best
    of them is promotable and the next ask resumes it instead of sampling."""
    pruner = PromotionASHAPruner(1, 3, max_resource=9, checkpoints=MemoryCheckpoints())
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0), pruner=pruner)
    xs = [0.5, 0.1, 0.9]  # at epoch 1: 1.19, 1.64, 1.23
    vals = {}
    for x in xs:
        study.enqueue_trial({"x": x})
        t = study.ask()
        t.suggest_float("x", 0.0, 1.0)
        t.report(curve(x, 1), 1)
        vals[t.number] = curve(x, 1)
        assert t.should_prune()  # paused: n < rf or not in the top third
        t.save_checkpoint({"x": x})
        study.tell(t, state=TrialState.PRUNED)
    best = min(vals, key=vals.get)
    nxt = study.ask()
    assert nxt.system_attrs[keys.RESUMED_FROM] == best
    assert nxt.resume_step == 1
    assert nxt.load_checkpoint() == {"x": xs[best]}
    assert nxt.intermediate_values == {1: vals[best]}
    assert nxt.suggest_float("x", 0.0, 1.0) == xs[best]
    # The continuation is not judged again at rung 1; rung 3 has one entry: it pauses.
    nxt.report(curve(xs[best], 2), 2)
    assert not nxt.should_prune()
    nxt.report(curve(xs[best], 3), 3)
    assert nxt.should_prune()
    assert study.get_trial(nxt.trial_id).system_attrs[keys.PAUSED_AT] == 3
    # Nothing else is promotable now: a fresh configuration is sampled.
    study.tell(nxt, state=TrialState.PRUNED)
    fresh = study.ask()
    assert keys.RESUMED_FROM not in fresh.system_attrs


def _worker_objective(trial):  # module level: pickled to the worker processes
    return objective(trial)


def test_two_worker_processes_on_sqlite(tmp_path):
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    ckpt = DirectoryCheckpoints(tmp_path / "ckpt")
    study = st.create_study(
        sampler=st.samplers.RandomSampler(seed=0),
        pruner=PromotionASHAPruner(1, 3, max_resource=9, checkpoints=ckpt),
        storage=storage,
        study_name="mp",
    )
    study.optimize(_worker_objective, n_trials=40, n_jobs=2)
    trials = study.get_trials()
    assert len(trials) == 40
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert any(resumed_from(t) is not None for t in trials)
    _check_chains(study)
    # Checkpoints are files; the database holds their keys (strings), never a pickle.
    keys_ = [t.system_attrs[keys.CHECKPOINT] for t in trials if keys.CHECKPOINT in t.system_attrs]
    assert keys_ and all(isinstance(k, str) for k in keys_)
    # A paused trial nobody resumed keeps its file; one whose continuation saved its own
    # state has had its file removed (the chain's state moved on).
    resumed_by = {resumed_from(t): t for t in trials if resumed_from(t) is not None}
    for t in trials:
        if is_paused(t):
            child = resumed_by.get(t.number)
            gone = child is not None and keys.CHECKPOINT in child.system_attrs
            assert os.path.exists(ckpt.path(t.system_attrs[keys.CHECKPOINT])) != gone
    con = sqlite3.connect(tmp_path / "db.sqlite")
    tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
    blob = b"".join(
        (v if isinstance(v, bytes) else str(v).encode())
        for table in tables
        for row in con.execute(f"select * from {table}")  # noqa: S608 - test-local tables
        for v in row
        if v is not None
    )
    con.close()
    assert b"\x80\x04\x95" not in blob and b"\x80\x05\x95" not in blob  # pickle headers


def test_a_failing_continuation_leaves_the_study_usable(tmp_path):
    """A resumed trial that raises is FAIL; its parent is not promoted again, nothing stays
    WAITING or RUNNING, and the study goes on sampling and promoting."""

    def flaky(trial):
        if trial.resume_step > 0 and trial.number % 2 == 0:
            raise RuntimeError("lost the GPU")
        return objective(trial)

    study = st.create_study(
        sampler=st.samplers.RandomSampler(seed=2),
        pruner=PromotionASHAPruner(1, 3, max_resource=9, checkpoints=tmp_path),
    )
    study.optimize(flaky, n_trials=40, catch=RuntimeError)
    trials = study.get_trials()
    failed = [t for t in trials if t.state == TrialState.FAIL]
    assert failed and all(resumed_from(t) is not None for t in failed)
    parents = [resumed_from(t) for t in trials if resumed_from(t) is not None]
    assert len(parents) == len(set(parents))
    assert not [t for t in trials if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert any(t.state == TrialState.COMPLETE for t in trials)


def test_a_trial_whose_worker_died_while_paused_is_never_resumed():
    """Paused at a rung, then failed (as the heartbeat reaper does for a dead worker) before
    it was told PRUNED: not a paused trial, so no ask resumes it."""
    pruner = PromotionASHAPruner(1, 3, max_resource=9, checkpoints=MemoryCheckpoints())
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0), pruner=pruner)
    for i, x in enumerate([0.7, 0.1, 0.2, 0.3]):  # at epoch 1, x=0.7 is the best
        study.enqueue_trial({"x": x})
        t = study.ask()
        t.suggest_float("x", 0.0, 1.0)
        t.report(curve(x, 1), 1)
        assert t.should_prune()
        if i == 0:
            study.tell(t, state=TrialState.FAIL)  # died after the pause mark, before tell
        else:
            t.save_checkpoint({"x": x})
            study.tell(t, state=TrialState.PRUNED)
    nxt = study.ask()
    dead = study.trials[0]
    assert resumed_from(nxt) != dead.number
    assert not is_paused(dead)


def test_nan_values_stop_for_good_and_do_not_count():
    pruner = PromotionASHAPruner(1, 2, max_resource=9, checkpoints=MemoryCheckpoints())
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0), pruner=pruner)
    t = study.ask()
    t.report(float("nan"), 1)
    assert t.should_prune()
    study.tell(t, state=TrialState.PRUNED)
    assert not is_paused(study.trials[0])
    for v in (0.5, 0.4):
        t = study.ask()
        assert keys.RESUMED_FROM not in t.system_attrs
        t.report(v, 1)
        pruned = t.should_prune()
        study.tell(t, state=TrialState.PRUNED if pruned else None, values=None if pruned else v)
    # n = 2 valid entries at rung 1 (the NaN does not count): floor(2 / 2) = 1 promotable.
    assert study.trials[1].state == TrialState.PRUNED  # first arrival: n=1, paused
    assert study.trials[2].state == TrialState.COMPLETE  # best of two: continued at once
    nxt = study.ask()  # 0.5 is not in the top 1 of {0.5, 0.4}: nothing to resume
    assert keys.RESUMED_FROM not in nxt.system_attrs


def test_infeasible_trials_rank_after_feasible_ones():
    pruner = PromotionASHAPruner(1, 3, max_resource=9, checkpoints=MemoryCheckpoints())
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0), pruner=pruner)
    for v, macs in [(0.1, 5.0), (0.4, 0.0), (0.5, 0.0)]:  # the best value is infeasible
        t = study.ask()
        t.set_constraint("macs", macs)
        t.report(v, 1)
        assert t.should_prune()
        t.save_checkpoint(v)
        study.tell(t, state=TrialState.PRUNED)
    nxt = study.ask()
    assert resumed_from(nxt) == 1  # the best feasible one (0.4), not the infeasible 0.1
    assert nxt.constraints == [0.0]


def test_several_objectives_mo_asha():
    def two(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        state = trial.load_checkpoint() or 0
        for e in range(trial.resume_step + 1, 10):
            state += 1
            trial.report([curve(x, e), x], e)
            if trial.should_prune():
                trial.save_checkpoint(state)
                raise st.TrialPruned()
        trial.set_user_attr("state", state)
        return curve(x, 9), x

    study = st.create_study(
        directions=["minimize", "minimize"],
        sampler=st.samplers.RandomSampler(seed=0),
        pruner=PromotionASHAPruner(1, 3, max_resource=9, checkpoints=MemoryCheckpoints()),
    )
    study.optimize(two, n_trials=40)
    done = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert any(resumed_from(t) is not None for t in done)
    assert all(t.user_attrs["state"] == 9 for t in done)  # resumed state: 9 epochs in all


def test_promotion_hyperband_keeps_a_chain_in_its_bracket(tmp_path):
    pruner = PromotionHyperbandPruner(1, MAX, 3, checkpoints=tmp_path)
    study = _run(pruner, n_complete=5, seed=4)
    _check_chains(study)
    trials = study.get_trials()
    nb = pruner.n_brackets()
    resumed = [t for t in trials if resumed_from(t) is not None]
    assert resumed
    for t in resumed:
        root = t.system_attrs[keys.RESUME_ROOT]
        b = bracket_of(root, nb, 3)
        first = pruner.rung_schedule().bracket(b).rungs()[0]
        assert t.system_attrs[keys.RESUME_RUNG] >= first  # paused at a rung of its bracket


def test_writer_and_reader_callbacks_store_files_their_own_way(tmp_path):
    pruner = PromotionASHAPruner(1, 3, max_resource=9, checkpoints=tmp_path)
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0), pruner=pruner)
    t = study.ask()
    t.report(1.0, 1)
    w = np.arange(5.0)
    assert t.save_checkpoint(writer=w.tofile)  # writes exactly the path it is given
    assert t.load_checkpoint(reader=np.fromfile).tolist() == w.tolist()
    key = t.system_attrs[keys.CHECKPOINT]
    assert isinstance(key, str) and pruner.checkpoints.path(key).endswith(".ckpt")
    with pytest.raises(ValueError, match="not both"):
        t.save_checkpoint(w, writer=lambda p: None)
    with pytest.raises(FileNotFoundError, match="did not write"):
        t.save_checkpoint(writer=lambda p: None)
    mem = st.create_study(pruner=PromotionASHAPruner(1, 3, checkpoints=MemoryCheckpoints()))
    with pytest.raises(TypeError, match="cannot run a checkpoint writer"):
        mem.ask().save_checkpoint(writer=lambda p: None)


def test_one_objective_runs_under_every_pruner():
    """Without a checkpoint store nothing is saved and nothing resumes: the same objective
    runs under stopping ASHA, the median rule and with FixedTrial."""
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=3)
    assert all(keys.CHECKPOINT not in t.system_attrs for t in study.trials)
    ft = st.trial.FixedTrial({"x": 0.7})
    assert ft.load_checkpoint() is None and ft.resume_step == 0
    assert objective(ft) == pytest.approx(curve(0.7, MAX))


def test_user_mistakes_get_one_line_messages(tmp_path):
    with pytest.raises(ValueError, match="min_resource as an int"):
        PromotionASHAPruner("auto")
    with pytest.raises(ValueError, match="max_resource as an int"):
        PromotionHyperbandPruner(1, "auto")
    with pytest.raises(ValueError, match="promotion=True"):
        st.presets.asha(checkpoints=tmp_path)
    with pytest.raises(TypeError, match="lacks"):
        PromotionASHAPruner(1, checkpoints=object())
    study = st.create_study(pruner=PromotionASHAPruner(1, checkpoints=MemoryCheckpoints()))
    with pytest.raises(TypeError, match="step must be an int"):
        study.ask().save_checkpoint(1, step=1.5)


def test_presets():
    kw = st.presets.asha(1, MAX, 3, seed=0, promotion=True)
    assert isinstance(kw["pruner"], PromotionASHAPruner)
    assert isinstance(kw["pruner"].checkpoints, DirectoryCheckpoints)
    kw = st.presets.hyperband(1, MAX, 3, seed=0, promotion=True, checkpoints=MemoryCheckpoints())
    assert isinstance(kw["pruner"], PromotionHyperbandPruner)
    assert isinstance(st.presets.asha(1, MAX)["pruner"], st.pruners.SuccessiveHalvingPruner)
    assert st.pruners.PromotionASHAPruner is PromotionASHAPruner


def test_memory_checkpoints_refuse_worker_processes(tmp_path):
    study = st.create_study(pruner=PromotionASHAPruner(1, 3, checkpoints=MemoryCheckpoints()))
    with pytest.raises(TypeError, match="DirectoryCheckpoints"):
        study.optimize(_worker_objective, n_trials=2, n_jobs=2)
    import copy
    import pickle

    d = pickle.loads(pickle.dumps(DirectoryCheckpoints(tmp_path)))
    assert d.directory == str(tmp_path)
    assert copy.deepcopy(MemoryCheckpoints()).claim(1)


def test_directory_claims_are_exclusive(tmp_path):
    a, b = DirectoryCheckpoints(tmp_path), DirectoryCheckpoints(tmp_path)  # two workers
    assert a.claim("s-1/trial_3") and not b.claim("s-1/trial_3") and not a.claim("s-1/trial_3")
    m = MemoryCheckpoints()
    assert m.claim(3) and not m.claim(3)


def test_benchmark_promotion_methods_run_and_repeat():
    """The benchmark's promotion rows run at a budget of epochs and repeat (seeded)."""
    import importlib
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root
    mf = importlib.import_module("benchmarks.multifidelity")
    a = mf.run_method("hyperband-promo", mf.LearningCurves(0), 0, 500)
    assert a == mf.run_method("hyperband-promo", mf.LearningCurves(0), 0, 500)
    assert a[-1][0] >= 500 and all(x[0] <= y[0] for x, y in zip(a, a[1:]))


def test_a_study_recreated_under_the_same_name_does_not_inherit_claims(tmp_path):
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    resumed = []
    for _ in range(2):
        study = st.create_study(
            study_name="same",
            storage=storage,
            sampler=st.samplers.RandomSampler(seed=0),
            pruner=PromotionASHAPruner(1, 3, max_resource=9, checkpoints=tmp_path / "ckpt"),
        )
        study.optimize(objective, n_trials=15)
        resumed.append(sum(resumed_from(t) is not None for t in study.trials))
        st.delete_study(study_name="same", storage=storage)
    assert resumed[0] > 0 and resumed[1] == resumed[0]


def test_one_pruner_object_serves_several_studies_alike(tmp_path):
    """The per-process index of finished trials is per study and storage: reusing a pruner
    gives each study the decisions a fresh pruner gives it."""
    import pickle

    shared = PromotionASHAPruner(1, 3, max_resource=9, checkpoints=MemoryCheckpoints())
    runs = []
    for pruner in (shared, shared, PromotionASHAPruner(1, 3, max_resource=9,
                                                       checkpoints=MemoryCheckpoints())):
        study = st.create_study(sampler=st.samplers.RandomSampler(seed=5), pruner=pruner)
        study.optimize(objective, n_trials=20)
        runs.append([(t.state, resumed_from(t)) for t in study.trials])
    assert runs[0] == runs[1] == runs[2]
    assert "_indexes" in vars(shared)
    on_disk = PromotionASHAPruner(1, 3, max_resource=9, checkpoints=tmp_path)
    st.create_study(pruner=on_disk).optimize(objective, n_trials=3)
    assert "_indexes" in vars(on_disk)
    assert "_indexes" not in vars(pickle.loads(pickle.dumps(on_disk)))  # not to workers
