"""BOHB (Falkner et al. 2018): TPE fitted per budget, paired with Hyperband.

The model is the multivariate :class:`~slimtune.samplers.tpe.TPESampler`; only the
observations it is fitted on change: BOHB passes its :class:`BudgetCollector` as the
sampler's observation collector. At each suggestion:

1. The budgets are the rungs of the study's :class:`~slimtune.pruners.HyperbandPruner`
   (or ``budgets=``), e.g. 1, 3, 9, 27, 81 epochs.
2. A trial's observation at budget ``b`` is its value recorded at that rung (or its first
   report at or after ``b``); complete trials use their final value at the full budget.
   Pruned trials count at every budget they reached, so stopped trials inform the model.
3. The model is fitted on the *largest budget with at least* ``min_points_in_model``
   observations (default: number of parameters + 2); until one has, proposals are random.
   Trials without an observation at that budget are not in the good/bad split; those
   stopped below it join the bad density (``pruned_as_bad=True``, the default: they lost
   at a lower budget; the paper ignores them) and so do running ones (constant liar, so
   parallel workers spread out).
4. A fraction ``random_fraction`` of the proposals is uniform random (as in the paper),
   which keeps the search global when the low budgets mislead.

Use :func:`slimtune.presets.bohb` to get the sampler and a matching pruner in one line::

    study = st.create_study(**st.presets.bohb(min_resource=1, max_resource=81, seed=0))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.multifidelity.rungs import rung_value
from slimtune.multifidelity.schedule import budgets_of
from slimtune.multiobjective import to_losses
from slimtune.samplers.tpe import ObservationCollector, Observations, TPESampler
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.distributions import BaseDistribution
    from slimtune.study import Study

__all__ = ["BOHBSampler", "BudgetCollector", "bohb_gamma"]


def bohb_gamma(n: int) -> int:
    """Good observations among ``n``: the best 15 % (BOHB's ``top_n_percent``), 1 to 25."""
    return int(min(max(math.ceil(0.15 * n), 1), 25))


class BOHBSampler(TPESampler):
    """TPE fitted on the largest budget with enough observations (BOHB).

    Args:
        budgets: ascending resource levels; default: those of the study's Hyperband or
            successive-halving pruner (see :func:`slimtune.presets.bohb`).
        min_points_in_model: observations a budget needs before it is modelled; default
            the number of parameters + 2.
        random_fraction: share of proposals drawn uniformly at random (paper: 1/3).
        pruned_as_bad: also put trials stopped *below* the modelled budget into the bad
            set (not counted in the split), as evidence against their region (default; the
            paper's BOHB, ``False``, ignores them at higher budgets).
        n_ei_candidates: candidates drawn from the good density per proposal.
        gamma: good observations among ``n`` (default :func:`bohb_gamma`).
        seed: seed of the random stream.
        **tpe_kwargs: any other :class:`TPESampler` argument (``bandwidth_factor``, ``priors``,
            ``constant_liar``, ...).

    The budget the model of a trial was fitted on is stored in the trial's system
    attributes under ``"bohb:budget"`` (None while proposals are random). The observations
    come from ``self.collector``, a :class:`BudgetCollector` (the TPE sampler's
    ``collector`` argument).
    """

    def __init__(
        self,
        budgets: Sequence[float] | None = None,
        *,
        min_points_in_model: int | None = None,
        random_fraction: float = 1.0 / 3.0,
        pruned_as_bad: bool = True,
        n_ei_candidates: int = 64,
        gamma: Callable[[int], int] | None = None,
        seed: int | None = None,
        **tpe_kwargs: Any,
    ):
        if budgets is not None:
            b = [float(x) for x in budgets]
            if not b or any(x <= 0 for x in b) or any(y <= x for x, y in zip(b, b[1:])):
                raise ValueError(f"budgets must be positive and ascending, got {budgets!r}.")
            budgets = b
        if min_points_in_model is not None and (
            isinstance(min_points_in_model, bool)
            or not isinstance(min_points_in_model, int)
            or min_points_in_model < 2
        ):
            raise ValueError(
                f"min_points_in_model must be an int >= 2, got {min_points_in_model!r}."
            )
        if not 0.0 <= random_fraction <= 1.0:
            raise ValueError(f"random_fraction must be in [0, 1], got {random_fraction!r}.")
        tpe_kwargs.setdefault("n_startup_trials", 0)
        collector: ObservationCollector | None = tpe_kwargs.pop("collector", None)
        super().__init__(
            n_ei_candidates=n_ei_candidates,
            gamma=gamma if gamma is not None else bohb_gamma,
            seed=seed,
            **tpe_kwargs,
        )
        self.budgets = budgets
        self.min_points_in_model = min_points_in_model
        self.random_fraction = float(random_fraction)
        self.pruned_as_bad = bool(pruned_as_bad)
        self.collector = collector if collector is not None else BudgetCollector(
            self._budgets, self.min_points_in_model, self.pruned_as_bad, self.constant_liar
        )

    # --- budgets ------------------------------------------------------------------------
    def _budgets(self, study: Study, trials: list[FrozenTrial]) -> list[float]:
        if self.budgets is not None:
            return list(self.budgets)
        return budgets_of(study.pruner, trials)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        if self.random_fraction > 0 and self._rng.random() < self.random_fraction:
            return {}  # every parameter falls back to uniform sampling
        out, obs = self.propose(study, trial, search_space)
        if out and obs is not None and obs.budget is not None:
            study.set_trial_system_attr(trial.trial_id, keys.BOHB_BUDGET, obs.budget)
        return out

    def __repr__(self) -> str:
        return (
            f"BOHBSampler(budgets={self.budgets}, min_points_in_model="
            f"{self.min_points_in_model}, random_fraction={self.random_fraction:.3g}, "
            f"seed={self.seed})"
        )


class BudgetCollector:
    """BOHB's observation collector (pass it as a TPE sampler's ``collector``).

    Args:
        budgets: ``(study, trials) -> ascending budgets`` (BOHB: its budgets or the
            pruner's rungs).
        min_points_in_model: observations a budget needs before it is modelled; None: the
            number of parameters + 2.
        pruned_as_bad: trials stopped below the modelled budget join the bad set.
        constant_liar: running trials join the bad set.
    """

    def __init__(
        self,
        budgets: Callable[[Study, list[FrozenTrial]], list[float]],
        min_points_in_model: int | None = None,
        pruned_as_bad: bool = True,
        constant_liar: bool = True,
    ):
        self.budgets = budgets
        self.min_points_in_model = min_points_in_model
        self.pruned_as_bad = bool(pruned_as_bad)
        self.constant_liar = bool(constant_liar)

    def _observations_at(
        self, trials: list[FrozenTrial], b: float, full: bool
    ) -> tuple[list[int], list[Any]]:
        idx, vals = [], []
        for i, t in enumerate(trials):
            if t.state == TrialState.FAIL or t.state == TrialState.WAITING:
                continue
            if full and t.state == TrialState.COMPLETE and t.values is not None:
                v: Any = t.values
            else:
                v = rung_value(t, b)
                if v is None:
                    continue
            idx.append(i)
            vals.append(v)
        return idx, vals

    def collect(self, study: Study, trials: Sequence[FrozenTrial]) -> Observations:
        """The observations at the largest budget with enough of them (``budget`` set), or
        none (random proposals) while no budget has."""
        trials = list(trials)
        directions = study.directions
        m = len(directions)
        empty = Observations([], np.zeros((0, m)), np.zeros(0))
        budgets = self.budgets(study, trials)
        if not budgets:
            return empty
        names = set()
        for t in trials:
            names.update(k for k, d in t.distributions.items() if not d.single())
        need = self.min_points_in_model or (len(names) + 2)
        for j in range(len(budgets) - 1, -1, -1):
            b = budgets[j]
            idx, vals = self._observations_at(trials, b, full=(j == len(budgets) - 1))
            if len(idx) < need:
                continue
            keep = [trials[i] for i in idx]
            rows = []
            for v in vals:
                row = list(v) if isinstance(v, (list, tuple)) else [v]
                rows.append(row if len(row) == m else [math.inf] * m)
            L = to_losses(np.array(rows, dtype=float).reshape(len(rows), m), directions)
            L[~np.isfinite(L)] = np.inf
            tier = np.zeros(len(keep))
            chosen = set(idx)
            bad_states = (TrialState.RUNNING,) if self.constant_liar else ()
            if self.pruned_as_bad:
                bad_states = (*bad_states, TrialState.PRUNED)
            if bad_states:
                run = [
                    t for i, t in enumerate(trials)
                    if i not in chosen and t.state in bad_states and t.params
                ]
                if run:
                    keep = keep + run
                    L = np.vstack([L, np.full((len(run), m), np.inf)])
                    tier = np.concatenate([tier, np.full(len(run), np.inf)])
            order = np.argsort([t.number for t in keep], kind="stable")
            return Observations([keep[i] for i in order], L[order], tier[order], budget=b)
        return empty
