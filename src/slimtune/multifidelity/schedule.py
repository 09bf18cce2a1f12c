"""Budgets and rungs, defined once: every multi-fidelity piece of slimtune reads them here.

A *resource* is the ``step`` an objective reports (an epoch, a fold, a share of the data).
Rungs sit at ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``, below the
full budget ``max_resource``:

* :class:`~slimtune.multifidelity.successive_halving.SuccessiveHalvingPruner` (ASHA) decides
  at :meth:`RungSchedule.rungs`;
* :class:`~slimtune.multifidelity.hyperband.HyperbandPruner` splits trials into
  :meth:`RungSchedule.n_brackets` brackets (:func:`bracket_of`); bracket ``b`` is
  :meth:`RungSchedule.bracket` ``(b)``, the rungs with ``min_early_stopping_rate = b``;
* :class:`~slimtune.multifidelity.bohb.BOHBSampler` fits its model on
  :meth:`RungSchedule.budgets` (the rungs and the full budget), read from the study's pruner
  through :func:`budgets_of`;
* :class:`~slimtune.multifidelity.budget.Budget` and
  :class:`~slimtune.multifidelity.sync_halving.SyncSuccessiveHalving` run at
  :meth:`RungSchedule.levels` (the same rungs as whole steps, and the full budget).

``"auto"`` resources are resolved from the study's complete trials
(:func:`auto_min_resource`, :func:`auto_max_resource`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.trial import FrozenTrial

__all__ = [
    "RungSchedule",
    "HasRungSchedule",
    "rung_levels",
    "n_brackets",
    "bracket_weights",
    "bracket_of",
    "budgets_of",
    "auto_min_resource",
    "auto_max_resource",
    "check_int",
    "check_rf",
    "is_check_step",
]

#: Most rungs below a known ``max_resource`` (and without one: the first 32).
MAX_RUNGS = 64
OPEN_ENDED_RUNGS = 32

_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


# --- when a step-based pruner looks -----------------------------------------------------


def is_check_step(
    step: int, steps: Sequence[int], n_warmup_steps: int, interval_steps: int
) -> bool:
    """True when ``step`` (the latest of the reported ``steps``) is past the warm-up and the
    first report at or after an interval boundary ``n_warmup_steps + k * interval_steps``:
    the steps at which the median, percentile and threshold pruners decide."""
    if step < n_warmup_steps:
        return False
    if interval_steps == 1:
        return True
    boundary = (step - n_warmup_steps) // interval_steps * interval_steps + n_warmup_steps
    earlier = [s for s in steps if s < step]
    return not earlier or max(earlier) < boundary


# --- argument checks --------------------------------------------------------------------


def check_int(name: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum``, or a clear ``TypeError``/``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}.")
    return int(value)


def check_rf(value: Any) -> float:
    """A reduction factor: a number >= 2."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"reduction_factor must be a number >= 2, got {value!r}.")
    if not value >= 2:
        raise ValueError(f"reduction_factor must be >= 2, got {value!r}.")
    return float(value) if not float(value).is_integer() else int(value)


# --- rungs and brackets -----------------------------------------------------------------


def rung_levels(
    min_resource: float,
    reduction_factor: float,
    max_resource: float | None = None,
    min_early_stopping_rate: int = 0,
) -> list[float]:
    """The rungs ``min_resource * reduction_factor ** (min_early_stopping_rate + k)``,
    ascending, strictly below ``max_resource`` (at most 64); without ``max_resource``, the
    first 32.

    >>> rung_levels(1, 3, 81)
    [1.0, 3.0, 9.0, 27.0]
    >>> rung_levels(1, 3, 81, min_early_stopping_rate=2)
    [9.0, 27.0]
    """
    out: list[float] = []
    for k in range(MAX_RUNGS):
        r = min_resource * reduction_factor ** (min_early_stopping_rate + k)
        if max_resource is not None and r >= max_resource:
            break
        out.append(float(r))
        if max_resource is None and len(out) >= OPEN_ENDED_RUNGS:
            break
    return out


def n_brackets(min_resource: float, max_resource: float, reduction_factor: float) -> int:
    """Hyperband's number of brackets, floor(log_rf(max / min)) + 1: the levels
    ``min * rf ** k`` up to and including ``max`` (robust to float rounding: log3(81) = 4).

    >>> n_brackets(1, 81, 3), n_brackets(1, 100, 3)
    (5, 5)
    """
    if max_resource < min_resource:
        return 1
    x = math.log(max_resource / min_resource) / math.log(reduction_factor)
    return int(math.floor(x + 1e-9)) + 1


def bracket_weights(n_brackets: int, reduction_factor: float) -> np.ndarray:
    """Share of trials per bracket (bracket 0 = most rungs), as Hyperband sizes them:
    proportional to ``ceil(n_brackets / (s + 1) * rf ** s)`` for a bracket of ``s + 1``
    rungs."""
    s = n_brackets - 1 - np.arange(n_brackets)
    n = np.ceil(n_brackets / (s + 1) * float(reduction_factor) ** s)
    return n / n.sum()


@functools.lru_cache(maxsize=64)
def _cdf(n_brackets: int, reduction_factor: float) -> np.ndarray:
    return np.cumsum(bracket_weights(n_brackets, reduction_factor))


def bracket_of(number: int, n_brackets: int, reduction_factor: float) -> int:
    """The bracket of trial ``number``: deterministic, balanced by :func:`bracket_weights`.

    ``frac((number + 1) / phi)`` (the golden-ratio low-discrepancy sequence) falls into one
    bracket's share of ``[0, 1)``: every worker (and a resumed study) agrees without shared
    state, and the brackets are in balance already over the first few trials.
    """
    if n_brackets <= 1:
        return 0
    u = math.fmod((number + 1) * _INV_PHI, 1.0)
    cdf = _cdf(n_brackets, float(reduction_factor))
    return int(min(np.searchsorted(cdf, u, side="right"), n_brackets - 1))


# --- "auto" resources -------------------------------------------------------------------


def auto_max_resource(trials: Sequence[FrozenTrial]) -> int | None:
    """The largest step reported by a complete trial (None before any completes)."""
    steps = [t.last_step for t in trials if t.state == TrialState.COMPLETE and t.last_step]
    return max(steps) if steps else None


def auto_min_resource(trials: Sequence[FrozenTrial]) -> int | None:
    """Optuna's heuristic: 1/100 of the steps of the complete trials, at least 1."""
    m = auto_max_resource(trials)
    return None if m is None else max(m // 100, 1)


# --- the schedule -----------------------------------------------------------------------


@dataclass(frozen=True)
class RungSchedule:
    """Rungs at ``min_resource * reduction_factor ** (min_early_stopping_rate + k)`` below
    ``max_resource`` (None: open-ended), with the full budget ``max_resource`` on top.

    >>> s = RungSchedule(min_resource=1, reduction_factor=3, max_resource=81)
    >>> s.rungs(), s.budgets()[-1], s.n_brackets()
    ([1.0, 3.0, 9.0, 27.0], 81.0, 5)
    >>> s.bracket(1).rungs()
    [3.0, 9.0, 27.0]
    """

    min_resource: int
    reduction_factor: float
    max_resource: int | None = None
    min_early_stopping_rate: int = 0

    def rungs(self) -> list[float]:
        """The decision rungs, ascending, below ``max_resource`` (see :func:`rung_levels`)."""
        return rung_levels(
            self.min_resource,
            self.reduction_factor,
            self.max_resource,
            self.min_early_stopping_rate,
        )

    def budgets(self) -> list[float]:
        """The rungs and the full budget (when known): the budgets BOHB models."""
        full = [] if self.max_resource is None else [float(self.max_resource)]
        return self.rungs() + full

    def levels(self) -> list[int]:
        """The rungs as whole steps (rounded, duplicates dropped), then ``max_resource``:
        the levels a :class:`~slimtune.multifidelity.budget.Budget` runs at."""
        if self.max_resource is None:
            raise ValueError("levels() needs a max_resource.")
        out: list[int] = []
        for r in self.rungs():
            i = int(round(r))
            if i >= self.max_resource:
                break
            if not out or i > out[-1]:
                out.append(i)
        return [*out, self.max_resource]

    def n_brackets(self) -> int:
        """Hyperband's number of brackets between ``min_resource`` and ``max_resource``."""
        if self.max_resource is None:
            raise ValueError("n_brackets() needs a max_resource.")
        return n_brackets(self.min_resource, self.max_resource, self.reduction_factor)

    def bracket_of(self, number: int) -> int:
        """The Hyperband bracket (0 = most rungs) of trial ``number``."""
        return bracket_of(number, self.n_brackets(), self.reduction_factor)

    def bracket(self, b: int) -> RungSchedule:
        """Hyperband's bracket ``b``: the rungs from ``min_resource * rf ** b`` on."""
        return replace(self, min_early_stopping_rate=b)

    def with_max_resource(self, max_resource: int | None) -> RungSchedule:
        """The same rungs with another full budget."""
        return replace(self, max_resource=max_resource)


@runtime_checkable
class HasRungSchedule(Protocol):
    """A pruner with rungs (successive halving, Hyperband): samplers read its budgets here."""

    def rung_schedule(self, trials: Sequence[FrozenTrial] = ()) -> RungSchedule | None:
        """The schedule, with ``"auto"`` resources resolved from ``trials`` (None until
        they can be)."""
        ...


def budgets_of(pruner: Any, trials: Sequence[FrozenTrial]) -> list[float]:
    """The budgets of a study for a model per budget (BOHB), ascending.

    With a successive-halving or Hyperband pruner: its rungs and the full budget (a missing
    ``max_resource`` is the last step of the complete trials). With any other pruner: the
    full budget alone. ``[]`` while a needed ``"auto"`` resource is not known yet.
    """
    if isinstance(pruner, HasRungSchedule):
        schedule = pruner.rung_schedule(trials)
        if schedule is None:
            return []
        if schedule.max_resource is None:
            schedule = schedule.with_max_resource(auto_max_resource(trials))
        return schedule.budgets()
    m = auto_max_resource(trials)
    return [float(m)] if m is not None else []
