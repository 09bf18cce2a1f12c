"""Grid search over a given set of values per parameter (Optuna's ``GridSampler``).

Every trial evaluates one point of the Cartesian product of the given values, in an order
shuffled by ``seed``. The point of a trial is chosen when the trial starts and stored on it
(``keys.GRID_ID``, with the grid itself in ``keys.GRID_SEARCH_SPACE``), so that any number of
processes sharing a storage cover the grid together:

* the first ``n`` trials of a study (``n`` the size of the grid) take the point of their own
  trial number, which storage hands out exactly once, so concurrent workers never collide;
* later trials (after enqueued trials, failures elsewhere, a second grid in the same study)
  take a random point that no finished or running trial of the same grid holds. A
  running trial among the first ``n`` that has not stored its point yet (another process
  created it a moment ago) reserves the point of its number; a later trial that picked
  the same free point as a concurrent one gives it up when it sees the other, and picks
  again.

When the last point is finished or running, the study is stopped (``study.stop()``), which
ends ``optimize`` in this process and in the worker processes.

One difference from Optuna, so that parallel workers cover the grid *exactly* once: a
trial that starts when no point is left (a worker that checked a moment before another one
took the last point, or a new ``optimize`` on a finished grid) evaluates nothing: it raises
``TrialPruned`` at its first ``suggest_*``, is stored as PRUNED without parameters, and the
study stops. Optuna re-evaluates a random point in that case.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.distributions import BaseDistribution
from slimtune.samplers.base import BaseSampler
from slimtune.trial import TrialPruned, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["GridSampler"]

logger = logging.getLogger("slimtune")

GridValueType = str | float | int | bool | None


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


class GridSampler(BaseSampler):
    """Evaluate every combination of ``search_space``'s values exactly once.

    Args:
        search_space: parameter name -> the values to try (``str``, ``int``, ``float``,
            ``bool`` or ``None``). The objective must suggest exactly these names; each
            ``suggest_*`` returns the trial's grid value (a value outside the suggested
            range is used anyway, with a warning, as in Optuna).
        seed: the order in which the points are visited (``None`` means 0, so that every
            process building the same sampler agrees on the order).

    >>> import slimtune as st
    >>> sampler = st.samplers.GridSampler({"x": [-1, 0, 1], "y": ["a", "b"]})
    >>> study = st.create_study(sampler=sampler)
    >>> def objective(t):
    ...     return t.suggest_int("x", -1, 1) + (t.suggest_categorical("y", ["a", "b"]) == "b")
    >>> study.optimize(objective)  # stops by itself after the 6 points
    >>> len(study.trials)
    6
    """

    def __init__(
        self, search_space: Mapping[str, Sequence[GridValueType]], seed: int | None = None
    ) -> None:
        if not isinstance(search_space, Mapping):
            raise TypeError(
                f"GridSampler: search_space must be a dict of name -> list of values, got "
                f"{type(search_space).__name__}."
            )
        space: dict[str, list[Any]] = {}
        for name in sorted(search_space):
            values = search_space[name]
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise TypeError(
                    f"GridSampler: the values of {name!r} must be a list, got {values!r}."
                )
            if len(values) == 0:
                raise ValueError(f"GridSampler: {name!r} has no values; give at least one.")
            for v in values:
                if not (v is None or isinstance(v, (str, int, float, bool))):
                    warnings.warn(
                        f"GridSampler: {name!r} has a value of type {type(v).__name__} "
                        f"({v!r}); only str, int, float, bool and None can be stored.",
                        UserWarning,
                        stacklevel=2,
                    )
            space[name] = [v.item() if isinstance(v, np.generic) else v for v in values]
        self._search_space = space
        self._param_names = list(space)
        self._all_grids: list[tuple[Any, ...]] = list(itertools.product(*space.values()))
        self._n_min_trials = len(self._all_grids)
        self.seed = seed
        order = np.random.default_rng(0 if seed is None else seed).permutation(
            self._n_min_trials
        )
        self._all_grids = [self._all_grids[i] for i in order]
        self._rng = np.random.default_rng(seed)
        self._grid_of: dict[int, int] = {}  # trial_id -> grid id, set by before_trial
        self._surplus: set[int] = set()  # trial ids started after the last free point

    # --- bookkeeping ---------------------------------------------------------------------
    def _same_space(self, other: Any) -> bool:
        if not isinstance(other, Mapping) or set(other) != set(self._search_space):
            return False
        for name, values in self._search_space.items():
            theirs = other[name]
            if len(theirs) != len(values):
                return False
            if not all(_same_value(a, b) for a, b in zip(theirs, values)):
                return False
        return True

    def _grid_ids(self, study: Study) -> tuple[set[int], set[int], set[int]]:
        """(finished, running, starting) grid ids of this grid's trials in the study.

        ``starting``: a RUNNING trial among the first ``n`` that has no grid id yet, since
        another process created it a moment ago and has not yet stored the point of its own
        number. Its point is reserved until it says otherwise (or finishes without one)."""
        finished: set[int] = set()
        running: set[int] = set()
        starting: set[int] = set()
        for t in study.get_trials(deepcopy=False):
            attrs = t.system_attrs
            gid = attrs.get(keys.GRID_ID)
            if gid is None:
                if (
                    t.state == TrialState.RUNNING
                    and 0 <= t.number < self._n_min_trials
                    and keys.FIXED_PARAMS not in attrs
                ):
                    starting.add(t.number)
                continue
            if int(gid) < 0 or not self._same_space(attrs.get(keys.GRID_SEARCH_SPACE)):
                continue  # -1: a point given up to a concurrent trial (see below)
            if t.state.is_finished():
                finished.add(int(gid))
            elif t.state == TrialState.RUNNING:
                running.add(int(gid))
        return finished, running, starting - finished - running

    def _unvisited(self, study: Study) -> list[int]:
        finished, running, starting = self._grid_ids(study)
        return sorted(set(range(self._n_min_trials)) - finished - running - starting)

    def _holders(self, study: Study, gid: int) -> list[FrozenTrial]:
        """The running or finished trials of this grid that hold point ``gid``."""
        return [
            t
            for t in study.get_trials(deepcopy=False)
            if t.system_attrs.get(keys.GRID_ID) == gid
            and (t.state.is_finished() or t.state == TrialState.RUNNING)
            and self._same_space(t.system_attrs.get(keys.GRID_SEARCH_SPACE))
        ]

    def is_exhausted(self, study: Study) -> bool:
        """True when every grid point has a finished trial."""
        finished, _, _ = self._grid_ids(study)
        return len(finished) >= self._n_min_trials

    # --- protocol --------------------------------------------------------------------------
    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        attrs = trial.system_attrs
        if keys.GRID_ID in attrs or keys.FIXED_PARAMS in attrs:
            return
        if 0 <= trial.number < self._n_min_trials:
            # Trial numbers are unique in a study: concurrent workers never collide here.
            gid = trial.number
        else:
            gid = self._claim_free_point(study, trial)
            if gid is None:
                # Nothing is left for this trial: it evaluates nothing and the study stops.
                _, running, starting = self._grid_ids(study)
                if not running and not starting:
                    logger.warning(
                        "GridSampler: the grid is exhausted; trial %d evaluates nothing "
                        "(PRUNED) and the study stops.", trial.number
                    )
                self._surplus.add(trial.trial_id)
                study.stop()
                return
            self._grid_of[trial.trial_id] = gid
            return
        self._store_point(study, trial, gid)

    def _store_point(self, study: Study, trial: FrozenTrial, gid: int) -> None:
        study.set_trial_system_attr(trial.trial_id, keys.GRID_SEARCH_SPACE, self._search_space)
        study.set_trial_system_attr(trial.trial_id, keys.GRID_ID, gid)
        self._grid_of[trial.trial_id] = gid

    def _claim_free_point(self, study: Study, trial: FrozenTrial) -> int | None:
        """Take a random point no other trial holds; None when none is left.

        Two workers may pick the same free point at once. Each stores its pick and then
        reads the storage again; whoever sees another trial holding the point gives it up
        (its grid id becomes -1) and picks again. Writes come before reads, so at least one
        of two colliding workers sees the other: a point is never evaluated twice."""
        deadline = None
        while True:
            targets = self._unvisited(study)
            if not targets:
                _, _, starting = self._grid_ids(study)
                if not starting:
                    return None
                # Points reserved by trials another process is just starting: they are
                # normally taken within milliseconds; wait for them to say so.
                deadline = time.monotonic() + 5.0 if deadline is None else deadline
                if time.monotonic() > deadline:
                    return None
                time.sleep(0.02)
                continue
            gid = int(self._rng.choice(targets))
            self._store_point(study, trial, gid)
            others = [t for t in self._holders(study, gid) if t.trial_id != trial.trial_id]
            if not others:
                return gid
            study.set_trial_system_attr(trial.trial_id, keys.GRID_ID, -1)
            self._grid_of.pop(trial.trial_id, None)

    def _grid_id(self, study: Study, trial: FrozenTrial) -> int | None:
        gid = self._grid_of.get(trial.trial_id)
        if gid is None:
            gid = trial.system_attrs.get(keys.GRID_ID)
        if gid is None:
            gid = study.get_trial(trial.trial_id).system_attrs.get(keys.GRID_ID)
        return None if gid is None else int(gid)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, distribution: BaseDistribution
    ) -> Any:
        if trial.trial_id in self._surplus:
            raise TrialPruned(
                "GridSampler: every grid point is finished or running; this trial is not "
                "needed."
            )
        gid = self._grid_id(study, trial)
        if gid is None:
            raise ValueError(
                f"GridSampler: parameter {param_name!r} of trial {trial.number} is not in "
                "the enqueued parameters; enqueue every grid parameter, or none."
            )
        if param_name not in self._search_space:
            raise ValueError(
                f"GridSampler: parameter {param_name!r} is not in the grid "
                f"({', '.join(self._param_names)}); add it to search_space."
            )
        value = self._all_grids[gid][self._param_names.index(param_name)]
        try:
            inside = distribution.contains(distribution.to_internal(value))
        except (TypeError, ValueError):
            inside = False
        if not inside:
            warnings.warn(
                f"GridSampler: the value {value!r} of {param_name!r} is outside the "
                f"suggested distribution {distribution!r}; it is used anyway.",
                UserWarning,
                stacklevel=2,
            )
        return value

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._grid_of.pop(trial.trial_id, None)
        self._surplus.discard(trial.trial_id)
        # This trial is still RUNNING in storage: stop when no point is left that neither a
        # finished nor a running trial holds (the running ones end on their own).
        if not self._unvisited(study):
            study.stop()

    def __repr__(self) -> str:
        return f"GridSampler(search_space={self._search_space!r}, seed={self.seed})"
