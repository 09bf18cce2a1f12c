"""Text tables that fit a terminal: numbers rounded but never cut, columns chosen to fit.

Used by the command line and the NAS search summary. A table is a list of :class:`Column`
(a header, one string per row, a priority); :func:`fit_columns` keeps the columns that fit
the width in priority order, and :func:`render` builds a ``rich`` table in which no cell is
ever shortened with an ellipsis: numbers keep their full width, long text folds onto more
lines. The exact values stay in the JSON/CSV outputs; tables show what a person reads.

>>> format_number(0.958333333)
'0.9583'
>>> format_number(478123)
'478k'
>>> format_count(4_780_000)
'4.78M'
>>> format_number(3.0e-05)
'3e-05'
>>> format_column([0.5, 0.98612, None])
['0.5000', '0.9861', '']
>>> format_column([0.1, 0.0])
['0.1', '0.0']
>>> format_column([5104, 45664, 167000])
['5.1k', '45.7k', '167k']
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Column",
    "fit_columns",
    "format_column",
    "format_count",
    "format_duration",
    "format_number",
    "format_value",
    "render",
    "table_width",
    "terminal_width",
]

DEFAULT_WIDTH = 100
"""Table width when stdout is not a terminal and ``$COLUMNS`` is not set."""


def terminal_width() -> int:
    """The width tables are laid out for: ``$COLUMNS``, the terminal's, else 100."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    if sys.stdout.isatty():
        try:
            return os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            pass
    return DEFAULT_WIDTH


_SI = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def _digits(v: float) -> int:
    """Decimals that give three significant digits for 1 <= |v| < 1000."""
    return 2 if abs(v) < 10 else 1 if abs(v) < 100 else 0


def format_count(n: float | int | None) -> str:
    """A count (MACs, parameters) as ``478k`` / ``4.78M``: three significant digits from
    a thousand on, the exact integer below."""
    if n is None:
        return ""
    x = float(n)
    if not math.isfinite(x):
        return str(x)
    units = [(s, u) for s, u in _SI if abs(x) >= s]
    if units:
        k = _SI.index(units[0])
        scale, suffix = _SI[k]
        v = x / scale
        if abs(float(f"{v:.{_digits(v)}f}")) >= 1000 and k > 0:  # 999.96k -> 1M
            scale, suffix = _SI[k - 1]
            v = x / scale
        text = f"{v:.{_digits(v)}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text + suffix
    return str(int(round(x))) if x == int(x) else f"{x:.4g}"


def format_number(v: float | int | None, digits: int = 4) -> str:
    """A value as a person reads it: ``digits`` significant digits, large numbers as
    ``478k``, tiny ones in exponent form; integers below 10000 exactly."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    x = float(v)
    if not math.isfinite(x):
        return {math.inf: "inf", -math.inf: "-inf"}.get(x, "nan")
    if abs(x) >= 1e4:
        return format_count(x)
    if isinstance(v, int) or x == int(x):
        return str(int(x))
    text = f"{x:.{digits}g}"
    return format_count(x) if "e+" in text else text


def format_duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``4m05s``, ``2h03m``."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(round(seconds)), 60)
    if m < 60:
        return f"{m}m{s:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m"


def format_value(v: Any) -> str:
    """Any cell value: numbers by :func:`format_number`, lists item by item, None empty."""
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return format_number(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(format_value(x) for x in v) + "]"
    return str(v)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def format_column(values: Sequence[Any], digits: int = 4) -> list[str]:
    """Cells of one column, formatted alike so that they line up: integers exactly (or all
    as ``45.7k`` when the column reaches 10000), floats within one decade with the same
    decimals (``digits`` significant for the largest), values spanning decades each with
    ``digits`` significant digits; anything else by :func:`format_value`."""
    nums = [float(v) for v in values if _is_number(v) and math.isfinite(float(v))]
    if not nums or any(not (_is_number(v) or v is None) for v in values):
        return [format_value(v) for v in values]
    top = max(abs(x) for x in nums)
    integral = all(x == int(x) for x in nums)
    if top >= 1e4:
        return [format_count(v) if _is_number(v) else format_value(v) for v in values]
    if integral:
        return [format_number(v) for v in values]
    nonzero = [abs(x) for x in nums if x != 0]
    if top < 1e-3 or min(nonzero) < top / 10:
        return [format_number(v, digits) for v in values]
    decimals = max(0, digits - 1 - math.floor(math.log10(top)))
    fixed = [_is_number(v) and math.isfinite(float(v)) for v in values]
    while decimals > 1 and all(
        f"{float(v):.{decimals}f}".endswith("0") for v, f in zip(values, fixed) if f
    ):
        decimals -= 1  # 0.1000, 0.0000 -> 0.1, 0.0: drop the zeros every cell has
    return [f"{float(v):.{decimals}f}" if f else format_value(v) for v, f in zip(values, fixed)]


@dataclass
class Column:
    """One table column: ``header``, one string per row, and how to lay it out.

    ``priority``: lower is kept first when the width is short (0: always shown).
    ``numeric``: right-aligned and never folded (so digits are never split); text
    columns may fold down to ``min_width`` characters. ``key``: the name ``--columns``
    selects it by (default: the header)."""

    header: str
    cells: list[str]
    priority: float = 1.0
    numeric: bool = False
    min_width: int = 12
    key: str = ""
    natural: int = field(init=False)

    def __post_init__(self) -> None:
        if not self.key:
            self.key = self.header
        longest = max((len(line) for c in self.cells for line in c.splitlines() or [""]), default=0)
        self.natural = max(len(self.header), longest, 1)

    @property
    def narrowest(self) -> int:
        """The narrowest this column may be drawn without cutting a number or a word badly."""
        if self.numeric:
            return self.natural
        return max(min(self.natural, self.min_width), min(len(self.header), self.min_width))


def table_width(widths: Sequence[int]) -> int:
    """Characters a rich table (default box, one space of padding) needs for columns of
    these widths: ``sum(w) + 3 * n + 1``."""
    return sum(widths) + 3 * len(widths) + 1


def fit_columns(
    columns: Sequence[Column], width: int, keep_all: bool = False
) -> tuple[list[Column], list[Column], dict[str, int]]:
    """Choose the columns that fit ``width`` and their widths.

    Columns are taken in priority order (stable) while they fit at their narrowest;
    priority-0 columns, and every column when ``keep_all``, are always taken. The spare
    width then widens the folded text columns back towards their natural width. Returns
    (shown columns in their original order, hidden columns, width by key)."""
    order = sorted(range(len(columns)), key=lambda i: columns[i].priority)
    chosen: set[int] = set()
    used: list[int] = []
    for i in order:
        c = columns[i]
        if keep_all or c.priority <= 0 or table_width([*used, c.narrowest]) <= width:
            chosen.add(i)
            used.append(c.narrowest)
    shown = [columns[i] for i in sorted(chosen)]
    hidden = [columns[i] for i in range(len(columns)) if i not in chosen]
    widths = {c.key: c.narrowest for c in shown}
    spare = width - table_width(list(widths.values()))
    for c in shown:
        if spare <= 0:
            break
        extra = min(spare, c.natural - widths[c.key])
        if extra > 0:
            widths[c.key] += extra
            spare -= extra
    return shown, hidden, widths


def render(
    columns: Sequence[Column],
    width: int,
    title: str | None = None,
    keep_all: bool = False,
    hint: str | None = None,
) -> tuple[Any, int]:
    """A rich ``Table`` of the columns that fit ``width`` and the width it needs.

    Hidden columns are named in the caption (with ``hint``, e.g. how to show them). The
    returned width may exceed ``width`` only when the always-shown columns alone do not
    fit: print with a console at least that wide so no number is cut."""
    from rich.table import Table

    shown, hidden, widths = fit_columns(columns, width, keep_all)
    caption = None
    if hidden:
        names = ", ".join(c.header.split(" ")[0] for c in hidden)
        caption = f"{len(hidden)} more column(s)" + (f" ({hint})" if hint else "") + f": {names}"
    table = Table(title=title, caption=caption, caption_justify="left")
    for c in shown:
        w = widths[c.key]
        table.add_column(
            c.header,
            justify="right" if c.numeric else "left",
            no_wrap=c.numeric,
            overflow="fold",
            min_width=w,
            max_width=w,
        )
    rows = len(shown[0].cells) if shown else 0
    for r in range(rows):
        table.add_row(*[c.cells[r] for c in shown])
    return table, max(width, table_width(list(widths.values())))
