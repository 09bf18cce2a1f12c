"""The storage contract: what every storage of slimtune must do, through ``BaseStorage`` only.

To add a storage: add a backend name to ``BACKENDS`` and teach ``Backend.open`` to open
it (``open(**kw)`` must return a *new handle on the same data* each call, as a second
process would get, except for in-memory storage, where the handle is the data; ``kw`` are
``heartbeat_interval`` / ``grace_period``). Every test of this file then runs against it.
A storage must:

* keep studies by unique name (duplicates raise ``DuplicatedStudyError``, unknown names and
  ids ``StudyNotFoundError``), with their directions and JSON-only attributes (a value JSON
  cannot hold raises ``TypeError``; what is read back is the JSON round trip of what was
  written), and delete them with their trials;
* number the trials of each study 0, 1, 2, ... whatever the other studies do, hand out
  WAITING trials oldest first, each to exactly one caller, and never finish a finished trial
  twice (``set_trial_state_values`` returns False);
* round-trip parameters of every kind of distribution, intermediate values (floats and
  lists), attributes and values with infinities, and return trials by number, filtered by
  state, fresh after every change (from any handle);
* fail RUNNING trials whose heartbeat is older than the grace period, with a reason.

PostgreSQL runs when ``SLIMTUNE_TEST_POSTGRES_URL`` points at a database (CI sets it);
each test uses its own study names there and deletes them afterwards.
"""

from __future__ import annotations

import math
import os
import threading
import time
import uuid

import pytest

import slimtune as st
from slimtune import keys
from slimtune.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from slimtune.storage import (
    BaseStorage,
    CachedStorage,
    DuplicatedStudyError,
    InMemoryStorage,
    SQLStorage,
    StudyNotFoundError,
    UpdateFinishedTrialError,
)

TS = st.TrialState
PG_URL = os.environ.get("SLIMTUNE_TEST_POSTGRES_URL")
_PG_SKIP: list[str | None] = []


def _pg_skip_reason() -> str | None:
    if not _PG_SKIP:
        if not PG_URL:
            _PG_SKIP.append("set SLIMTUNE_TEST_POSTGRES_URL to a PostgreSQL database")
        else:
            try:
                s = SQLStorage(PG_URL)
                s.get_all_study_names()
                s.close()
                _PG_SKIP.append(None)
            except Exception as e:  # noqa: BLE001
                _PG_SKIP.append(f"PostgreSQL at {PG_URL} is not reachable: {e}")
    return _PG_SKIP[0]


class Backend:
    """One storage kind for one test: ``open()`` handles, unique study names, clean-up."""

    def __init__(self, kind: str, tmp_path):
        self.kind = kind
        self.url = {
            "memory": None,
            "sqlite": f"sqlite:///{tmp_path / 'contract.db'}",
            "postgres": PG_URL,
        }[kind.removesuffix("-cached")]
        self.prefix = f"contract-{uuid.uuid4().hex[:10]}-"
        self._memory: dict[tuple, InMemoryStorage] = {}
        self._handles: list[BaseStorage] = []

    def open(self, **kw) -> BaseStorage:
        """A handle; heartbeats off unless ``heartbeat_interval`` is given."""
        kw.setdefault("heartbeat_interval", None)
        if self.url is None:
            key = tuple(sorted(kw.items()))
            if key not in self._memory:
                self._memory[key] = InMemoryStorage(**kw)
            return self._memory[key]
        s: BaseStorage = SQLStorage(self.url, **kw)
        self._handles.append(s)
        if self.kind.endswith("-cached"):
            s = CachedStorage(s)  # what a study reads through (a new cache per handle)
        return s

    def name(self, suffix: str = "s") -> str:
        return self.prefix + suffix

    def names(self, storage: BaseStorage) -> list[str]:
        """This test's study names in the storage, in the storage's order."""
        return [n for n in storage.get_all_study_names() if n.startswith(self.prefix)]

    def cleanup(self) -> None:
        for s in self._handles[:1]:
            for n in self.names(s):
                s.delete_study(s.get_study_id_from_name(n))
        for s in self._handles:
            s.close()


KINDS = ("memory", "sqlite", "sqlite-cached", "postgres", "postgres-cached")
BACKENDS = [
    pytest.param(k, marks=[pytest.mark.postgres] if k.startswith("postgres") else [])
    for k in KINDS
]


# Bugs this contract found, fixed with the core rebuild (issue 10), and the test of each:
# SQLStorage.delete_study kept its cache of unfinished trials, and SQLite reused study and
# trial ids, so a new study listed a deleted one's trials (test_deleted_study_*); a stale
# trial that already had a fail_reason made every later reap raise IntegrityError
# (test_stale_trial_that_has_a_fail_reason_is_failed); InMemoryStorage gave a restarted
# WAITING -> RUNNING trial no heartbeat (test_restarted_trial_has_a_heartbeat); writes to
# finished trials were accepted but hidden from cached reads: they now raise
# UpdateFinishedTrialError (test_writes_to_a_finished_trial_are_refused).


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    if request.param.startswith("postgres") and _pg_skip_reason():
        pytest.skip(_pg_skip_reason())
    b = Backend(request.param, tmp_path)
    yield b
    b.cleanup()


@pytest.fixture
def storage(backend) -> BaseStorage:
    return backend.open()


def new_study(storage: BaseStorage, backend: Backend, suffix: str = "s", directions=None) -> int:
    return storage.create_new_study(directions or ["minimize"], backend.name(suffix))


# --- studies ------------------------------------------------------------------------------


def test_study_create_names_directions_delete(storage, backend):
    a = new_study(storage, backend, "a")
    b = new_study(storage, backend, "b", ["maximize", "minimize"])
    assert a != b
    assert backend.names(storage) == [backend.name("a"), backend.name("b")]
    assert storage.get_study_id_from_name(backend.name("b")) == b
    assert storage.get_study_name_from_id(a) == backend.name("a")
    assert storage.get_study_directions(a) == ["minimize"]
    assert storage.get_study_directions(b) == ["maximize", "minimize"]
    with pytest.raises(DuplicatedStudyError):
        new_study(storage, backend, "a")
    assert isinstance(DuplicatedStudyError("x"), ValueError)

    tid = storage.create_new_trial(a)
    storage.delete_study(a)
    assert backend.names(storage) == [backend.name("b")]
    with pytest.raises(StudyNotFoundError):
        storage.get_study_id_from_name(backend.name("a"))
    with pytest.raises(StudyNotFoundError):
        storage.get_study_name_from_id(a)
    with pytest.raises(StudyNotFoundError):
        storage.get_all_trials(a)
    with pytest.raises(StudyNotFoundError):
        storage.delete_study(a)
    with pytest.raises(KeyError):
        storage.get_trial(tid)
    # The name is free again.
    a2 = new_study(storage, backend, "a")
    assert storage.get_all_trials(a2) == []
    assert storage.get_study_directions(a2) == ["minimize"]


def test_unknown_study(storage, backend):
    with pytest.raises(StudyNotFoundError):
        storage.get_study_id_from_name(backend.name("nope"))
    assert isinstance(StudyNotFoundError("x"), KeyError)
    missing = 10**6
    for call in (
        lambda: storage.get_study_name_from_id(missing),
        lambda: storage.get_study_directions(missing),
        lambda: storage.get_all_trials(missing),
        lambda: storage.create_new_trial(missing),
        lambda: storage.delete_study(missing),
    ):
        with pytest.raises(StudyNotFoundError):
            call()


JSON_VALUES = {
    "int": 3,
    "float": 0.1 + 0.2,
    "str": "héllo",
    "none": None,
    "bool": True,
    "list": [1, "a", None, [2.5]],
    "dict": {"k": {"nested": [1, 2]}},
}
NOT_JSON = [object(), {1, 2}, b"bytes", {"k": object()}]


def test_study_attrs_are_json(storage, backend):
    sid = new_study(storage, backend)
    for k, v in JSON_VALUES.items():
        storage.set_study_user_attr(sid, k, v)
        storage.set_study_system_attr(sid, "sys:" + k, v)
    storage.set_study_user_attr(sid, "tuple", (1, 2))  # JSON has lists only
    assert storage.get_study_user_attrs(sid) == {**JSON_VALUES, "tuple": [1, 2]}
    assert storage.get_study_system_attrs(sid) == {"sys:" + k: v for k, v in JSON_VALUES.items()}
    # Overwrite; the value written is copied, not kept by reference.
    value = {"a": [1]}
    storage.set_study_user_attr(sid, "int", value)
    value["a"].append(2)
    assert storage.get_study_user_attrs(sid)["int"] == {"a": [1]}
    for bad in NOT_JSON:
        with pytest.raises(TypeError):
            storage.set_study_user_attr(sid, "bad", bad)
        with pytest.raises(TypeError):
            storage.set_study_system_attr(sid, "bad", bad)
    assert "bad" not in storage.get_study_user_attrs(sid)
    assert "bad" not in storage.get_study_system_attrs(sid)
    # Attributes belong to their study.
    other = new_study(storage, backend, "other")
    assert storage.get_study_user_attrs(other) == {}
    assert storage.get_study_system_attrs(other) == {}


# --- trials: numbers, waiting, states -----------------------------------------------------


def test_trial_numbers_consecutive_per_study(storage, backend):
    a = new_study(storage, backend, "a")
    b = new_study(storage, backend, "b")
    ids = []
    for i in range(7):
        ids.append(storage.create_new_trial(a))
        if i % 2:
            ids.append(storage.create_new_trial(b, state=TS.WAITING))
    assert len(set(ids)) == len(ids)  # trial ids are global
    assert [t.number for t in storage.get_all_trials(a)] == list(range(7))
    assert [t.number for t in storage.get_all_trials(b)] == list(range(3))
    for tid in ids:
        t = storage.get_trial(tid)
        assert t.trial_id == tid
    t = storage.get_trial(ids[0])
    assert t.state == TS.RUNNING and t.datetime_start is not None
    assert t.params == {} and t.values is None and t.datetime_complete is None
    w = storage.get_all_trials(b)[0]
    assert w.state == TS.WAITING and w.datetime_start is None
    assert storage.get_n_trials(a) == 7 and storage.get_n_trials(b, (TS.WAITING,)) == 3


def test_numbers_from_concurrent_handles(backend):
    """Two handles (two workers) creating trials at once never share or skip a number."""
    first = backend.open()
    sid = new_study(first, backend)
    handles = [first] + [backend.open() for _ in range(3)]
    errors: list[BaseException] = []

    def work(s: BaseStorage) -> None:
        try:
            for _ in range(10):
                s.create_new_trial(sid)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(h,)) for h in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert [t.number for t in first.get_all_trials(sid)] == list(range(40))


def test_pop_waiting_oldest_first(storage, backend):
    sid = new_study(storage, backend)
    assert storage.pop_waiting_trial_id(sid) is None
    w0 = storage.create_new_trial(sid, state=TS.WAITING, system_attrs={"k": 0})
    storage.create_new_trial(sid)  # RUNNING: never popped
    w1 = storage.create_new_trial(sid, state=TS.WAITING, user_attrs={"k": 1})
    w2 = storage.create_new_trial(sid, state=TS.WAITING)
    other = new_study(storage, backend, "other")
    storage.create_new_trial(other, state=TS.WAITING)

    assert storage.pop_waiting_trial_id(sid) == w0
    t = storage.get_trial(w0)
    assert t.state == TS.RUNNING and t.datetime_start is not None
    assert t.system_attrs == {"k": 0}
    # A WAITING trial finished directly is not handed out any more.
    assert storage.set_trial_state_values(w1, TS.FAIL)
    assert storage.pop_waiting_trial_id(sid) == w2
    assert storage.pop_waiting_trial_id(sid) is None
    assert storage.get_n_trials(other, (TS.WAITING,)) == 1


def test_pop_waiting_is_atomic(backend):
    first = backend.open()
    sid = new_study(first, backend)
    waiting = [first.create_new_trial(sid, state=TS.WAITING) for _ in range(24)]
    handles = [first] + [backend.open() for _ in range(3)]
    popped: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(s: BaseStorage) -> None:
        try:
            while (tid := s.pop_waiting_trial_id(sid)) is not None:
                with lock:
                    popped.append(tid)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(h,)) for h in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(popped) == waiting  # each exactly once
    assert all(t.state == TS.RUNNING for t in first.get_all_trials(sid))


def test_finish_only_once(storage, backend):
    sid = new_study(storage, backend)
    tid = storage.create_new_trial(sid)
    assert storage.set_trial_state_values(tid, TS.RUNNING) is False  # not WAITING
    assert storage.set_trial_state_values(tid, TS.COMPLETE, [1.5]) is True
    t = storage.get_trial(tid)
    assert t.state == TS.COMPLETE and t.values == [1.5] and t.datetime_complete is not None
    for state, values in ((TS.COMPLETE, [2.0]), (TS.FAIL, None), (TS.PRUNED, [3.0]),
                          (TS.RUNNING, None)):
        assert storage.set_trial_state_values(tid, state, values) is False
    t = storage.get_trial(tid)
    assert t.state == TS.COMPLETE and t.values == [1.5]

    # WAITING -> RUNNING (restart) and WAITING -> finished are allowed, once.
    w = storage.create_new_trial(sid, state=TS.WAITING)
    assert storage.set_trial_state_values(w, TS.RUNNING) is True
    assert storage.get_trial(w).state == TS.RUNNING
    assert storage.set_trial_state_values(w, TS.PRUNED, [0.5]) is True
    assert storage.set_trial_state_values(w, TS.COMPLETE, [0.1]) is False
    assert storage.get_trial(w).values == [0.5]


def test_values_with_infinities_round_trip(storage, backend):
    sid = new_study(storage, backend, directions=["minimize", "maximize", "minimize"])
    tid = storage.create_new_trial(sid)
    values = [math.inf, -math.inf, 1.0 / 3.0]
    assert storage.set_trial_state_values(tid, TS.COMPLETE, values)
    for t in (storage.get_trial(tid), storage.get_all_trials(sid)[0]):
        assert t.values == values
        assert all(type(v) is float for v in t.values)


def test_get_all_trials_by_number_and_state(storage, backend):
    sid = new_study(storage, backend)
    states = [TS.COMPLETE, TS.PRUNED, TS.FAIL, TS.RUNNING, TS.WAITING, TS.COMPLETE, TS.FAIL]
    for i, s in enumerate(states):
        tid = storage.create_new_trial(sid, state=TS.WAITING if s == TS.WAITING else TS.RUNNING)
        if s.is_finished():
            storage.set_trial_state_values(tid, s, [float(i)] if s != TS.FAIL else None)
    trials = storage.get_all_trials(sid)
    assert [t.number for t in trials] == list(range(len(states)))
    assert [t.state for t in trials] == states
    for sel in [(TS.COMPLETE,), (TS.RUNNING, TS.WAITING), (TS.FAIL, TS.PRUNED), ()]:
        got = storage.get_all_trials(sid, states=sel)
        assert [t.number for t in got] == [i for i, s in enumerate(states) if s in sel]
        assert storage.get_n_trials(sid, sel) == len(got)
    assert storage.get_n_trials(sid) == len(states)


def test_reads_are_fresh_after_changes_from_any_handle(backend):
    """A read after a change sees it, whichever handle made it (SQL caches finished trials)."""
    s1 = backend.open()
    s2 = backend.open()
    sid = new_study(s1, backend)
    a = s1.create_new_trial(sid)
    b = s1.create_new_trial(sid)
    assert [t.state for t in s1.get_all_trials(sid)] == [TS.RUNNING, TS.RUNNING]
    s2.set_trial_param(a, "x", 0.5, FloatDistribution(0, 1))
    s2.set_trial_state_values(a, TS.COMPLETE, [1.0])
    s2.set_trial_user_attr(b, "u", 1)
    s2.set_trial_intermediate_value(b, 0, 2.0)
    c = s2.create_new_trial(sid)
    got = s1.get_all_trials(sid)
    assert [t.trial_id for t in got] == [a, b, c]
    assert got[0].state == TS.COMPLETE and got[0].params == {"x": 0.5}
    assert got[1].user_attrs == {"u": 1} and got[1].intermediate_values == {0: 2.0}
    s2.set_trial_state_values(b, TS.FAIL)
    assert [t.state for t in s1.get_all_trials(sid)] == [TS.COMPLETE, TS.FAIL, TS.RUNNING]
    assert s1.get_trial(b).state == TS.FAIL


def test_get_trial_of_a_missing_id_raises(storage, backend):
    sid = new_study(storage, backend)
    tid = storage.create_new_trial(sid)
    with pytest.raises(KeyError):
        storage.get_trial(tid + 10**6)
    with pytest.raises(KeyError):
        storage.get_trial(-1)


# --- trial contents ---------------------------------------------------------------------------

DISTRIBUTIONS = {
    "float": (FloatDistribution(-2.0, 3.0), math.pi / 7),
    "log_float": (FloatDistribution(1e-8, 1.0, log=True), 1.234567890123e-5),
    "step_float": (FloatDistribution(-1.0, 1.0, step=0.25), 0.75),
    "int": (IntDistribution(-5, 5), -3.0),
    "log_int": (IntDistribution(1, 2**40, log=True), float(2**40 - 1)),
    "step_int": (IntDistribution(1, 13, step=3), 10.0),
    "single": (FloatDistribution(2.0, 2.0), 2.0),
}
CHOICES = (None, True, 1, 1.0, 2.5, "a")


def test_params_round_trip_every_distribution(storage, backend):
    sid = new_study(storage, backend)
    tid = storage.create_new_trial(sid)
    for name, (dist, internal) in DISTRIBUTIONS.items():
        storage.set_trial_param(tid, name, internal, dist)
    cat = CategoricalDistribution(CHOICES)
    cat_ids = []
    for i in range(len(CHOICES)):
        t = storage.create_new_trial(sid)
        storage.set_trial_param(t, "cat", float(i), cat)
        cat_ids.append(t)

    for t in (storage.get_trial(tid), storage.get_all_trials(sid)[0]):
        assert set(t.params) == set(DISTRIBUTIONS)
        for name, (dist, internal) in DISTRIBUTIONS.items():
            assert t.distributions[name] == dist
            assert t.params[name] == dist.to_external(internal)
            assert type(t.params[name]) is type(dist.to_external(internal))
            assert t.internal_params[name] == internal
    for i, t_id in enumerate(cat_ids):
        t = storage.get_trial(t_id)
        assert t.distributions["cat"] == cat
        v = t.params["cat"]
        assert type(v) is type(CHOICES[i]) and v == CHOICES[i]


def test_intermediate_values(storage, backend):
    sid = new_study(storage, backend, directions=["minimize"])
    tid = storage.create_new_trial(sid)
    storage.set_trial_intermediate_value(tid, 3, 0.25)
    storage.set_trial_intermediate_value(tid, 0, 1.0 / 3.0)
    storage.set_trial_intermediate_value(tid, 10, math.inf)
    storage.set_trial_intermediate_value(tid, 3, 0.125)  # the storage overwrites a step
    mo = new_study(storage, backend, "mo", ["minimize", "maximize"])
    tm = storage.create_new_trial(mo)
    storage.set_trial_intermediate_value(tm, 1, [0.5, 2.0])
    storage.set_trial_intermediate_value(tm, 2, [0.25, 3.0])
    t = storage.get_trial(tid)
    assert t.intermediate_values == {0: 1.0 / 3.0, 3: 0.125, 10: math.inf}
    assert sorted(t.intermediate_values) == [0, 3, 10]
    assert t.last_step == 10
    assert storage.get_trial(tm).intermediate_values == {1: [0.5, 2.0], 2: [0.25, 3.0]}
    assert storage.get_all_trials(mo)[0].intermediate_values == {1: [0.5, 2.0], 2: [0.25, 3.0]}


def test_trial_user_and_system_attrs(storage, backend):
    sid = new_study(storage, backend)
    tid = storage.create_new_trial(
        sid, system_attrs={keys.FIXED_PARAMS: {"x": 1}}, user_attrs={"tag": "a"}
    )
    for k, v in JSON_VALUES.items():
        storage.set_trial_user_attr(tid, k, v)
        storage.set_trial_system_attr(tid, "sys:" + k, v)
    storage.set_trial_user_attr(tid, "tag", "b")  # overwrite
    t = storage.get_trial(tid)
    assert t.user_attrs == {**JSON_VALUES, "tag": "b"}
    assert t.system_attrs == {keys.FIXED_PARAMS: {"x": 1},
                              **{"sys:" + k: v for k, v in JSON_VALUES.items()}}
    for bad in NOT_JSON:
        with pytest.raises(TypeError):
            storage.set_trial_user_attr(tid, "bad", bad)
        with pytest.raises(TypeError):
            storage.set_trial_system_attr(tid, "bad", bad)
    with pytest.raises(TypeError):
        storage.create_new_trial(sid, user_attrs={"bad": object()})
    t = storage.get_trial(tid)
    assert "bad" not in t.user_attrs and "bad" not in t.system_attrs
    assert storage.get_all_trials(sid)[0].user_attrs == t.user_attrs


# --- heartbeats -----------------------------------------------------------------------------


def test_heartbeat_fails_stale_trials_with_a_reason(backend):
    plain = backend.open()
    sid = new_study(plain, backend)
    assert not plain.is_heartbeat_enabled()
    plain.create_new_trial(sid)
    assert plain.fail_stale_trials(sid) == []  # heartbeats off: nothing is ever stale

    grace = 1.0  # the slack of `alive` below, beaten just before the check
    s = backend.open(heartbeat_interval=0.1, grace_period=grace)
    if backend.kind == "memory":  # the handle is the data: start from a study of its own
        sid = new_study(s, backend, "hb")
    assert s.is_heartbeat_enabled()
    stale = s.create_new_trial(sid)
    alive = s.create_new_trial(sid)
    waiting = s.create_new_trial(sid, state=TS.WAITING)
    done = s.create_new_trial(sid)
    s.set_trial_state_values(done, TS.COMPLETE, [1.0])
    time.sleep(grace + 0.1)
    s.record_heartbeat(alive)
    assert s.fail_stale_trials(sid) == [stale]
    t = s.get_trial(stale)
    assert t.state == TS.FAIL and t.datetime_complete is not None
    assert "heartbeat" in t.system_attrs[keys.FAIL_REASON]
    assert s.get_trial(alive).state == TS.RUNNING
    assert s.get_trial(waiting).state == TS.WAITING
    assert s.get_trial(done).state == TS.COMPLETE
    # The worker that comes back cannot finish the failed trial.
    assert s.set_trial_state_values(stale, TS.COMPLETE, [0.0]) is False
    assert s.fail_stale_trials(sid) == []  # failed once only


def test_stale_trial_that_has_a_fail_reason_is_failed(backend):
    s = backend.open(heartbeat_interval=0.1, grace_period=0.2)
    sid = new_study(s, backend)
    tid = s.create_new_trial(sid)
    s.set_trial_system_attr(tid, keys.FAIL_REASON, "KeyboardInterrupt: ")
    time.sleep(0.35)
    assert s.fail_stale_trials(sid) == [tid]
    t = s.get_trial(tid)
    assert t.state == TS.FAIL and "heartbeat" in t.system_attrs[keys.FAIL_REASON]


def test_restarted_trial_has_a_heartbeat(backend):
    s = backend.open(heartbeat_interval=0.1, grace_period=0.2)
    sid = new_study(s, backend)
    popped = s.create_new_trial(sid, state=TS.WAITING)
    restarted = s.create_new_trial(sid, state=TS.WAITING)
    assert s.pop_waiting_trial_id(sid) == popped
    assert s.set_trial_state_values(restarted, TS.RUNNING) is True
    time.sleep(0.35)
    assert sorted(s.fail_stale_trials(sid)) == [popped, restarted]


# --- finished and deleted -------------------------------------------------------------------


def test_writes_to_a_finished_trial_are_refused(storage, backend):
    """Finished trials never change (Optuna: UpdateFinishedTrialError), so caches hold."""
    sid = new_study(storage, backend)
    tid = storage.create_new_trial(sid)
    storage.set_trial_state_values(tid, TS.COMPLETE, [1.0])
    assert storage.get_all_trials(sid)[0].user_attrs == {}
    for write in (
        lambda: storage.set_trial_user_attr(tid, "late", 1),
        lambda: storage.set_trial_system_attr(tid, "late", 2),
        lambda: storage.set_trial_intermediate_value(tid, 5, 0.5),
        lambda: storage.set_trial_param(tid, "late", 0.5, FloatDistribution(0, 1)),
    ):
        with pytest.raises(UpdateFinishedTrialError, match="already finished"):
            write()
    fresh = storage.get_trial(tid)
    listed = storage.get_all_trials(sid)[0]
    assert fresh.user_attrs == listed.user_attrs == {}
    assert "late" not in fresh.system_attrs and fresh.intermediate_values == {}
    assert fresh.params == {}
    with pytest.raises(KeyError):
        storage.set_trial_user_attr(10**9, "x", 1)


def _reuse_ids(storage, backend) -> tuple[int, int]:
    a = new_study(storage, backend, "A")
    storage.create_new_trial(a)  # RUNNING
    storage.get_all_trials(a)  # read: SQLStorage caches the study's trials
    storage.delete_study(a)
    c = new_study(storage, backend, "C")  # SQLite reuses A's study id for C ...
    d = new_study(storage, backend, "D")
    storage.create_new_trial(d)  # ... and A's trial id for D's trial
    return c, d


def test_deleted_study_leaves_nothing_behind(backend):
    storage = backend.open()
    c, d = _reuse_ids(storage, backend)
    assert storage.get_all_trials(c) == []
    assert [t.number for t in storage.get_all_trials(d)] == [0]


def test_deleted_study_by_another_handle(backend):
    reader = backend.open()
    a = new_study(reader, backend, "A")
    tid = reader.create_new_trial(a)
    reader.set_trial_state_values(tid, TS.COMPLETE, [1.0])
    assert len(reader.get_all_trials(a)) == 1  # cached by the reader
    writer = backend.open()
    writer.delete_study(a)
    c = new_study(writer, backend, "C")
    assert reader.get_all_trials(c) == []


def test_summaries(storage, backend):
    sid = new_study(storage, backend, directions=["maximize"])
    for v in (1.0, 3.0, 2.0):
        tid = storage.create_new_trial(sid)
        storage.set_trial_state_values(tid, TS.COMPLETE, [v])
    storage.create_new_trial(sid)
    storage.set_study_user_attr(sid, "k", "v")
    (summary,) = [s for s in storage.get_all_studies() if s.study_name == backend.name()]
    assert summary.study_id == sid
    assert summary.directions == ["maximize"]
    assert (summary.n_trials, summary.n_complete) == (4, 3)
    assert summary.best_values == [3.0]
    assert summary.user_attrs == {"k": "v"}
    assert summary.datetime_start is not None
