"""Figures of a study (matplotlib, the ``viz`` extra) and a self-contained HTML report."""

from __future__ import annotations

from slimtune.viz.plots import (
    plot_intermediate_values,
    plot_optimization_history,
    plot_pareto_front,
    plot_slice,
)
from slimtune.viz.report import write_report

__all__ = [
    "plot_optimization_history",
    "plot_intermediate_values",
    "plot_pareto_front",
    "plot_slice",
    "write_report",
]
