"""Figures of a study under Optuna's names (``optuna.visualization``): plotly figures here,
matplotlib ones in :mod:`slimtune.visualization.matplotlib`.

plotly and matplotlib are the optional `viz` extra (``pip install 'slimtune[viz]'``). The
figures open offline: ``fig.write_html(path, include_plotlyjs=True)`` embeds plotly.js.
Axis and colour-bar labels use the study's metric names (``study.set_metric_names``)
when the objective itself is shown.
"""

from __future__ import annotations

from slimtune.visualization import matplotlib
from slimtune.visualization.figures import (
    is_available,
    plot_contour,
    plot_edf,
    plot_hypervolume_history,
    plot_intermediate_values,
    plot_optimization_history,
    plot_parallel_coordinate,
    plot_param_importances,
    plot_pareto_front,
    plot_rank,
    plot_slice,
    plot_terminator_improvement,
    plot_timeline,
)

__all__ = [
    "is_available",
    "matplotlib",
    "plot_contour",
    "plot_edf",
    "plot_hypervolume_history",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_parallel_coordinate",
    "plot_param_importances",
    "plot_pareto_front",
    "plot_rank",
    "plot_slice",
    "plot_terminator_improvement",
    "plot_timeline",
]
