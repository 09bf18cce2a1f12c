"""Matplotlib figures of a study. Each function returns a ``matplotlib.figure.Figure``.

matplotlib is imported lazily with the non-interactive Agg backend, so the figures work on
machines without a display.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune.multiobjective import is_pareto_front, to_losses
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError("plots need matplotlib: pip install 'slimtune[viz]'") from e
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_optimization_history(study: Study, objective: int = 0) -> Any:
    """Objective value of each complete trial and the best value so far."""
    plt = _plt()
    done = study.get_trials(states=(TrialState.COMPLETE,))
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    if done:
        x = np.array([t.number for t in done])
        y = np.array([t.values[objective] for t in done])  # type: ignore[index]
        direction = study.directions[objective]
        best = np.maximum.accumulate(y) if direction == "maximize" else np.minimum.accumulate(y)
        ax.scatter(x, y, s=12, alpha=0.6, label="trial")
        ax.step(x, best, where="post", color="C3", label="best so far")
        ax.legend()
    ax.set_xlabel("trial")
    ax.set_ylabel(f"objective {objective} ({study.directions[objective]})")
    ax.set_title(f"Optimization history: {study.study_name}")
    fig.tight_layout()
    return fig


def plot_intermediate_values(study: Study, objective: int = 0) -> Any:
    """Learning curves (intermediate values by step); pruned trials dashed."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for t in study.get_trials():
        if not t.intermediate_values:
            continue
        steps = sorted(t.intermediate_values)
        vals = [t.intermediate_values[s] for s in steps]
        vals = [v[objective] if isinstance(v, list) else v for v in vals]
        style = "--" if t.state == TrialState.PRUNED else "-"
        ax.plot(steps, vals, style, lw=0.8, alpha=0.7)
    ax.set_xlabel("step")
    ax.set_ylabel("intermediate value")
    ax.set_title("Intermediate values (dashed: pruned)")
    fig.tight_layout()
    return fig


def plot_pareto_front(study: Study, objectives: tuple[int, int] = (0, 1)) -> Any:
    """Two objectives of every complete trial, the Pareto front highlighted."""
    plt = _plt()
    i, j = objectives
    if len(study.directions) < 2:
        raise ValueError("plot_pareto_front needs a study with at least two objectives.")
    done = study.get_trials(states=(TrialState.COMPLETE,))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if done:
        V = np.array([t.values for t in done], dtype=float)
        front = is_pareto_front(to_losses(V, study.directions))
        ax.scatter(V[~front, i], V[~front, j], s=12, alpha=0.5, label="trial")
        order = np.argsort(V[front, i])
        ax.plot(V[front, i][order], V[front, j][order], "o-", color="C3", label="Pareto front")
        ax.legend()
    ax.set_xlabel(f"objective {i} ({study.directions[i]})")
    ax.set_ylabel(f"objective {j} ({study.directions[j]})")
    ax.set_title(f"Pareto front: {study.study_name}")
    fig.tight_layout()
    return fig


def plot_slice(study: Study, params: list[str] | None = None, objective: int = 0) -> Any:
    """Objective against each parameter (log axes for log parameters)."""
    plt = _plt()
    done = study.get_trials(states=(TrialState.COMPLETE,))
    names = params or sorted({k for t in done for k in t.params})
    n = max(len(names), 1)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for k, name in enumerate(names):
        ax = axes[k // cols][k % cols]
        pts = [(t.params[name], t.values[objective]) for t in done if name in t.params]  # type: ignore[index]
        if pts:
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs):
                ax.scatter(xs, ys, s=10, alpha=0.6)
                dist = next(t.distributions[name] for t in done if name in t.distributions)
                if getattr(dist, "log", False):
                    ax.set_xscale("log")
            else:
                labels = [str(x) for x in xs]
                cats = sorted(set(labels))
                ax.scatter([cats.index(lab) for lab in labels], ys, s=10, alpha=0.6)
                ax.set_xticks(range(len(cats)), cats, rotation=30)
        ax.set_title(name, fontsize=9)
    for k in range(len(names), rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.tight_layout()
    return fig
