"""Figures of a study (matplotlib, the ``viz`` extra) and a self-contained HTML report.

Every figure labels its axes with the objective names (``study.objective_names()``), uses
log axes where the values span decades, and stars the chosen trial (``chosen=``, the
study's ``chosen_trial`` user attribute, or the best trial of one objective). See
``docs/figures.md``.
"""

from __future__ import annotations

from slimtune.viz.plots import (
    CHOSEN_TRIAL_ATTR,
    chosen_trial,
    failure_reasons,
    plot_failures,
    plot_intermediate_values,
    plot_optimization_history,
    plot_pareto_front,
    plot_slice,
    use_log_scale,
)
from slimtune.viz.report import write_report

__all__ = [
    "CHOSEN_TRIAL_ATTR",
    "chosen_trial",
    "failure_reasons",
    "plot_failures",
    "plot_optimization_history",
    "plot_intermediate_values",
    "plot_pareto_front",
    "plot_slice",
    "use_log_scale",
    "write_report",
]
