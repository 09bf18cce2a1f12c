"""optuna-dashboard over a slimtune storage: ``slimtune dashboard --storage URL``.

Serves the dashboard Optuna users know (the ``optuna-dashboard`` package, the ``dashboard``
extra) on http://127.0.0.1:8080. It reads and writes the slimtune storage through
:class:`~slimtune.integration.optuna_storage.OptunaStorageAdapter` (Optuna's storage
protocol over a slimtune storage), so the dashboard's notes, study creation and deletion
and its "tell" buttons write to the slimtune study, and a running study shows up live.

From Python::

    from slimtune.integration.dashboard import run_dashboard
    run_dashboard("sqlite:///study.db", port=8080)            # blocks until Ctrl-C

    from slimtune.integration.optuna_storage import to_optuna_storage
    optuna_dashboard.run_server(to_optuna_storage(study.storage))  # the same, by hand

This module imports neither optuna nor optuna-dashboard until a server is made, so the
``slimtune`` command works without the extra and says how to install it.
"""

from __future__ import annotations

import argparse
import os
import socketserver
import sys
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slimtune.integration.extras import require
from slimtune.storage import BaseStorage, get_storage

__all__ = ["make_dashboard_server", "run_dashboard", "register", "cmd_dashboard"]

DEFAULT_STORAGE = "sqlite:///slimtune.db"


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass


def make_dashboard_server(
    storage: str | BaseStorage, host: str = "127.0.0.1", port: int = 8080, quiet: bool = True
) -> WSGIServer:
    """A (not yet serving) HTTP server of optuna-dashboard over ``storage``; ``port=0``
    picks a free port (``server.server_port``). Call ``serve_forever()`` on it, and
    ``shutdown()`` from another thread to stop it."""
    dash = require("optuna_dashboard", "dashboard", "the dashboard")
    from slimtune.integration.optuna_storage import to_optuna_storage

    app = dash.wsgi(to_optuna_storage(storage))
    handler = _QuietHandler if quiet else WSGIRequestHandler
    return make_server(host, port, app, server_class=_ThreadingServer, handler_class=handler)


def run_dashboard(
    storage: str | BaseStorage, host: str = "127.0.0.1", port: int = 8080, quiet: bool = True
) -> None:
    """Serve optuna-dashboard over ``storage`` until interrupted (Ctrl-C)."""
    server = make_dashboard_server(storage, host, port, quiet=quiet)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# --- the ``slimtune dashboard`` command --------------------------------------------------
def _fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def cmd_dashboard(args: argparse.Namespace) -> int:
    """``slimtune dashboard``: one-line errors and exit code 2 for user mistakes."""
    url = args.storage or os.environ.get("SLIMTUNE_STORAGE") or DEFAULT_STORAGE
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = url[len("sqlite:///") :]
        if not os.path.exists(path):
            return _fail(f"no database at {path!r} (--storage {url!r}); give an existing one.")
    try:
        storage = get_storage(url)
        storage.get_all_study_names()
    except Exception as e:  # noqa: BLE001 - any failure to open is the URL's
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        what = first if url in first else f"cannot open --storage {url!r}: {first}"
        return _fail(
            f"{what.rstrip('.')}. Use a database URL such as sqlite:///study.db or "
            "postgresql://user@host/db."
        )
    try:
        server = make_dashboard_server(storage, args.host, args.port, quiet=not args.verbose)
    except ImportError as e:
        return _fail(str(e))
    except OSError as e:
        return _fail(f"cannot listen on {args.host}:{args.port} ({e.strerror or e}); "
                     "choose another --port.")
    host = "127.0.0.1" if args.host in ("", "0.0.0.0") else args.host
    print(f"optuna-dashboard on http://{host}:{server.server_port}/dashboard "
          f"(storage {url}); Ctrl-C stops it.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def register(sub: Any) -> argparse.ArgumentParser:
    """Add ``dashboard`` to the ``slimtune`` command's subparsers."""
    sp = sub.add_parser(
        "dashboard",
        help="serve optuna-dashboard over a storage (needs the dashboard extra)",
        description="Serve optuna-dashboard over a slimtune storage.",
    )
    sp.add_argument(
        "--storage",
        default=None,
        help=f"database URL (default: $SLIMTUNE_STORAGE or {DEFAULT_STORAGE})",
    )
    sp.add_argument("--host", default="127.0.0.1", help="address to listen on")
    sp.add_argument("--port", type=int, default=8080, help="port (0: a free one)")
    sp.add_argument("--verbose", action="store_true", help="log every HTTP request")
    sp.set_defaults(func=cmd_dashboard)
    return sp
