"""Optuna's module names in slimtune: exceptions, storages, search_space, trial,
distributions, study callbacks and the sampler protocol a user's own sampler relies on."""

from __future__ import annotations

import sys
import types
import warnings

import numpy as np
import pytest

import slimtune as st
from slimtune import exceptions, search_space, storages
from slimtune.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)
from slimtune.trial import TrialState


# --- exceptions ----------------------------------------------------------------------------
def test_errors_share_optuna_s_base_and_keep_their_standard_kind() -> None:
    for cls in (
        exceptions.TrialPruned,
        exceptions.DuplicatedStudyError,
        exceptions.UpdateFinishedTrialError,
        exceptions.StorageInternalError,
        exceptions.CLIUsageError,
    ):
        assert issubclass(cls, exceptions.OptunaError)
    assert exceptions.OptunaError is exceptions.SlimtuneError
    assert issubclass(exceptions.DuplicatedStudyError, ValueError)
    assert issubclass(exceptions.UpdateFinishedTrialError, RuntimeError)
    # One definition: the old paths are the same classes.
    assert st.TrialPruned is exceptions.TrialPruned
    assert st.storage.DuplicatedStudyError is exceptions.DuplicatedStudyError
    assert st.storage.UpdateFinishedTrialError is exceptions.UpdateFinishedTrialError
    storage = st.InMemoryStorage()
    st.create_study(study_name="a", storage=storage)
    with pytest.raises(exceptions.OptunaError, match="load_if_exists"):
        st.create_study(study_name="a", storage=storage)


def _fake_optuna(monkeypatch: pytest.MonkeyPatch) -> type[Exception]:
    """A stand-in ``optuna.exceptions`` module with its own TrialPruned class."""
    mod = types.ModuleType("optuna.exceptions")

    class TrialPruned(Exception):
        pass

    TrialPruned.__module__ = "optuna.exceptions"
    mod.TrialPruned = TrialPruned  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "optuna.exceptions", mod)
    return TrialPruned


def test_optuna_s_trial_pruned_prunes_the_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    OptunaPruned = _fake_optuna(monkeypatch)
    assert exceptions.is_trial_pruned(OptunaPruned())
    assert exceptions.is_trial_pruned(st.TrialPruned())
    assert not exceptions.is_trial_pruned(ValueError())

    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))

    def objective(trial: st.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.report(x, 0)
        if trial.number % 2:
            raise OptunaPruned()
        return x

    study.optimize(objective, n_trials=4, catch=())
    assert [t.state for t in study.trials] == [
        TrialState.COMPLETE, TrialState.PRUNED, TrialState.COMPLETE, TrialState.PRUNED,
    ]
    assert study.trials[1].values == [study.trials[1].params["x"]]  # last report kept


def test_without_optuna_imported_only_slimtune_s_prunes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "optuna.exceptions", raising=False)
    assert exceptions.trial_pruned_types() == (exceptions.TrialPruned,)


def test_the_real_optuna_trial_pruned_prunes() -> None:
    optuna = pytest.importorskip("optuna")
    study = st.create_study()

    def objective(trial: st.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise optuna.TrialPruned()

    study.optimize(objective, n_trials=2, catch=())
    assert all(t.state == TrialState.PRUNED for t in study.trials)


# --- storages ------------------------------------------------------------------------------
def test_rdb_storage_takes_optuna_s_arguments(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    s = storages.RDBStorage(url, engine_kwargs={}, skip_compatibility_check=True)
    assert s.heartbeat_interval is None  # Optuna's default: heartbeats off
    cb = storages.RetryFailedTrialCallback(max_retry=1)
    s2 = storages.RDBStorage(url, heartbeat_interval=5, heartbeat_stale_trial_callback=cb)
    assert (s2.heartbeat_interval, s2.grace_period, s2.failed_trial_callback) == (5, 15, cb)
    with pytest.raises(ValueError, match="grace_period needs heartbeat_interval"):
        storages.RDBStorage(url, grace_period=10)
    study = st.create_study(storage=s, study_name="x")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(st.load_study(study_name="x", storage=url).trials) == 2


def test_journal_storage_keeps_the_study_in_its_file(tmp_path) -> None:
    path = str(tmp_path / "journal.log")
    a = storages.JournalStorage(storages.JournalFileBackend(path))
    study = st.create_study(storage=a, study_name="j")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    # Another process (here: another storage object) opens the same file.
    b = storages.JournalStorage(storages.journal.JournalFileBackend(
        path, lock_obj=storages.JournalFileOpenLock(path)))
    assert len(st.load_study(study_name="j", storage=b).trials) == 3
    assert storages.JournalFileStorage is storages.JournalFileBackend


def test_journal_storage_refuses_a_file_it_did_not_write(tmp_path) -> None:
    p = tmp_path / "optuna.log"
    p.write_text('{"op_code": 0, "worker_id": "x"}\n')
    with pytest.raises(ValueError, match="not a slimtune study file"):
        storages.JournalFileBackend(str(p))
    with pytest.raises(TypeError, match="JournalFileBackend"):
        storages.JournalStorage("file.log")  # type: ignore[arg-type]
    with pytest.raises(NotImplementedError, match="RDBStorage"):
        storages.JournalRedisStorage("redis://localhost")


def test_fail_stale_trials_fails_a_dead_worker_s_trial(tmp_path) -> None:
    s = storages.RDBStorage(f"sqlite:///{tmp_path / 'h.db'}", heartbeat_interval=1,
                            grace_period=2)
    study = st.create_study(storage=s, study_name="h")
    tid = study.storage.create_new_trial(study.study_id)
    study.storage.record_heartbeat(tid)
    import time

    time.sleep(2.2)
    storages.fail_stale_trials(study)
    assert study.get_trial(tid).state == TrialState.FAIL


# --- search space and the user sampler protocol --------------------------------------------
def _trial(params: dict, dists: dict, state: TrialState = TrialState.COMPLETE) -> st.FrozenTrial:
    return st.create_trial(state=state, params=params, distributions=dists,
                           value=0.0 if state != TrialState.FAIL else None)


def test_intersection_search_space_keeps_shared_equal_distributions() -> None:
    fx, fy = FloatDistribution(0, 1), IntDistribution(0, 3)
    trials = [
        _trial({"x": 0.5, "y": 1}, {"x": fx, "y": fy}),
        _trial({"x": 0.2}, {"x": fx}),
        _trial({"x": 0.2, "z": 2}, {"x": fx, "z": fy}, state=TrialState.PRUNED),
        _trial({"w": 1.0}, {"w": fx}, state=TrialState.FAIL),
    ]
    assert search_space.intersection_search_space(trials) == {"x": fx}
    assert search_space.intersection_search_space(trials[:1]) == {"x": fx, "y": fy}
    assert search_space.intersection_search_space(trials, include_pruned=True) == {"x": fx}
    # A changed range drops the parameter.
    wider = _trial({"x": 0.5, "y": 1}, {"x": FloatDistribution(0, 2), "y": fy})
    assert search_space.intersection_search_space([trials[0], wider]) == {"y": fy}
    assert search_space.intersection_search_space([]) == {}


def test_incremental_intersection_equals_the_function() -> None:
    study = st.create_study(sampler=st.samplers.RandomSampler(seed=1))
    iss = search_space.IntersectionSearchSpace()

    def objective(trial: st.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number < 3:
            trial.suggest_int("y", 0, 3)
        return x

    for n in (2, 5):
        study.optimize(objective, n_trials=n)
        assert iss.calculate(study) == search_space.intersection_search_space(study.trials)
    assert list(iss.calculate(study)) == ["x"]
    with pytest.raises(ValueError, match="one per study"):
        iss.calculate(st.create_study())


class MyOptunaStyleSampler(st.samplers.BaseSampler):
    """A user's own sampler written against Optuna's protocol: relative sampling on the
    intersection space, random for the rest, hooks, reseed."""

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)
        self.calls: list[str] = []

    def infer_relative_search_space(self, study, trial):  # type: ignore[no-untyped-def]
        return search_space.intersection_search_space(study.get_trials(deepcopy=False))

    def sample_relative(self, study, trial, search_space):  # type: ignore[no-untyped-def]
        if not search_space:
            return {}
        best = study.best_trial
        return {n: best.params[n] for n in search_space}  # exploit the best

    def sample_independent(self, study, trial, param_name, param_distribution):  # type: ignore[no-untyped-def]
        d = param_distribution
        if isinstance(d, CategoricalDistribution):
            return d.choices[int(self._rng.integers(len(d.choices)))]
        return d.to_external(float(self._rng.uniform(d.low, d.high)))

    def before_trial(self, study, trial):  # type: ignore[no-untyped-def]
        self.calls.append(f"before {trial.number}")

    def after_trial(self, study, trial, state, values):  # type: ignore[no-untyped-def]
        self.calls.append(f"after {trial.number} {state.name}")

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()


def test_a_user_s_optuna_style_sampler_runs() -> None:
    sampler = MyOptunaStyleSampler(seed=0)
    study = st.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.3) ** 2
                   + t.suggest_int("n", 0, 4), n_trials=5)
    assert sampler.calls[:2] == ["before 0", "after 0 COMPLETE"]
    assert len(sampler.calls) == 10
    # From trial 1 on, the relative space is the intersection and repeats the best.
    assert all(t.params == study.trials[0].params for t in study.trials[1:])
    sampler.reseed_rng()


# --- trials --------------------------------------------------------------------------------
def test_create_trial_and_add_trial_round_trip() -> None:
    dists = {"x": FloatDistribution(0, 10), "y": CategoricalDistribution([-1, 0, 1])}
    t = st.trial.create_trial(params={"x": 1.0, "y": 0}, distributions=dists, value=5.0,
                              intermediate_values={0: 7.0}, constraints={"c": -1.0})
    assert isinstance(t, st.FrozenTrial) and t.value == 5.0 and t.constraints == [-1.0]
    study = st.create_study()
    study.add_trials([t, t])
    assert [s.params for s in study.trials] == [{"x": 1.0, "y": 0}] * 2
    assert study.best_value == 5.0
    with pytest.raises(ValueError, match="needs value"):
        st.create_trial(params={}, distributions={})
    with pytest.raises(ValueError, match="outside"):
        st.create_trial(params={"x": 11.0}, distributions={"x": dists["x"]}, value=1.0)
    with pytest.raises(ValueError, match="same parameters"):
        st.create_trial(params={"x": 1.0}, distributions={}, value=1.0)


def test_frozen_trial_takes_optuna_s_constructor_and_replays_its_params() -> None:
    d = FloatDistribution(0, 1)
    t = st.FrozenTrial(number=0, state=TrialState.COMPLETE, value=0.5, datetime_start=None,
                       datetime_complete=None, params={"x": 0.25}, distributions={"x": d},
                       user_attrs={}, system_attrs={}, intermediate_values={}, trial_id=0)
    assert t.values == [0.5]
    assert st.FrozenTrial(0, TrialState.COMPLETE, [1.0, 2.0]).values == [1.0, 2.0]
    with pytest.raises(ValueError, match="value or values"):
        st.FrozenTrial(0, TrialState.COMPLETE, value=1.0, values=[1.0])
    # objective(frozen_trial) re-runs on the stored parameters.
    assert t.suggest_float("x", 0, 1) == 0.25
    assert not t.should_prune()
    with pytest.raises(ValueError, match="not among"):
        t.suggest_int("n", 0, 3)
    t.value = 2.0
    assert t.values == [2.0]
    assert isinstance(t, st.trial.BaseTrial) and isinstance(st.FixedTrial({}), st.trial.BaseTrial)


def test_set_constraint_by_name_feeds_feasibility() -> None:
    study = st.create_study()

    def objective(trial: st.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        trial.set_constraint("c0", x - 0.5)
        trial.set_constraint("c1", -1.0)
        trial.set_constraint("c0", x - 0.5)  # set again: same slot
        return -x

    study.enqueue_trial({"x": 0.9})
    study.enqueue_trial({"x": 0.4})
    study.optimize(objective, n_trials=2)
    t0 = study.trials[0]
    assert t0.constraints == pytest.approx([0.4, -1.0])
    assert study.best_trial.params == {"x": 0.4}  # 0.9 is infeasible


# --- distributions -------------------------------------------------------------------------
def test_deprecated_distribution_names_build_the_modern_ones() -> None:
    d = st.distributions
    with pytest.warns(FutureWarning, match="deprecated"):
        u = d.UniformDistribution(0, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert u == FloatDistribution(0, 1)
        assert d.LogUniformDistribution(1, 2) == FloatDistribution(1, 2, log=True)
        assert d.DiscreteUniformDistribution(0, 1, 0.5) == FloatDistribution(0, 1, step=0.5)
        assert d.IntUniformDistribution(0, 6, 2) == IntDistribution(0, 6, step=2)
        assert d.IntLogUniformDistribution(1, 8) == IntDistribution(1, 8, log=True)
    old = '{"name": "DiscreteUniformDistribution", "attributes": {"low": 0, "high": 1, "q": 0.25}}'
    assert json_to_distribution(old) == FloatDistribution(0, 1, step=0.25)
    assert json_to_distribution(distribution_to_json(u)) == u
    c = CategoricalDistribution(["a", "b"])
    assert c.to_internal_repr("b") == 1 and c.to_external_repr(1) == "b"


# --- study ---------------------------------------------------------------------------------
def test_max_trials_callback_counts_the_study_s_trials() -> None:
    study = st.create_study()
    cb = st.study.MaxTrialsCallback(3, states=(TrialState.COMPLETE,))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=10, callbacks=[cb])
    assert len(study.trials) == 3
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=10, callbacks=[cb])
    assert len(study.trials) == 4  # already at the limit: stops after one trial


def test_summaries_and_storage_helpers_under_optuna_names() -> None:
    assert st.study.StudySummary is st.storage.StudySummary
    assert isinstance(storages.get_storage(None), storages.InMemoryStorage)
