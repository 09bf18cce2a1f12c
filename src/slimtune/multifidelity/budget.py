"""Budgets: map a *resource* (the ``step`` an objective reports, what pruners count) to
concrete fidelities: epochs, fraction of the data, input resolution.

Attach a :class:`Budget` to a study (it is stored in the study) and read it in the objective
with :meth:`Budget.from_trial`, so every worker uses the same schedule. Its levels are the
rungs of :class:`~slimtune.multifidelity.schedule.RungSchedule`, the same as the pruners'.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.multifidelity.schedule import RungSchedule, check_int, check_rf

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = ["Budget", "Fidelity"]


@dataclass(frozen=True)
class Fidelity:
    """Concrete fidelity at one resource level (``step`` is what to ``report`` at)."""

    step: int
    epochs: int
    fraction: float
    resolution: int | None


@dataclass(frozen=True)
class Budget:
    """A resource schedule: ``min_resource * reduction_factor ** k`` up to ``max_resource``.

    Args:
        max_resource: the full budget, in resource units (e.g. 81).
        min_resource: the smallest level (the first rung).
        reduction_factor: ratio between levels (as for the pruners).
        max_epochs: epochs at the full budget (default ``max_resource``: resource = epochs).
        min_fraction: smallest fraction of the training data (default: the data fraction
            is 1 at every level; give e.g. 0.1 to train on ``resource / max_resource`` of it).
        resolution: ``(low, high)`` input resolution; the pixel count grows in proportion
            to the resource, rounded to ``resolution_multiple``.

    >>> b = Budget(max_resource=27, min_resource=1, reduction_factor=3, min_fraction=0.05)
    >>> b.levels()
    [1, 3, 9, 27]
    >>> b.at(3)
    Fidelity(step=3, epochs=3, fraction=0.1111111111111111, resolution=None)
    """

    max_resource: int = 81
    min_resource: int = 1
    reduction_factor: float = 3
    max_epochs: int | None = None
    min_fraction: float | None = None
    resolution: tuple[int, int] | None = None
    resolution_multiple: int = 1

    def __post_init__(self) -> None:
        check_int("max_resource", self.max_resource, 1)
        check_int("min_resource", self.min_resource, 1)
        if self.min_resource > self.max_resource:
            raise ValueError(
                f"min_resource={self.min_resource} must be <= max_resource={self.max_resource}."
            )
        check_rf(self.reduction_factor)
        if self.max_epochs is not None:
            check_int("max_epochs", self.max_epochs, 1)
        if self.min_fraction is not None and not 0.0 < float(self.min_fraction) <= 1.0:
            raise ValueError(f"min_fraction must be in (0, 1], got {self.min_fraction!r}.")
        if self.resolution is not None:
            lo, hi = self.resolution
            if not (isinstance(lo, int) and isinstance(hi, int) and 0 < lo <= hi):
                raise ValueError(
                    f"resolution must be (low, high) ints with 0 < low <= high, got "
                    f"{self.resolution!r}."
                )
            object.__setattr__(self, "resolution", (int(lo), int(hi)))
        check_int("resolution_multiple", self.resolution_multiple, 1)

    def levels(self) -> list[int]:
        """The resource levels (rungs), ascending, ending with ``max_resource``: the rungs
        of a pruner with the same three numbers, as whole steps (``RungSchedule.levels``)."""
        return RungSchedule(self.min_resource, self.reduction_factor, self.max_resource).levels()

    def _check_step(self, step: float) -> float:
        if isinstance(step, bool) or not isinstance(step, (int, float, np.integer, np.floating)):
            raise TypeError(f"step must be a number, got {step!r}.")
        if not step > 0:
            raise ValueError(f"step must be > 0, got {step!r}.")
        return float(min(step, self.max_resource))

    def epochs_for(self, step: float) -> int:
        """Epochs to have trained by resource ``step`` (at least 1)."""
        s = self._check_step(step)
        if self.max_epochs is None:
            return max(int(round(s)), 1)
        return max(int(round(self.max_epochs * s / self.max_resource)), 1)

    def fraction_for(self, step: float) -> float:
        """Fraction of the training data at resource ``step`` (1.0 without ``min_fraction``)."""
        s = self._check_step(step)
        if self.min_fraction is None:
            return 1.0
        return float(min(max(s / self.max_resource, float(self.min_fraction)), 1.0))

    def resolution_for(self, step: float) -> int | None:
        """Input resolution at resource ``step``: pixel count proportional to the resource."""
        s = self._check_step(step)
        if self.resolution is None:
            return None
        lo, hi = self.resolution
        r = hi * math.sqrt(s / self.max_resource)
        m = self.resolution_multiple
        r = int(round(r / m)) * m
        return int(min(max(r, lo), hi))

    def at(self, step: float) -> Fidelity:
        """All fidelities at resource ``step``."""
        return Fidelity(
            step=int(round(self._check_step(step))),
            epochs=self.epochs_for(step),
            fraction=self.fraction_for(step),
            resolution=self.resolution_for(step),
        )

    def schedule(self, trial: Any | None = None) -> Iterator[Fidelity]:
        """The levels still to run: all of them, or those after ``trial``'s last report."""
        done = 0
        if trial is not None and trial.intermediate_values:
            done = max(trial.intermediate_values)
        for r in self.levels():
            if r > done:
                yield self.at(r)

    # --- storage round trip -----------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["resolution"] is not None:
            d["resolution"] = list(d["resolution"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Budget:
        d = dict(d)
        if d.get("resolution") is not None:
            d["resolution"] = tuple(d["resolution"])
        return cls(**d)

    def attach(self, study: Study) -> Budget:
        """Store this budget in the study (all workers and resumed studies read it)."""
        study.set_system_attr(keys.FIDELITY_BUDGET, self.to_dict())
        return self

    @classmethod
    def from_trial(cls, trial: Any) -> Budget:
        """The budget attached to the trial's study (see :meth:`attach`)."""
        d = trial.study.system_attrs.get(keys.FIDELITY_BUDGET)
        if d is None:
            raise ValueError(
                "no budget is attached to this study; call Budget(...).attach(study) first."
            )
        return cls.from_dict(d)

    @classmethod
    def from_pruner(cls, pruner: Any, max_resource: int | None = None, **kw: Any) -> Budget:
        """A budget with the rungs of a Hyperband/successive-halving pruner."""
        mr = max_resource if max_resource is not None else getattr(pruner, "max_resource", None)
        if not isinstance(mr, int):
            raise ValueError("the pruner has no max_resource; pass max_resource=.")
        min_r = getattr(pruner, "min_resource", 1)
        return cls(
            max_resource=mr,
            min_resource=min_r if isinstance(min_r, int) else 1,
            reduction_factor=pruner.reduction_factor,
            **kw,
        )
