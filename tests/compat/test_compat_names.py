"""The Optuna name table (docs/optuna_compat.md) stays true: every name marked *same* or
*extended* exists in slimtune at the same dotted path. Regenerate the table with
``python -m benchmarks.optuna_names --write`` (needs optuna)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "optuna_compat.md"
ROW = re.compile(r"^\| `(optuna(?:\.[\w]+)*)` \| (same|extended|different|not provided) \|")


def _rows() -> list[tuple[str, str]]:
    text = DOC.read_text()
    body = text.split("<!-- names:begin -->", 1)[1].split("<!-- names:end -->", 1)[0]
    return [(m.group(1), m.group(2)) for line in body.splitlines() if (m := ROW.match(line))]


def _resolve(dotted: str) -> object:
    """``slimtune.a.b.Name`` by importing the longest module prefix, then attributes."""
    parts = ("slimtune" + dotted[len("optuna"):]).split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(dotted)


def test_the_table_covers_the_modules_of_issue_14() -> None:
    modules = {name.rsplit(".", 1)[0] for name, _ in _rows()}
    for m in ("optuna", "optuna.storages", "optuna.trial", "optuna.terminator",
              "optuna.artifacts", "optuna.exceptions", "optuna.search_space"):
        assert m in modules


def test_every_name_marked_same_or_extended_exists() -> None:
    rows = [name for name, status in _rows() if status in ("same", "extended")]
    assert len(rows) > 50
    missing = []
    for name in rows:
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, f"marked same/extended in docs/optuna_compat.md but missing: {missing}"
