"""Shared fixtures: storages to run the same tests against (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import uuid

import pytest
from hypothesis import settings

import slimtune as st

# Property tests explore the same examples on every run (seeded, deterministic CI), and
# are not timed: the machines are shared and noisy.
settings.register_profile("slimtune", derandomize=True, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "slimtune"))

# slimtune's logger does not propagate by default (as Optuna's): let pytest's caplog see it.
st.logging.enable_propagation()

PG_URL = os.environ.get("SLIMTUNE_TEST_POSTGRES_URL")


def _pg_reachable() -> str | None:
    if not PG_URL:
        return "set SLIMTUNE_TEST_POSTGRES_URL to a PostgreSQL database to run these tests"
    try:
        import sqlalchemy as sa

        eng = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with eng.connect() as c:
            c.execute(sa.text("select 1"))
        eng.dispose()
    except Exception as e:  # noqa: BLE001
        return f"PostgreSQL at {PG_URL} is not reachable: {e}"
    return None


_PG_SKIP = _pg_reachable()


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def storage_url(request, tmp_path):
    """A fresh storage per test: None (memory), a SQLite file, or a PostgreSQL schema."""
    kind = request.param
    if kind == "memory":
        yield None
    elif kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'study.db'}"
    else:
        if _PG_SKIP:
            pytest.skip(_PG_SKIP)
        import sqlalchemy as sa

        # Each test gets its own database so that tests never see each other's studies.
        name = "t_" + uuid.uuid4().hex[:12]
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(sa.text(f"CREATE DATABASE {name}"))
        base = PG_URL.rsplit("/", 1)[0]
        yield f"{base}/{name}"
        with admin.connect() as c:
            c.execute(
                sa.text(
                    f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='{name}'"
                )
            )
            c.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()


@pytest.fixture
def make_storage(storage_url):
    """Build a storage object for ``storage_url`` (memory: one shared instance)."""
    shared = st.InMemoryStorage() if storage_url is None else None

    def make(**kw):
        if storage_url is None:
            return shared if not kw else st.InMemoryStorage(**kw)
        return st.SQLStorage(storage_url, **kw)

    return make
