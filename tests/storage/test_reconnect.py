"""Lost connections in the SQL storage: retried with backoff, a commit in doubt never
repeated (no second trial, no lost claim), a clear error after ``reconnect_timeout``.

A lost connection is simulated on SQLite by making a commit raise the driver's disconnect
error *after* it committed (the worst case: the write happened, the answer was lost), or
before it (nothing happened). PostgreSQL restarts and TCP resets are in
``tests/parallel/test_faults.py``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import base as sa_base

import slimtune as st
from slimtune.distributions import FloatDistribution
from slimtune.storage.sql import StorageUnavailableError, is_disconnect
from slimtune.trial import TrialState

LOST = "consuming input failed: server closed the connection unexpectedly"


def _lost() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("COMMIT", {}, Exception(LOST))


@pytest.fixture
def lose_commits(monkeypatch):
    """``lose(n, after=True, skip=0)``: after ``skip`` commits, the next ``n`` raise a lost
    connection, after (or before) they commit."""
    state = {"n": 0, "after": True, "seen": 0, "skip": 0}
    orig = sa_base.Connection._commit_impl

    def commit(self):
        if state["skip"] > 0:
            state["skip"] -= 1
        elif state["n"] > 0:
            state["n"] -= 1
            state["seen"] += 1
            if state["after"]:
                orig(self)
            raise _lost()
        return orig(self)

    monkeypatch.setattr(sa_base.Connection, "_commit_impl", commit)

    def lose(n: int = 1, after: bool = True, skip: int = 0) -> dict:
        state.update(n=n, after=after, seen=0, skip=skip)
        return state

    return lose


@pytest.fixture
def storage(tmp_path):
    s = st.SQLStorage(f"sqlite:///{tmp_path}/r.db", heartbeat_interval=None)
    yield s
    s.close()


def test_disconnect_errors_are_recognised():
    assert is_disconnect(_lost())
    assert not is_disconnect(sa.exc.OperationalError("x", {}, Exception("syntax error")))
    assert not is_disconnect(ValueError(LOST))


@pytest.mark.parametrize("after", [True, False])
def test_new_trial_is_created_once(storage, lose_commits, after):
    sid = storage.create_new_study(["minimize"], "s")
    state = lose_commits(1, after=after)
    tid = storage.create_new_trial(sid)
    assert state["seen"] == 1
    trials = storage.get_all_trials(sid)
    assert [t.trial_id for t in trials] == [tid] and trials[0].number == 0
    assert storage.create_new_trial(sid) != tid  # the counter went on by one only
    assert [t.number for t in storage.get_all_trials(sid)] == [0, 1]


def test_claimed_waiting_trial_is_not_lost(storage, lose_commits):
    study = st.create_study(storage=storage, study_name="w")
    study.enqueue_trial({"x": 0.25})
    study.enqueue_trial({"x": 0.75})
    state = lose_commits(1, skip=1)  # the claim's commit, not the read's before it
    tid = storage.pop_waiting_trial_id(study.study_id)
    assert state["seen"] == 1
    first = storage.get_trial(tid)
    assert first.number == 0 and first.state == TrialState.RUNNING
    # The second waiting trial is still waiting: the retry did not claim it as well.
    assert [t.state for t in storage.get_all_trials(study.study_id)] == [
        TrialState.RUNNING,
        TrialState.WAITING,
    ]


def test_param_state_and_failure_writes_survive_a_lost_commit(storage, lose_commits):
    sid = storage.create_new_study(["minimize"], "p")
    a = storage.create_new_trial(sid)
    lose_commits(1)
    storage.set_trial_param(a, "x", 0.5, FloatDistribution(0, 1))  # no duplicate-key error
    lose_commits(1)
    assert storage.set_trial_state_values(a, TrialState.COMPLETE, [1.5]) is True
    got = storage.get_trial(a)
    assert got.params == {"x": 0.5} and got.state == TrialState.COMPLETE and got.values == [1.5]
    b = storage.create_new_trial(sid)
    lose_commits(1)
    assert storage.fail_trial(b, "its worker died") is True  # the callback would run
    assert storage.get_trial(b).system_attrs["fail_reason"] == "its worker died"


@pytest.fixture
def break_mid_statement(monkeypatch):
    """``brk(storage, sql)``: the next statement starting with ``sql`` dies with a lost
    socket, and the ROLLBACK that would follow on that connection fails as libpq's does on a
    socket that broke mid-query ("another command is already in progress"). Returns a
    dict counting what happened."""
    import sqlite3

    def brk(storage: st.SQLStorage, sql: str) -> dict:
        seen = {"broken": 0, "rollbacks_on_it": 0, "used_after": 0, "dead": set()}
        dialect = storage.engine.dialect
        do_execute, do_rollback = dialect.do_execute, dialect.do_rollback

        def execute(cursor, statement, parameters, context=None):
            if id(cursor.connection) in seen["dead"]:  # a dead socket stays dead
                seen["used_after"] += 1
                raise sqlite3.OperationalError("connection socket closed")
            if statement.lstrip().upper().startswith(sql) and seen["broken"] == 0:
                seen["broken"] += 1
                seen["dead"].add(id(cursor.connection))
                raise sqlite3.OperationalError("connection socket closed")
            return do_execute(cursor, statement, parameters, context)

        def rollback(dbapi_conn):
            if id(dbapi_conn) in seen["dead"]:
                seen["rollbacks_on_it"] += 1
                raise sqlite3.OperationalError(
                    "sending query failed: another command is already in progress"
                )
            return do_rollback(dbapi_conn)

        monkeypatch.setattr(dialect, "do_execute", execute)
        monkeypatch.setattr(dialect, "do_rollback", rollback)
        return seen

    return brk


@pytest.mark.parametrize("sql", ["SELECT", "UPDATE"])
def test_a_connection_broken_mid_statement_is_dropped_and_retried(
    storage, break_mid_statement, sql
):
    """The failed rollback of a broken connection must not end the retry (it did: the worker
    exited on 'another command is already in progress'), and the broken connection must not
    go back to the pool: the write and the read go on over a new one."""
    sid = storage.create_new_study(["minimize"], "b")
    storage.create_new_trial(sid)
    seen = break_mid_statement(storage, sql)
    if sql == "UPDATE":  # a write: the trial counter is bumped with an UPDATE
        tid = storage.create_new_trial(sid)
        assert storage.get_trial(tid).number == 1
    assert [t.number for t in storage.get_all_trials(sid)] == [0, 1][: 1 + (sql == "UPDATE")]
    for _ in range(3):  # more work over the pool: the broken connection is not in it
        storage.create_new_trial(sid)
        storage.get_all_trials(sid)
    assert seen["broken"] == 1
    assert seen["used_after"] == 0 and seen["rollbacks_on_it"] <= 1


def test_unreachable_for_longer_than_reconnect_timeout_is_a_clear_error(tmp_path, lose_commits):
    s = st.SQLStorage(f"sqlite:///{tmp_path}/g.db", heartbeat_interval=None, reconnect_timeout=0.3)
    sid = s.create_new_study(["minimize"], "g")
    lose_commits(10**6, after=False)
    with pytest.raises(StorageUnavailableError, match=r"reconnect_timeout=0.3s.*raise reconnect"):
        s.create_new_trial(sid)
    lose_commits(0)
    assert s.get_all_trials(sid) == []  # nothing was half-written


def test_reconnect_timeout_is_validated_and_pickled(tmp_path):
    import pickle

    with pytest.raises(ValueError, match="reconnect_timeout"):
        st.SQLStorage(f"sqlite:///{tmp_path}/v.db", reconnect_timeout=-1)
    s = st.SQLStorage(f"sqlite:///{tmp_path}/v.db", reconnect_timeout=5)
    assert pickle.loads(pickle.dumps(s)).reconnect_timeout == 5.0
