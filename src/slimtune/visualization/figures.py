"""The plotly figures, under Optuna's names and signatures (``optuna.visualization``).

Each function returns a ``plotly.graph_objects.Figure``. Nothing is fetched from the
network: ``fig.write_html(path, include_plotlyjs=True)`` embeds plotly.js in the file, so
the page opens offline (``include_plotlyjs="cdn"`` would not).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune.importance import BaseImportanceEvaluator, get_param_importances
from slimtune.trial import FrozenTrial
from slimtune.visualization import core
from slimtune.visualization.core import DEFAULT_TARGET_NAME, Target

if TYPE_CHECKING:
    from slimtune.study import Study

TRIAL_COLORSCALE = "Blues"
BEST_COLORSCALE = "Reds"
INFEASIBLE_COLOR = "#cccccc"
STATE_COLORS = {
    "COMPLETE": "blue",
    "FAIL": "red",
    "PRUNED": "orange",
    "RUNNING": "green",
    "WAITING": "gray",
}


def _go() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError("slimtune.visualization needs plotly: pip install 'slimtune[viz]'") from e
    return go


def _subplots(**kw: Any) -> Any:
    _go()
    from plotly.subplots import make_subplots

    return make_subplots(**kw)


def is_available() -> bool:
    """True when plotly (the `viz` extra) can be imported."""
    try:
        importlib.import_module("plotly")
    except ImportError:
        return False
    return True


def _axis_kw(trials: list[FrozenTrial], name: str) -> dict[str, Any]:
    if core.is_categorical(trials, name):
        return {"type": "category"}
    if core.is_log(trials, name):
        return {"type": "log"}
    return {}


def _cat(v: Any) -> Any:
    return str(v) if not isinstance(v, str) else v


def plot_optimization_history(
    study: Study | Sequence[Study],
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
    error_bar: bool = False,
) -> Any:
    """Each complete trial's value by trial number, and the best value so far (not drawn
    for a custom ``target``, whose better direction is unknown). Several studies: one
    series each, or their mean and spread with ``error_bar=True``."""
    go = _go()
    series, name = core.history(study, target, target_name, error_bar)
    fig = go.Figure()
    for h in series:
        ok = h.feasible
        err = (
            None
            if h.values_std is None
            else {"type": "data", "array": h.values_std[ok], "visible": True}
        )
        fig.add_trace(
            go.Scatter(x=h.numbers[ok], y=h.values[ok], mode="markers", name=h.label, error_y=err)
        )
        if h.best is not None:
            fig.add_trace(go.Scatter(x=h.numbers, y=h.best, mode="lines", name=h.best_label))
            if h.best_std is not None:
                fig.add_trace(
                    go.Scatter(
                        x=h.numbers,
                        y=h.best + h.best_std,
                        mode="lines",
                        line={"color": "rgba(255,0,0,0.2)"},
                        showlegend=False,
                    )
                )
                fig.add_trace(
                    go.Scatter(
                        x=h.numbers,
                        y=h.best - h.best_std,
                        mode="none",
                        fill="tonexty",
                        fillcolor="rgba(255,0,0,0.2)",
                        showlegend=False,
                    )
                )
        fig.add_trace(
            go.Scatter(
                x=h.numbers[~ok],
                y=h.values[~ok],
                mode="markers",
                name="Infeasible Trial",
                marker={"color": INFEASIBLE_COLOR},
                showlegend=False,
            )
        )
    fig.update_layout(
        title="Optimization History Plot", xaxis={"title": "Trial"}, yaxis={"title": name}
    )
    return fig


def plot_intermediate_values(study: Study) -> Any:
    """Each trial's intermediate values (``trial.report``) by step."""
    go = _go()
    fig = go.Figure()
    for number, steps, values, ok in core.intermediate(study):
        fig.add_trace(
            go.Scatter(
                x=steps,
                y=values,
                mode="lines+markers",
                name=f"Trial{number}",
                marker={"maxdisplayed": 10, **({} if ok else {"color": INFEASIBLE_COLOR})},
            )
        )
    fig.update_layout(
        title="Intermediate Values Plot",
        xaxis={"title": "Step"},
        yaxis={"title": "Intermediate Value"},
        showlegend=False,
    )
    return fig


def plot_edf(
    study: Study | Sequence[Study],
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """Empirical distribution function of the complete trials' values, one curve per
    study."""
    go = _go()
    x, curves, name = core.edf(study, target, target_name)
    fig = go.Figure()
    for label, y in curves:
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=label))
    fig.update_layout(
        title="Empirical Distribution Function Plot",
        xaxis={"title": name},
        yaxis={"title": "Cumulative Probability"},
    )
    return fig


def plot_slice(
    study: Study,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """Value against each parameter, one panel per parameter, coloured by trial number."""
    core.check_target(study, target, "plot_slice")
    names = core.param_names(study, params, "plot_slice")
    name = core.target_label(study, target, target_name)
    trials = core.finite_trials(core.complete(study), target)
    fig = _subplots(
        rows=1,
        cols=max(len(names), 1),
        shared_yaxes=True,
        horizontal_spacing=0.1 / max(len(names), 1),
    )
    go = _go()
    for i, p in enumerate(names, start=1):
        have = [t for t in trials if p in t.params]
        ok = [t for t in have if core.feasible(t)]
        bad = [t for t in have if not core.feasible(t)]
        xs = [t.params[p] for t in ok]
        if core.is_categorical(trials, p):
            xs = [_cat(v) for v in xs]
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=[core.value_of(t, target) for t in ok],
                mode="markers",
                name="Feasible Trial",
                showlegend=False,
                marker={
                    "color": [t.number for t in ok],
                    "colorscale": TRIAL_COLORSCALE,
                    "showscale": i == 1,
                    "colorbar": {"title": {"text": "Trial"}},
                    "line": {"width": 0.5, "color": "Grey"},
                },
            ),
            row=1,
            col=i,
        )
        if bad:
            fig.add_trace(
                go.Scatter(
                    x=[
                        _cat(t.params[p]) if core.is_categorical(trials, p) else t.params[p]
                        for t in bad
                    ],
                    y=[core.value_of(t, target) for t in bad],
                    mode="markers",
                    name="Infeasible Trial",
                    showlegend=False,
                    marker={"color": INFEASIBLE_COLOR},
                ),
                row=1,
                col=i,
            )
        fig.update_xaxes(title_text=p, row=1, col=i, **_axis_kw(trials, p))
    fig.update_yaxes(title_text=name, row=1, col=1)
    fig.update_layout(title="Slice Plot")
    return fig


def _contour_traces(
    go: Any,
    trials: list[FrozenTrial],
    px: str,
    py: str,
    target: Target | None,
    name: str,
    reverse: bool,
    showscale: bool,
) -> list[Any]:
    have = [t for t in trials if px in t.params and py in t.params]
    ok = [t for t in have if core.feasible(t)]
    bad = [t for t in have if not core.feasible(t)]
    out = []
    if len(ok) >= 2:
        x = np.array([core.axis_value(trials, px, t) for t in ok])
        y = np.array([core.axis_value(trials, py, t) for t in ok])
        z = np.array([core.value_of(t, target) for t in ok])
        gx, gy, Z = core.interpolate_grid(
            x, y, z, core.axis_range(trials, px), core.axis_range(trials, py)
        )
        gx_plot = 10**gx if core.is_log(trials, px) else gx
        gy_plot = 10**gy if core.is_log(trials, py) else gy
        out.append(
            go.Contour(
                x=gx_plot,
                y=gy_plot,
                z=Z,
                colorscale=TRIAL_COLORSCALE,
                reversescale=reverse,
                connectgaps=True,
                contours={"coloring": "heatmap"},
                hoverinfo="none",
                colorbar={"title": {"text": name}},
                showscale=showscale,
            )
        )

    def pos(t: FrozenTrial, p: str) -> Any:
        if core.is_categorical(trials, p):
            return core.axis_value(trials, p, t)
        return t.params[p]

    for group, label, color in (
        (ok, "Feasible Trial", "black"),
        (bad, "Infeasible Trial", INFEASIBLE_COLOR),
    ):
        out.append(
            go.Scatter(
                x=[pos(t, px) for t in group],
                y=[pos(t, py) for t in group],
                mode="markers",
                name=label,
                showlegend=False,
                marker={"color": color, "line": {"width": 2.0, "color": "Grey"}},
            )
        )
    return out


def _cat_axis(trials: list[FrozenTrial], p: str) -> dict[str, Any]:
    """Categorical parameters sit at their choice index, labelled by the choice."""
    if core.is_categorical(trials, p):
        cats = core.categories(trials, p)
        return {
            "tickvals": list(range(len(cats))),
            "ticktext": [_cat(c) for c in cats],
            "range": list(core.axis_range(trials, p)),
        }
    if core.is_log(trials, p):
        return {"type": "log", "range": list(core.axis_range(trials, p))}
    return {"range": list(core.axis_range(trials, p))}


def plot_contour(
    study: Study,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """The value interpolated over pairs of parameters (linear inside the trials' hull,
    nearest trial outside), with the trials as points. Two parameters: one panel; more:
    a grid of every pair."""
    go = _go()
    core.check_target(study, target, "plot_contour")
    names = core.param_names(study, params, "plot_contour")
    if core.too_few_params(names, 2, "plot_contour"):
        return go.Figure(layout={"title": "Contour Plot"})
    name = core.target_label(study, target, target_name)
    trials = core.finite_trials(core.complete(study), target)
    reverse = study.directions[0] == "minimize" if target is None else False
    if len(names) == 2:
        px, py = names[1], names[0]  # Optuna's order: the later parameter on x
        fig = go.Figure(_contour_traces(go, trials, px, py, target, name, reverse, True))
        fig.update_layout(
            title="Contour Plot",
            xaxis={"title": px, **_cat_axis(trials, px)},
            yaxis={"title": py, **_cat_axis(trials, py)},
        )
        return fig
    n = len(names)
    fig = _subplots(rows=n, cols=n)
    first = True
    for r, py in enumerate(names, start=1):
        for c, px in enumerate(names, start=1):
            if px == py:
                fig.add_trace(go.Scatter(x=[], y=[], showlegend=False), row=r, col=c)
            else:
                for tr in _contour_traces(go, trials, px, py, target, name, reverse, first):
                    fig.add_trace(tr, row=r, col=c)
                first = False
            fig.update_xaxes(
                row=r, col=c, title_text=px if r == n else None, **_cat_axis(trials, px)
            )
            fig.update_yaxes(
                row=r, col=c, title_text=py if c == 1 else None, **_cat_axis(trials, py)
            )
    fig.update_layout(title="Contour Plot")
    return fig


def plot_parallel_coordinate(
    study: Study,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """One line per complete trial through the value and each parameter (log parameters on
    a log10 axis, categoricals by choice), coloured by the value."""
    go = _go()
    core.check_target(study, target, "plot_parallel_coordinate")
    names = core.param_names(study, params, "plot_parallel_coordinate")
    name = core.target_label(study, target, target_name)
    trials = [
        t
        for t in core.finite_trials(core.complete(study), target)
        if all(p in t.params for p in names) and core.feasible(t)
    ]
    vals = [core.value_of(t, target) for t in trials]
    dims: list[dict[str, Any]] = [{"label": name, "values": vals}]
    if vals:
        dims[0]["range"] = [min(vals), max(vals)]
    for p in names:
        col = [core.axis_value(trials, p, t) for t in trials]
        d: dict[str, Any] = {"label": p, "values": col}
        if core.is_categorical(trials, p):
            cats = core.categories(trials, p)
            d.update(tickvals=list(range(len(cats))), ticktext=[_cat(c) for c in cats])
        elif core.is_log(trials, p) and col:
            lo, hi = math.floor(min(col)), math.ceil(max(col))
            ticks = list(range(lo, hi + 1))
            d.update(tickvals=ticks, ticktext=[f"1e{k}" for k in ticks], range=[min(col), max(col)])
        elif col:
            d["range"] = [min(col), max(col)]
        dims.append(d)
    reverse = study.directions[0] == "minimize" if target is None else False
    fig = go.Figure(
        go.Parcoords(
            dimensions=dims,
            labelangle=30,
            labelside="bottom",
            line={
                "color": vals,
                "colorscale": TRIAL_COLORSCALE,
                "reversescale": reverse,
                "showscale": True,
                "colorbar": {"title": {"text": name}},
            },
        )
    )
    fig.update_layout(title="Parallel Coordinate Plot")
    return fig


def plot_param_importances(
    study: Study,
    evaluator: BaseImportanceEvaluator | None = None,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """Horizontal bars of ``slimtune.importance.get_param_importances``, the most
    important parameter on top. Several objectives and no ``target``: one bar series per
    objective (by metric name)."""
    go = _go()
    series = importance_series(study, evaluator, params, target, target_name)
    fig = go.Figure()
    for label, imp in series:
        items = list(reversed(list(imp.items())))
        fig.add_trace(
            go.Bar(
                x=[v for _, v in items],
                y=[k for k, _ in items],
                name=label,
                orientation="h",
                text=[f"{v:.2f}" if v >= 0.01 else "<0.01" for _, v in items],
                textposition="outside",
                cliponaxis=False,
            )
        )
    fig.update_layout(
        title="Hyperparameter Importances",
        xaxis={"title": "Hyperparameter Importance"},
        yaxis={"title": "Hyperparameter"},
        showlegend=len(series) > 1,
    )
    return fig


def importance_series(
    study: Study,
    evaluator: BaseImportanceEvaluator | None,
    params: list[str] | None,
    target: Target | None,
    target_name: str,
) -> list[tuple[str, dict[str, float]]]:
    if target is not None or len(study.directions) == 1:
        label = core.target_label(study, target, target_name)
        return [
            (label, get_param_importances(study, evaluator=evaluator, params=params, target=target))
        ]
    out = []
    # Optuna's labels: the metric names, else "<target_name> <i>".
    labels = study.metric_names or [f"{target_name} {i}" for i in range(len(study.directions))]
    for i, (nm, d) in enumerate(zip(labels, study.directions)):
        sign = -1.0 if d == "maximize" else 1.0  # lower is better for PED-ANOVA

        def tgt(t: FrozenTrial, i: int = i, sign: float = sign) -> float:
            return sign * float(t.values[i])  # type: ignore[index]

        imp = get_param_importances(study, evaluator=evaluator, params=params, target=tgt)
        out.append((nm, imp))
    # One order for every series: the first objective's.
    order = list(out[0][1])
    return [(nm, {k: imp.get(k, 0.0) for k in order}) for nm, imp in out]


def plot_pareto_front(
    study: Study,
    *,
    target_names: list[str] | None = None,
    include_dominated_trials: bool = True,
    constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
    targets: Callable[[FrozenTrial], Sequence[float]] | None = None,
) -> Any:
    """The complete trials in objective space (2 or 3 axes), the Pareto-optimal ones
    highlighted; with constraints (``constraints_func``, else the trials' stored
    constraints) the front is among feasible trials and the infeasible ones are grey."""
    go = _go()
    data = core.pareto(study, target_names, include_dominated_trials, constraints_func, targets)
    three = len(data.names) == 3
    Scatter = go.Scatter3d if three else go.Scatter

    def trace(points: list[tuple[int, np.ndarray]], marker: dict[str, Any], label: str) -> Any:
        P = np.array([p for _, p in points]).reshape(-1, len(data.names))
        kw = {"x": P[:, 0], "y": P[:, 1]}
        if three:
            kw["z"] = P[:, 2]
        return Scatter(
            **kw,
            mode="markers",
            name=label,
            showlegend=False,
            marker=marker,
            text=[f"Trial {n}" for n, _ in points],
        )

    fig = go.Figure()
    if data.infeasible:
        fig.add_trace(trace(data.infeasible, {"color": INFEASIBLE_COLOR}, "Infeasible Trial"))
    fig.add_trace(
        trace(
            data.dominated,
            {
                "color": [n for n, _ in data.dominated],
                "colorscale": TRIAL_COLORSCALE,
                "colorbar": {"title": {"text": "Trial"}},
                "showscale": bool(data.dominated),
                "line": {"width": 0.5, "color": "Grey"},
            },
            "Trial",
        )
    )
    fig.add_trace(
        trace(
            data.best,
            {
                "color": [n for n, _ in data.best],
                "colorscale": BEST_COLORSCALE,
                "colorbar": {
                    "title": {"text": "Best Trial"},
                    "x": 1.1 if data.dominated else 1.0,
                    "xpad": 40,
                },
                "line": {"width": 0.5, "color": "Grey"},
            },
            "Best Trial",
        )
    )
    if three:
        fig.update_layout(
            scene={
                "xaxis_title": data.names[0],
                "yaxis_title": data.names[1],
                "zaxis_title": data.names[2],
            }
        )
    else:
        fig.update_layout(xaxis={"title": data.names[0]}, yaxis={"title": data.names[1]})
    fig.update_layout(title="Pareto-front Plot")
    return fig


def plot_rank(
    study: Study,
    params: list[str] | None = None,
    *,
    target: Target | None = None,
    target_name: str = DEFAULT_TARGET_NAME,
) -> Any:
    """Trials as points over pairs of parameters (one panel for two parameters, a grid
    for more, one axis for one), coloured by the rank of their value."""
    go = _go()
    core.check_target(study, target, "plot_rank")
    names = core.param_names(study, params, "plot_rank")
    name = core.target_label(study, target, target_name)
    if core.too_few_params(names, 1, "plot_rank"):
        return go.Figure(layout={"title": f"Rank ({name})"})
    trials = core.finite_trials(core.complete(study), target)
    vals = np.array([core.value_of(t, target) for t in trials])
    if study.directions[0] == "maximize" and target is None:
        vals_for_rank = -vals
    else:
        vals_for_rank = vals
    rank = np.argsort(np.argsort(vals_for_rank, kind="stable"), kind="stable")
    q = rank / max(len(trials) - 1, 1)  # 0: best, 1: worst
    qmap = {t.number: float(v) for t, v in zip(trials, q)}

    def hover(t: FrozenTrial) -> str:
        ps = "<br>".join(f"{k}: {v}" for k, v in t.params.items())
        return f"Trial #{t.number}<br>{ps}<br>{name}: {core.value_of(t, target)}"

    def pos(t: FrozenTrial, p: str) -> Any:
        v = t.params[p]
        return _cat(v) if core.is_categorical(trials, p) else v

    def scatter(px: str, py: str | None, showscale: bool) -> Any:
        have = [t for t in trials if px in t.params and (py is None or py in t.params)]
        y = [pos(t, py) for t in have] if py else [core.value_of(t, target) for t in have]
        marker: dict[str, Any] = {
            "color": [qmap[t.number] for t in have],
            "colorscale": "RdYlBu",
            "reversescale": True,
            "cmin": 0,
            "cmax": 1,
            "line": {"width": 0.5, "color": "Grey"},
            "showscale": showscale,
        }
        if showscale and len(vals):
            qs = np.quantile(np.sort(vals_for_rank), [0, 0.25, 0.5, 0.75, 1.0])
            if study.directions[0] == "maximize" and target is None:
                qs = -qs
            marker["colorbar"] = {
                "thickness": 10,
                "tickvals": [0, 0.25, 0.5, 0.75, 1],
                "ticktext": [
                    f"{lab} ({v:.6g})" for lab, v in zip(["min.", "25%", "50%", "75%", "max."], qs)
                ],
            }
        return go.Scatter(
            x=[pos(t, px) for t in have],
            y=y,
            mode="markers",
            hovertext=[hover(t) for t in have],
            hoverinfo="text",
            showlegend=False,
            marker=marker,
        )

    if len(names) == 1:
        fig = go.Figure(scatter(names[0], None, True))
        fig.update_layout(
            xaxis={"title": names[0], **_axis_kw(trials, names[0])}, yaxis={"title": name}
        )
    elif len(names) == 2:
        px, py = names
        fig = go.Figure(scatter(px, py, True))
        fig.update_layout(
            xaxis={"title": px, **_axis_kw(trials, px)}, yaxis={"title": py, **_axis_kw(trials, py)}
        )
    else:
        n = len(names)
        fig = _subplots(rows=n, cols=n)
        first = True
        for r, py in enumerate(names, start=1):
            for c, px in enumerate(names, start=1):
                fig.add_trace(scatter(px, py, first), row=r, col=c)
                first = False
                fig.update_xaxes(
                    row=r, col=c, title_text=px if r == n else None, **_axis_kw(trials, px)
                )
                fig.update_yaxes(
                    row=r, col=c, title_text=py if c == 1 else None, **_axis_kw(trials, py)
                )
    fig.update_layout(title=f"Rank ({name})")
    return fig


def plot_timeline(study: Study, n_recent_trials: int | None = None) -> Any:
    """Each trial as a bar from its start to its end (now, while it runs), one colour per
    state; infeasible complete trials in grey."""
    go = _go()
    bars = core.timeline(study, n_recent_trials)
    fig = go.Figure()
    groups: dict[str, list[core.TimelineBar]] = {}
    for b in bars:
        groups.setdefault("INFEASIBLE" if b.infeasible else b.state, []).append(b)
    for state, bs in groups.items():
        color = INFEASIBLE_COLOR if state == "INFEASIBLE" else STATE_COLORS.get(state, "black")
        fig.add_trace(
            go.Bar(
                name=state,
                orientation="h",
                y=[b.number for b in bs],
                x=[(b.end - b.start).total_seconds() * 1000 for b in bs],
                base=[b.start.isoformat() for b in bs],
                marker={"color": color},
                text=[f"{(b.end - b.start).total_seconds():.3g} s" for b in bs],
                textposition="none",
            )
        )
    fig.update_layout(
        title="Timeline Plot",
        xaxis={"title": "Datetime", "type": "date"},
        yaxis={"title": "Trial"},
        barmode="overlay",
    )
    return fig


def plot_hypervolume_history(study: Study, reference_point: Sequence[float]) -> Any:
    """The hypervolume of the feasible complete trials so far, by trial number
    (``reference_point`` in objective values, one per objective)."""
    go = _go()
    nums, hv = core.hypervolume_history(study, reference_point)
    fig = go.Figure(go.Scatter(x=nums, y=hv, mode="lines+markers", name="Hypervolume"))
    fig.update_layout(
        title="Hypervolume History Plot", xaxis={"title": "Trial"}, yaxis={"title": "Hypervolume"}
    )
    return fig


def plot_terminator_improvement(
    study: Study,
    plot_error: bool = False,
    improvement_evaluator: Any | None = None,
    error_evaluator: Any | None = None,
    min_n_trials: int = 20,
) -> Any:
    """The terminator's estimate of the room left for improvement after each trial (and
    the evaluation error with ``plot_error``), as Optuna's ``terminator`` computes them;
    the points before ``min_n_trials`` are drawn faint."""
    go = _go()
    nums, imp, err = core.terminator_improvement(
        study, plot_error, improvement_evaluator, error_evaluator, min_n_trials
    )
    fig = go.Figure()
    early = nums < min_n_trials
    fig.add_trace(
        go.Scatter(
            x=nums[early],
            y=imp[early],
            mode="lines+markers",
            name="Terminator Improvement",
            opacity=0.25,
            marker={"color": "blue"},
            showlegend=False,
        )
    )
    fig.add_trace(
        go.Scatter(
            x=nums[~early],
            y=imp[~early],
            mode="lines+markers",
            name="Terminator Improvement",
            marker={"color": "blue"},
        )
    )
    if err is not None:
        fig.add_trace(
            go.Scatter(x=nums, y=err, mode="lines+markers", name="Error", marker={"color": "red"})
        )
    fig.update_layout(
        title="Terminator Improvement Plot",
        xaxis={"title": "Trial"},
        yaxis={"title": "Terminator Improvement"},
    )
    return fig
