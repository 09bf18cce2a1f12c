"""``optuna.search_space``: the parameters every finished trial shares.

Optuna's samplers model the *intersection* search space (parameters present, with the same
distribution, in every complete trial); slimtune's own samplers use the *union* with
conditional parameters masked (:func:`slimtune.space.union_search_space`), see
``docs/design.md``. The intersection is here for users' own samplers written against
Optuna's protocol, which call it from ``infer_relative_search_space``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from slimtune.distributions import BaseDistribution
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = ["IntersectionSearchSpace", "intersection_search_space"]


def intersection_search_space(
    trials: Iterable[FrozenTrial], include_pruned: bool = False
) -> dict[str, BaseDistribution]:
    """The parameters that every COMPLETE trial (and PRUNED one with ``include_pruned``)
    has, with one and the same distribution; sorted by name. Empty without such trials."""
    states = (TrialState.COMPLETE, TrialState.PRUNED) if include_pruned else (
        TrialState.COMPLETE,
    )
    space: dict[str, BaseDistribution] | None = None
    for t in trials:
        if t.state not in states:
            continue
        if space is None:
            space = dict(t.distributions)
            continue
        space = {
            name: dist
            for name, dist in space.items()
            if t.distributions.get(name) == dist
        }
    return dict(sorted((space or {}).items()))


class IntersectionSearchSpace:
    """:func:`intersection_search_space` of a study, updated incrementally: each call
    reads only the trials finished since the last one (finished trials never change)."""

    def __init__(self, include_pruned: bool = False):
        self.include_pruned = include_pruned
        self._space: dict[str, BaseDistribution] | None = None
        self._seen: set[int] = set()
        self._study_key: tuple[int, int] | None = None

    def calculate(self, study: Study, use_cache: bool = False) -> dict[str, BaseDistribution]:
        """The intersection space of ``study``'s finished trials so far (``use_cache`` is
        accepted for Optuna compatibility; the incremental update is always exact)."""
        key = (id(study.storage), study.study_id)
        if self._study_key is not None and self._study_key != key:
            raise ValueError(
                "IntersectionSearchSpace is tied to the study it first saw; make one per study."
            )
        self._study_key = key
        states = (TrialState.COMPLETE, TrialState.PRUNED) if self.include_pruned else (
            TrialState.COMPLETE,
        )
        new = [t for t in study.get_trials(deepcopy=False, states=states)
               if t.trial_id not in self._seen]
        if new:
            prev = [] if self._space is None else [_Carrier(self._space)]
            self._space = intersection_search_space(
                [*prev, *new], include_pruned=self.include_pruned
            )
            self._seen.update(t.trial_id for t in new)
        return dict(self._space or {})


class _Carrier(FrozenTrial):
    """A stand-in COMPLETE trial carrying the space computed so far."""

    def __init__(self, space: dict[str, BaseDistribution]):
        super().__init__(
            number=-1, state=TrialState.COMPLETE, values=[0.0], datetime_start=None,
            datetime_complete=None, params={}, distributions=dict(space), user_attrs={},
            system_attrs={}, intermediate_values={}, trial_id=-1,
        )
