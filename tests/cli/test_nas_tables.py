"""The Pareto table `slimtune search` prints: compact counts, no cut cell, the chosen mark."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

pytest.importorskip("torch")

from slimtune.nas.outputs import front_table  # noqa: E402
from slimtune.nas.selection import Candidate  # noqa: E402


def _cands(latency: bool) -> list[Candidate]:
    rows = [(3, 0.635097, 5104, 1032), (25, 0.955431, 9760, 1410), (14, 0.986072, 45_664, 5356),
            (6, 0.991643, 4_780_123, 1_234_567)]  # fmt: skip
    return [
        Candidate(n, acc, acc - 0.002, macs, params, 0.4213 * (i + 1) if latency else None,
                  {}, {}, epochs=10, on_front=True)
        for i, (n, acc, macs, params) in enumerate(rows)
    ]  # fmt: skip


@pytest.mark.parametrize("width", [100, 250])
@pytest.mark.parametrize("latency", [False, True])
def test_front_table_fits_and_is_whole(width, latency):
    cands = _cands(latency)
    buf = io.StringIO()
    console = Console(width=width, file=buf)
    console.print(front_table(cands, cands[2], width=width))
    out = buf.getvalue()
    assert "…" not in out and max(len(line) for line in out.splitlines()) <= width
    for text in ("5.1k", "9.76k", "45.7k", "4.78M", "1.23M", "0.9861", "0.6351", "chosen"):
        assert text in out, text
    assert ("latency ms" in out) == latency  # no empty latency column
    chosen_line = next(line for line in out.splitlines() if "chosen" in line and "│" in line)
    assert " 14 " in chosen_line
