"""The same figures as :mod:`slimtune.visualization`, drawn with matplotlib, under
Optuna's names (``optuna.visualization.matplotlib``). Each function returns a
``matplotlib.axes.Axes`` (a NumPy array of them for grids of panels). matplotlib runs with
the non-interactive Agg backend unless one was chosen already, so no display is needed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune.importance import BaseImportanceEvaluator
from slimtune.trial import FrozenTrial
from slimtune.visualization import core
from slimtune.visualization.core import DEFAULT_TARGET_NAME, Target

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = [
    "is_available",
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

INFEASIBLE = "#cccccc"
STATE_COLORS = {
    "COMPLETE": "tab:blue",
    "FAIL": "tab:red",
    "PRUNED": "tab:orange",
    "RUNNING": "tab:green",
    "WAITING": "tab:gray",
    "INFEASIBLE": INFEASIBLE,
}


def _plt() -> Any:
    try:
        import matplotlib as mpl
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError(
            "slimtune.visualization.matplotlib needs matplotlib: pip install 'slimtune[viz]'"
        ) from e
    if "matplotlib.pyplot" not in sys.modules:
        mpl.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def is_available() -> bool:
    """True when matplotlib (the `viz` extra) can be imported."""
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        return False
    return True


def _ax(figsize: tuple[float, float] = (7.0, 4.5)) -> Any:
    plt = _plt()
    _, ax = plt.subplots(figsize=figsize)
    ax.grid(True, alpha=0.3)
    return ax


def _scale(ax: Any, trials: list[FrozenTrial], p: str, axis: str) -> None:
    if core.is_log(trials, p):
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    elif core.is_categorical(trials, p):
        cats = core.categories(trials, p)
        (ax.set_xticks if axis == "x" else ax.set_yticks)(range(len(cats)))
        (ax.set_xticklabels if axis == "x" else ax.set_yticklabels)([str(c) for c in cats])


def _pos(trials: list[FrozenTrial], p: str, t: FrozenTrial) -> float:
    """Where a trial sits along parameter ``p``: its value, or the choice index."""
    if core.is_categorical(trials, p):
        return core.axis_value(trials, p, t)
    return float(t.params[p])


def plot_optimization_history(
    study: Study | Sequence[Study],
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
    error_bar: bool = False,
) -> Any:
    """Values by trial number and the best value so far (see the plotly version)."""
    series, name = core.history(study, target, target_name, error_bar)
    ax = _ax()
    ax.set_title("Optimization History Plot")
    ax.set_xlabel("Trial")
    ax.set_ylabel(name)
    for i, h in enumerate(series):
        color = f"C{i}"
        ok = h.feasible
        if h.values_std is not None:
            ax.errorbar(
                h.numbers[ok],
                h.values[ok],
                yerr=h.values_std[ok],
                fmt="o",
                color=color,
                alpha=0.7,
                label=h.label,
                ms=4,
            )
        else:
            ax.scatter(h.numbers[ok], h.values[ok], color=color, s=15, label=h.label)
        if h.best is not None:
            ax.plot(
                h.numbers, h.best, color=color if len(series) > 1 else "tab:red", label=h.best_label
            )
            if h.best_std is not None:
                ax.fill_between(
                    h.numbers, h.best - h.best_std, h.best + h.best_std, color="tab:red", alpha=0.2
                )
        if (~ok).any():
            ax.scatter(h.numbers[~ok], h.values[~ok], color=INFEASIBLE, s=15)
    if series:
        ax.legend(loc="best")
    return ax


def plot_intermediate_values(study: Study) -> Any:
    """Each trial's intermediate values by step."""
    ax = _ax()
    ax.set_title("Intermediate Values Plot")
    ax.set_xlabel("Step")
    ax.set_ylabel("Intermediate Value")
    for number, steps, values, ok in core.intermediate(study):
        ax.plot(
            steps,
            values,
            marker=".",
            alpha=0.7,
            label=f"Trial{number}",
            color=None if ok else INFEASIBLE,
        )
    return ax


def plot_edf(
    study: Study | Sequence[Study],
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """Empirical distribution function of the values, one curve per study."""
    x, curves, name = core.edf(study, target, target_name)
    ax = _ax()
    ax.set_title("Empirical Distribution Function Plot")
    ax.set_xlabel(name)
    ax.set_ylabel("Cumulative Probability")
    ax.set_ylim(0, 1)
    for label, y in curves:
        ax.plot(x, y, label=label)
    if curves:
        ax.legend(loc="best")
    return ax


def plot_slice(
    study: Study,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """Value against each parameter, coloured by trial number."""
    plt = _plt()
    core.check_target(study, target, "plot_slice")
    names = core.param_names(study, params, "plot_slice")
    name = core.target_label(study, target, target_name)
    trials = core.finite_trials(core.complete(study), target)
    n = max(len(names), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n + 1, 4), sharey=True, squeeze=False)
    axes = axes[0]
    fig.suptitle("Slice Plot")
    sc = None
    numbers = [t.number for t in trials] or [0]
    for ax, p in zip(axes, names):
        have = [t for t in trials if p in t.params]
        ok = [t for t in have if core.feasible(t)]
        bad = [t for t in have if not core.feasible(t)]
        sc = ax.scatter(
            [_pos(trials, p, t) for t in ok],
            [core.value_of(t, target) for t in ok],
            c=[t.number for t in ok],
            cmap="Blues",
            edgecolors="grey",
            vmin=min(numbers),
            vmax=max(numbers),
            s=20,
        )
        if bad:
            ax.scatter(
                [_pos(trials, p, t) for t in bad],
                [core.value_of(t, target) for t in bad],
                color=INFEASIBLE,
                s=20,
            )
        _scale(ax, trials, p, "x")
        ax.set_xlabel(p)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(name)
    if sc is not None:
        fig.colorbar(sc, ax=list(axes)).set_label("Trial")
    return axes[0] if len(names) == 1 else axes


def _contour_panel(
    ax: Any, trials: list[FrozenTrial], px: str, py: str, target: Target | None, reverse: bool
) -> Any:
    have = [t for t in trials if px in t.params and py in t.params]
    ok = [t for t in have if core.feasible(t)]
    bad = [t for t in have if not core.feasible(t)]
    cs = None
    if len(ok) >= 2:
        x = np.array([core.axis_value(trials, px, t) for t in ok])
        y = np.array([core.axis_value(trials, py, t) for t in ok])
        z = np.array([core.value_of(t, target) for t in ok])
        gx, gy, Z = core.interpolate_grid(
            x, y, z, core.axis_range(trials, px), core.axis_range(trials, py)
        )
        gxp = 10**gx if core.is_log(trials, px) else gx
        gyp = 10**gy if core.is_log(trials, py) else gy
        cs = ax.contourf(gxp, gyp, Z, levels=15, cmap="Blues_r" if reverse else "Blues")
        ax.contour(gxp, gyp, Z, levels=15, colors="black", linewidths=0.3, alpha=0.5)
    for group, color in ((ok, "black"), (bad, INFEASIBLE)):
        ax.scatter(
            [_pos(trials, px, t) for t in group],
            [_pos(trials, py, t) for t in group],
            color=color,
            edgecolors="grey",
            s=15,
        )
    _scale(ax, trials, px, "x")
    _scale(ax, trials, py, "y")
    return cs


def plot_contour(
    study: Study,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """The value interpolated over pairs of parameters, trials as points."""
    plt = _plt()
    core.check_target(study, target, "plot_contour")
    names = core.param_names(study, params, "plot_contour")
    if core.too_few_params(names, 2, "plot_contour"):
        ax = _ax()
        ax.set_title("Contour Plot")
        return ax
    name = core.target_label(study, target, target_name)
    trials = core.finite_trials(core.complete(study), target)
    reverse = study.directions[0] == "minimize" if target is None else False
    if len(names) == 2:
        ax = _ax((7, 5.5))
        px, py = names[1], names[0]
        cs = _contour_panel(ax, trials, px, py, target, reverse)
        ax.set_title("Contour Plot")
        ax.set_xlabel(px)
        ax.set_ylabel(py)
        if cs is not None:
            ax.figure.colorbar(cs, ax=ax).set_label(name)
        return ax
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(3 * n + 1, 3 * n), squeeze=False)
    fig.suptitle("Contour Plot")
    cs = None
    for r, py in enumerate(names):
        for c, px in enumerate(names):
            ax = axes[r, c]
            if px != py:
                cs = _contour_panel(ax, trials, px, py, target, reverse) or cs
            else:
                ax.set_xticks([])
                ax.set_yticks([])
            if r == n - 1:
                ax.set_xlabel(px)
            if c == 0:
                ax.set_ylabel(py)
    if cs is not None:
        fig.colorbar(cs, ax=list(axes.ravel())).set_label(name)
    return axes


def plot_parallel_coordinate(
    study: Study,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """One line per trial through the value and each parameter, each axis scaled to
    [0, 1] and labelled with its own range (log parameters in log10, categoricals by
    choice), coloured by the value."""
    plt = _plt()
    core.check_target(study, target, "plot_parallel_coordinate")
    names = core.param_names(study, params, "plot_parallel_coordinate")
    name = core.target_label(study, target, target_name)
    trials = [
        t
        for t in core.finite_trials(core.complete(study), target)
        if all(p in t.params for p in names) and core.feasible(t)
    ]
    ax = _ax((1.6 * (len(names) + 1) + 2, 4.5))
    ax.set_title("Parallel Coordinate Plot")
    labels = [name, *names]
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=30)
    if not trials:
        return ax
    vals = np.array([core.value_of(t, target) for t in trials])
    cols = [vals] + [np.array([core.axis_value(trials, p, t) for t in trials]) for p in names]
    M = np.column_stack(cols)
    lo, hi = M.min(axis=0), M.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    U = (M - lo) / span
    reverse = study.directions[0] == "minimize" if target is None else False
    cmap = plt.get_cmap("Blues_r" if reverse else "Blues")
    norm = plt.Normalize(vals.min(), vals.max() if vals.max() > vals.min() else vals.min() + 1)
    for row, v in zip(U, vals):
        ax.plot(range(len(labels)), row, color=cmap(norm(v)), alpha=0.6, lw=1)
    for j, _lab in enumerate(labels):
        ax.axvline(j, color="black", lw=0.8)
        if j > 0 and core.is_categorical(trials, names[j - 1]):
            cats = core.categories(trials, names[j - 1])
            for k, cval in enumerate(cats):
                ax.text(j + 0.03, (k - lo[j]) / span[j], str(cval), fontsize=7)
        else:
            fmt = (
                (lambda x: f"1e{x:.2g}")
                if j > 0 and core.is_log(trials, names[j - 1])
                else (lambda x: f"{x:.3g}")
            )
            ax.text(j + 0.03, 0.0, fmt(lo[j]), fontsize=7, va="top")
            ax.text(j + 0.03, 1.0, fmt(hi[j]), fontsize=7, va="bottom")
    ax.set_yticks([])
    sm = plt.cm.ScalarMappable(cmap=cmap, norm=norm)
    ax.figure.colorbar(sm, ax=ax).set_label(name)
    return ax


def plot_param_importances(
    study: Study,
    evaluator: BaseImportanceEvaluator | None = None,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """Horizontal bars of the parameter importances, the most important on top."""
    from slimtune.visualization.figures import importance_series

    series = importance_series(study, evaluator, params, target, target_name)
    ax = _ax()
    ax.set_title("Hyperparameter Importances")
    ax.set_xlabel("Hyperparameter Importance")
    ax.set_ylabel("Hyperparameter")
    height = 0.8 / max(len(series), 1)
    for i, (label, imp) in enumerate(series):
        items = list(reversed(list(imp.items())))
        y = np.arange(len(items)) + i * height
        bars = ax.barh(y, [v for _, v in items], height=height, label=label)
        ax.bar_label(
            bars,
            labels=[f"{v:.2f}" if v >= 0.01 else "<0.01" for _, v in items],
            padding=2,
            fontsize=8,
        )
        if i == 0:
            ax.set_yticks(np.arange(len(items)) + 0.4 - height / 2)
            ax.set_yticklabels([k for k, _ in items])
    if len(series) > 1:
        ax.legend(loc="lower right")
    return ax


def plot_pareto_front(
    study: Study,
    *,
    target_names: list[str] | None = None,
    include_dominated_trials: bool = True,
    constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None,
) -> Any:
    """Trials in objective space (2 or 3 axes), the Pareto-optimal ones in red."""
    plt = _plt()
    data = core.pareto(study, target_names, include_dominated_trials, constraints_func, targets)
    three = len(data.names) == 3
    if three:
        fig = plt.figure(figsize=(7, 6))
        ax = fig.add_subplot(projection="3d")
    else:
        ax = _ax((7, 5))
    ax.set_title("Pareto-front Plot")

    def draw(points: list[tuple[int, np.ndarray]], **kw: Any) -> None:
        if not points:
            return
        P = np.array([p for _, p in points])
        ax.scatter(*[P[:, i] for i in range(P.shape[1])], **kw)

    draw(data.infeasible, color=INFEASIBLE, label="Infeasible Trial")
    draw(
        data.dominated,
        c=[n for n, _ in data.dominated],
        cmap="Blues",
        edgecolors="grey",
        label="Trial",
    )
    draw(data.best, color="tab:red", edgecolors="grey", label="Best Trial")
    ax.set_xlabel(data.names[0])
    ax.set_ylabel(data.names[1])
    if three:
        ax.set_zlabel(data.names[2])
    if data.best or data.dominated or data.infeasible:
        ax.legend(loc="best")
    return ax


def plot_rank(
    study: Study,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """Trials over pairs of parameters coloured by the rank of their value (blue best)."""
    plt = _plt()
    core.check_target(study, target, "plot_rank")
    names = core.param_names(study, params, "plot_rank")
    name = core.target_label(study, target, target_name)
    if core.too_few_params(names, 1, "plot_rank"):
        ax = _ax()
        ax.set_title(f"Rank ({name})")
        return ax
    trials = core.finite_trials(core.complete(study), target)
    vals = np.array([core.value_of(t, target) for t in trials])
    sign = -1.0 if study.directions[0] == "maximize" and target is None else 1.0
    rank = np.argsort(np.argsort(sign * vals, kind="stable"), kind="stable")
    q = {t.number: r / max(len(trials) - 1, 1) for t, r in zip(trials, rank)}
    cmap = plt.get_cmap("RdYlBu_r")

    def panel(ax: Any, px: str, py: str | None) -> Any:
        have = [t for t in trials if px in t.params and (py is None or py in t.params)]
        y = [_pos(trials, py, t) for t in have] if py else [core.value_of(t, target) for t in have]
        sc = ax.scatter(
            [_pos(trials, px, t) for t in have],
            y,
            c=[q[t.number] for t in have],
            cmap=cmap,
            vmin=0,
            vmax=1,
            edgecolors="grey",
            s=20,
        )
        _scale(ax, trials, px, "x")
        if py:
            _scale(ax, trials, py, "y")
        return sc

    if len(names) <= 2:
        ax = _ax((7, 5))
        if len(names) == 1:
            sc = panel(ax, names[0], None)
            ax.set_ylabel(name)
        else:
            sc = panel(ax, names[0], names[1])
            ax.set_ylabel(names[1])
        ax.set_xlabel(names[0])
        ax.set_title(f"Rank ({name})")
        ax.figure.colorbar(sc, ax=ax).set_label(f"rank of {name} (0 = best)")
        return ax
    n = len(names)
    fig, axes = plt.subplots(n, n, figsize=(3 * n + 1, 3 * n), squeeze=False)
    fig.suptitle(f"Rank ({name})")
    sc = None
    for r, py in enumerate(names):
        for c, px in enumerate(names):
            sc = panel(axes[r, c], px, py)
            if r == n - 1:
                axes[r, c].set_xlabel(px)
            if c == 0:
                axes[r, c].set_ylabel(py)
    fig.colorbar(sc, ax=list(axes.ravel())).set_label(f"rank of {name} (0 = best)")
    return axes


def plot_timeline(study: Study, n_recent_trials: int | None = None) -> Any:
    """Each trial as a bar from start to end, one colour per state."""
    plt = _plt()
    import matplotlib.dates as mdates

    bars = core.timeline(study, n_recent_trials)
    ax = _ax((8, max(3.0, 0.25 * len(bars) + 1.5)))
    ax.set_title("Timeline Plot")
    ax.set_xlabel("Datetime")
    ax.set_ylabel("Trial")
    seen: set[str] = set()
    for b in bars:
        state = "INFEASIBLE" if b.infeasible else b.state
        start = mdates.date2num(b.start)
        width = max(mdates.date2num(b.end) - start, 1e-9)
        ax.barh(
            b.number,
            width,
            left=start,
            color=STATE_COLORS.get(state, "black"),
            label=state if state not in seen else None,
        )
        seen.add(state)
    ax.xaxis_date()
    plt.setp(ax.get_xticklabels(), rotation=20)
    if bars:
        ax.legend(loc="best")
    return ax


def plot_hypervolume_history(study: Study, reference_point: Sequence[float]) -> Any:
    """Hypervolume of the feasible complete trials so far, by trial number."""
    nums, hv = core.hypervolume_history(study, reference_point)
    ax = _ax()
    ax.set_title("Hypervolume History Plot")
    ax.set_xlabel("Trial")
    ax.set_ylabel("Hypervolume")
    ax.plot(nums, hv, marker="o", ms=3)
    return ax


def plot_terminator_improvement(
    study: Study,
    plot_error: bool = False,
    improvement_evaluator: Any | None = None,
    error_evaluator: Any | None = None,
    min_n_trials: int = 20,
) -> Any:
    """The terminator's improvement estimate per trial (and the error with
    ``plot_error``); the points before ``min_n_trials`` faint."""
    nums, imp, err = core.terminator_improvement(
        study, plot_error, improvement_evaluator, error_evaluator, min_n_trials
    )
    ax = _ax()
    ax.set_title("Terminator Improvement Plot")
    ax.set_xlabel("Trial")
    ax.set_ylabel("Terminator Improvement")
    early = nums < min_n_trials
    ax.plot(nums[early], imp[early], marker="o", ms=3, color="tab:blue", alpha=0.25)
    ax.plot(
        nums[~early],
        imp[~early],
        marker="o",
        ms=3,
        color="tab:blue",
        label="Terminator Improvement",
    )
    if err is not None:
        ax.plot(nums, err, marker="o", ms=3, color="tab:red", label="Error")
    ax.legend(loc="best")
    return ax
