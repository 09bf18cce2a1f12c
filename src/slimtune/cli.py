"""The ``slimtune`` command line: studies, trials, best, delete, report, worker (and
search/export with the ``nas`` extra).

Every command takes ``--storage`` (a database URL, default ``sqlite:///slimtune.db`` or the
``SLIMTUNE_STORAGE`` environment variable). Tables fit the terminal (``$COLUMNS``, else 100
columns when not a terminal): the least useful columns are left out and named under the
table (``--all`` or ``--columns`` bring them back), numbers are rounded but never cut; JSON
and CSV keep the exact values.

Every user mistake is one line (``error: ...``) naming the problem and the fix, exit code 2;
``--debug`` shows the traceback too. ``-v``/``-q`` set slimtune's log level (the one line per
finished trial is INFO).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any, NoReturn

from rich.console import Console

import slimtune as st
from slimtune import keys
from slimtune.cli_common import (
    UserError,
    describe_storage_error,
    load_study,
    nonnegative_int,
    open_storage,
    positive_float,
    positive_int,
    redact,
)
from slimtune.tables import (
    Column,
    format_column,
    format_duration,
    format_number,
    render,
    terminal_width,
)

DEFAULT_STORAGE = "sqlite:///slimtune.db"
ARROW = {"maximize": "\u2191", "minimize": "\u2193"}
"""How a table header shows a direction: ``accuracy \u2191`` (maximised), ``macs \u2193``."""
HINT = "--all, or --columns NAME,..."


def print_table(columns: Sequence[Column], title: str, args: argparse.Namespace) -> None:
    """Lay ``columns`` out for the terminal (or the ones ``--columns`` names) and print."""
    width = terminal_width()
    wanted = getattr(args, "columns", None)
    keep_all = bool(getattr(args, "all", False))
    if wanted:
        names = [n.strip() for part in wanted for n in part.split(",") if n.strip()]
        lookup: dict[str, Column] = {}
        for c in columns:
            lookup.setdefault(c.key, c)
            lookup.setdefault(c.header.split(" ")[0], c)
        unknown = [n for n in names if n not in lookup]
        if unknown:
            raise UserError(
                f"--columns: no column {', '.join(map(repr, unknown))}; "
                f"the columns are: {', '.join(c.key for c in columns)}."
            )
        columns = list({id(lookup[n]): lookup[n] for n in names}.values())
        keep_all = True
    table, need = render(columns, width, title=title, keep_all=keep_all, hint=HINT)
    Console(width=need, soft_wrap=False).print(table)


def _storage_url(args: argparse.Namespace) -> str:
    return args.storage or os.environ.get("SLIMTUNE_STORAGE") or DEFAULT_STORAGE


def _open_storage(args: argparse.Namespace, must_exist: bool = True, **kwargs: Any) -> Any:
    return open_storage(_storage_url(args), must_exist=must_exist, **kwargs)


def _load(args: argparse.Namespace) -> st.Study:
    return load_study(_open_storage(args), _storage_url(args), args.study_name)


def objective_headers(names: Sequence[str], directions: Sequence[str]) -> list[str]:
    """``accuracy \u2191``, ``macs \u2193``: each objective by its name and direction."""
    return [f"{n} {ARROW.get(d, d)}" for n, d in zip(names, directions)]


def _dump_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def cmd_studies(args: argparse.Namespace) -> int:
    """List the studies of a storage (name, objectives, trial counts, best, start)."""
    storage = _open_storage(args)
    summaries = storage.get_all_studies()
    names_of = {}
    for s in summaries:
        names = storage.get_study_system_attrs(s.study_id).get(keys.METRIC_NAMES)
        if not names or len(names) != len(s.directions):
            names = (
                ["value"]
                if len(s.directions) == 1
                else [f"values_{i}" for i in range(len(s.directions))]
            )
        names_of[s.study_name] = list(names)
    fronts = {}
    for s in summaries:
        if len(s.directions) > 1 and s.n_complete:
            fronts[s.study_name] = len(
                st.load_study(study_name=s.study_name, storage=storage).best_trials
            )
    if args.format == "json":
        _dump_json(
            [
                {
                    "name": s.study_name,
                    "directions": s.directions,
                    "metric_names": names_of[s.study_name],
                    "n_trials": s.n_trials,
                    "n_complete": s.n_complete,
                    "best_values": s.best_values,
                    "front_size": fronts.get(s.study_name),
                    "datetime_start": s.datetime_start.isoformat() if s.datetime_start else None,
                }
                for s in summaries
            ]
        )
        return 0

    if not summaries:
        print(f"no studies in {redact(_storage_url(args))} yet.")
        return 0

    def best(s: Any) -> str:
        if s.best_values:
            return ", ".join(format_number(v) for v in s.best_values)
        if s.study_name in fronts:
            return f"front of {fronts[s.study_name]}"
        return ""

    cols = [
        Column("name", [s.study_name for s in summaries], priority=0, min_width=16),
        Column(
            "objectives",
            [" ".join(objective_headers(names_of[s.study_name], s.directions)) for s in summaries],
            priority=1,
            min_width=16,
        ),
        Column("trials", [str(s.n_trials) for s in summaries], priority=1, numeric=True),
        Column("complete", [str(s.n_complete) for s in summaries], priority=1, numeric=True),
        Column("best", [best(s) for s in summaries], priority=2, min_width=10),
        Column(
            "started",
            [
                s.datetime_start.strftime("%Y-%m-%d %H:%M") if s.datetime_start else ""
                for s in summaries
            ],
            priority=3,
        ),
    ]
    print_table(cols, f"Studies in {redact(_storage_url(args))}", args)
    return 0


def trial_columns(study: st.Study, records: Sequence[dict[str, Any]]) -> list[Column]:
    """The columns of ``slimtune trials``: number, state, the objectives by name, the
    failure reason (when any trial failed), the parameters, the duration, the start."""
    n_obj = len(study.directions)
    names = study.objective_names()
    value_keys = (
        ["value" if study.metric_names is None else f"value_{names[0]}"]
        if n_obj == 1
        else [f"values_{i if study.metric_names is None else names[i]}" for i in range(n_obj)]
    )
    seen: list[str] = []
    for r in records:
        for k in r:
            if k not in seen:
                seen.append(k)
    cols = [
        Column("number", [str(r["number"]) for r in records], priority=0, numeric=True),
        Column("state", [r["state"] for r in records], priority=0, min_width=8),
    ]
    for k, header in zip(value_keys, objective_headers(names, study.directions)):
        cols.append(
            Column(
                header,
                format_column([r.get(k) for r in records]),
                priority=0.5,
                numeric=True,
                key=k,
            )
        )
    if any(r.get("fail_reason") for r in records):
        cols.append(
            Column(
                "fail_reason",
                [str(r.get("fail_reason") or "") for r in records],
                priority=1,
                min_width=24,
            )
        )
    params = [k for k in seen if k.startswith("params_")]
    for i, k in enumerate(params):
        cells = format_column([r.get(k) for r in records])
        numeric = all(isinstance(r.get(k), (int, float)) or r.get(k) is None for r in records)
        cols.append(
            Column(
                k[len("params_") :],
                cells,
                priority=2 + i / 1000,
                numeric=numeric,
                key=k,
                min_width=24,
            )
        )
    cols.append(
        Column(
            "duration",
            [format_duration(r.get("duration_s")) for r in records],
            priority=1.5,
            numeric=True,
            key="duration_s",
        )
    )
    cols.append(
        Column(
            "started",
            [(r.get("datetime_start") or "")[:19].replace("T", " ") for r in records],
            priority=9,
            key="datetime_start",
        )
    )
    return cols


def cmd_trials(args: argparse.Namespace) -> int:
    """List the trials of a study as a table, JSON or CSV."""
    study = _load(args)
    records = study.trials_records()
    if args.state:
        valid = {s.name for s in st.TrialState}
        wanted = {s.upper() for s in args.state}
        bad = sorted(wanted - valid)
        if bad:
            raise UserError(
                f"--state {', '.join(bad)}: unknown state; use one of {', '.join(sorted(valid))}."
            )
        records = [r for r in records if r["state"] in wanted]
    if args.limit:
        records = records[-args.limit :]
    if args.format == "json":
        _dump_json(records)
    elif args.format == "csv":
        cols: list[str] = []
        for r in records:
            for k in r:
                if k not in cols:
                    cols.append(k)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols)
        w.writeheader()
        for r in records:
            w.writerow(r)
        sys.stdout.write(buf.getvalue())
    elif not records:
        what = "no trials yet" if not study.trials else "no trials in the states asked for"
        print(f"study {study.study_name!r} has {what}.")
    else:
        n = len(study.trials)
        shown = f"{len(records)} of {n}" if len(records) != n else str(n)
        print_table(trial_columns(study, records), f"Trials of {study.study_name} ({shown})", args)
    return 0


def cmd_best(args: argparse.Namespace) -> int:
    """The best trial, or the Pareto front of a multi-objective study (by the first
    objective)."""
    study = _load(args)
    trials = study.best_trials
    if not trials:
        print(
            f"error: study {study.study_name!r} has no complete (feasible) trial yet; "
            "`slimtune trials` shows what happened.",
            file=sys.stderr,
        )
        return 1
    names = study.objective_names()
    if len(study.directions) == 1:
        trials = [study.best_trial]
    else:
        sign = 1 if study.directions[0] == "minimize" else -1
        trials = sorted(trials, key=lambda t: (sign * t.values[0], t.number))  # type: ignore[index]
    if args.format == "json":
        _dump_json(
            [
                {
                    "number": t.number,
                    "values": t.values,
                    "objectives": dict(zip(names, t.values or [])),
                    "params": t.params,
                    "user_attrs": t.user_attrs,
                }
                for t in trials
            ]
        )
        return 0
    title = "Best trial" if len(trials) == 1 else f"Pareto front ({len(trials)} trials)"
    cols = [Column("number", [str(t.number) for t in trials], priority=0, numeric=True)]
    for i, header in enumerate(objective_headers(names, study.directions)):
        cols.append(
            Column(
                header,
                format_column([t.values[i] if t.values else None for t in trials]),
                priority=0,
                numeric=True,
                key=names[i],
            )
        )
    pnames: list[str] = []
    for t in trials:
        for k in t.params:
            if k not in pnames:
                pnames.append(k)
    for j, k in enumerate(pnames):
        vals = [t.params.get(k) for t in trials]
        numeric = all(isinstance(v, (int, float)) or v is None for v in vals)
        cols.append(
            Column(
                k,
                format_column(vals),
                priority=1 + j / 1000,
                numeric=numeric,
                min_width=24,
            )
        )
    print_table(cols, f"{title} of {study.study_name}", args)
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    """Delete a study and its trials."""
    storage = _open_storage(args)
    load_study(storage, _storage_url(args), args.study_name)  # a missing name: the names there
    st.delete_study(args.study_name, storage)
    print(f"deleted study {args.study_name!r}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write the HTML report of a study."""
    study = _load(args)
    try:
        from slimtune.viz import write_report
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise UserError(
            f"`slimtune report` needs the viz extra ({e}); pip install 'slimtune[viz]'."
        ) from None
    out = args.out or f"{study.study_name}_report.html"
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UserError(f"--out {out!r}: the directory {parent!r} does not exist; create it first.")
    print(f"report written to {write_report(study, out)}")
    return 0


def _import_objective(spec: str) -> Any:
    """``package.module:function`` or ``path/to/file.py:function`` -> the function."""
    import importlib
    import importlib.util

    if ":" not in spec:
        raise UserError(f"--objective {spec!r}: use 'module:function' or 'file.py:function'.")
    mod_name, func_name = spec.rsplit(":", 1)
    if mod_name.endswith(".py"):
        path = os.path.abspath(mod_name)
        if not os.path.isfile(path):
            raise UserError(f"--objective {spec!r}: no file {mod_name!r}; check the path.")
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
            raise UserError(
                f"--objective {spec!r}: cannot import {mod_name!r} ({e}); run from the "
                "directory that holds it, or give 'path/file.py:function'."
            ) from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise UserError(f"--objective {spec!r}: {mod_name!r} has no function {func_name!r}.")
    return func


def _worker_summary(name: str, finished: Sequence[st.FrozenTrial]) -> tuple[str, int]:
    """The worker's last line and exit code: 1 when any of its trials failed."""
    counts = {s: 0 for s in (st.TrialState.COMPLETE, st.TrialState.PRUNED, st.TrialState.FAIL)}
    for t in finished:
        counts[t.state] = counts.get(t.state, 0) + 1
    n_fail = counts[st.TrialState.FAIL]
    text = (
        f"worker ran {len(finished)} trial(s) in study {name!r}: "
        f"{counts[st.TrialState.COMPLETE]} complete, {counts[st.TrialState.PRUNED]} pruned, "
        f"{n_fail} failed"
    )
    if n_fail:
        first = next(t for t in finished if t.state == st.TrialState.FAIL)
        reason = first.system_attrs.get(keys.FAIL_REASON, "no reason stored")
        text += f" (first reason, trial {first.number}: {reason})"
    return text + ".", 1 if n_fail else 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Join a study as one more worker (e.g. on another machine, same database); exit 1
    when any of the trials it ran failed."""
    func = _import_objective(args.objective)
    kwargs = {"heartbeat_interval": args.heartbeat} if args.heartbeat else {}
    storage = _open_storage(args, must_exist=False, **kwargs)
    sampler = None
    if args.sampler:
        cls = getattr(st.samplers, args.sampler, None)
        if cls is None:
            raise UserError(
                f"--sampler {args.sampler!r}: unknown; use one of {', '.join(st.samplers.__all__)}."
            )
        sampler = cls(seed=args.seed)
    names = storage.get_all_study_names()
    if args.study_name in names and args.direction:
        have = storage.get_study_directions(storage.get_study_id_from_name(args.study_name))
        if list(have) != list(args.direction):
            raise UserError(
                f"--direction {' '.join(args.direction)}: study {args.study_name!r} already "
                f"exists with directions {' '.join(have)}; drop --direction or use a new "
                "--study-name."
            )
    study = st.create_study(
        storage=storage,
        study_name=args.study_name,
        sampler=sampler,
        load_if_exists=True,
        directions=args.direction or None,
    )
    finished: list[st.FrozenTrial] = []
    bar = bool(args.progress_bar) and sys.stderr.isatty()  # off a terminal: the log lines
    if bar and getattr(args, "verbosity", logging.INFO) == logging.INFO:
        st.logging.set_verbosity(logging.WARNING)  # the bar or the per-trial lines, not both
    try:
        study.optimize(
            func,
            n_trials=args.n_trials,
            timeout=args.timeout,
            n_jobs=args.n_jobs,
            callbacks=[lambda _s, t: finished.append(t)],
            show_progress_bar=bar,
        )
    except KeyboardInterrupt:
        print(_worker_summary(study.study_name, finished)[0], file=sys.stderr)
        raise
    text, code = _worker_summary(study.study_name, finished)
    print(text, file=sys.stderr if code else sys.stdout)
    return code


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line (problem, fix), exit code 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _add_global(p: argparse.ArgumentParser, top: bool) -> None:
    """``--debug``, ``-v``, ``-q``: accepted before and after the command."""
    d = {} if top else {"default": argparse.SUPPRESS}
    p.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error",
        **({"default": False} if top else d),
    )
    p.add_argument(
        "-v",
        "--verbose",
        action="count",
        help="more log lines (DEBUG)",
        **({"default": 0} if top else d),
    )
    p.add_argument(
        "-q",
        "--quiet",
        action="count",
        help="fewer log lines (-q: warnings, -qq: errors)",
        **({"default": 0} if top else d),
    )


def _add_table_options(sp: argparse.ArgumentParser, formats: Sequence[str]) -> None:
    sp.add_argument("--format", choices=list(formats), default="table")
    sp.add_argument("--all", action="store_true", help="show every column (the table may be wider)")
    sp.add_argument(
        "--columns",
        action="append",
        metavar="NAME,...",
        help="show these columns, in this order (names as listed under the table)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``slimtune`` parser: one sub-command per ``cmd_*`` function."""
    p = _Parser(
        prog="slimtune", description="slimtune: find small models with good hyperparameters."
    )
    p.add_argument("--version", action="version", version=f"slimtune {st.__version__}")
    _add_global(p, top=True)
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_: str, func: Any, study: bool = False) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        _add_global(sp, top=False)
        sp.add_argument(
            "--storage",
            default=None,
            help=f"database URL: sqlite:///path.db or postgresql://user@host/db "
            f"(default: $SLIMTUNE_STORAGE or {DEFAULT_STORAGE})",
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
    _add_table_options(sp, ["table", "json"])
    sp = add("trials", "list the trials of a study", cmd_trials, study=True)
    _add_table_options(sp, ["table", "json", "csv"])
    sp.add_argument("--state", action="append", help="only trials in this state (repeatable)")
    sp.add_argument("--limit", type=nonnegative_int, default=0, help="only the last N trials")
    sp = add("best", "show the best trial (or the Pareto front)", cmd_best, study=True)
    _add_table_options(sp, ["table", "json"])
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
    sp.add_argument("--n-trials", type=positive_int, default=None)
    sp.add_argument("--timeout", type=positive_float, default=None, help="seconds")
    sp.add_argument(
        "--n-jobs", type=positive_int, default=1, help="worker processes on this machine"
    )
    sp.add_argument("--sampler", default=None, help="sampler class name (default: AutoSampler)")
    sp.add_argument("--seed", type=nonnegative_int, default=None)
    sp.add_argument(
        "--direction",
        action="append",
        choices=["minimize", "maximize"],
        help="objective direction(s) when the study is created (repeat for several)",
    )
    sp.add_argument(
        "--heartbeat",
        type=positive_float,
        default=None,
        help="heartbeat interval in seconds (default 10; trials of dead workers fail after 3)",
    )
    sp.add_argument(
        "--progress-bar",
        action="store_true",
        help="a progress bar instead of one log line per trial (failures are still logged)",
    )

    from slimtune.integration import dashboard as dashboard_cli  # `slimtune dashboard`

    dashboard_cli.register(sub)

    try:
        from slimtune.nas import cli as nas_cli
    except ImportError as e:
        err = str(e)

        def missing(args: argparse.Namespace, _err: str = err) -> int:
            raise UserError(
                f"`slimtune {args.command}` needs the nas extra ({_err}); "
                "pip install 'slimtune[nas]'."
            )

        for name, help_ in (
            ("search", "lightweight-model search from a YAML config"),
            ("export", "export a searched model"),
            ("card", "print a search's model card"),
        ):
            sp = sub.add_parser(name, help=help_ + " (needs the nas extra)")
            sp.add_argument("rest", nargs=argparse.REMAINDER)
            sp.set_defaults(func=missing)
    else:
        nas_cli.register(sub)
        for name in ("search", "export", "card"):
            _add_global(sub.choices[name], top=False)
    return p


def _verbosity(args: argparse.Namespace) -> int:
    """The log level of ``-v``/``-q`` (INFO by default)."""
    level = logging.INFO - 10 * (args.verbose or 0) + 10 * (args.quiet or 0)
    return max(logging.DEBUG, min(logging.CRITICAL, level))


def _storage_failure(args: argparse.Namespace, e: BaseException) -> str | None:
    """One line for a database that failed while a command read or wrote it (corrupted,
    gone, locked), None for any other error."""
    import sqlalchemy.exc

    unavailable = getattr(st.storage, "StorageUnavailableError", None)
    if isinstance(e, sqlalchemy.exc.SQLAlchemyError) or (
        unavailable is not None and isinstance(e, unavailable)
    ):
        url = getattr(args, "storage", None) or os.environ.get("SLIMTUNE_STORAGE") or "storage"
        return describe_storage_error(url, e)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code: 0 ok, 1 a failed run, 2 a user mistake, 130 Ctrl-C."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0) if not isinstance(e.code, str) else 2
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    args.verbosity = _verbosity(args)
    before = st.logging.get_verbosity(), logging.getLogger("slimtune.nas").level
    st.logging.set_verbosity(args.verbosity)
    try:
        return _run(args)
    finally:  # main() may be called in-process (tests, notebooks): leave the levels as found
        st.logging.set_verbosity(before[0])
        logging.getLogger("slimtune.nas").setLevel(before[1])


def _run(args: argparse.Namespace) -> int:
    """``args.func(args)``, every error turned into its line and exit code."""
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        if args.debug:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            traceback.print_exc()
        print("interrupted.", file=sys.stderr)
        return 130
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - one line unless --debug; the objective's bugs too
        known = _storage_failure(args, e)
        if known is not None:
            if args.debug:
                traceback.print_exc()
            print(f"error: {known}", file=sys.stderr)
            return 2
        if args.debug:
            raise
        what = str(e).splitlines()[0] if str(e) else ""
        line = f"error: {type(e).__name__}: {what}"
        if any(n.startswith("slimtune:") for n in getattr(e, "__notes__", [])):
            line += (
                "; the study stopped because its first trials all failed with this error "
                "(the log above says more): fix the objective and rerun"
            )
        print(f"{line} (--debug shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
