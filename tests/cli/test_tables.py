"""slimtune.tables: rounding that never cuts digits, columns chosen to fit a width."""

from __future__ import annotations

import re

import pytest
from rich.console import Console

from slimtune.tables import (
    Column,
    fit_columns,
    format_column,
    format_count,
    format_duration,
    format_number,
    render,
    table_width,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1k"),
        (1234, "1.23k"),
        (45_664, "45.7k"),
        (478_123, "478k"),
        (999_960, "1M"),  # rounds up to the next unit, never "1000k"
        (4_780_000, "4.78M"),
        (2.5e9, "2.5G"),
        (-12_345, "-12.3k"),
    ],
)
def test_format_count(value, text):
    assert format_count(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.958333333, "0.9583"),
        (3.0e-05, "3e-05"),
        (12.0, "12"),
        (9999.6, "10k"),  # not 1e+04
        (478_123.0, "478k"),
        (float("inf"), "inf"),
        (None, ""),
        (True, "True"),
    ],
)
def test_format_number(value, text):
    assert format_number(value) == text


def test_format_column_lines_values_up():
    assert format_column([0.5, 0.98612, None]) == ["0.5000", "0.9861", ""]
    assert format_column([0.1, 0.0, 0.1]) == ["0.1", "0.0", "0.1"]
    assert format_column([5104, 45_664, 167_000]) == ["5.1k", "45.7k", "167k"]
    assert format_column([64, 128]) == ["64", "128"]
    # values spanning decades keep their own significant digits (1e-5 is not 0.0000)
    assert format_column([1e-5, 0.02206]) == ["1e-05", "0.02206"]
    assert format_column(["adam", 0.5]) == ["adam", "0.5"]


def test_format_duration():
    assert [format_duration(s) for s in (0.423, 12.34, 245, 7380, None)] == [
        "0.42s",
        "12.3s",
        "4m05s",
        "2h03m",
        "",
    ]


def _columns(n_params: int) -> list[Column]:
    rows = 6
    cols = [
        Column("number", [str(i) for i in range(rows)], priority=0, numeric=True),
        Column("state", ["COMPLETE"] * rows, priority=0),
        Column("accuracy ↑", format_column([0.958333 + i / 1000 for i in range(rows)]),
               priority=0.5, numeric=True),
        Column("macs ↓", format_column([478_123 * (i + 1) for i in range(rows)]),
               priority=0.5, numeric=True),
    ]  # fmt: skip
    for j in range(n_params):
        vals = [0.000123456 * (10 ** (j % 5)) * (i + 1) for i in range(rows)]
        cols.append(Column(f"param_{j:02d}", format_column(vals), priority=2 + j, numeric=True))
    cols.append(Column("fail_reason", ["RuntimeError: " + "x" * 60] * rows, priority=1))
    return cols


@pytest.mark.parametrize("width", [100, 250])
def test_rendered_table_fits_and_no_cell_is_cut(width):
    cols = _columns(30)
    table, need = render(cols, width, title="t", hint="--all")
    assert need == width  # the always-shown columns fit: nothing wider than asked
    console = Console(width=need, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    shown, hidden, _ = fit_columns(cols, width)
    assert hidden, "30 parameters cannot all fit"
    body = "\n".join(lines)
    for c in shown:
        if c.numeric:
            for cell in c.cells:  # every number appears whole, on one line
                assert re.search(rf"(?<![\w.]){re.escape(cell)}(?![\w.])", body), (c.header, cell)
    assert "more column(s)" in text and hidden[0].header in text.replace("\n", " ")


def test_wider_width_shows_more_columns_in_priority_order():
    cols = _columns(30)
    narrow = fit_columns(cols, 100)[0]
    wide = fit_columns(cols, 250)[0]
    assert len(wide) > len(narrow)
    assert {c.header for c in narrow} <= {c.header for c in wide}
    # priority 0 and the objectives first; parameters are dropped from the last one up
    shown = [c.header for c in narrow]
    assert shown[:4] == ["number", "state", "accuracy ↑", "macs ↓"]
    params = [h for h in shown if h.startswith("param_")]
    assert params == [f"param_{j:02d}" for j in range(len(params))]


def test_keep_all_needs_a_wider_console_but_cuts_nothing():
    cols = _columns(30)
    table, need = render(cols, 100, keep_all=True)
    assert need > 100 and need >= table_width([c.narrowest for c in cols])
    console = Console(width=need, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    text = console.export_text()
    assert "…" not in text and "param_29" in text


def test_long_text_folds_instead_of_being_cut():
    reason = "ValueError: " + "abcdefghij" * 12
    cols = [
        Column("number", ["1"], priority=0, numeric=True),
        Column("fail_reason", [reason], priority=0, min_width=24),
    ]
    table, need = render(cols, 60)
    console = Console(width=need, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(table)
    text = console.export_text()
    assert "…" not in text
    joined = "".join(line.strip("│┃ ") for line in text.splitlines())
    assert "abcdefghij" * 3 in joined.replace("│", "").replace(" ", "")
