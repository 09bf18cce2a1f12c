"""SQL storage through SQLAlchemy 2 Core: SQLite (default, embedded) and PostgreSQL.

Design points
* Core statements, no ORM: a trial costs a handful of short transactions.
* SQLite: WAL journal, ``synchronous=NORMAL``, a busy timeout, and every write transaction
  opened with ``BEGIN IMMEDIATE`` so that concurrent writers queue on the busy handler
  instead of failing on a read-to-write lock upgrade. A write that still meets "database is
  locked" is retried with backoff.
* Trial numbers come from a per-study counter bumped with ``UPDATE ... RETURNING`` inside
  the trial's insert transaction: atomic on both back ends, so several processes never
  duplicate or skip a number.
* No cache here: every read asks the database. The read cache of finished trials is a
  separate layer, :class:`slimtune.storage.cached.CachedStorage`, which studies put in
  front of this storage (``get_storage`` does), reading through :meth:`read_trials`.
* Ids are never reused (``AUTOINCREMENT`` on SQLite, sequences on PostgreSQL), so a
  cache keyed by id stays right when studies are deleted and created.
* Heartbeats are on by default (:mod:`slimtune.storage.heartbeat`).
* A lost connection (the server restarted, a network blip) is retried with backoff for up
  to ``reconnect_timeout`` seconds (default 60), then :class:`StorageUnavailableError`.
  A write whose commit was in doubt when the connection broke is checked before it is
  run again (the new trial, the claimed waiting trial, the param, the state), so a retry
  never creates a second trial or loses a claimed one. A connection that broke is invalidated
  at once: nothing is rolled back on its dead socket and it never goes back to the pool.
* Everything is JSON; the schema version is stored and checked on open.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import math
import random
import time
from collections.abc import Callable, Container, Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from slimtune import keys
from slimtune.distributions import (
    BaseDistribution,
    distribution_to_json,
    json_to_distribution,
)
from slimtune.storage.base import (
    SCHEMA_VERSION,
    BaseStorage,
    DuplicatedStudyError,
    StudyNotFoundError,
    UpdateFinishedTrialError,
)
from slimtune.storage.heartbeat import resolve
from slimtune.trial import FrozenTrial, TrialState

T = TypeVar("T")

logger = logging.getLogger("slimtune")

metadata = sa.MetaData()

meta_table = sa.Table(
    "slimtune_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
studies = sa.Table(
    "studies",
    metadata,
    sa.Column("study_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("study_name", sa.String(512), nullable=False, unique=True),
    sa.Column("directions", sa.Text, nullable=False),
    sa.Column("next_number", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sqlite_autoincrement=True,
)
study_attrs = sa.Table(
    "study_attrs",
    metadata,
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("studies.study_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value_json", sa.Text, nullable=False),
)
trials = sa.Table(
    "trials",
    metadata,
    sa.Column("trial_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "study_id",
        sa.Integer,
        sa.ForeignKey("studies.study_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("state", sa.Integer, nullable=False, index=True),
    sa.Column("values_json", sa.Text, nullable=True),
    sa.Column("datetime_start", sa.Float, nullable=True),
    sa.Column("datetime_complete", sa.Float, nullable=True),
    sa.Column("heartbeat", sa.Float, nullable=True),
    sa.UniqueConstraint("study_id", "number", name="uq_trial_number"),
    sqlite_autoincrement=True,
)
trial_params = sa.Table(
    "trial_params",
    metadata,
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("trials.trial_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("name", sa.String(512), primary_key=True),
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("distribution_json", sa.Text, nullable=False),
)
trial_values = sa.Table(  # intermediate values
    "trial_intermediate",
    metadata,
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("trials.trial_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("step", sa.Integer, primary_key=True),
    sa.Column("value_json", sa.Text, nullable=False),
)
trial_attrs = sa.Table(
    "trial_attrs",
    metadata,
    sa.Column(
        "trial_id",
        sa.Integer,
        sa.ForeignKey("trials.trial_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("value_json", sa.Text, nullable=False),
)


class SchemaVersionError(RuntimeError):
    """The database was written by an incompatible version of slimtune."""


class StorageUnavailableError(RuntimeError):
    """The database stayed unreachable for longer than the storage's ``reconnect_timeout``."""


#: Seconds a storage keeps retrying a lost connection before it gives up.
DEFAULT_RECONNECT_TIMEOUT = 60.0

# What a lost connection says, in the drivers' words (psycopg, sqlite3 never does).
_DISCONNECT_WORDS = (
    "connection refused",
    "server closed the connection",
    "terminating connection",
    "could not connect",
    "connection failed",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "connection reset",
    "broken pipe",
    "connection timed out",
    "connection is closed",
    "connection is lost",
    "consuming input failed",
    "no connection to the server",
    "ssl syscall error",
    "server conn crashed",
    # libpq refuses to send on a connection whose last query broke off mid-way: the socket
    # died during it. The connection is unusable; a new one is needed.
    "another command is already in progress",
    "connection socket closed",
)


def is_disconnect(e: BaseException) -> bool:
    """True when ``e`` means the connection to the database was lost or refused."""
    if not isinstance(e, DBAPIError):
        return False
    if e.connection_invalidated:
        return True
    msg = str(e).lower()
    return any(w in msg for w in _DISCONNECT_WORDS)


def _dumps(value: Any, what: str) -> str:
    try:
        return json.dumps(value, allow_nan=True)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what} must be JSON-serialisable: {e}") from None


def _ts(x: float | None) -> _dt.datetime | None:
    return _dt.datetime.fromtimestamp(x) if x is not None else None


def _values_to_json(values: Sequence[float] | None) -> str | None:
    if values is None:
        return None
    # JSON has no inf; store it as a string so that it round-trips exactly.
    return json.dumps([v if math.isfinite(v) else repr(float(v)) for v in values])


def _values_from_json(s: str | None) -> list[float] | None:
    if s is None:
        return None
    return [float(v) for v in json.loads(s)]


class SQLStorage(BaseStorage):
    """A study database: ``sqlite:///path.db`` or ``postgresql+psycopg://user@host/db``.

    Heartbeats are on by default (every ``heartbeat_interval`` = 10 s; a RUNNING trial
    without a beat for ``grace_period`` = 30 s is failed, and handed to
    ``failed_trial_callback``, e.g. ``RetryFailedTrialCallback()``); pass
    ``heartbeat_interval=None`` to turn them off.
    """

    def __init__(
        self,
        url: str,
        heartbeat_interval: Any = "default",
        grace_period: float | None = None,
        engine_kwargs: dict[str, Any] | None = None,
        failed_trial_callback: Any = None,
        reconnect_timeout: float = DEFAULT_RECONNECT_TIMEOUT,
    ):
        if not isinstance(url, str) or "://" not in url:
            raise ValueError(
                f"storage={url!r} is not a database URL; use e.g. 'sqlite:///study.db' or "
                "'postgresql+psycopg://user:pass@host/dbname'."
            )
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        self.url = url
        self.heartbeat_interval, self.grace_period = resolve(heartbeat_interval, grace_period)
        self.failed_trial_callback = failed_trial_callback
        if not (isinstance(reconnect_timeout, (int, float)) and reconnect_timeout >= 0):
            raise ValueError(
                f"reconnect_timeout={reconnect_timeout!r}: use seconds >= 0 (0: never retry)."
            )
        self.reconnect_timeout = float(reconnect_timeout)
        self._engine_kwargs = dict(engine_kwargs or {})
        self._init_engine()

    # --- engine -----------------------------------------------------------------------
    def _init_engine(self) -> None:
        self.is_sqlite = self.url.startswith("sqlite")
        kw = dict(self._engine_kwargs)
        if self.is_sqlite:
            kw.setdefault("connect_args", {}).setdefault("timeout", 60.0)
            kw.setdefault("connect_args", {})["check_same_thread"] = False
        # No pool_pre_ping (a round trip before every transaction): a pooled connection
        # that died is a lost connection like any other, retried by _write and _read.
        try:
            self.engine = sa.create_engine(self.url, **kw)
        except Exception as e:  # noqa: BLE001 - report what is missing, e.g. the driver
            raise ValueError(f"cannot open storage {self.url!r}: {e}") from e
        if self.is_sqlite:

            @event.listens_for(self.engine, "connect")
            def _on_connect(dbapi_conn: Any, _rec: Any) -> None:
                dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
                cur.execute("PRAGMA foreign_keys=ON")
                cur.close()

            @event.listens_for(self.engine, "begin")
            def _on_begin(conn: sa.Connection) -> None:
                write = conn.get_execution_options().get("slimtune_write", False)
                conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

        self._write_opts = {"slimtune_write": True}
        # PostgreSQL reads run in autocommit: under READ COMMITTED every statement takes its
        # own snapshot anyway, and this saves the COMMIT round trip of each read. SQLite
        # reads keep their transaction (one consistent snapshot of the WAL).
        self._read_opts: dict[str, Any] = (
            {} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"}
        )
        self._create_schema()

    def _create_schema(self) -> None:
        def create(conn: sa.Connection) -> None:
            metadata.create_all(conn)
            row = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).first()
            if row is None:
                try:
                    conn.execute(
                        meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                    )
                except IntegrityError:
                    pass
            elif row[0] != str(SCHEMA_VERSION):
                raise SchemaVersionError(
                    f"storage {self.url!r} has schema version {row[0]}, this slimtune reads "
                    f"version {SCHEMA_VERSION}. Use the slimtune version that wrote it, or "
                    "start a new database."
                )

        try:
            self._write(create)
        except IntegrityError:  # another process created the schema at the same time
            self._write(create)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
            "failed_trial_callback": self.failed_trial_callback,
            "reconnect_timeout": self.reconnect_timeout,
            "_engine_kwargs": self._engine_kwargs,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        state.setdefault("reconnect_timeout", DEFAULT_RECONNECT_TIMEOUT)
        self.__dict__.update(state)
        self._init_engine()

    def close(self) -> None:
        self.engine.dispose()

    # --- transaction helpers -------------------------------------------------------------
    def _write(
        self,
        fn: Callable[[sa.Connection], T],
        recover: Callable[[sa.Connection], T | None] | None = None,
    ) -> T:
        """Run ``fn`` in a write transaction; retry on a locked database with backoff, and
        on a lost connection for up to ``reconnect_timeout`` s. After a lost connection the
        commit may have happened: ``recover`` (if given) looks for the write's effect first
        and returns its result, or None when the write must run again."""
        delay = 0.01
        locked = 0
        lost: tuple[float, int] | None = None
        while True:
            try:
                with self._connection(self._write_opts) as conn:
                    with conn.begin():
                        if lost is not None and recover is not None:
                            done = recover(conn)
                            if done is not None:
                                return done
                        return fn(conn)
            except DBAPIError as e:
                if is_disconnect(e):
                    lost = self._lost(e, lost)
                    continue
                if not isinstance(e, OperationalError):
                    raise
                msg = str(e).lower()
                retryable = "locked" in msg or "busy" in msg or "deadlock" in msg
                locked += 1
                if not retryable or locked >= 60:
                    raise
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 1.0)

    @contextlib.contextmanager
    def _connection(self, opts: dict[str, Any]) -> Iterator[sa.Connection]:
        """A pooled connection for one transaction. A connection that breaks is invalidated
        on the spot, *before* anything rolls back on it: a ROLLBACK sent on a socket that
        broke mid-query fails with "another command is already in progress", which would
        hide the lost connection (and end the retry), and the broken connection must never
        go back to the pool. ``conn.begin()`` runs inside this, so its rollback on the way
        out meets an invalidated connection and sends nothing."""
        conn = self.engine.connect().execution_options(**opts)
        try:
            try:
                yield conn
            except BaseException as e:
                if isinstance(e, DBAPIError) and is_disconnect(e) and not conn.invalidated:
                    conn.invalidate()
                raise
        finally:
            try:
                conn.close()
            except DBAPIError as e:
                # Closing rolls back what is still open; on a broken socket that fails,
                # and the pool must drop the connection instead.
                if not is_disconnect(e):
                    raise
                conn.invalidate()
                conn.close()

    def _lost(self, e: BaseException, lost: tuple[float, int] | None) -> tuple[float, int]:
        """A lost connection: wait (backoff) and return (when it was first lost, tries), or
        raise :class:`StorageUnavailableError` once ``reconnect_timeout`` has passed."""
        now = time.monotonic()
        if lost is None:
            lost = (now, 0)
            logger.warning(
                "lost the connection to %s; retrying: %s", self._safe_url(), str(e).splitlines()[0]
            )
        else:
            logger.debug("still no connection to %s: %s", self._safe_url(), str(e).splitlines()[0])
        since, n = lost
        waited = now - since
        if waited >= self.reconnect_timeout:
            raise StorageUnavailableError(
                f"storage {self._safe_url()} unreachable for {waited:.0f}s "
                f"(reconnect_timeout={self.reconnect_timeout:g}s): {str(e).splitlines()[0]}. "
                "Check that the database server is up, or raise reconnect_timeout."
            ) from e
        # 0.05 s, doubling to 2 s, with jitter so that many workers do not reconnect at once.
        pause = min(0.05 * 2**n, 2.0, max(self.reconnect_timeout - waited, 0.0))
        time.sleep(pause * (0.5 + random.random() / 2))
        self.engine.dispose(close=False)  # drop the pool's dead connections
        return since, n + 1

    def _safe_url(self) -> str:
        try:
            return sa.make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001
            return "the database"

    @staticmethod
    def _check_unfinished(conn: sa.Connection, trial_id: int) -> None:
        """In a write transaction: the trial exists and is not finished (finished trials
        never change, which is what lets a cache keep them)."""
        row = conn.execute(
            sa.select(trials.c.state, trials.c.number).where(trials.c.trial_id == trial_id)
        ).first()
        if row is None:
            raise KeyError(f"no trial with id {trial_id}.")
        state = TrialState(row[0])
        if state.is_finished():
            raise UpdateFinishedTrialError(
                f"trial {row[1]} is already finished ({state.name}) and cannot be changed."
            )

    def _upsert(
        self, table: sa.Table, keys: dict[str, Any], value_json: str, trial: bool = False
    ) -> None:
        """Set ``value_json`` of the row with primary key ``keys`` (update, else insert);
        ``trial=True``: the row belongs to ``keys["trial_id"]``, which must be unfinished."""

        def go(conn: sa.Connection) -> None:
            if trial:
                self._check_unfinished(conn, keys["trial_id"])
            cond = [table.c[k] == v for k, v in keys.items()]
            n = conn.execute(table.update().where(*cond).values(value_json=value_json)).rowcount
            if n == 0:
                conn.execute(table.insert().values(**keys, value_json=value_json))

        self._write(go)

    def _read(self, fn: Callable[[sa.Connection], T]) -> T:
        lost: tuple[float, int] | None = None
        while True:
            try:
                with self._connection(self._read_opts) as conn:
                    if self.is_sqlite:
                        with conn.begin():
                            return fn(conn)
                    return fn(conn)
            except DBAPIError as e:
                if not is_disconnect(e):
                    raise
                lost = self._lost(e, lost)

    # --- studies ----------------------------------------------------------------------
    def create_new_study(self, directions: Sequence[str], study_name: str) -> int:
        def go(conn: sa.Connection) -> int:
            res = conn.execute(
                studies.insert().values(
                    study_name=study_name,
                    directions=json.dumps(list(directions)),
                    next_number=0,
                    created_at=time.time(),
                )
            )
            return int(res.inserted_primary_key[0])

        try:
            return self._write(go)
        except IntegrityError:
            raise DuplicatedStudyError(f"a study named {study_name!r} already exists.") from None

    def delete_study(self, study_id: int) -> None:
        self.get_study_name_from_id(study_id)

        def go(conn: sa.Connection) -> None:
            tids = sa.select(trials.c.trial_id).where(trials.c.study_id == study_id)
            for tab in (trial_params, trial_values, trial_attrs):
                conn.execute(tab.delete().where(tab.c.trial_id.in_(tids)))
            conn.execute(trials.delete().where(trials.c.study_id == study_id))
            conn.execute(study_attrs.delete().where(study_attrs.c.study_id == study_id))
            conn.execute(studies.delete().where(studies.c.study_id == study_id))

        self._write(go)

    def get_study_id_from_name(self, study_name: str) -> int:
        row = self._read(
            lambda c: c.execute(
                sa.select(studies.c.study_id).where(studies.c.study_name == study_name)
            ).first()
        )
        if row is None:
            raise StudyNotFoundError(f"no study named {study_name!r} in {self.url}.")
        return int(row[0])

    def _study_row(self, study_id: int) -> Any:
        row = self._read(
            lambda c: c.execute(sa.select(studies).where(studies.c.study_id == study_id)).first()
        )
        if row is None:
            raise StudyNotFoundError(f"no study with id {study_id} in {self.url}.")
        return row

    def get_study_name_from_id(self, study_id: int) -> str:
        return str(self._study_row(study_id).study_name)

    def get_study_directions(self, study_id: int) -> list[str]:
        return list(json.loads(self._study_row(study_id).directions))

    def _set_study_attr(self, study_id: int, kind: str, key: str, value: Any) -> None:
        vj = _dumps(value, f"study {kind} attr {key!r}")
        self._upsert(study_attrs, {"study_id": study_id, "kind": kind, "key": key}, vj)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self._set_study_attr(study_id, "user", key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self._set_study_attr(study_id, "system", key, value)

    def _study_attrs(self, study_id: int, kind: str) -> dict[str, Any]:
        rows = self._read(
            lambda c: c.execute(
                sa.select(study_attrs.c.key, study_attrs.c.value_json).where(
                    study_attrs.c.study_id == study_id, study_attrs.c.kind == kind
                )
            ).all()
        )
        return {k: json.loads(v) for k, v in rows}

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return self._study_attrs(study_id, "user")

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return self._study_attrs(study_id, "system")

    def get_all_study_names(self) -> list[str]:
        rows = self._read(
            lambda c: c.execute(sa.select(studies.c.study_name).order_by(studies.c.study_id)).all()
        )
        return [r[0] for r in rows]

    # --- trials -----------------------------------------------------------------------
    def create_new_trial(
        self,
        study_id: int,
        state: TrialState = TrialState.RUNNING,
        system_attrs: dict[str, Any] | None = None,
        user_attrs: dict[str, Any] | None = None,
    ) -> int:
        attrs = [
            ("system", k, _dumps(v, f"system attr {k!r}")) for k, v in (system_attrs or {}).items()
        ]
        attrs += [("user", k, _dumps(v, f"user attr {k!r}")) for k, v in (user_attrs or {}).items()]
        now = time.time()
        running = state == TrialState.RUNNING

        def go(conn: sa.Connection) -> int:
            row = conn.execute(
                studies.update()
                .where(studies.c.study_id == study_id)
                .values(next_number=studies.c.next_number + 1)
                .returning(studies.c.next_number)
            ).first()
            if row is None:
                raise StudyNotFoundError(f"no study with id {study_id} in {self.url}.")
            number = int(row[0]) - 1
            res = conn.execute(
                trials.insert().values(
                    study_id=study_id,
                    number=number,
                    state=int(state),
                    datetime_start=now if running else None,
                    heartbeat=now if running and self.heartbeat_interval else None,
                )
            )
            tid = int(res.inserted_primary_key[0])
            if attrs:
                conn.execute(
                    trial_attrs.insert(),
                    [
                        {"trial_id": tid, "kind": k, "key": key, "value_json": v}
                        for k, key, v in attrs
                    ],
                )
            return tid

        def recover(conn: sa.Connection) -> int | None:
            # The commit of an earlier try may have happened: its trial has this start time
            # (to the microsecond) and is still RUNNING. (A WAITING trial has no start time;
            # its creation is retried as it is.)
            if not running:
                return None
            row = conn.execute(
                sa.select(trials.c.trial_id).where(
                    trials.c.study_id == study_id,
                    trials.c.datetime_start == now,
                    trials.c.state == int(TrialState.RUNNING),
                )
            ).first()
            return None if row is None else int(row[0])

        return self._write(go, recover)

    def pop_waiting_trial_id(self, study_id: int) -> int | None:
        # Most asks find no waiting trial: a plain read says so without a write transaction
        # (SQLite's write lock, a COMMIT round trip). One enqueued just after it is the next
        # ask's; claiming stays atomic below.
        waiting = self._read(
            lambda c: c.execute(
                sa.select(trials.c.trial_id)
                .where(trials.c.study_id == study_id, trials.c.state == int(TrialState.WAITING))
                .limit(1)
            ).first()
        )
        if waiting is None:
            return None
        for _ in range(100):
            now = time.time()

            def go(conn: sa.Connection, now: float = now) -> tuple[bool, int | None]:
                row = conn.execute(
                    sa.select(sa.func.min(trials.c.trial_id)).where(
                        trials.c.study_id == study_id, trials.c.state == int(TrialState.WAITING)
                    )
                ).first()
                if row is None or row[0] is None:
                    return True, None
                tid = int(row[0])
                n = conn.execute(
                    trials.update()
                    .where(trials.c.trial_id == tid, trials.c.state == int(TrialState.WAITING))
                    .values(
                        state=int(TrialState.RUNNING),
                        datetime_start=now,
                        heartbeat=now if self.heartbeat_interval else None,
                    )
                ).rowcount
                return n == 1, tid if n == 1 else None

            def recover(
                conn: sa.Connection, now: float = now
            ) -> tuple[bool, int | None] | None:
                # An earlier try's commit may have claimed a trial: it started at ``now``.
                row = conn.execute(
                    sa.select(trials.c.trial_id).where(
                        trials.c.study_id == study_id,
                        trials.c.datetime_start == now,
                        trials.c.state == int(TrialState.RUNNING),
                    )
                ).first()
                return None if row is None else (True, int(row[0]))

            done, tid = self._write(go, recover)
            if done:
                return tid
        return None

    def set_trial_param(
        self, trial_id: int, name: str, internal: float, distribution: BaseDistribution
    ) -> None:
        dj = distribution_to_json(distribution)

        unfinished = [int(x) for x in TrialState if not x.is_finished()]

        def go(conn: sa.Connection) -> bool:
            # One statement: insert only while the trial is unfinished; when nothing was
            # inserted, the check says why (a missing or finished trial).
            row = conn.execute(
                trial_params.insert().from_select(
                    ["trial_id", "name", "value", "distribution_json"],
                    sa.select(
                        sa.literal(trial_id, sa.Integer),
                        sa.literal(name, sa.String),
                        sa.literal(float(internal), sa.Float),
                        sa.literal(dj, sa.Text),
                    ).where(
                        sa.exists().where(
                            trials.c.trial_id == trial_id, trials.c.state.in_(unfinished)
                        )
                    ),
                )
                .returning(trial_params.c.trial_id)
            ).first()
            if row is None:
                self._check_unfinished(conn, trial_id)
                raise RuntimeError(f"could not store param {name!r} of trial id {trial_id}.")
            return True

        def recover(conn: sa.Connection) -> bool | None:  # an earlier try's commit happened
            row = conn.execute(
                sa.select(trial_params.c.value).where(
                    trial_params.c.trial_id == trial_id, trial_params.c.name == name
                )
            ).first()
            return True if row is not None and row[0] == float(internal) else None

        self._write(go, recover)

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        now = time.time()
        vals: dict[str, Any] = {"state": int(state)}
        if values is not None:
            vals["values_json"] = _values_to_json(values)
        if state.is_finished():
            vals["datetime_complete"] = now
        elif state == TrialState.RUNNING:
            vals["datetime_start"] = now
            if self.heartbeat_interval:
                vals["heartbeat"] = now
        if state == TrialState.RUNNING:
            allowed = [int(TrialState.WAITING)]
        else:
            allowed = [int(TrialState.RUNNING), int(TrialState.WAITING)]

        def recover(conn: sa.Connection) -> int | None:  # an earlier try's commit happened
            row = conn.execute(
                sa.select(trials.c.state, trials.c.values_json).where(
                    trials.c.trial_id == trial_id
                )
            ).first()
            if row is None or row[0] != int(state) or not state.is_finished():
                return None
            return 1 if values is None or row[1] == vals["values_json"] else None

        n = self._write(
            lambda c: (
                c.execute(
                    trials.update()
                    .where(trials.c.trial_id == trial_id, trials.c.state.in_(allowed))
                    .values(**vals)
                ).rowcount
            ),
            recover,
        )
        return n == 1

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: Any) -> None:
        vj = _dumps(value, "intermediate value")
        self._upsert(trial_values, {"trial_id": trial_id, "step": int(step)}, vj, trial=True)

    def _set_trial_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        vj = _dumps(value, f"{kind} attr {key!r}")
        self._upsert(
            trial_attrs, {"trial_id": trial_id, "kind": kind, "key": key}, vj, trial=True
        )

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._set_trial_attr(trial_id, "user", key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._set_trial_attr(trial_id, "system", key, value)

    # --- reading ----------------------------------------------------------------------
    def _load(self, conn: sa.Connection, where: Any) -> list[FrozenTrial]:
        rows = conn.execute(sa.select(trials).where(where).order_by(trials.c.number)).all()
        if not rows:
            return []
        ids = [r.trial_id for r in rows]
        by_id: dict[int, dict[str, Any]] = {
            r.trial_id: {"params": {}, "dists": {}, "inter": {}, "user": {}, "system": {}}
            for r in rows
        }
        # One round trip for the params, intermediate values and attrs of all the trials
        # (a UNION ALL), in chunks so that huge studies stay under driver parameter limits.
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            inter: list[tuple[int, int, str]] = []
            for tid, tag, key, num, txt, step in conn.execute(_children_query(chunk)):
                if tag == "p":
                    dist = _dist_cache(txt)
                    by_id[tid]["params"][key] = dist.to_external(num)
                    by_id[tid]["dists"][key] = dist
                elif tag == "i":
                    inter.append((tid, step, txt))
                else:
                    by_id[tid][tag][key] = json.loads(txt)
            inter.sort(key=lambda x: x[1])
            for tid, step, txt in inter:
                by_id[tid]["inter"][step] = json.loads(txt)
        out = []
        for r in rows:
            d = by_id[r.trial_id]
            out.append(
                FrozenTrial(
                    number=r.number,
                    state=TrialState(r.state),
                    values=_values_from_json(r.values_json),
                    datetime_start=_ts(r.datetime_start),
                    datetime_complete=_ts(r.datetime_complete),
                    params=d["params"],
                    distributions=d["dists"],
                    user_attrs=d["user"],
                    system_attrs=d["system"],
                    intermediate_values=d["inter"],
                    trial_id=r.trial_id,
                )
            )
        return out

    def get_trial(self, trial_id: int) -> FrozenTrial:
        got = self._read(lambda c: self._load(c, trials.c.trial_id == trial_id))
        if not got:
            raise KeyError(f"no trial with id {trial_id}.")
        return got[0]

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        cond = trials.c.study_id == study_id
        if states is not None:
            cond = sa.and_(cond, trials.c.state.in_([int(x) for x in TrialState if x in states]))
        got = self._read(lambda c: self._load(c, cond))
        if not got:
            self.get_study_name_from_id(study_id)  # a clear error for a missing study
        return got

    def read_trials(
        self, study_id: int, newer_than: int, ids: Sequence[int] = ()
    ) -> list[FrozenTrial]:
        cond = sa.and_(trials.c.study_id == study_id, trials.c.trial_id > newer_than)
        if ids:
            cond = sa.or_(
                cond, sa.and_(trials.c.study_id == study_id, trials.c.trial_id.in_(list(ids)))
            )
        return self._read(lambda c: self._load(c, cond))

    def get_n_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        q = sa.select(sa.func.count()).select_from(trials).where(trials.c.study_id == study_id)
        if states is not None:
            q = q.where(trials.c.state.in_([int(s) for s in TrialState if s in states]))
        return int(self._read(lambda c: c.execute(q).scalar_one()))

    # --- heartbeats -------------------------------------------------------------------
    def record_heartbeat(self, trial_id: int) -> None:
        now = time.time()
        self._write(
            lambda c: c.execute(
                trials.update()
                .where(trials.c.trial_id == trial_id, trials.c.state == int(TrialState.RUNNING))
                .values(heartbeat=now)
            )
        )

    def stale_trial_ids(self, study_id: int, older_than: float) -> list[tuple[int, float]]:
        rows = self._read(
            lambda c: c.execute(
                sa.select(trials.c.trial_id, trials.c.heartbeat).where(
                    trials.c.study_id == study_id,
                    trials.c.state == int(TrialState.RUNNING),
                    trials.c.heartbeat.is_not(None),
                    trials.c.heartbeat < older_than,
                )
            ).all()
        )
        return [(int(t), float(b)) for t, b in rows]

    def fail_trial(self, trial_id: int, reason: str) -> bool:
        vj = _dumps(str(reason), "fail reason")

        def go(conn: sa.Connection) -> bool:
            n = conn.execute(
                trials.update()
                .where(trials.c.trial_id == trial_id, trials.c.state == int(TrialState.RUNNING))
                .values(state=int(TrialState.FAIL), datetime_complete=time.time())
            ).rowcount
            if n != 1:
                return False
            key = {"trial_id": trial_id, "kind": "system", "key": keys.FAIL_REASON}
            cond = [trial_attrs.c[k] == v for k, v in key.items()]
            if conn.execute(trial_attrs.update().where(*cond).values(value_json=vj)).rowcount == 0:
                conn.execute(trial_attrs.insert().values(**key, value_json=vj))
            return True

        def recover(conn: sa.Connection) -> bool | None:  # an earlier try's commit happened
            row = conn.execute(
                sa.select(trials.c.state, trial_attrs.c.value_json)
                .join(trial_attrs, trial_attrs.c.trial_id == trials.c.trial_id)
                .where(
                    trials.c.trial_id == trial_id,
                    trial_attrs.c.kind == "system",
                    trial_attrs.c.key == keys.FAIL_REASON,
                )
            ).first()
            ok = row is not None and row[0] == int(TrialState.FAIL) and row[1] == vj
            return True if ok else None

        return self._write(go, recover)


def _children_query(ids: list[int]) -> Any:
    """(trial_id, tag, key, number, text, step) rows of the trials' params (tag "p"),
    intermediate values ("i") and attrs (tag = the attr kind), in one statement."""
    null_s = sa.cast(sa.null(), sa.String)
    null_f = sa.cast(sa.null(), sa.Float)
    null_i = sa.cast(sa.null(), sa.Integer)
    tag = sa.cast(sa.literal("p"), sa.String)
    return sa.union_all(
        sa.select(
            trial_params.c.trial_id,
            tag,
            sa.cast(trial_params.c.name, sa.String),
            trial_params.c.value,
            sa.cast(trial_params.c.distribution_json, sa.String),
            null_i,
        ).where(trial_params.c.trial_id.in_(ids)),
        sa.select(
            trial_values.c.trial_id,
            sa.cast(sa.literal("i"), sa.String),
            null_s,
            null_f,
            sa.cast(trial_values.c.value_json, sa.String),
            trial_values.c.step,
        ).where(trial_values.c.trial_id.in_(ids)),
        sa.select(
            trial_attrs.c.trial_id,
            sa.cast(trial_attrs.c.kind, sa.String),
            sa.cast(trial_attrs.c.key, sa.String),
            null_f,
            sa.cast(trial_attrs.c.value_json, sa.String),
            null_i,
        ).where(trial_attrs.c.trial_id.in_(ids)),
    )


_DIST_CACHE: dict[str, BaseDistribution] = {}


def _dist_cache(dj: str) -> BaseDistribution:
    d = _DIST_CACHE.get(dj)
    if d is None:
        if len(_DIST_CACHE) > 10000:
            _DIST_CACHE.clear()
        d = _DIST_CACHE[dj] = json_to_distribution(dj)
    return d
