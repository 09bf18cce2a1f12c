"""``slimtune search``, ``slimtune export`` and ``slimtune card`` (registered into the main
CLI).

``register(subparsers)`` adds the sub-commands; each sets ``func`` (``args -> exit code``).
Importing this module does not import torch; the commands do.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from slimtune.cli_common import (
    UserError,
    check_storage,
    load_study,
    nonnegative_int,
    open_storage,
    positive_float,
    positive_int,
    reports_user_errors,
)
from slimtune.tables import terminal_width

__all__ = ["cmd_card", "cmd_export", "cmd_search", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``search``, ``export`` and ``card`` to an argparse sub-parser set."""
    sp = subparsers.add_parser(
        "search",
        help="lightweight-model search from a YAML config",
        description="Search architectures + training hyperparameters (multi-objective: "
        "score vs MACs/latency). Resumes when the study already exists in the storage.",
    )
    sp.add_argument("config", help="search config YAML (see examples/nas_digits.yaml)")
    sp.add_argument("--storage", help="database URL (default: the config's study.storage)")
    sp.add_argument("--study-name", dest="study_name", help="override study.name")
    sp.add_argument(
        "--n-trials", dest="n_trials", type=positive_int, help="trials to run in this call"
    )
    sp.add_argument("--timeout", type=positive_float, help="seconds of search in this call")
    sp.add_argument("--out", help="output directory (default: the config's output.dir)")
    sp.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        default=None,
        help="one log line per trial instead of the progress bar (the default off a terminal)",
    )
    sp.add_argument(
        "--force",
        action="store_true",
        help="the config changed what the stored trials mean (objectives, space, constraints, "
        "data, fidelity): start a new version NAME-vN of the study; the old trials stay in "
        "the old study, unused",
    )
    sp.set_defaults(func=cmd_search)

    ep = subparsers.add_parser(
        "export",
        help="export a model spec + weights to TorchScript / ONNX",
        description="Build the model of a spec YAML, load its weights and export it; each "
        "export is reloaded and checked to predict the same as PyTorch.",
    )
    ep.add_argument("spec", nargs="?", help="model spec YAML (e.g. nas_out/model.yaml)")
    ep.add_argument("--storage", help="or export from a search study in this database")
    ep.add_argument("--study-name", dest="study_name", help="the study (default: the only one)")
    ep.add_argument("--trial", type=nonnegative_int, help="trial number (default: the best score)")
    ep.add_argument(
        "--epochs", type=positive_int, help="retraining epochs when no weights are kept"
    )
    ep.add_argument(
        "--weights",
        help="state dict (default: the .pt next to the spec, or OUT/trials/trial_N.pt for a study)",
    )
    ep.add_argument(
        "--out", help="output directory (default: the spec's directory; for a study: nas_out)"
    )
    ep.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=["torchscript", "onnx"],
        help="repeatable (default: both)",
    )
    ep.add_argument(
        "--input-size",
        dest="input_size",
        type=positive_int,
        nargs=2,
        metavar=("H", "W"),
        help="input size when the spec has no input_size",
    )
    ep.set_defaults(func=cmd_export)

    cp = subparsers.add_parser(
        "card",
        help="print the model card of a search's chosen model",
        description="Print OUT_DIR/model_card.md, the one-screen card `slimtune search` wrote "
        "for its chosen model (layers, MACs, params, latency, scores, recipe, pick rule, files).",
    )
    cp.add_argument("out_dir", help="the search's output directory (e.g. nas_out)")
    cp.set_defaults(func=cmd_card)


def _setup_logging(bar: bool, verbosity: int) -> None:
    """The library's line per finished trial or the progress bar, not both: with the bar
    the "slimtune" logger keeps warnings (failed trials) only, while the search's own lines
    (resuming, retraining, on "slimtune.nas") stay at ``verbosity``."""
    from slimtune import logging as st_logging

    st_logging.get_logger("slimtune")
    logging.getLogger("slimtune.nas").setLevel(verbosity)
    if bar and verbosity >= logging.INFO:
        st_logging.set_verbosity(max(verbosity, logging.WARNING))
    else:
        st_logging.set_verbosity(verbosity)


def _read_config(path: str) -> Any:
    """The config of ``path``; a missing file or bad YAML is one line naming the place."""
    import yaml

    from slimtune.nas.config import ConfigError, load_config

    p = Path(path)
    if not p.is_file():
        hint = " (it is a directory)" if p.is_dir() else ""
        raise UserError(
            f"config file {path!r} not found{hint}; give the path of a search YAML, "
            "e.g. examples/nas_digits.yaml."
        )
    try:
        yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise UserError(
            f"{path}{where}: invalid YAML ({problem}); fix the indentation or quoting there."
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read config {path!r} ({e}); check the file.") from None
    try:
        return load_config(p)
    except ConfigError as e:
        raise UserError(f"{path}: {e}") from None


def _check_data_path(cfg: Any, config: str) -> None:
    """A ``data.path`` that does not exist, named before any study is created."""
    data = cfg.data
    if not isinstance(data, dict) or data.get("path") is None:
        return
    path = Path(str(data["path"]))
    if not path.exists():
        raise UserError(
            f"{config}: data.path {str(path)!r} does not exist (relative paths start at "
            f"{os.getcwd()}); fix data.path or run from the directory that holds the data."
        )


@reports_user_errors
def cmd_search(args: argparse.Namespace) -> int:
    """Run the search of ``args.config``; print the front and where the files went."""
    from rich.console import Console

    from slimtune.nas.config import ConfigError
    from slimtune.nas.outputs import print_summary
    from slimtune.nas.search import run_search

    cfg = _read_config(args.config)
    if getattr(args, "study_name", None):
        cfg.study.name = args.study_name
    _check_data_path(cfg, args.config)
    url = args.storage or cfg.study.storage
    if url is not None:
        check_storage(url, must_exist=False)
    bar = sys.stderr.isatty() if args.progress is None else bool(args.progress)
    _setup_logging(bar, getattr(args, "verbosity", logging.INFO))
    try:
        res = run_search(
            cfg,
            storage=args.storage,
            n_trials=args.n_trials,
            timeout=args.timeout,
            out_dir=args.out,
            progress=bar,
            force=getattr(args, "force", False),
        )
    except ConfigError as e:
        raise UserError(f"{args.config}: {e}") from None
    except OSError as e:
        if e.filename is None:
            raise
        raise UserError(
            f"cannot use {e.filename!r} ({e.strerror}); check that the path exists and "
            "is readable (or writable, for --out)."
        ) from None
    except KeyboardInterrupt:  # before the trials started (loading, setup): nothing to save
        print("interrupted (Ctrl-C) before the search started; no trial was run.", file=sys.stderr)
        return 130
    print_summary(res, Console(width=terminal_width(), soft_wrap=False))
    if res.interrupted:
        return 130  # the shell's code for Ctrl-C
    if res.chosen is None:
        print("no model to pick: no feasible complete trial yet.", file=sys.stderr)
        return 1
    return 0


@reports_user_errors
def cmd_export(args: argparse.Namespace) -> int:
    """Export a spec + weights; print the files and the check of each export."""
    from slimtune.nas.export import export_model, load_model
    from slimtune.nas.spec import SpecError

    if args.spec is None:
        if not args.storage:
            raise UserError(
                "give a spec YAML (e.g. nas_out/model.yaml), or --storage (and --study-name) "
                "of a search."
            )
        return _export_from_study(args)
    spec = Path(args.spec)
    if not spec.is_file():
        raise UserError(
            f"spec file {str(spec)!r} not found; give the model.yaml a search wrote "
            "(e.g. nas_out/model.yaml)."
        )
    weights = Path(args.weights) if args.weights else spec.with_suffix(".pt")
    if args.weights and not weights.is_file():
        raise UserError(f"--weights {str(weights)!r} not found; check the path.")
    try:
        model = load_model(spec, weights if weights.is_file() else None)
    except (SpecError, RuntimeError) as e:
        raise UserError(f"{spec}: {str(e).splitlines()[0]}") from None
    if not weights.is_file():
        print(f"warning: no weights at {weights}; exporting an untrained model.", file=sys.stderr)
    out = Path(args.out) if args.out else spec.parent
    formats = tuple(args.formats or ("torchscript", "onnx"))
    size = tuple(args.input_size) if args.input_size else None
    try:
        files = export_model(model, out, formats=formats, stem=spec.stem, input_size=size)
    except ValueError as e:
        raise UserError(str(e)) from None
    for k, v in files.items():
        print(f"{k}: {v}")
    return 0


@reports_user_errors
def cmd_card(args: argparse.Namespace) -> int:
    """Print the model card a search left in ``args.out_dir`` (no torch needed)."""
    out = Path(args.out_dir)
    card = out / "model_card.md"  # slimtune.nas.card.CARD_FILE (that module imports torch)
    if not out.is_dir():
        raise UserError(
            f"output directory {str(out)!r} does not exist; give the --out directory of a "
            "search (e.g. nas_out)."
        )
    if not card.is_file():
        raise UserError(
            f"no model_card.md in {str(out)!r}: no search with a chosen model finished there; "
            f"run `slimtune search CONFIG.yaml --out {out}` first."
        )
    try:
        text = card.read_text()
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read {str(card)!r} ({e}); check the file.") from None
    sys.stdout.write(text)
    return 0


def _export_from_study(args: argparse.Namespace) -> int:
    from slimtune.nas.search import export_trial

    storage = open_storage(args.storage, must_exist=True)
    study = load_study(storage, args.storage, args.study_name)
    out = Path(args.out or "nas_out")
    formats = tuple(args.formats or ("torchscript", "onnx"))
    try:
        chosen, files = export_trial(study, out, args.trial, args.weights, formats, args.epochs)
    except ValueError as e:
        raise UserError(str(e)) from None
    how = "retrained" if chosen.retrained else "kept weights"
    print(f"trial {chosen.number} ({how}): accuracy {chosen.accuracy:.4f}, {chosen.macs:,} MACs")
    for k, v in files.items():
        print(f"{k}: {v}")
    return 0
