"""The seams hold: no module reaches into another module's private names, and the layer
contracts in pyproject.toml (import-linter) are kept. A newcomer who breaks either gets a
failing test that names the file and line."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "slimtune"

# Private members of other libraries that are their documented way to do a thing.
EXTERNAL_OK = {"_exit", "_getframe", "_asdict", "_replace", "_fields", "_make", "_SubParsersAction"}


def _defined_private_names(tree: ast.AST) -> set[str]:
    """Private names a module defines itself (functions, classes, attributes it sets)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            out.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            out.add(node.id)
        elif isinstance(node, ast.arg):
            out.add(node.arg)
    # __slots__ entries
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets
        ):
            for elt in getattr(node.value, "elts", []):
                if isinstance(elt, ast.Constant) and isinstance(elt.value, str):
                    out.add(elt.value)
    return {n for n in out if n.startswith("_")}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _violations(path: Path, root: Path = SRC.parent) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    own = _defined_private_names(tree)
    rel = path.relative_to(root)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("slimtune"):
            parts = node.module.split(".")
            if any(_private(p) for p in parts):
                out.append(f"{rel}:{node.lineno}: imports the private module {node.module}")
            for a in node.names:
                if _private(a.name):
                    out.append(f"{rel}:{node.lineno}: imports {a.name} from {node.module}")
        elif isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in ("self", "cls"):
                continue
            if node.attr in own or node.attr in EXTERNAL_OK:
                continue
            out.append(f"{rel}:{node.lineno}: reaches into .{node.attr} of another module")
    return out


def test_no_module_uses_another_modules_private_names():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        found += _violations(path)
    assert not found, "private names used across modules:\n" + "\n".join(found)


def test_the_checker_catches_a_reach_into_a_private_member(tmp_path):
    p = tmp_path / "probe.py"
    p.write_text(
        "from slimtune.study.study import _hidden\n"
        "def f(study):\n    return study._storage\n"
        "class A:\n    def g(self):\n        return self._own\n"
    )
    found = _violations(p, tmp_path)
    assert len(found) == 2
    assert "imports _hidden" in found[0] and "._storage" in found[1]


def test_import_layers_are_kept():
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    res = subprocess.run(
        [exe, "--no-cache"], cwd=SRC.parents[1], capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]


def test_no_import_cycles_between_modules():
    """Module-level and function-level imports both count; type-only imports do not."""
    grimp = pytest.importorskip("grimp")
    g = grimp.build_graph("slimtune", exclude_type_checking_imports=True)
    mods = sorted(g.modules)
    adj = {m: sorted(i for i in g.find_modules_directly_imported_by(m) if i in g.modules)
           for m in mods}
    # Tarjan's strongly connected components, iteratively.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles = []
    for root in mods:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = len(index)
                stack.append(v)
                on.add(v)
            if i < len(adj[v]):
                work.append((v, i + 1))
                w = adj[v][i]
                if w not in index:
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            for w in adj[v]:
                if w in on:
                    low[v] = min(low[v], low[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    cycles.append(sorted(comp))
    assert not cycles, f"import cycles: {cycles}"
