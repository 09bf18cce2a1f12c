"""What ``slimtune.cli`` and ``slimtune.nas.cli`` share: the one-line user error, storage
URLs checked before they are opened, study look-up with the names on offer, and argparse
number types.

A user mistake raises :class:`UserError` with one line that names the problem and the fix;
the command line prints ``error: <line>`` and exits with code 2 (the traceback only with
``--debug``). Checks run before anything is created, so a typo in ``--storage`` never
leaves an empty database file behind.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ACCEPTED_URLS",
    "UserError",
    "check_storage",
    "check_storage_url",
    "describe_storage_error",
    "load_study",
    "nonnegative_int",
    "open_storage",
    "positive_float",
    "positive_int",
    "redact",
    "reports_user_errors",
]

ACCEPTED_URLS = "sqlite:///path.db or postgresql://user@host/db"
"""The storage URL forms every message about a bad ``--storage`` names."""

_SQLITE_MAGIC = b"SQLite format 3\x00"


class UserError(Exception):
    """A user mistake: the message is one line naming the problem and the fix (exit 2)."""


def reports_user_errors(
    cmd: Callable[[argparse.Namespace], int],
) -> Callable[[argparse.Namespace], int]:
    """Wrap a sub-command ``args -> exit code`` so that a :class:`UserError` prints its line
    (after the traceback with ``args.debug``) and returns 2, also when called directly."""

    @functools.wraps(cmd)
    def run(args: argparse.Namespace) -> int:
        try:
            return cmd(args)
        except UserError as e:
            if getattr(args, "debug", False):
                traceback.print_exc()
            print(f"error: {e}", file=sys.stderr)
            return 2

    return run


def redact(url: str) -> str:
    """``url`` without its password (for messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def _sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///...`` URL (None for in-memory)."""
    path = url.split("://", 1)[1]
    if path.startswith("/"):
        path = path[1:]
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def check_storage_url(url: str, must_exist: bool = True) -> None:
    """Refuse, with one line, a storage URL that cannot work: not a URL, an unknown scheme,
    a missing SQLite file (``must_exist``) or directory, a file that is not a database."""
    if not isinstance(url, str) or "://" not in url:
        raise UserError(
            f"--storage {url!r} is not a database URL; use {ACCEPTED_URLS} "
            "(a file path needs the sqlite:/// prefix)."
        )
    scheme = url.split("://", 1)[0].lower()
    dialect = scheme.split("+", 1)[0]
    if dialect not in ("sqlite", "postgresql", "postgres", "mysql", "mariadb"):
        raise UserError(
            f"--storage {redact(url)!r}: unknown database kind {scheme!r}; use {ACCEPTED_URLS}."
        )
    if dialect == "postgres":
        raise UserError(
            f"--storage {redact(url)!r}: write postgresql://, not postgres:// ({ACCEPTED_URLS})."
        )
    if dialect != "sqlite":
        return
    if not url.lower().startswith("sqlite:///"):
        raise UserError(f"--storage {url!r}: an SQLite URL has three slashes; use {ACCEPTED_URLS}.")
    path = _sqlite_path(url)
    if path is None:
        return
    if os.path.isdir(path):
        raise UserError(
            f"--storage {url!r}: {path!r} is a directory; name a file, e.g. sqlite:///{path.rstrip('/')}/study.db."
        )
    if not os.path.exists(path):
        if must_exist:
            raise UserError(
                f"no database at {path!r} (--storage {url!r}); check the path, or run "
                "`slimtune search` / `slimtune worker` first to create it."
            )
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise UserError(
                f"--storage {url!r}: the directory {parent!r} does not exist; create it "
                "(mkdir -p) or use a path in an existing directory."
            )
        if not os.access(parent, os.W_OK):
            raise UserError(
                f"--storage {url!r}: cannot write in {parent!r}; use a directory you can write to."
            )
        return
    try:
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_MAGIC))
    except OSError as e:
        raise UserError(
            f"--storage {url!r}: cannot read {path!r} ({e.strerror}); check its permissions."
        ) from None
    if head and head != _SQLITE_MAGIC:
        raise UserError(
            f"--storage {url!r}: {path!r} is not an SQLite database; point --storage at a "
            f"database file ({ACCEPTED_URLS})."
        )


def describe_storage_error(url: str, e: BaseException) -> str:
    """One line for an error the database driver raised while opening or reading ``url``."""
    text = str(getattr(e, "orig", None) or e).strip().splitlines()
    first = text[0] if text else type(e).__name__
    low = " ".join(text).lower()
    shown = redact(url)
    if "malformed" in low or "not a database" in low or "file is encrypted" in low:
        return (
            f"the database {shown!r} is corrupted ({first}); restore it from a backup or "
            "start a new database file."
        )
    if "no module named" in low or "can't load plugin" in low:
        return (
            f"cannot open {shown!r}: {first}; install the driver "
            "(pip install 'slimtune[postgres]' for PostgreSQL)."
        )
    if "password authentication failed" in low or "authentication" in low:
        return f"cannot log in to {shown!r} ({first}); check the user and password in the URL."
    if "does not exist" in low and "database" in low:
        return f"cannot open {shown!r}: {first}; create the database (createdb) or fix its name."
    if "schema version" in low:
        return first
    if "locked" in low:
        return f"the database {shown!r} is locked by another process ({first}); wait, or stop it."
    return (
        f"cannot reach the database {shown!r} ({first}); check that the server is running "
        f"and the URL ({ACCEPTED_URLS})."
    )


def check_storage(url: str, must_exist: bool = True) -> None:
    """:func:`check_storage_url`, then (for a server) one connection attempt."""
    check_storage_url(url, must_exist=must_exist)
    if not url.lower().startswith("sqlite"):
        _probe(url)


def _probe(url: str) -> None:
    """Connect once (10 s at most) so that an unreachable server is one clear line now,
    not a minute of retries inside the storage."""
    import sqlalchemy as sa

    kw: dict[str, Any] = {}
    target = url
    if url.startswith("postgresql://"):  # the driver the storage uses (psycopg 3)
        target = "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.lower().startswith(("postgresql", "mysql", "mariadb")):
        kw["connect_args"] = {"connect_timeout": 10}
    try:
        engine = sa.create_engine(target, **kw)
    except Exception as e:  # noqa: BLE001 - a missing driver, a malformed URL
        raise UserError(describe_storage_error(url, e)) from e
    try:
        with engine.connect():
            pass
    except Exception as e:  # noqa: BLE001 - every driver error is the user's setup here
        raise UserError(describe_storage_error(url, e)) from e
    finally:
        engine.dispose()


def open_storage(url: str, must_exist: bool = True, **kwargs: Any) -> Any:
    """:func:`check_storage_url`, then the storage (``SQLStorage(url, **kwargs)``), every
    failure to open it as a :class:`UserError`."""
    import sqlalchemy.exc

    import slimtune as st

    check_storage(url, must_exist=must_exist)
    try:
        return st.storage.get_storage(st.SQLStorage(url, **kwargs) if kwargs else url)
    except sqlalchemy.exc.SQLAlchemyError as e:
        raise UserError(describe_storage_error(url, e)) from e
    except (ValueError, RuntimeError) as e:
        raise UserError(describe_storage_error(url, e)) from e


def load_study(storage: Any, url: str, name: str | None) -> Any:
    """The study ``name`` (or the only one) of ``storage``; a missing or ambiguous name is a
    :class:`UserError` listing the studies there."""
    import slimtune as st

    names = storage.get_all_study_names()
    if name is None:
        if len(names) == 1:
            name = names[0]
        elif not names:
            raise UserError(
                f"{redact(url)!r} holds no study yet; run `slimtune search` or "
                "`slimtune worker` first."
            )
        else:
            raise UserError(
                f"{redact(url)!r} holds {len(names)} studies; pick one with --study-name: "
                f"{', '.join(names)}."
            )
    if name not in names:
        there = ", ".join(names) if names else "none"
        raise UserError(
            f"no study named {name!r} in {redact(url)!r}; studies there: {there} "
            "(pass one with --study-name)."
        )
    return st.load_study(study_name=name, storage=storage)


def _number(kind: type, low: float, strict: bool, what: str) -> Any:
    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if v < low or (strict and v == low) or v != v:
            raise argparse.ArgumentTypeError(f"{text!r}: use {what}")
        return v

    parse.__name__ = kind.__name__
    return parse


positive_int = _number(int, 1, False, "a whole number >= 1")
"""argparse type: an int >= 1."""
nonnegative_int = _number(int, 0, False, "a whole number >= 0")
"""argparse type: an int >= 0."""
positive_float = _number(float, 0.0, True, "a number of seconds > 0")
"""argparse type: a float > 0."""
