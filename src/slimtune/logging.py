"""Logging under Optuna's names: what slimtune says while it runs, and how to quiet it.

Every slimtune module logs to the ``"slimtune"`` logger (or a child of it). As in Optuna, a
default handler writes to stderr at INFO, so a study says one line per finished trial and one
WARNING, with the reason, per failed trial::

    import slimtune as st
    st.logging.set_verbosity(st.logging.WARNING)   # failures only
    st.logging.disable_default_handler()           # nothing, or route it yourself:
    st.logging.enable_propagation()                # ... to the root logger's handlers

The names (``get_verbosity``, ``set_verbosity``, ``enable/disable_default_handler``,
``enable/disable_propagation``, ``get_logger`` and the level constants) mean what they mean in
``optuna.logging``.
"""

from __future__ import annotations

import logging as _std
import sys
import threading

__all__ = [
    "CRITICAL",
    "DEBUG",
    "ERROR",
    "FATAL",
    "INFO",
    "WARN",
    "WARNING",
    "create_default_formatter",
    "disable_default_handler",
    "disable_propagation",
    "enable_default_handler",
    "enable_propagation",
    "get_logger",
    "get_verbosity",
    "set_verbosity",
]

CRITICAL = _std.CRITICAL
FATAL = _std.FATAL
ERROR = _std.ERROR
WARNING = _std.WARNING
WARN = _std.WARN
INFO = _std.INFO
DEBUG = _std.DEBUG

ROOT = "slimtune"

_lock = threading.Lock()
_handler: _std.Handler | None = None


class _Formatter(_std.Formatter):
    """``[I 2026-12-02 10:11:12,345] message``: the level's first letter and the time."""

    def format(self, record: _std.LogRecord) -> str:
        record.levelletter = record.levelname[:1]
        return super().format(record)


def create_default_formatter() -> _std.Formatter:
    """The formatter of the default handler (``[I <time>] message``), for your own handlers."""
    return _Formatter("[%(levelletter)s %(asctime)s] %(message)s")


def _root() -> _std.Logger:
    return _std.getLogger(ROOT)


class _StderrHandler(_std.StreamHandler):
    """Writes to the *current* ``sys.stderr`` (so pytest's and the CLI's redirections work)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - the stream logging expects
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # noqa: ANN001 - ignored: always the current stderr
        pass


def _configure() -> None:
    """Install the default handler once (at import of slimtune)."""
    global _handler
    with _lock:
        if _handler is not None:
            return
        _handler = _StderrHandler()
        _handler.setFormatter(create_default_formatter())
        root = _root()
        root.addHandler(_handler)
        root.setLevel(INFO)
        root.propagate = False


def get_logger(name: str) -> _std.Logger:
    """The logger ``name`` under slimtune's root logger (``"slimtune.<name>"``)."""
    _configure()
    if name == ROOT or name.startswith(ROOT + "."):
        return _std.getLogger(name)
    return _std.getLogger(f"{ROOT}.{name}")


def get_verbosity() -> int:
    """The level of slimtune's root logger (e.g. ``slimtune.logging.INFO``)."""
    _configure()
    return _root().getEffectiveLevel()


def set_verbosity(verbosity: int) -> None:
    """Show messages at ``verbosity`` and above (``WARNING``: failures only)."""
    if isinstance(verbosity, bool) or not isinstance(verbosity, int):
        raise TypeError(
            f"set_verbosity({verbosity!r}): pass a level such as slimtune.logging.WARNING."
        )
    _configure()
    _root().setLevel(verbosity)


def disable_default_handler() -> None:
    """Stop writing to stderr (records still reach handlers you add, or the root's)."""
    _configure()
    assert _handler is not None
    _root().removeHandler(_handler)


def enable_default_handler() -> None:
    """Write to stderr again (the default)."""
    _configure()
    assert _handler is not None
    if _handler not in _root().handlers:
        _root().addHandler(_handler)


def disable_propagation() -> None:
    """Do not pass records on to the root logger (the default)."""
    _configure()
    _root().propagate = False


def enable_propagation() -> None:
    """Pass records on to the root logger too (e.g. to your own logging setup)."""
    _configure()
    _root().propagate = True
