"""PED-ANOVA (Watanabe et al., IJCAI 2023), with conditional parameters handled by
regimes (Conditional PED-ANOVA).

A parameter matters for reaching the top ``target_quantile`` of trials when the density of
its values among those trials differs from their density among the trials of the region
(the top ``region_quantile``, by default all): the importance is the Pearson divergence
``E_region[(p_top / p_region - 1)^2]`` of the two densities. Each density is a Parzen
estimator (Scott's bandwidth, one prior kernel) on a grid of at most 50 points of the
parameter's domain (the choices for a categorical). A conditional parameter is split by
regime (the distribution it had, or inactive); the regimes' divergences add up weighted by
``alpha^2 / beta``, the regime's share of the top and of the region trials.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr

from slimtune.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from slimtune.importance.base import (
    BaseImportanceEvaluator,
    Target,
    check_params_arg,
    complete_trials,
    sort_by_importance,
)
from slimtune.multiobjective import hypervolume, non_dominated_sort, to_losses
from slimtune.trial import FrozenTrial

if TYPE_CHECKING:
    from slimtune.study import Study

N_STEPS = 50  # the grid of a continuous parameter
PRIOR_WEIGHT = 1.0  # weight of the flat prior kernel in each Parzen estimator
MIN_TRIALS_IN_REGIME = 2


def grid_counts(dist: BaseDistribution, values: Sequence[object]) -> np.ndarray:
    """How many of ``values`` fall on each point of the parameter's grid."""
    if isinstance(dist, CategoricalDistribution):
        idx = np.array([int(dist.to_internal(v)) for v in values], dtype=int)
        return np.bincount(idx, minlength=len(dist.choices))
    assert isinstance(dist, (FloatDistribution, IntDistribution))
    n = N_STEPS
    if isinstance(dist, IntDistribution) and dist.log:
        n = min(n, int(math.ceil(math.log2(dist.high - dist.low + 1))) + 1)
    elif dist.step is not None:
        n = min(n, int(round((dist.high - dist.low) / dist.step)) + 1)
    lo, hi = (math.log(dist.low), math.log(dist.high)) if dist.log else (dist.low, dist.high)
    x = np.asarray(values, dtype=float)
    if dist.log:
        x = np.log(x)
    h = (hi - lo) / (n - 1)
    idx = np.clip(np.ceil((x - lo) / h - 0.5).astype(int), 0, n - 1)
    return np.bincount(idx, minlength=n)


def parzen_pdf_on_grid(counts: np.ndarray, categorical: bool) -> np.ndarray:
    """Density on grid points ``0..n-1`` of a Parzen estimator with one kernel per occupied
    point (weighted by its count) plus a flat prior kernel of weight ``PRIOR_WEIGHT``."""
    n = len(counts)
    occupied = np.flatnonzero(counts)
    w = counts[occupied].astype(float)
    if len(occupied) == 0:
        return np.full(n, 1.0 / n)
    mix = np.append(w, PRIOR_WEIGHT)
    mix = mix / mix.sum()
    if categorical:
        # Each kernel: its choice plus a share PRIOR_WEIGHT / n_kernels spread evenly.
        n_kernels = len(occupied) + 1
        kern = np.full((n_kernels, n), PRIOR_WEIGHT / n_kernels)
        kern[np.arange(len(occupied)), occupied] += 1.0
        kern /= kern.sum(axis=1, keepdims=True)
        return mix @ kern
    # Scott's rule on the weighted grid indices, with a floor of half a cell (in sigmas).
    total = w.sum()
    mean = (occupied @ w) / total
    std = math.sqrt(((occupied - mean) ** 2 @ w) / max(1.0, total - 1.0))
    # Quartiles as the first grid points whose cumulative count reaches a quarter
    # (inclusive) and passes three quarters of the total (counts are integers).
    cum = np.cumsum(w)
    i1 = int(np.searchsorted(cum, total // 4, side="left"))
    i3 = min(int(np.searchsorted(cum, total * 3 // 4, side="right")), len(occupied) - 1)
    iqr = float(occupied[i3] - occupied[i1])
    sigma = 1.059 * min(iqr / 1.34, std) * total**-0.2
    sigma = max(sigma, 0.5 / 1.64)
    mus = np.append(occupied.astype(float), (n - 1) / 2.0)
    sigmas = np.append(np.full(len(occupied), sigma), float(n))  # the prior: nearly flat
    grid = np.arange(n, dtype=float)
    # Each kernel a normal discretised to the grid cells and truncated to [-0.5, n - 0.5].
    upper = ndtr((grid[None, :] + 0.5 - mus[:, None]) / sigmas[:, None])
    lower = ndtr((grid[None, :] - 0.5 - mus[:, None]) / sigmas[:, None])
    kern = upper - lower
    kern /= kern.sum(axis=1, keepdims=True)
    return mix @ kern


def pearson_divergence(
    dist: BaseDistribution,
    top_values: Sequence[object],
    region_values: Sequence[object] | None,
) -> float:
    """``sum_x p_region(x) (p_top(x) / p_region(x) - 1)^2`` on the parameter's grid;
    ``region_values=None`` takes the region density flat (the global importance)."""
    cat = isinstance(dist, CategoricalDistribution)
    p_top = parzen_pdf_on_grid(grid_counts(dist, top_values), cat) + 1e-12
    if region_values is None:
        p_reg = np.full(len(p_top), 1.0 / len(p_top))
    else:
        p_reg = parzen_pdf_on_grid(grid_counts(dist, region_values), cat) + 1e-12
    return float(p_reg @ (p_top / p_reg - 1.0) ** 2)


def greedy_hssp(L: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` rows of the front ``L`` (losses) picked greedily, each adding the
    most hypervolume to those picked before (the hypervolume subset selection that
    multi-objective TPE uses). The reference point is the front's worst point moved 10 %
    outwards (a zero coordinate nudged off zero)."""
    worst = L.max(axis=0)
    ref = np.maximum(1.1 * worst, 0.9 * worst)
    ref[ref == 0] = 1e-12
    chosen: list[int] = []
    left = list(range(len(L)))
    base = 0.0
    for _ in range(min(k, len(L))):
        gains = [hypervolume(L[chosen + [i]], ref) - base for i in left]
        j = int(np.argmax(gains))
        base += gains[j]
        chosen.append(left.pop(j))
    return np.array(chosen, dtype=int)


def top_trials(
    study: Study, trials: list[FrozenTrial], quantile: float, target: Target | None
) -> list[FrozenTrial]:
    """The best ``quantile`` of ``trials`` (ties at the cut all kept). Several objectives
    and no target: by non-domination rank, the last rank cut by greedy hypervolume subset
    selection."""
    if quantile >= 1.0:
        return list(trials)
    n_keep = max(1, int(math.ceil(quantile * len(trials))))
    if target is None and len(study.directions) > 1:
        L = to_losses(np.array([t.values for t in trials], dtype=float), study.directions)
        rank = non_dominated_sort(L)
        keep = np.zeros(len(trials), dtype=bool)
        for r in np.unique(rank):
            members = np.flatnonzero(rank == r)
            room = n_keep - int(keep.sum())
            if room <= 0:
                break
            if len(members) <= room:
                keep[members] = True
                continue
            keep[members[greedy_hssp(L[members], room)]] = True
        return [t for t, k in zip(trials, keep) if k]
    if target is not None:
        loss = np.array([float(target(t)) for t in trials])
    else:
        sign = -1.0 if study.directions[0] == "maximize" else 1.0
        loss = sign * np.array([float(t.values[0]) for t in trials])
    cut = np.partition(loss, n_keep - 1)[n_keep - 1]
    return [t for t, v in zip(trials, loss) if v <= cut]


class PedAnovaImportanceEvaluator(BaseImportanceEvaluator):
    """PED-ANOVA importances: how much each parameter's distribution among the top
    ``target_quantile`` of trials differs from its distribution in the region (the top
    ``region_quantile``; with ``evaluate_on_local=False`` the whole search space, taken
    flat). Needs no extra. Handles conditional parameters. Same arguments as Optuna's;
    with ``target=`` lower target values count as better."""

    def __init__(
        self,
        *,
        target_quantile: float = 0.1,
        region_quantile: float = 1.0,
        evaluate_on_local: bool = True,
    ) -> None:
        if not 0.0 < target_quantile < region_quantile <= 1.0:
            raise ValueError(
                f"PedAnovaImportanceEvaluator: need 0 < target_quantile < region_quantile "
                f"<= 1, got target_quantile={target_quantile}, "
                f"region_quantile={region_quantile}."
            )
        if region_quantile != 1.0 and not evaluate_on_local:
            warnings.warn(
                "PedAnovaImportanceEvaluator: region_quantile has no effect when "
                "evaluate_on_local=False.",
                UserWarning,
                stacklevel=2,
            )
        self.target_quantile = float(target_quantile)
        self.region_quantile = float(region_quantile)
        self.evaluate_on_local = bool(evaluate_on_local)

    def evaluate(
        self,
        study: Study,
        params: list[str] | None = None,
        *,
        target: Target | None = None,
    ) -> dict[str, float]:
        """Importances of ``params`` (default: every parameter of a complete trial,
        conditional ones included)."""
        check_params_arg(params)
        done = complete_trials(study)
        seen = sorted({k for t in done for k in t.distributions})
        if params is not None:
            missing = [p for p in params if p not in seen]
            if missing:
                raise ValueError(
                    f"no complete trial has the parameter(s) {missing}; "
                    f"the study's parameters are {seen}."
                )
            names = list(params)
        else:
            names = seen
        if target is not None:
            trials = [t for t in done if math.isfinite(float(target(t)))]
        else:
            trials = [t for t in done if all(math.isfinite(v) for v in t.values or [math.nan])]
        result = {k: 0.0 for k in names}
        if len(trials) <= 1:
            return result
        top = top_trials(study, trials, self.target_quantile, target)
        region = top_trials(study, trials, self.region_quantile, target)
        if not top:
            return result
        top_ids = {t.trial_id for t in top}
        ratio = len(top) / len(region)
        for name in names:
            regimes: dict[str, tuple[BaseDistribution | None, list[FrozenTrial]]] = {}
            for t in region:
                d = t.distributions.get(name)
                key = repr(d)
                regimes.setdefault(key, (d, []))[1].append(t)
            total = 0.0
            for d, members in regimes.values():
                if len(members) < MIN_TRIALS_IN_REGIME or d is None or d.single():
                    continue
                top_m = [t for t in members if t.trial_id in top_ids]
                if not top_m:
                    continue
                alpha = len(top_m) / len(top)
                beta = len(members) / len(region)
                div = pearson_divergence(
                    d,
                    [t.params[name] for t in top_m],
                    [t.params[name] for t in members] if self.evaluate_on_local else None,
                )
                total += alpha**2 / beta * div
            result[name] = total * ratio**2
        return sort_by_importance(result)
