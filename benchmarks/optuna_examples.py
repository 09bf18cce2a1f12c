"""Run the official Optuna examples with Optuna and with ``import slimtune as optuna``.

    python -m benchmarks.optuna_examples /work/optuna-examples [--timeout 150] [--only basic/]

The argument is a checkout (or export) of https://github.com/optuna/optuna-examples; the
examples are not part of this project. Every ``*.py`` whose imports all resolve in this
environment is run twice, each in a fresh copy of its folder:

1. as written (Optuna);
2. with the imports swapped and nothing else: ``import optuna`` -> ``import slimtune as
   optuna``, ``from optuna.x import y`` -> ``from slimtune.x import y``,
   ``import optuna.x`` -> ``import slimtune.x`` (plus ``import slimtune as optuna``).

No example takes an argument for its number of trials, so none is shortened; each run has
a wall-clock ``--timeout``. A small runner records every study the example creates and
prints the best value(s) at exit, so results are compared without parsing the example's
output. ``fig.show()`` is a no-op and matplotlib uses Agg (both runs alike). Prints one
row per example (status, seconds, best value of the last study) and the failures with the
first error line; ``--markdown`` prints the table for docs/optuna_compat.md.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The runner: records studies, silences figures, runs the example as __main__.
RUNNER = r'''
import atexit, json, os, runpy, sys
lib = os.environ["EXAMPLE_LIB"]
out = os.environ["EXAMPLE_OUT"]
studies = []
mod = __import__(lib)
_orig_create = mod.create_study
def _create(*a, **k):
    s = _orig_create(*a, **k)
    studies.append(s)
    return s
mod.create_study = _create
if lib == "optuna":
    import optuna.study as _s
    _s.create_study = _create
else:
    import slimtune.study as _s
    _s.create_study = _create
try:
    import plotly.basedatatypes as _pb
    _pb.BaseFigure.show = lambda *a, **k: None
except ImportError:
    pass
def _dump():
    res = []
    for s in studies:
        try:
            n_obj = len(s.directions)
            if n_obj == 1:
                best = s.best_value
            else:
                best = [list(t.values) for t in s.best_trials][:3]
        except Exception as e:  # no complete trial
            best = None
        res.append({"n_trials": len(s.trials), "best": best})
    with open(out, "w") as f:
        json.dump(res, f)
atexit.register(_dump)
import signal
signal.signal(signal.SIGTERM, lambda *a: sys.exit(124))
sys.argv = [sys.argv[1]]
runpy.run_path(sys.argv[0], run_name="__main__")
'''

STDLIB = set(sys.stdlib_module_names)


def imports_of(path: Path) -> set[str]:
    """Top-level modules a script imports (absolute imports only)."""
    tree = ast.parse(path.read_text(), str(path))
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            mods.add(node.module.split(".")[0])
    return mods


def missing_deps(path: Path) -> list[str]:
    out = []
    for m in sorted(imports_of(path)):
        if m in STDLIB or m == "optuna":
            continue
        if importlib.util.find_spec(m) is None:
            out.append(m)
    return out


def swap_imports(src: str) -> str:
    """``import optuna`` and ``from optuna...`` -> slimtune; nothing else changes."""
    lines = []
    for line in src.splitlines():
        m = re.match(r"^(\s*)import optuna(\s+as\s+(\w+))?\s*(#.*)?$", line)
        if m:
            alias = m.group(3) or "optuna"
            lines.append(f"{m.group(1)}import slimtune as {alias}")
            continue
        m = re.match(r"^(\s*)import optuna\.([\w.]+)(\s+as\s+(\w+))?\s*(#.*)?$", line)
        if m:
            ind, sub, alias = m.group(1), m.group(2), m.group(4)
            if alias:
                lines.append(f"{ind}import slimtune.{sub} as {alias}")
            else:
                lines.append(f"{ind}import slimtune.{sub}; import slimtune as optuna")
            continue
        line = re.sub(r"^(\s*)from optuna(\.[\w.]+)? import", r"\1from slimtune\2 import", line)
        lines.append(line)
    return "\n".join(lines) + "\n"


@dataclass
class Run:
    status: str = "not run"  # ok | fail | timeout
    seconds: float = 0.0
    error: str = ""
    studies: list[dict] = field(default_factory=list)

    @property
    def best(self) -> object:
        return self.studies[-1]["best"] if self.studies else None


def first_error(stderr: str) -> str:
    """The exception line of the last traceback (what went wrong), else the last line."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    for i in range(len(lines) - 1, -1, -1):
        ln = lines[i]
        if re.match(r"^[\w.]*(Error|Exception|Interrupt|Exit)\b.*", ln) or re.match(
            r"^[\w.]+: ", ln
        ):
            # A message that starts on the next line (``ModuleNotFoundError:`` + text).
            rest = " ".join(x.strip() for x in lines[i + 1 : i + 3])
            msg = ln.strip() if ln.strip()[-1:] != ":" else f"{ln.strip()} {rest}"
            return msg[:200]
    return (lines[-1].strip() if lines else "")[:200]


def run_one(example: Path, base: Path, lib: str, timeout: float) -> Run:
    with tempfile.TemporaryDirectory(prefix="optex-") as tmp:
        work = Path(tmp) / example.parent.name
        shutil.copytree(example.parent, work)
        script = work / example.name
        if lib == "slimtune":
            script.write_text(swap_imports(example.read_text()))
        runner = Path(tmp) / "_runner.py"
        runner.write_text(RUNNER)
        out = Path(tmp) / "result.json"
        env = {
            **os.environ,
            "EXAMPLE_LIB": lib,
            "EXAMPLE_OUT": str(out),
            "MPLBACKEND": "Agg",
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]
            ).rstrip(os.pathsep),
            "OMP_NUM_THREADS": "1",
        }
        t0 = time.monotonic()
        run = Run()
        p = subprocess.Popen(
            [sys.executable, str(runner), str(script)],
            cwd=work,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _, err = p.communicate(timeout=timeout)
            run.status = "ok" if p.returncode == 0 else "fail"
            if p.returncode != 0:
                run.error = first_error(err)
        except subprocess.TimeoutExpired:
            # SIGTERM first: the runner's exit handler records the best value so far.
            p.terminate()
            try:
                p.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
            run.status = "timeout"
            run.error = f"over {timeout:.0f} s"
        run.seconds = time.monotonic() - t0
        if out.exists():
            try:
                run.studies = json.loads(out.read_text())
            except ValueError:
                pass
        return run


def fmt_best(b: object) -> str:
    if b is None:
        return "-"
    if isinstance(b, float):
        return f"{b:.4g}"
    return json.dumps(b)[:40]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Optuna examples with Optuna and slimtune.")
    ap.add_argument("examples", type=Path, help="a checkout/export of optuna/optuna-examples")
    ap.add_argument("--timeout", type=float, default=150.0, help="seconds per run")
    ap.add_argument("--only", default="", help="run only paths starting with this")
    ap.add_argument("--libs", default="optuna,slimtune")
    ap.add_argument(
        "--exclude",
        default="dashboard/,kubernetes/,comet/",
        help="comma-separated path prefixes not run: dashboard/ needs a person in the loop "
        "(it waits forever), kubernetes/ the PostgreSQL pod of its cluster, comet/ the "
        "comet_ml package (optuna_integration imports it lazily)",
    )
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args(argv)
    base = args.examples.resolve()
    if not (base / "basic").is_dir():
        ap.error(f"{base} does not look like optuna-examples (no basic/ folder).")
    libs = args.libs.split(",")
    scripts = sorted(p for p in base.rglob("*.py") if ".github" not in p.parts)
    runnable, skipped = [], []
    for p in scripts:
        rel = str(p.relative_to(base))
        if args.only and not rel.startswith(args.only):
            continue
        if any(rel.startswith(x) for x in args.exclude.split(",") if x):
            continue
        deps = missing_deps(p)
        (skipped if deps else runnable).append((rel, p, deps))
    print(f"{len(runnable)} examples run here; {len(skipped)} need what is not installed.",
          flush=True)
    results: dict[str, dict[str, Run]] = {}
    for rel, p, _ in runnable:
        results[rel] = {}
        for lib in libs:
            r = run_one(p, base, lib, args.timeout)
            results[rel][lib] = r
            print(f"{rel:55s} {lib:9s} {r.status:8s} {r.seconds:6.1f}s best={fmt_best(r.best)}"
                  f" {r.error}", flush=True)
    n_ok = {lib: sum(results[e][lib].status == "ok" for e in results) for lib in libs}
    print()
    print("ran to the end: " + ", ".join(f"{lib} {n_ok[lib]} of {len(results)}" for lib in libs))
    for lib in libs:
        fails = [(e, results[e][lib]) for e in results if results[e][lib].status != "ok"]
        if fails:
            print(f"\n{lib} failures:")
            for e, r in fails:
                print(f"  {e}: {r.status}: {r.error}")
    if args.markdown:
        print()
        print("| example | " + " | ".join(f"{lib}" for lib in libs) + " | best (" +
              " / ".join(libs) + ") |")
        print("|---|" + "---|" * len(libs) + "---|")
        for e, rs in results.items():
            cells = []
            for lib in libs:
                r = rs[lib]
                cell = f"{r.status} ({r.seconds:.0f} s)"
                if r.status != "ok":
                    cell += f": {r.error}".replace("|", "\\|")
                cells.append(cell)
            best = " / ".join(fmt_best(rs[lib].best) for lib in libs)
            print(f"| `{e}` | " + " | ".join(cells) + f" | {best} |")
        print()
        print("Not run (missing here): " + "; ".join(
            f"`{rel}` ({', '.join(d)})" for rel, _, d in skipped))
    if args.json:
        args.json.write_text(json.dumps({
            e: {lib: vars(r) for lib, r in rs.items()} for e, rs in results.items()
        }, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
