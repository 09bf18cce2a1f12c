"""What the figures show, computed once for both back ends (plotly and matplotlib): which
trials, which values, which axes. No plotting library is imported here.

The choices follow Optuna's ``optuna.visualization``: COMPLETE trials only (the timeline
and intermediate values show the others too); a trial is infeasible when one of its
constraints (``constraints_func``, else the constraints it stored with
``trial.set_constraints``) is above 0; several objectives need ``target=``.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.distributions import BaseDistribution, CategoricalDistribution
from slimtune.multiobjective import hypervolume, is_pareto_front, to_losses
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study

DEFAULT_TARGET_NAME = "Objective Value"
logger = logging.getLogger("slimtune.visualization")
Target = Callable[[FrozenTrial], float]


def as_studies(study: Study | Sequence[Study]) -> list[Study]:
    return list(study) if isinstance(study, (list, tuple)) else [study]  # type: ignore[list-item]


def check_target(study: Study, target: Target | None, who: str) -> None:
    """Several objectives: the figure needs ``target=`` to know which value to show."""
    if target is None and len(study.directions) > 1:
        raise ValueError(
            f"{who}: this study has {len(study.directions)} objectives; pass target= and "
            "target_name=, e.g. target=lambda t: t.values[0], target_name='loss'."
        )


def target_label(study: Study, target: Target | None, target_name: str) -> str:
    """``target_name``, or the study's metric name when the objective itself is shown and
    ``target_name`` was left at its default."""
    if target is None and target_name == DEFAULT_TARGET_NAME:
        names = study.metric_names
        if names:
            return names[0]
    return target_name


def value_of(t: FrozenTrial, target: Target | None) -> float:
    return float(target(t)) if target is not None else float(t.values[0])  # type: ignore[index]


def complete(study: Study) -> list[FrozenTrial]:
    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def finite_trials(trials: Sequence[FrozenTrial], target: Target | None) -> list[FrozenTrial]:
    return [t for t in trials if math.isfinite(value_of(t, target))]


def feasible(
    t: FrozenTrial,
    constraints_func: Callable[[FrozenTrial], Sequence[float]] | None = None,
) -> bool:
    cons = (
        constraints_func(t)
        if constraints_func is not None
        else t.system_attrs.get(keys.CONSTRAINTS)
    )
    return cons is None or all(float(c) <= 0.0 for c in cons)


def param_names(study: Study, params: list[str] | None, who: str) -> list[str]:
    """``params`` checked against the complete trials' parameters (default: all of them,
    sorted)."""
    seen = sorted({k for t in complete(study) for k in t.params})
    if params is None:
        return seen
    if isinstance(params, str) or not all(isinstance(p, str) for p in params):
        raise TypeError(f"{who}: params must be a list of parameter names, got {params!r}.")
    missing = [p for p in params if p not in seen]
    if missing:
        raise ValueError(
            f"{who}: parameter(s) {missing} are not in any complete trial; choose from {seen}."
        )
    return list(params)


def distribution_of(trials: Sequence[FrozenTrial], name: str) -> BaseDistribution | None:
    for t in trials:
        d = t.distributions.get(name)
        if d is not None:
            return d
    return None


def is_log(trials: Sequence[FrozenTrial], name: str) -> bool:
    d = distribution_of(trials, name)
    return bool(getattr(d, "log", False))


def is_categorical(trials: Sequence[FrozenTrial], name: str) -> bool:
    """Categorical parameters go on a category axis (at their choice index)."""
    return isinstance(distribution_of(trials, name), CategoricalDistribution)


def categories(trials: Sequence[FrozenTrial], name: str) -> list[Any]:
    d = distribution_of(trials, name)
    if isinstance(d, CategoricalDistribution):
        return list(d.choices)
    return sorted({t.params[name] for t in trials if name in t.params})


def axis_value(trials: Sequence[FrozenTrial], name: str, t: FrozenTrial) -> float:
    """A parameter's position on a numeric axis: the value, its log10 for log
    parameters, the choice index for categoricals."""
    v = t.params[name]
    if is_categorical(trials, name):
        return float(categories(trials, name).index(v))
    return math.log10(v) if is_log(trials, name) else float(v)


# --- optimization history ----------------------------------------------------------------


@dataclass
class HistorySeries:
    label: str
    best_label: str | None
    numbers: np.ndarray
    values: np.ndarray
    feasible: np.ndarray
    best: np.ndarray | None
    values_std: np.ndarray | None = None
    best_std: np.ndarray | None = None


def history(
    study: Study | Sequence[Study], target: Target | None, target_name: str, error_bar: bool
) -> tuple[list[HistorySeries], str]:
    studies = as_studies(study)
    if not studies:
        raise ValueError("plot_optimization_history: pass at least one study.")
    for s in studies:
        check_target(s, target, "plot_optimization_history")
    name = target_label(studies[0], target, target_name)
    out = []
    for s in studies:
        trials = finite_trials(complete(s), target)
        nums = np.array([t.number for t in trials], dtype=int)
        vals = np.array([value_of(t, target) for t in trials], dtype=float)
        ok = np.array([feasible(t) for t in trials], dtype=bool)
        best = None
        if target is None:
            if s.directions[0] == "maximize":
                best = np.maximum.accumulate(np.where(ok, vals, -np.inf)) if len(vals) else vals
            else:
                best = np.minimum.accumulate(np.where(ok, vals, np.inf)) if len(vals) else vals
        many = len(studies) > 1
        out.append(
            HistorySeries(
                label=f"{name} of {s.study_name}" if many else name,
                best_label=None
                if target is not None
                else (f"Best Value of {s.study_name}" if many else "Best Value"),
                numbers=nums,
                values=vals,
                feasible=ok,
                best=best,
            )
        )
    if not error_bar or not out:
        return out, name
    # Mean and standard deviation over the studies, per trial number.
    n = max((int(h.numbers.max()) + 1 for h in out if len(h.numbers)), default=0)
    V = np.full((len(out), n), np.nan)
    B = np.full((len(out), n), np.nan)
    for i, h in enumerate(out):
        V[i, h.numbers] = h.values
        if h.best is not None:
            B[i, h.numbers] = h.best
    keep = ~np.all(np.isnan(V), axis=0)
    nums = np.arange(n)[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        agg = HistorySeries(
            label=name,
            best_label=None if target is not None else "Best Value",
            numbers=nums,
            values=np.nanmean(V, axis=0)[keep],
            feasible=np.ones(len(nums), bool),
            best=None if target is not None else np.nanmean(B, axis=0)[keep],
            values_std=np.nanstd(V, axis=0)[keep],
            best_std=None if target is not None else np.nanstd(B, axis=0)[keep],
        )
    return [agg], name


# --- intermediate values, EDF, timeline, hypervolume ---------------------------------------


def intermediate(study: Study) -> list[tuple[int, np.ndarray, np.ndarray, bool]]:
    """(number, steps, values, feasible) per trial that reported intermediate values."""
    out = []
    states = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)
    for t in study.get_trials(deepcopy=False, states=states):
        if not t.intermediate_values:
            continue
        steps = np.array(sorted(t.intermediate_values), dtype=float)
        vals = []
        for s in sorted(t.intermediate_values):
            v = t.intermediate_values[s]
            vals.append(float(v[0]) if isinstance(v, (list, tuple)) else float(v))
        out.append((t.number, steps, np.array(vals), feasible(t)))
    return out


def edf(
    study: Study | Sequence[Study], target: Target | None, target_name: str
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]], str]:
    """A shared grid of 100 target values and, per study, the share of its complete trials
    at or below each grid value."""
    studies = as_studies(study)
    for s in studies:
        check_target(s, target, "plot_edf")
    name = target_label(studies[0], target, target_name) if studies else target_name
    per = [
        (s.study_name, np.array([value_of(t, target) for t in finite_trials(complete(s), target)]))
        for s in studies
    ]
    allv = np.concatenate([v for _, v in per]) if per else np.zeros(0)
    if allv.size == 0:
        return np.zeros(0), [], name
    x = np.linspace(allv.min(), allv.max(), 100)
    curves = [
        (n, (v[None, :] <= x[:, None]).mean(axis=1) if v.size else np.zeros_like(x))
        for n, v in per
        if v.size
    ]
    return x, curves, name


@dataclass
class TimelineBar:
    number: int
    state: str
    start: Any
    end: Any
    infeasible: bool = False


def timeline(study: Study, n_recent_trials: int | None) -> list[TimelineBar]:
    if n_recent_trials is not None and (
        not isinstance(n_recent_trials, int) or n_recent_trials <= 0
    ):
        raise ValueError(
            f"plot_timeline: n_recent_trials must be a positive int, got {n_recent_trials!r}."
        )
    import datetime as _dt

    trials = study.get_trials(deepcopy=False)
    if n_recent_trials is not None:
        trials = trials[-n_recent_trials:]
    now = _dt.datetime.now()
    out = []
    for t in trials:
        if t.datetime_start is None:
            continue
        end = t.datetime_complete or now
        out.append(
            TimelineBar(
                t.number,
                t.state.name,
                t.datetime_start,
                end,
                t.state == TrialState.COMPLETE and not feasible(t),
            )
        )
    return out


def hypervolume_history(
    study: Study, reference_point: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    if len(study.directions) < 2:
        raise ValueError(
            "plot_hypervolume_history: this study has one objective; hypervolume needs a "
            "multi-objective study (create_study(directions=[...]))."
        )
    ref = np.asarray(reference_point, dtype=float)
    if ref.shape != (len(study.directions),):
        raise ValueError(
            f"plot_hypervolume_history: reference_point has {ref.size} value(s) for "
            f"{len(study.directions)} objectives; pass one per objective."
        )
    ref_l = to_losses(ref[None, :], study.directions)[0]
    trials = complete(study)
    nums = np.array([t.number for t in trials], dtype=int)
    hv = np.zeros(len(trials))
    front = np.zeros((0, len(ref)))
    cur = 0.0
    for i, t in enumerate(trials):
        if feasible(t):
            p = to_losses(np.asarray(t.values, dtype=float)[None, :], study.directions)
            if np.all(p < ref_l) and not np.any(np.all(front <= p, axis=1)):
                front = np.vstack([front, p])
                front = front[is_pareto_front(front)]
                cur = float(hypervolume(front, ref_l))
        hv[i] = cur
    return nums, hv


# --- Pareto front ------------------------------------------------------------------------


@dataclass
class ParetoData:
    names: list[str]
    best: list[tuple[int, np.ndarray]] = field(default_factory=list)
    dominated: list[tuple[int, np.ndarray]] = field(default_factory=list)
    infeasible: list[tuple[int, np.ndarray]] = field(default_factory=list)


def pareto(
    study: Study,
    target_names: list[str] | None,
    include_dominated_trials: bool,
    constraints_func: Callable[[FrozenTrial], Sequence[float]] | None,
    targets: Callable[[FrozenTrial], Sequence[float]] | None,
) -> ParetoData:
    who = "plot_pareto_front"
    if len(study.directions) < 2:
        raise ValueError(f"{who}: this study has one objective; a Pareto front needs several.")
    trials = [t for t in complete(study) if all(math.isfinite(v) for v in t.values or [])]
    n_axes = (
        len(study.directions)
        if targets is None
        else (len(targets(trials[0])) if trials else (len(target_names) if target_names else 2))
    )
    if targets is None and n_axes > 3:
        raise ValueError(
            f"{who}: the study has {n_axes} objectives; pass targets= returning 2 or 3 of "
            "them, e.g. targets=lambda t: (t.values[0], t.values[2])."
        )
    if n_axes not in (2, 3):
        raise ValueError(f"{who}: targets must return 2 or 3 values, got {n_axes}.")
    if target_names is None:
        names = study.metric_names if targets is None else None
        target_names = list(names) if names else [f"Objective {i}" for i in range(n_axes)]
    if len(target_names) != n_axes:
        raise ValueError(
            f"{who}: {len(target_names)} target_names for {n_axes} axes; pass one per axis."
        )
    data = ParetoData(names=list(target_names))
    ok = [t for t in trials if feasible(t, constraints_func)]
    bad = [t for t in trials if not feasible(t, constraints_func)]

    def coords(t: FrozenTrial) -> np.ndarray:
        return np.asarray(targets(t) if targets is not None else t.values, dtype=float)

    if ok:
        L = to_losses(np.array([t.values for t in ok], dtype=float), study.directions)
        mask = is_pareto_front(L)
        for t, m in zip(ok, mask):
            (data.best if m else data.dominated).append((t.number, coords(t)))
    if not include_dominated_trials:
        data.dominated = []
    else:
        data.infeasible = [(t.number, coords(t)) for t in bad]
    return data


# --- contour / rank grids ----------------------------------------------------------------


PADDING = 0.05


def axis_range(trials: Sequence[FrozenTrial], name: str) -> tuple[float, float]:
    """Padded range of a parameter on its numeric axis (``axis_value``)."""
    xs = np.array([axis_value(trials, name, t) for t in trials if name in t.params])
    if is_categorical(trials, name):
        n = len(categories(trials, name))
        return -PADDING * max(n - 1, 1), (n - 1) + PADDING * max(n - 1, 1)
    lo, hi = float(xs.min()), float(xs.max())
    pad = (hi - lo) * PADDING if hi > lo else 0.5
    return lo - pad, hi + pad


def interpolate_grid(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    xr: tuple[float, float],
    yr: tuple[float, float],
    n: int = 100,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """z on an n x n grid: linear inside the points' hull, the nearest point outside it."""
    gx = np.linspace(*xr, n)
    gy = np.linspace(*yr, n)
    GX, GY = np.meshgrid(gx, gy)
    pts = np.column_stack([x, y])
    Z = np.full(GX.shape, np.nan)
    if len(np.unique(pts, axis=0)) >= 3 and np.linalg.matrix_rank(pts - pts.mean(0)) == 2:
        from scipy.interpolate import griddata

        Z = griddata(pts, z, (GX, GY), method="linear")
    if np.isnan(Z).any():
        from scipy.spatial import cKDTree

        sx = max(xr[1] - xr[0], 1e-12)
        sy = max(yr[1] - yr[0], 1e-12)
        tree = cKDTree(np.column_stack([x / sx, y / sy]))
        miss = np.isnan(Z)
        _, idx = tree.query(np.column_stack([GX[miss] / sx, GY[miss] / sy]))
        Z[miss] = z[idx]
    return gx, gy, Z


def too_few_params(names: list[str], need: int, who: str) -> bool:
    """Fewer parameters than the figure needs: log a warning (the figure comes back empty,
    as in Optuna) and say so."""
    if len(names) >= need:
        return False
    logger.warning(
        f"{who}: needs at least {need} parameter(s) in complete trials, got {names}; "
        "the figure is empty."
    )
    return True


# --- terminator improvement --------------------------------------------------------------


def terminator_module() -> Any:
    """``slimtune.terminator`` (Optuna's terminator names), imported when first needed."""
    import importlib

    try:
        return importlib.import_module("slimtune.terminator")
    except ImportError as e:
        raise ImportError(
            "plot_terminator_improvement: slimtune.terminator is not available in this "
            "install; pass improvement_evaluator= (and error_evaluator=) objects with "
            "evaluate(trials, study_direction)."
        ) from e


def terminator_improvement(
    study: Study,
    plot_error: bool,
    improvement_evaluator: Any | None,
    error_evaluator: Any | None,
    min_n_trials: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Per complete trial, ``improvement_evaluator.evaluate(trials so far, direction)``
    (default: the terminator's ``RegretBoundEvaluator``) and, with ``plot_error``, the
    error evaluator's value (default: ``CrossValidationErrorEvaluator``)."""
    who = "plot_terminator_improvement"
    if len(study.directions) > 1:
        raise ValueError(f"{who}: works on single-objective studies only.")
    if not isinstance(min_n_trials, int) or min_n_trials < 1:
        raise ValueError(f"{who}: min_n_trials must be a positive int, got {min_n_trials!r}.")
    if improvement_evaluator is None:
        improvement_evaluator = terminator_module().RegretBoundEvaluator()
    if plot_error and error_evaluator is None:
        error_evaluator = terminator_module().CrossValidationErrorEvaluator()
    if plot_error and type(improvement_evaluator).__name__ == "BestValueStagnationEvaluator":
        warnings.warn(
            f"{who}: the error is not comparable with BestValueStagnationEvaluator's "
            "improvement (a number of trials); plot_error=True shows it anyway.",
            UserWarning,
            stacklevel=3,
        )
    trials = complete(study)
    direction = study.directions[0]
    nums = np.array([t.number for t in trials], dtype=int)
    imp = np.array(
        [
            float(improvement_evaluator.evaluate(trials[: i + 1], direction))
            for i in range(len(trials))
        ]
    )
    err = None
    if plot_error:
        err = np.array(
            [
                float(error_evaluator.evaluate(trials[: i + 1], direction))
                for i in range(len(trials))
            ]
        )
    return nums, imp, err
