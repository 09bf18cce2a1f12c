"""Every public name of the installed Optuna, checked against slimtune: the name table.

    python -m benchmarks.optuna_names            # print the table
    python -m benchmarks.optuna_names --write    # regenerate it in docs/optuna_compat.md

For each public name of the modules in :data:`MODULES` (``__all__`` where the module has
one, else the functions and classes it defines) it looks up the same dotted path under
``slimtune`` and compares:

* functions: the parameter names, in order (keyword-only or not is ignored: ours may be
  more permissive);
* classes: the constructor's parameter names, and every public method or property of
  Optuna's class (missing ones, and methods whose parameter names differ).

Status: **same** (all equal), **extended** (Optuna's parameters all there in the same
order, plus extra optional ones), **different** (how), **not provided** (why, or which
helper is building it). :data:`NOTES` adds what a signature cannot show (a different
meaning). ``tests/compat/test_names.py`` fails when a name marked same or extended is
missing from slimtune, so the table cannot silently rot. Needs ``optuna`` installed (the
``bench`` extra); the test needs only the generated table.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
import warnings
from pathlib import Path
from typing import Any

MODULES = [
    "optuna",
    "optuna.samplers",
    "optuna.pruners",
    "optuna.storages",
    "optuna.study",
    "optuna.trial",
    "optuna.distributions",
    "optuna.exceptions",
    "optuna.search_space",
    "optuna.logging",
    "optuna.visualization",
    "optuna.visualization.matplotlib",
    "optuna.importance",
    "optuna.terminator",
    "optuna.artifacts",
    "optuna.integration",
]

# Modules whose missing names are out of scope, with the reason.
OUT_OF_SCOPE = {
    "optuna.integration": "not in slimtune's integrations (scikit-learn, Lightning, Dask, the "
    "dashboard): its library is not a dependency here",
}

# Why a name is not provided at all (it does not exist in slimtune).
NOT_PROVIDED = {
    "optuna.storages.GrpcStorageProxy": "no gRPC proxy; share a study through PostgreSQL "
    "(`RDBStorage('postgresql://...')`)",
    "optuna.storages.run_grpc_proxy_server": "no gRPC proxy; share a study through PostgreSQL",
    "optuna.integration.BoTorchSampler": "needs BoTorch; `slimtune.samplers.GPSampler` is "
    "the GP sampler",
    "optuna.integration.PyCmaSampler": "needs pycma; use `samplers.CmaEsSampler`",
    "optuna.samplers.NSGAIIISampler": "NSGA-III (reference-point selection for many "
    "objectives) is not built; use `NSGAIISampler` or `TPESampler`",
    "optuna.samplers.BaseGASampler": "the genetic-algorithm base class is not public here; "
    "`NSGAIISampler` takes Optuna's crossover/mutation/selection hooks",
}

# What a signature cannot show. (status, note): status None keeps the computed one.
NOTES: dict[str, tuple[str | None, str]] = {
    "optuna.__version__": ("same", "slimtune's own version number"),
    "optuna.study.StudyDirection": (
        "different",
        "string constants (`MINIMIZE == 'minimize'`), not an enum; `study.direction` is "
        "the string, which compares equal to them",
    ),
    "optuna.study.StudySummary": (
        "different",
        "a dataclass with `study_id, study_name, directions, n_trials, n_complete, "
        "best_values, datetime_start, user_attrs` (no `best_trial` object)",
    ),
    "optuna.get_all_study_summaries": (None, "returns slimtune's `StudySummary`"),
    "optuna.create_study": (
        None,
        "default sampler `AutoSampler` (Optuna: TPE); `directions` accepts the strings",
    ),
    "optuna.storages.JournalStorage": (
        "different",
        "the file is a SQLite database, not Optuna's JSON-lines log (same use: one file, "
        "several processes, resumable); an Optuna journal file is refused with a clear error",
    ),
    "optuna.storages.JournalFileStorage": ("different", "alias of `JournalFileBackend`"),
    "optuna.storages.JournalFileSymlinkLock": ("different", "accepted, unused: SQLite locks"),
    "optuna.storages.JournalFileOpenLock": ("different", "accepted, unused: SQLite locks"),
    "optuna.storages.JournalRedisStorage": (
        "not provided",
        "raises NotImplementedError naming `RDBStorage('postgresql://...')`",
    ),
    "optuna.storages.RDBStorage": (
        None,
        "`grace_period=None` means 3 heartbeat intervals (Optuna: 2); "
        "`skip_compatibility_check`/`skip_table_creation` accepted (the schema is always "
        "checked, missing tables always created)",
    ),
    "optuna.artifacts.Boto3ArtifactStore": (
        "not provided",
        "raises NotImplementedError naming `FileSystemArtifactStore` (no cloud clients)",
    ),
    "optuna.artifacts.GCSArtifactStore": (
        "not provided",
        "raises NotImplementedError naming `FileSystemArtifactStore` (no cloud clients)",
    ),
    "optuna.terminator.EMMREvaluator": (
        "not provided",
        "raises NotImplementedError naming `RegretBoundEvaluator` and "
        "`BestValueStagnationEvaluator`",
    ),
    "optuna.terminator.RegretBoundEvaluator": (
        None,
        "our own GP (Matern 5/2, MAP hyperparameters) and beta schedule: values differ "
        "from Optuna's on the same trials",
    ),
    "optuna.distributions.UniformDistribution": (
        "different",
        "constructs the equal `FloatDistribution` (a FutureWarning); not a class to "
        "`isinstance` against",
    ),
    "optuna.distributions.LogUniformDistribution": (
        "different", "constructs `FloatDistribution(log=True)` (see UniformDistribution)"),
    "optuna.distributions.DiscreteUniformDistribution": (
        "different", "constructs `FloatDistribution(step=q)` (see UniformDistribution)"),
    "optuna.distributions.IntUniformDistribution": (
        "different", "constructs `IntDistribution` (see UniformDistribution)"),
    "optuna.distributions.IntLogUniformDistribution": (
        "different", "constructs `IntDistribution(log=True)` (see UniformDistribution)"),
    "optuna.distributions.DISTRIBUTION_CLASSES": (
        "different", "the three modern classes only"),
    "optuna.exceptions.OptunaError": (None, "alias of `slimtune.exceptions.SlimtuneError`"),
    "optuna.exceptions.DuplicatedStudyError": (None, "also a `ValueError`"),
    "optuna.search_space.IntersectionSearchSpace": (
        None, "slimtune's own samplers use the union space (see docs/design.md)"),
    "optuna.trial.FrozenTrial": (
        None, "`constraints` is a list of values (Optuna 5: a dict by name)"),
    "optuna.study.MaxTrialsCallback": (
        None, "counts the whole study's trials in storage (every process stops on it)"),
}

BEGIN, END = "<!-- names:begin -->", "<!-- names:end -->"
DOC = Path(__file__).resolve().parents[1] / "docs" / "optuna_compat.md"


def public_names(mod: Any) -> list[str]:
    """``__all__`` (without private names) plus the functions and classes the module
    defines (Optuna's modules without ``__all__``, or with a partial one)."""
    names = {n for n in getattr(mod, "__all__", []) if not n.startswith("_") or n == "__version__"}
    for n in dir(mod):
        if n.startswith("_"):
            continue
        try:
            obj = getattr(mod, n)
        except Exception:  # noqa: BLE001 - a lazy name whose extra is missing
            continue
        if inspect.ismodule(obj):
            if obj.__name__ == f"{mod.__name__}.{n}" and hasattr(mod, "__all__"):
                continue  # submodules count only when __all__ lists them
            continue
        # Defined in this module (or a private submodule of it), not imported helpers.
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and str(
            getattr(obj, "__module__", "")
        ).startswith(mod.__name__):
            names.add(n)
    return sorted(names, key=str.lower)


def params(obj: Any) -> list[str] | None:
    """Parameter names of a callable (a class: its constructor), without self/cls,
    ``*args`` and ``**kwargs``; None when there is no signature."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    return [
        p.name
        for p in sig.parameters.values()
        if p.name not in ("self", "cls")
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]


def compare_params(theirs: list[str] | None, ours: list[str] | None) -> tuple[str, str]:
    if theirs is None or ours is None or theirs == ours:
        return "same", ""
    if ours[: len(theirs)] == theirs:
        return "extended", "also accepts " + ", ".join(f"`{p}`" for p in ours[len(theirs):])
    missing = [p for p in theirs if p not in ours]
    extra = [p for p in ours if p not in theirs]
    how = []
    if missing:
        how.append("lacks " + ", ".join(f"`{p}`" for p in missing))
    if extra:
        how.append("has " + ", ".join(f"`{p}`" for p in extra))
    if not how:
        how.append("parameters in another order: " + ", ".join(ours))
    return "different", "; ".join(how)


def members(cls: type) -> dict[str, Any]:
    """Public methods and properties a class defines (not those of object/Exception/...)."""
    out = {}
    for klass in cls.__mro__:
        if klass.__module__ in ("builtins", "abc", "enum", "typing") or klass is object:
            continue
        for n, v in vars(klass).items():
            if n.startswith("_") or n in out:
                continue
            out[n] = v
    return out


def instance_attrs(cls: type) -> set[str]:
    """Attributes set on instances: ``__slots__`` and ``self.x = `` in ``__init__``."""
    out: set[str] = set()
    for klass in cls.__mro__:
        out.update(getattr(klass, "__slots__", ()))
        init = vars(klass).get("__init__")
        if init is not None:
            try:
                src = inspect.getsource(init)
            except (OSError, TypeError):
                continue
            out.update(re.findall(r"self\.([A-Za-z]\w*)\s*(?::[^=]*)?=", src))
    return out


def compare_class(theirs: type, ours: Any) -> tuple[str, str]:
    if not inspect.isclass(ours):
        return "different", "a function returning the equivalent object, not a class"
    status, how = compare_params(params(theirs), params(ours))
    notes = [how] if how else []
    if issubclass(theirs, BaseException) and not (
        isinstance(ours, type) and issubclass(ours, BaseException)
    ):
        return "different", "not an exception class"
    missing, differ = [], []
    inst = instance_attrs(ours)
    for name, member in members(theirs).items():
        if not hasattr(ours, name) and name not in inst:
            missing.append(name)
            continue
        if callable(member) and not isinstance(member, type):
            fn_t = getattr(theirs, name)
            fn_o = getattr(ours, name)
            st, _ = compare_params(params(fn_t), params(fn_o))
            if st == "different":
                differ.append(name)
    if missing:
        notes.append("no " + ", ".join(f"`{m}`" for m in sorted(missing)))
    if differ:
        notes.append("other parameters in " + ", ".join(f"`{m}`" for m in sorted(differ)))
    if missing or differ:
        status = "different"
    return status, "; ".join(notes)


def check(module: str, name: str) -> tuple[str, str]:
    """(status, how or why) of ``module.name``."""
    qual = f"{module}.{name}"
    try:
        theirs = getattr(importlib.import_module(module), name, None)
    except Exception:  # noqa: BLE001 - Optuna's lazy name needs an extra (optuna-integration)
        theirs = None
    ours_mod_name = "slimtune" + module[len("optuna"):]
    try:
        ours_mod = importlib.import_module(ours_mod_name)
    except ImportError:
        ours_mod = None
    ours = None
    if ours_mod is not None:
        try:
            ours = getattr(ours_mod, name, None)
        except Exception:  # noqa: BLE001
            ours = None
    if ours is None:
        why = NOT_PROVIDED.get(qual)
        if why is None:
            why = OUT_OF_SCOPE.get(module, "not built yet")
        return "not provided", why
    if theirs is None:
        status, how = "same", "(Optuna's needs an extra here; existence only)"
    elif inspect.isclass(theirs):
        status, how = compare_class(theirs, ours)
    elif inspect.ismodule(theirs):
        status, how = ("same", "") if inspect.ismodule(ours) else ("different", "not a module")
    elif callable(theirs):
        status, how = compare_params(params(theirs), params(ours))
    else:
        status, how = ("same", "") if theirs == ours else ("different", f"value {ours!r}")
    if qual in NOTES:
        override, note = NOTES[qual]
        if override in ("not provided", "same"):
            how = ""  # the computed signature notes are noise next to the reason
        status = override or status
        how = "; ".join(x for x in (how, note) if x)
    return status, how


def table() -> tuple[str, dict[str, dict[str, int]]]:
    import optuna

    warnings.simplefilter("ignore")
    lines = [
        f"Generated by `python -m benchmarks.optuna_names --write` against Optuna "
        f"{optuna.__version__}.",
        "",
        "| Optuna name | status | how / why |",
        "|---|---|---|",
    ]
    counts: dict[str, dict[str, int]] = {}
    for module in MODULES:
        try:
            mod = importlib.import_module(module)
        except ImportError as e:
            lines.append(f"| `{module}` | not provided | Optuna's module needs an extra: {e} |")
            continue
        for name in public_names(mod):
            status, how = check(module, name)
            counts.setdefault(module, {}).setdefault(status, 0)
            counts[module][status] += 1
            how = how.replace("|", "\\|")
            lines.append(f"| `{module}.{name}` | {status} | {how} |")
    summary = [
        "| module | same | extended | different | not provided |",
        "|---|---|---|---|---|",
    ]
    for module, c in counts.items():
        summary.append(
            f"| `{module}` | {c.get('same', 0)} | {c.get('extended', 0)} | "
            f"{c.get('different', 0)} | {c.get('not provided', 0)} |"
        )
    return "\n".join(summary + [""] + lines), counts


def write(text: str, path: Path = DOC) -> None:
    doc = path.read_text() if path.exists() else f"# Optuna compatibility\n\n{BEGIN}\n{END}\n"
    if BEGIN not in doc:
        doc += f"\n{BEGIN}\n{END}\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    path.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", doc))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help=f"update {DOC}")
    args = ap.parse_args(argv)
    text, counts = table()
    if args.write:
        write(text)
        print(f"wrote {DOC}")
    else:
        print(text)
    total: dict[str, int] = {}
    for c in counts.values():
        for k, v in c.items():
            total[k] = total.get(k, 0) + v
    print(total, file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
