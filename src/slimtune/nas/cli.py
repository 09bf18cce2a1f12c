"""``slimtune search`` and ``slimtune export`` (registered into the main CLI).

``register(subparsers)`` adds both sub-commands; each sets ``func`` (``args -> exit code``).
Importing this module does not import torch; the commands do.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

__all__ = ["cmd_export", "cmd_search", "register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``search`` and ``export`` to an argparse sub-parser set."""
    sp = subparsers.add_parser(
        "search",
        help="lightweight-model search from a YAML config",
        description="Search architectures + training hyperparameters (multi-objective: "
        "score vs MACs/latency). Resumes when the study already exists in the storage.",
    )
    sp.add_argument("config", help="search config YAML (see examples/nas_digits.yaml)")
    sp.add_argument("--storage", help="database URL (default: the config's study.storage)")
    sp.add_argument("--study-name", dest="study_name", help="override study.name")
    sp.add_argument("--n-trials", dest="n_trials", type=int, help="trials to run in this call")
    sp.add_argument("--timeout", type=float, help="seconds of search in this call")
    sp.add_argument("--out", help="output directory (default: the config's output.dir)")
    sp.add_argument(
        "--no-progress", dest="progress", action="store_false", default=None, help="no progress bar"
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
    ep.add_argument("--trial", type=int, help="trial number (default: the best score)")
    ep.add_argument("--epochs", type=int, help="retraining epochs when no weights are kept")
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
        type=int,
        nargs=2,
        metavar=("H", "W"),
        help="input size when the spec has no input_size",
    )
    ep.set_defaults(func=cmd_export)


def _setup_logging() -> None:
    """The search's own lines (resuming, retraining) at INFO through slimtune's handler."""
    from slimtune import logging as st_logging

    st_logging.get_logger("slimtune")
    logging.getLogger("slimtune.nas").setLevel(logging.INFO)


def cmd_search(args: argparse.Namespace) -> int:
    """Run the search of ``args.config``; print the front and where the files went."""
    from rich.console import Console

    from slimtune.nas.config import ConfigError, load_config
    from slimtune.nas.outputs import print_summary
    from slimtune.nas.search import run_search

    console = Console(stderr=False)
    try:
        cfg = load_config(args.config)
        if getattr(args, "study_name", None):
            cfg.study.name = args.study_name
        if not sys.stderr.isatty() and args.progress is not False:
            _setup_logging()
        res = run_search(
            cfg,
            storage=args.storage,
            n_trials=args.n_trials,
            timeout=args.timeout,
            out_dir=args.out,
            progress=args.progress,
            force=getattr(args, "force", False),
        )
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # before the trials started (loading, setup): nothing to save
        print("interrupted (Ctrl-C) before the search started; no trial was run.", file=sys.stderr)
        return 130
    print_summary(res, console)
    if res.interrupted:
        return 130  # the shell's code for Ctrl-C
    if res.chosen is None:
        print("no model to pick: no feasible complete trial yet.", file=sys.stderr)
        return 1
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Export a spec + weights; print the files and the check of each export."""
    from slimtune.nas.export import export_model, load_model
    from slimtune.nas.spec import SpecError

    if args.spec is None:
        if not args.storage:
            print(
                "error: give a spec YAML, or --storage (and --study-name) of a search.",
                file=sys.stderr,
            )
            return 2
        return _export_from_study(args)
    spec = Path(args.spec)
    if not spec.is_file():
        print(f"error: spec file {str(spec)!r} not found.", file=sys.stderr)
        return 2
    weights = Path(args.weights) if args.weights else spec.with_suffix(".pt")
    if args.weights and not weights.is_file():
        print(f"error: weights file {str(weights)!r} not found.", file=sys.stderr)
        return 2
    try:
        model = load_model(spec, weights if weights.is_file() else None)
    except (SpecError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if not weights.is_file():
        print(f"warning: no weights at {weights}; exporting an untrained model.", file=sys.stderr)
    out = Path(args.out) if args.out else spec.parent
    formats = tuple(args.formats or ("torchscript", "onnx"))
    size = tuple(args.input_size) if args.input_size else None
    try:
        files = export_model(model, out, formats=formats, stem=spec.stem, input_size=size)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for k, v in files.items():
        print(f"{k}: {v}")
    return 0


def _export_from_study(args: argparse.Namespace) -> int:
    import slimtune as st
    from slimtune.nas.search import export_trial

    try:
        study = st.load_study(study_name=args.study_name, storage=args.storage)
    except Exception as e:  # noqa: BLE001 - any storage problem is a user error here
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(args.out or "nas_out")
    formats = tuple(args.formats or ("torchscript", "onnx"))
    try:
        chosen, files = export_trial(study, out, args.trial, args.weights, formats, args.epochs)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    how = "retrained" if chosen.retrained else "kept weights"
    print(f"trial {chosen.number} ({how}): accuracy {chosen.accuracy:.4f}, {chosen.macs:,} MACs")
    for k, v in files.items():
        print(f"{k}: {v}")
    return 0
