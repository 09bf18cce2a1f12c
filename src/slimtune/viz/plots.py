"""Matplotlib figures of a study. Each function returns a ``matplotlib.figure.Figure``.

Every axis is labelled with the objective's name (``study.objective_names()``) or the
parameter's name; an axis whose positive values span decades is logarithmic (see
:func:`use_log_scale`); infeasible trials are drawn apart from the feasible ones; the chosen
trial (see :func:`chosen_trial`) is a star with its label. matplotlib is imported lazily
with the non-interactive Agg backend, so the figures work on machines without a display.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.distributions import IntDistribution
from slimtune.multiobjective import is_pareto_front, to_losses
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = [
    "CHOSEN_TRIAL_ATTR",
    "chosen_trial",
    "failure_reasons",
    "plot_failures",
    "plot_intermediate_values",
    "plot_optimization_history",
    "plot_pareto_front",
    "plot_slice",
    "short_number",
    "use_log_scale",
]

CHOSEN_TRIAL_ATTR = "chosen_trial"
"""Study user attribute holding the number of the trial a user (or the NAS search) chose;
the figures and the report mark it."""

# Names of quantities that are naturally read on a log axis (costs, rates).
_LOG_HINTS = ("mac", "flop", "param", "latency", "time", "lr", "learning_rate", "size")


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError as e:  # pragma: no cover - depends on the extra
        raise ImportError("plots need matplotlib: pip install 'slimtune[viz]'") from e
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def use_log_scale(values: Sequence[float] | np.ndarray, name: str = "") -> bool:
    """Whether an axis of ``values`` should be logarithmic: all positive and spanning two
    decades or more, or one decade or more for counts (all >= 1) and for quantities whose
    name says cost or rate (MACs, FLOPs, params, latency, time, learning rate)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < 2 or v.min() <= 0:
        return False
    ratio = v.max() / v.min()
    if ratio >= 100:
        return True
    hinted = any(h in name.lower() for h in _LOG_HINTS)
    return bool(ratio >= 10 and (v.min() >= 1 or hinted))


def _set_scale(ax: Any, axis: str, log: bool, integer: bool = False) -> None:
    """A log axis with ticks at 1-2-5 of each decade in short form (20k, 1M, 0.001), no
    minor labels: the labels never crowd each other. A linear axis gets at most 6 ticks
    (whole numbers only for ``integer``)."""
    from matplotlib import ticker

    if not log:
        getattr(ax, f"{axis}axis").set_major_locator(ticker.MaxNLocator(nbins=6, integer=integer))
        return
    getattr(ax, f"set_{axis}scale")("log")
    a = getattr(ax, f"{axis}axis")
    ax.autoscale_view()
    lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
    decades = np.log10(max(hi, 1e-300)) - np.log10(max(lo, 1e-300))
    subs = (1.0, 2.0, 5.0) if decades < 3 else (1.0,)
    a.set_major_locator(ticker.LogLocator(base=10, subs=subs, numticks=12))
    a.set_major_formatter(ticker.FuncFormatter(lambda v, _pos: short_number(v)))
    a.set_minor_formatter(ticker.NullFormatter())


def short_number(v: float) -> str:
    """A tick label of at most a few characters: ``20k``, ``1.5M``, ``3G`` from a thousand
    up, ``%g`` below (``0.001``, ``1e-5``, ``250``)."""
    a = abs(v)
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}".replace("e-0", "e-")


def _place_marks(ax: Any) -> None:
    """Turn each star label away from the nearest edge so it stays inside the axes."""
    for ann in ax.texts:
        if not getattr(ann, "slimtune_mark", False):
            continue
        fx, fy = (ax.transAxes.inverted()).transform(ax.transData.transform(ann.xy))
        dx = -9 if fx > 0.6 else 9
        dy = -14 if fy > 0.8 else 9
        ann.set_position((dx, dy))
        ann.set_horizontalalignment("right" if dx < 0 else "left")
        ann.set_verticalalignment("top" if dy < 0 else "bottom")


def _feasible(t: FrozenTrial) -> bool:
    c = t.constraints
    return c is None or max(c) <= 0


def _label(study: Study, i: int) -> str:
    return f"{study.objective_names()[i]} ({study.directions[i]})"


def _by_number(study: Study, number: int) -> FrozenTrial:
    for t in study.get_trials(deepcopy=False):
        if t.number == number:
            return t
    raise ValueError(f"trial {number} is not in study {study.study_name!r}.")


def chosen_trial(study: Study, chosen: int | None = None) -> tuple[FrozenTrial | None, str]:
    """The trial the figures mark and its label: trial ``chosen`` if given, else the study's
    ``chosen_trial`` user attribute, else the best trial of a single-objective study (labelled
    ``best``); ``(None, "")`` for a multi-objective study with no choice recorded."""
    if chosen is None:
        attr = study.user_attrs.get(CHOSEN_TRIAL_ATTR)
        if isinstance(attr, int) and not isinstance(attr, bool):
            chosen = attr
    if chosen is not None:
        t = _by_number(study, int(chosen))
        if t.state != TrialState.COMPLETE:
            raise ValueError(f"chosen trial {chosen} is {t.state.name}, not COMPLETE.")
        return t, f"chosen: trial {t.number}"
    if len(study.directions) == 1:
        try:
            t = study.best_trial
        except ValueError:
            return None, ""
        return t, f"best: trial {t.number}"
    return None, ""


def _mark(ax: Any, x: float, y: float, label: str) -> None:
    ax.scatter(
        [x],
        [y],
        marker="*",
        s=260,
        c="gold",
        edgecolors="black",
        linewidths=0.8,
        zorder=6,
        label=label,
    )
    if not label:
        return
    ann = ax.annotate(
        label,
        (x, y),
        xytext=(9, 9),
        textcoords="offset points",
        fontsize=9,
        zorder=7,
        bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.9},
    )
    ann.slimtune_mark = True


def _empty(ax: Any, study: Study, what: str) -> None:
    n_fail = sum(t.state == TrialState.FAIL for t in study.get_trials(deepcopy=False))
    msg = f"no {what} yet"
    if n_fail:
        msg += f"\n{n_fail} trial(s) failed: see the failure reasons"
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])


def _view(values: Sequence[float] | np.ndarray, log: bool) -> tuple[float, float] | None:
    """Axis limits that hold ``values`` with a small margin (in log space for a log axis)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if log:
        v = np.log10(v[v > 0])
    if v.size == 0:
        return None
    lo, hi = float(v.min()), float(v.max())
    pad = 0.06 * (hi - lo) or (0.1 if log else max(abs(hi) * 0.05, 0.5))
    lo, hi = lo - pad, hi + pad
    return (10**lo, 10**hi) if log else (lo, hi)


def _outside(values: np.ndarray, lim: tuple[float, float] | None) -> np.ndarray:
    if lim is None:
        return np.zeros(len(values), dtype=bool)
    v = np.asarray(values, dtype=float)
    return (v < lim[0]) | (v > lim[1])


def _infeasible_label(n_off: int) -> str:
    """Infeasible trials do not set the view (an over-budget model's placeholder score of 0
    would squash the feasible ones); the legend counts those left outside it."""
    return f"infeasible ({n_off} off the axes)" if n_off else "infeasible"


def _complete(study: Study) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return [t for t in done if _feasible(t)], [t for t in done if not _feasible(t)]


def plot_optimization_history(study: Study, objective: int = 0, chosen: int | None = None) -> Any:
    """Objective value of each complete trial by trial number and the best feasible value
    so far; infeasible trials as grey crosses; the chosen (or best) trial starred."""
    plt = _plt()
    ok, bad = _complete(study)
    name = study.objective_names()[objective]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    if not ok and not bad:
        _empty(ax, study, "complete trial")
    else:
        yo = np.array([t.values[objective] for t in ok], dtype=float)  # type: ignore[index]
        yb = np.array([t.values[objective] for t in bad], dtype=float)  # type: ignore[index]
        ylog = use_log_scale(yo if ok else yb, name)
        ylim = _view(yo, ylog) if ok else None
        if ok:
            x = np.array([t.number for t in ok])
            maxi = study.directions[objective] == "maximize"
            best = np.maximum.accumulate(yo) if maxi else np.minimum.accumulate(yo)
            ax.scatter(x, yo, s=14, alpha=0.7, c="C0", label="trial")
            ax.step(x, best, where="post", color="C3", label="best so far")
        if bad:
            xb = [t.number for t in bad]
            label = _infeasible_label(int(_outside(yb, ylim).sum()))
            ax.scatter(xb, yb, s=18, marker="x", c="0.55", label=label)
        t, lab = chosen_trial(study, chosen)
        if t is not None:
            _mark(ax, t.number, t.values[objective], lab)  # type: ignore[index]
        _set_scale(ax, "y", ylog)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.xaxis.set_major_locator(plt.MaxNLocator(nbins=8, integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        _place_marks(ax)
    ax.set_xlabel("trial")
    ax.set_ylabel(_label(study, objective))
    ax.set_title(f"{name} by trial: {study.study_name}", fontsize=10)
    fig.tight_layout()
    return fig


def plot_intermediate_values(study: Study, objective: int = 0) -> Any:
    """Learning curves (intermediate values by step): complete trials solid, pruned dashed."""
    plt = _plt()
    name = study.objective_names()[objective]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    allv: list[float] = []
    seen: set[str] = set()
    for t in study.get_trials(deepcopy=False):
        if not t.intermediate_values:
            continue
        steps = sorted(t.intermediate_values)
        vals = [t.intermediate_values[s] for s in steps]
        vals = [float(v[objective]) if isinstance(v, (list, tuple)) else float(v) for v in vals]
        allv.extend(vals)
        pruned = t.state == TrialState.PRUNED
        kind = "pruned" if pruned else "not pruned"
        ax.plot(
            steps,
            vals,
            "--" if pruned else "-",
            lw=0.9,
            alpha=0.7,
            color="C1" if pruned else "C0",
            label=None if kind in seen else kind,
        )
        seen.add(kind)
    if not allv:
        _empty(ax, study, "intermediate value")
    else:
        _set_scale(ax, "y", use_log_scale(allv, name))
        ax.xaxis.set_major_locator(plt.MaxNLocator(nbins=8, integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax.set_xlabel("step")
    ax.set_ylabel(f"intermediate {name}")
    ax.set_title("Learning curves (dashed: pruned)", fontsize=10)
    fig.tight_layout()
    return fig


def plot_pareto_front(
    study: Study, objectives: tuple[int, int] = (0, 1), chosen: int | None = None
) -> Any:
    """Two objectives of every complete trial: the feasible Pareto front as a line, the other
    feasible trials as dots, infeasible ones as grey crosses, the chosen trial starred."""
    plt = _plt()
    i, j = objectives
    if len(study.directions) < 2:
        raise ValueError("plot_pareto_front needs a study with at least two objectives.")
    names = study.objective_names()
    ok, bad = _complete(study)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    if not ok and not bad:
        _empty(ax, study, "complete trial")
    else:
        V = np.array([t.values for t in ok + bad], dtype=float).reshape(-1, len(names))
        F, B = V[: len(ok)], V[len(ok) :]
        ref = F if ok else B
        xlog = use_log_scale(ref[:, i], names[i])
        ylog = use_log_scale(ref[:, j], names[j])
        xlim = _view(F[:, i], xlog) if ok else None
        ylim = _view(F[:, j], ylog) if ok else None
        if bad:
            off = _outside(B[:, i], xlim) | _outside(B[:, j], ylim)
            label = _infeasible_label(int(off.sum()))
            ax.scatter(B[:, i], B[:, j], s=18, marker="x", c="0.55", label=label)
        if ok:
            front = is_pareto_front(to_losses(F, study.directions))
            ax.scatter(F[~front, i], F[~front, j], s=14, alpha=0.6, c="C0", label="trial")
            order = np.argsort(F[front, i])
            ax.plot(
                F[front, i][order],
                F[front, j][order],
                "o-",
                c="C3",
                ms=5,
                label="Pareto front",
            )
        t, lab = chosen_trial(study, chosen)
        if t is not None:
            _mark(ax, t.values[i], t.values[j], lab)  # type: ignore[index]
        _set_scale(ax, "x", xlog)
        _set_scale(ax, "y", ylog)
        if xlim is not None and ylim is not None:
            ax.set_xlim(*xlim)
            ax.set_ylim(*ylim)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        _place_marks(ax)
    ax.set_xlabel(_label(study, i))
    ax.set_ylabel(_label(study, j))
    ax.set_title(f"Pareto front: {study.study_name}", fontsize=10)
    fig.tight_layout()
    return fig


def _short(label: str, n: int = 12) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def plot_slice(
    study: Study,
    params: list[str] | None = None,
    objective: int = 0,
    chosen: int | None = None,
    max_columns: int = 3,
) -> Any:
    """The objective against each parameter, one panel per parameter (``max_columns`` per
    row): log axes for log parameters and for values spanning decades, categories as
    ticks, infeasible trials as grey crosses, the chosen (or best) trial starred."""
    plt = _plt()
    ok, bad = _complete(study)
    done = ok + bad
    name = study.objective_names()[objective]
    names = params or sorted({k for t in done for k in t.params})
    n = max(len(names), 1)
    cols = min(n, max_columns)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.5 * cols, 2.9 * rows + 0.4), squeeze=False, layout="constrained"
    )
    pick, lab = chosen_trial(study, chosen)
    if not names:
        _empty(axes[0][0], study, "complete trial with parameters")
    yo = [t.values[objective] for t in ok]  # type: ignore[index]
    ylog = use_log_scale(yo if ok else [t.values[objective] for t in bad], name)  # type: ignore[index]
    ylim = _view(yo, ylog) if ok else None
    for k, pname in enumerate(names):
        ax = axes[k // cols][k % cols]
        groups = [
            (ok, {"s": 12, "alpha": 0.6, "c": "C0"}),
            (bad, {"s": 16, "marker": "x", "c": "0.55"}),
        ]
        dist = next((t.distributions[pname] for t in done if pname in t.distributions), None)
        xs_all = [t.params[pname] for t in done if pname in t.params]
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs_all)
        cats = sorted({str(x) for x in xs_all})
        for trials, style in groups:
            pts = [(t.params[pname], t.values[objective]) for t in trials if pname in t.params]  # type: ignore[index]
            if not pts:
                continue
            xs = [p[0] if numeric else cats.index(str(p[0])) for p in pts]
            ax.scatter(xs, [p[1] for p in pts], **style)
        if pick is not None and pname in pick.params:
            px = pick.params[pname]
            _mark(ax, px if numeric else cats.index(str(px)), pick.values[objective], "")  # type: ignore[index]
        if numeric:
            xlog = bool(getattr(dist, "log", False)) or use_log_scale(xs_all, pname)
            _set_scale(
                ax,
                "x",
                xlog and bool(xs_all) and min(xs_all) > 0,
                integer=isinstance(dist, IntDistribution),
            )
        else:
            rot = 90 if len(cats) > 3 or max((len(c) for c in cats), default=0) > 6 else 0
            every = -(-len(cats) // 8)  # at most 8 labels per panel
            ax.set_xticks(
                range(len(cats)),
                [_short(c) if k % every == 0 else "" for k, c in enumerate(cats)],
                rotation=rot,
            )
            ax.set_xlim(-0.5, len(cats) - 0.5)
        _set_scale(ax, "y", ylog)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.tick_params(labelsize=8)
        ax.set_xlabel(pname, fontsize=9)
        if k % cols == 0:
            ax.set_ylabel(name, fontsize=9)
        ax.grid(alpha=0.3)
    for k in range(len(names), rows * cols):
        if k:
            axes[k // cols][k % cols].axis("off")
    title = f"{name} by parameter" + (f" (star = {lab})" if pick is not None else "")
    if bad:
        title += "; grey crosses: infeasible"
    fig.suptitle(title, fontsize=10)
    return fig


def failure_reasons(study: Study) -> list[tuple[str, int, list[int]]]:
    """The failed trials grouped by their stored reason: ``(reason, count, trial numbers)``,
    the most common first."""
    groups: dict[str, list[int]] = {}
    for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,)):
        why = str(t.system_attrs.get(keys.FAIL_REASON) or "no reason stored")
        groups.setdefault(why, []).append(t.number)
    return sorted(((r, len(n), n) for r, n in groups.items()), key=lambda g: (-g[1], g[2][0]))


def plot_failures(study: Study, max_reasons: int = 8) -> Any:
    """Bar chart of the failed trials by reason (the ``max_reasons`` most common; the rest
    as ``other``), so that a study whose trials fail says why at a glance."""
    plt = _plt()
    groups = failure_reasons(study)
    n_all = len(study.get_trials(deepcopy=False))
    if len(groups) > max_reasons:
        rest = groups[max_reasons - 1 :]
        groups = groups[: max_reasons - 1] + [
            (f"{len(rest)} other reasons", sum(g[1] for g in rest), [])
        ]
    labels = [
        "\n".join(textwrap.wrap(r, 48, max_lines=3, placeholder=" …")) or "?" for r, _, _ in groups
    ]
    lines = sum(lab.count("\n") + 1 for lab in labels)
    fig, ax = plt.subplots(figsize=(8.0, 1.2 + 0.32 * max(lines, 2)))
    if not groups:
        ax.text(0.5, 0.5, "no failed trial", ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        counts = [g[1] for g in groups]
        y = np.arange(len(groups))[::-1]
        ax.barh(y, counts, color="C3", alpha=0.8)
        ax.set_yticks(y, labels, fontsize=8)
        for yy, c in zip(y, counts):
            ax.text(c, yy, f" {c}", va="center", fontsize=8)
        ax.set_xlim(0, max(counts) * 1.15)
        ax.xaxis.set_major_locator(plt.MaxNLocator(nbins=6, integer=True))
    ax.set_xlabel("failed trials")
    n_fail = sum(g[1] for g in groups)
    ax.set_title(f"{n_fail} of {n_all} trials failed, by reason", fontsize=10)
    fig.tight_layout()
    return fig
