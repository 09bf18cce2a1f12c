"""Hyperband (Li et al. 2018) as a pruner: several brackets of asynchronous successive
halving that trade off how aggressively they stop trials.

Bracket ``b`` (0 = most aggressive) decides as a :class:`SuccessiveHalvingPruner` with
``min_early_stopping_rate = b`` (the rungs of ``RungSchedule.bracket(b)``, see
:mod:`slimtune.multifidelity.schedule`); trials compete only with trials of their own bracket.

Bracket assignment is a pure function of the trial number, so every worker (and a resumed
study) agrees on it without shared state: trial ``n`` falls in bracket ``b`` where
``frac((n + 1) / phi)`` (the golden-ratio low-discrepancy sequence) lands in ``b``'s share
of ``[0, 1)``. Shares are proportional to the number of configurations Hyperband gives each
bracket (``ceil(n_brackets / (s + 1) * rf ** s)`` for a bracket of ``s + 1`` rungs). Unlike a
hash, this keeps the brackets in balance already over the first few trials.

The sampler sees the trials of *all* brackets (Optuna instead hides the other brackets from
the sampler). Model-based samplers here, BOHB in particular, fit one model per budget, which
is what makes observations from different brackets comparable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from slimtune.multifidelity.rungs import is_nan_value, undecided_rung
from slimtune.multifidelity.schedule import (
    RungSchedule,
    auto_max_resource,
    bracket_of,
    check_int,
    check_rf,
)
from slimtune.multifidelity.successive_halving import SuccessiveHalvingPruner
from slimtune.pruners.base import BasePruner

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["HyperbandPruner"]


class HyperbandPruner(BasePruner):
    """Hyperband: brackets of asynchronous successive halving.

    Args:
        min_resource: steps before the first rung of the most aggressive bracket.
        max_resource: the full budget in steps; ``"auto"`` = the last step of the complete
            trials (no pruning until one completes). Give it when you know it.
        reduction_factor: keep the best ``1 / reduction_factor`` at each rung.
        bootstrap_count: as in :class:`SuccessiveHalvingPruner`.
        multi_objective_tiebreak: as in :class:`SuccessiveHalvingPruner`.

    With ``min_resource=1, max_resource=81, reduction_factor=3`` there are 5 brackets, with
    rungs at 1/3/9/27, 3/9/27, 9/27, 27 and none (full runs).

    >>> import slimtune as st
    >>> pruner = st.pruners.HyperbandPruner(min_resource=1, max_resource=81)
    >>> pruner.n_brackets()
    5
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int | str = "auto",
        reduction_factor: float = 3,
        bootstrap_count: int = 0,
        *,
        multi_objective_tiebreak: str = "crowding",
    ):
        self.min_resource = check_int("min_resource", min_resource, 1)
        if max_resource != "auto":
            check_int("max_resource", max_resource, 1)
            if max_resource < min_resource:  # type: ignore[operator]
                raise ValueError(
                    f"max_resource={max_resource} must be >= min_resource={min_resource}."
                )
        self.max_resource = max_resource
        self.reduction_factor = check_rf(reduction_factor)
        self.bootstrap_count = check_int("bootstrap_count", bootstrap_count, 0)
        self.multi_objective_tiebreak = multi_objective_tiebreak
        # Decides at the rungs of a trial's bracket (validates multi_objective_tiebreak).
        self._halving = SuccessiveHalvingPruner(
            self.min_resource,
            self.reduction_factor,
            bootstrap_count=self.bootstrap_count,
            multi_objective_tiebreak=multi_objective_tiebreak,
        )

    # --- the schedule -----------------------------------------------------------------
    def rung_schedule(self, trials: Sequence[FrozenTrial] = ()) -> RungSchedule | None:
        """Rungs from ``min_resource`` up to the full budget (bracket 0; bracket ``b`` is
        ``.bracket(b)``); ``max_resource="auto"`` is resolved from the complete ``trials``
        (None until one completes)."""
        if self.max_resource == "auto":
            max_resource = auto_max_resource(trials)
            if max_resource is None:
                return None
        else:
            max_resource = int(self.max_resource)  # type: ignore[arg-type]
        return RungSchedule(self.min_resource, self.reduction_factor, max_resource)

    def _given(self, max_resource: int | None) -> RungSchedule:
        m = max_resource if max_resource is not None else self.max_resource
        if m == "auto" or m is None:
            raise ValueError("max_resource='auto' is not known yet; pass max_resource.")
        return RungSchedule(self.min_resource, self.reduction_factor, int(m))  # type: ignore[arg-type]

    def n_brackets(self, max_resource: int | None = None) -> int:
        """Number of brackets for ``max_resource`` (default: the one given)."""
        return self._given(max_resource).n_brackets()

    def bracket_of(self, number: int, max_resource: int | None = None) -> int:
        """The bracket (0 = most aggressive) of trial ``number``."""
        return self._given(max_resource).bracket_of(number)

    def budgets(self, max_resource: int | None = None) -> list[float]:
        """All rung resources, ascending, ending with ``max_resource`` (the full budget)."""
        return self._given(max_resource).budgets()

    # --- the decision -----------------------------------------------------------------
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        if not trial.intermediate_values:
            return False
        iv = trial.intermediate_values
        trials: list[FrozenTrial] | None = None
        if self.max_resource == "auto":
            trials = study.get_trials(deepcopy=False)
        schedule = self.rung_schedule(trials or [])
        if schedule is None:
            return False
        n_br = schedule.n_brackets()
        b = bracket_of(trial.number, n_br, self.reduction_factor)
        mine = schedule.bracket(b)
        if not is_nan_value(iv[max(iv)]) and not undecided_rung(study, trial, mine.rungs()):
            return False
        if trials is None:
            trials = study.get_trials(deepcopy=False)

        def same(t: FrozenTrial) -> bool:
            return bracket_of(t.number, n_br, self.reduction_factor) == b

        return self._halving.prune_at_rungs(study, trial, trials, schedule=mine, peers=same)

    def __repr__(self) -> str:
        return (
            f"HyperbandPruner(min_resource={self.min_resource}, max_resource="
            f"{self.max_resource!r}, reduction_factor={self.reduction_factor}, "
            f"bootstrap_count={self.bootstrap_count})"
        )
