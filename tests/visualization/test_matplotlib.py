"""slimtune.visualization.matplotlib: every figure draws (PNG) with Optuna's titles and
axis labels, and returns Axes (an array of them for grids)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")

import matplotlib.pyplot as plt  # noqa: E402

import slimtune.visualization.matplotlib as vm  # noqa: E402


def _title(ax):
    return ax.get_title() or ax.figure.get_suptitle()


class Count:
    def evaluate(self, trials, study_direction):
        return float(len(trials))


CASES = [
    (
        "history",
        lambda s, m: vm.plot_optimization_history(s),
        "Optimization History Plot",
        "Trial",
        "Objective Value",
    ),
    (
        "history_error_bar",
        lambda s, m: vm.plot_optimization_history([s, s], error_bar=True),
        "Optimization History Plot",
        "Trial",
        "Objective Value",
    ),
    (
        "intermediate",
        lambda s, m: vm.plot_intermediate_values(s),
        "Intermediate Values Plot",
        "Step",
        "Intermediate Value",
    ),
    (
        "edf",
        lambda s, m: vm.plot_edf(s),
        "Empirical Distribution Function Plot",
        "Objective Value",
        "Cumulative Probability",
    ),
    ("slice", lambda s, m: vm.plot_slice(s, params=["x"]), "Slice Plot", "x", "Objective Value"),
    ("contour", lambda s, m: vm.plot_contour(s, params=["x", "lr"]), "Contour Plot", "lr", "x"),
    (
        "parallel",
        lambda s, m: vm.plot_parallel_coordinate(s),
        "Parallel Coordinate Plot",
        None,
        None,
    ),
    (
        "importances",
        lambda s, m: vm.plot_param_importances(s),
        "Hyperparameter Importances",
        "Hyperparameter Importance",
        "Hyperparameter",
    ),
    (
        "pareto",
        lambda s, m: vm.plot_pareto_front(m),
        "Pareto-front Plot",
        "Objective 0",
        "Objective 1",
    ),
    ("rank", lambda s, m: vm.plot_rank(s, params=["x", "lr"]), "Rank (Objective Value)", "x", "lr"),
    ("timeline", lambda s, m: vm.plot_timeline(s), "Timeline Plot", "Datetime", "Trial"),
    (
        "hypervolume",
        lambda s, m: vm.plot_hypervolume_history(m, [2, 2]),
        "Hypervolume History Plot",
        "Trial",
        "Hypervolume",
    ),
    (
        "terminator",
        lambda s, m: vm.plot_terminator_improvement(
            s, plot_error=True, improvement_evaluator=Count(), error_evaluator=Count()
        ),
        "Terminator Improvement Plot",
        "Trial",
        "Terminator Improvement",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_figure_draws_with_optunas_labels(case, single, multi, tmp_path):
    _, make, title, xlabel, ylabel = case
    ax = make(single, multi)
    assert isinstance(ax, plt.Axes)
    assert _title(ax) == title
    if xlabel is not None:
        assert ax.get_xlabel() == xlabel
        assert ax.get_ylabel() == ylabel
    ax.figure.savefig(tmp_path / "f.png", dpi=40)
    assert (tmp_path / "f.png").stat().st_size > 1000
    plt.close(ax.figure)


def test_grids_return_arrays_of_axes(single, multi):
    axes = vm.plot_slice(single)
    assert isinstance(axes, np.ndarray) and len(axes) == 4
    assert [a.get_xlabel() for a in axes] == ["c", "lr", "n", "x"]
    assert axes[1].get_xscale() == "log"
    plt.close(axes[0].figure)
    grid = vm.plot_rank(single, params=["x", "lr", "c"])
    assert grid.shape == (3, 3)
    plt.close(grid[0, 0].figure)
    ax = vm.plot_pareto_front(multi, targets=lambda t: (*t.values, t.params["y"]))
    assert ax.get_zlabel() == "Objective 2"
    plt.close(ax.figure)


def test_matplotlib_variants_check_arguments_like_plotly(multi, single):
    with pytest.raises(ValueError, match="target="):
        vm.plot_slice(multi)
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        vm.plot_rank(single, params=["nope"])
