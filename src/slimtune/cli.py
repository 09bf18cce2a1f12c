"""The ``slimtune`` command line: studies, trials, best, delete (and search/export with the
``nas`` extra).

Every command takes ``--storage`` (a database URL, default ``sqlite:///slimtune.db`` or the
``SLIMTUNE_STORAGE`` environment variable). Tables are printed with rich.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

import slimtune as st
from slimtune.storage import StudyNotFoundError, get_storage

DEFAULT_STORAGE = "sqlite:///slimtune.db"


def _console() -> Console:
    return Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isfinite(v):
            return f"{v:.6g}"
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return "" if v is None else str(v)


def _storage_url(args: argparse.Namespace) -> str:
    return args.storage or os.environ.get("SLIMTUNE_STORAGE") or DEFAULT_STORAGE


def _open_storage(args: argparse.Namespace) -> Any:
    url = _storage_url(args)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = url[len("sqlite:///") :]
        if not os.path.exists(path):
            raise SystemExit(f"error: no database at {path!r} (storage {url!r}).")
    return get_storage(url)


def _load(args: argparse.Namespace) -> st.Study:
    storage = _open_storage(args)
    try:
        return st.load_study(study_name=args.study_name, storage=storage)
    except StudyNotFoundError as e:
        names = storage.get_all_study_names()
        raise SystemExit(f"error: {e}. Studies in this storage: {names}") from None
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None


def cmd_studies(args: argparse.Namespace) -> int:
    storage = _open_storage(args)
    summaries = storage.get_all_studies()
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "name": s.study_name,
                        "directions": s.directions,
                        "n_trials": s.n_trials,
                        "n_complete": s.n_complete,
                        "best_values": s.best_values,
                        "datetime_start": s.datetime_start.isoformat()
                        if s.datetime_start
                        else None,
                    }
                    for s in summaries
                ],
                indent=2,
            )
        )
        return 0
    table = Table(title=f"Studies in {_storage_url(args)}")
    for col in ("name", "directions", "trials", "complete", "best", "started"):
        table.add_column(col)
    for s in summaries:
        table.add_row(
            s.study_name,
            ",".join(s.directions),
            str(s.n_trials),
            str(s.n_complete),
            _fmt(s.best_values[0]) if s.best_values else "",
            s.datetime_start.strftime("%Y-%m-%d %H:%M:%S") if s.datetime_start else "",
        )
    _console().print(table)
    return 0


def cmd_trials(args: argparse.Namespace) -> int:
    study = _load(args)
    records = study.trials_records()
    if args.state:
        wanted = {s.upper() for s in args.state}
        records = [r for r in records if r["state"] in wanted]
    cols: list[str] = []
    for r in records:
        for k in r:
            if k not in cols:
                cols.append(k)
    if args.format == "json":
        print(json.dumps(records, indent=2, default=str))
    elif args.format == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols)
        w.writeheader()
        for r in records:
            w.writerow(r)
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=f"Trials of {study.study_name} ({len(records)})")
        show = [c for c in cols if c not in ("datetime_start",)]
        for c in show:
            table.add_column(c, overflow="fold")
        for r in records[-args.limit :] if args.limit else records:
            table.add_row(*[_fmt(r.get(c)) for c in show])
        _console().print(table)
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    study = _load(args)
    trials = study.best_trials
    if not trials:
        print("error: the study has no complete trial yet.", file=sys.stderr)
        return 1
    if len(study.directions) == 1:
        trials = [study.best_trial]
    if args.format == "json":
        print(
            json.dumps(
                [
                    {
                        "number": t.number,
                        "values": t.values,
                        "params": t.params,
                        "user_attrs": t.user_attrs,
                    }
                    for t in trials
                ],
                indent=2,
                default=str,
            )
        )
        return 0
    title = "Best trial" if len(trials) == 1 else f"Pareto front ({len(trials)} trials)"
    table = Table(title=f"{title} of {study.study_name}")
    table.add_column("number")
    for i, d in enumerate(study.directions):
        table.add_column(f"value {i} ({d})" if len(study.directions) > 1 else f"value ({d})")
    names = sorted({k for t in trials for k in t.params})
    for n in names:
        table.add_column(n)
    for t in trials:
        table.add_row(
            str(t.number),
            *[_fmt(v) for v in t.values or []],
            *[_fmt(t.params.get(n)) for n in names],
        )
    _console().print(table)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    storage = _open_storage(args)
    try:
        st.delete_study(args.study_name, storage)
    except StudyNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"deleted study {args.study_name!r}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    study = _load(args)
    try:
        from slimtune.viz import write_report
    except ImportError as e:  # pragma: no cover - depends on the extra
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = write_report(study, args.out or f"{study.study_name}_report.html")
    print(f"report written to {out}")
    return 0


def _import_objective(spec: str) -> Any:
    """``package.module:function`` or ``path/to/file.py:function`` -> the function."""
    import importlib
    import importlib.util

    if ":" not in spec:
        raise SystemExit(
            f"error: --objective {spec!r}: use 'module:function' or 'file.py:function'."
        )
    mod_name, func_name = spec.rsplit(":", 1)
    if mod_name.endswith(".py"):
        path = os.path.abspath(mod_name)
        if not os.path.exists(path):
            raise SystemExit(f"error: --objective: no file {mod_name!r}.")
        module_spec = importlib.util.spec_from_file_location("_slimtune_objective", path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        sys.modules["_slimtune_objective"] = module
        module_spec.loader.exec_module(module)
    else:
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(mod_name)
        except ImportError as e:
            raise SystemExit(f"error: --objective: cannot import {mod_name!r}: {e}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise SystemExit(f"error: --objective: {mod_name!r} has no function {func_name!r}.")
    return func


def cmd_worker(args: argparse.Namespace) -> int:
    """Join a study as one more worker (e.g. on another machine, same database)."""
    func = _import_objective(args.objective)
    url = _storage_url(args)
    storage = st.SQLStorage(url, heartbeat_interval=args.heartbeat) if args.heartbeat else url
    sampler = None
    if args.sampler:
        cls = getattr(st.samplers, args.sampler, None)
        if cls is None:
            raise SystemExit(
                f"error: --sampler {args.sampler!r}: unknown; use one of {st.samplers.__all__}."
            )
        sampler = cls(seed=args.seed)
    study = st.create_study(
        storage=storage,
        study_name=args.study_name,
        sampler=sampler,
        load_if_exists=True,
        directions=args.direction or None,
    )
    before = len(study.trials)
    study.optimize(func, n_trials=args.n_trials, timeout=args.timeout, n_jobs=args.n_jobs)
    print(f"worker ran {len(study.trials) - before} trial(s) in study {study.study_name!r}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="slimtune", description="slimtune: find small models with good hyperparameters."
    )
    p.add_argument("--version", action="version", version=f"slimtune {st.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, help_: str, func: Any, study: bool = False) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.add_argument(
            "--storage",
            default=None,
            help=f"database URL (default: $SLIMTUNE_STORAGE or {DEFAULT_STORAGE})",
        )
        if study:
            sp.add_argument(
                "--study-name",
                "--study",
                dest="study_name",
                default=None,
                help="study name (optional when the storage holds one study)",
            )
        sp.set_defaults(func=func)
        return sp

    sp = add("studies", "list the studies in a storage", cmd_studies)
    sp.add_argument("--format", choices=["table", "json"], default="table")
    sp = add("trials", "list the trials of a study", cmd_trials, study=True)
    sp.add_argument("--format", choices=["table", "json", "csv"], default="table")
    sp.add_argument("--state", action="append", help="only trials in this state (repeatable)")
    sp.add_argument("--limit", type=int, default=0, help="show only the last N trials (table)")
    sp = add("best", "show the best trial (or the Pareto front)", cmd_best, study=True)
    sp.add_argument("--format", choices=["table", "json"], default="table")
    sp = add("delete", "delete a study and its trials", cmd_delete)
    sp.add_argument("--study-name", "--study", dest="study_name", required=True)
    sp = add(
        "report", "write an HTML report with figures (needs matplotlib)", cmd_report, study=True
    )
    sp.add_argument("--out", default=None, help="output file (default: NAME_report.html)")
    sp = add("worker", "run trials of a study from an objective function", cmd_worker)
    sp.add_argument("--study-name", "--study", dest="study_name", required=True)
    sp.add_argument(
        "--objective", required=True, help="'package.module:function' or 'path/file.py:function'"
    )
    sp.add_argument("--n-trials", type=int, default=None)
    sp.add_argument("--timeout", type=float, default=None, help="seconds")
    sp.add_argument("--n-jobs", type=int, default=1, help="worker processes on this machine")
    sp.add_argument("--sampler", default=None, help="sampler class name (default: AutoSampler)")
    sp.add_argument("--seed", type=int, default=None)
    sp.add_argument(
        "--direction",
        action="append",
        choices=["minimize", "maximize"],
        help="objective direction(s) when the study is created (repeat for several)",
    )
    sp.add_argument(
        "--heartbeat",
        type=float,
        default=None,
        help="heartbeat interval in seconds (default 10; trials of dead workers fail after 3)",
    )

    from slimtune.integration import dashboard as dashboard_cli  # `slimtune dashboard`

    dashboard_cli.register(sub)

    try:
        from slimtune.nas import cli as nas_cli
    except ImportError as e:
        err = str(e)

        def missing(args: argparse.Namespace, _err: str = err) -> int:
            print(
                f"error: `slimtune {args.command}` needs the nas extra "
                f"(pip install 'slimtune[nas]'): {_err}",
                file=sys.stderr,
            )
            return 2

        for name, help_ in (
            ("search", "lightweight-model search from a YAML config"),
            ("export", "export a searched model"),
        ):
            sp = sub.add_parser(name, help=help_ + " (needs the nas extra)")
            sp.add_argument("rest", nargs=argparse.REMAINDER)
            sp.set_defaults(func=missing)
    else:
        nas_cli.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
