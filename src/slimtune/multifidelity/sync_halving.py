"""Synchronous successive halving over ask/tell, with pause and resume.

:class:`SyncSuccessiveHalving` drives a study one rung at a time (the levels of a
:class:`~slimtune.multifidelity.budget.Budget`); the configurations it promotes continue
from a checkpoint (:mod:`slimtune.multifidelity.checkpoints`, or user ``save``/``load``
callbacks) instead of training again from scratch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.multifidelity.budget import Budget
from slimtune.multifidelity.checkpoints import MemoryCheckpoints
from slimtune.multifidelity.rungs import top_k
from slimtune.multifidelity.schedule import check_int
from slimtune.multiobjective import to_losses
from slimtune.trial import TrialPruned, TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import Trial

__all__ = ["SyncSuccessiveHalving"]

TrainFn = Callable[["Trial", Any, int, int], Any]


class SyncSuccessiveHalving:
    """Synchronous successive halving over ask/tell, with pause and resume.

    Rung 0 trains ``n_configs`` new trials to ``min_resource``; each later rung keeps the
    best ``1 / reduction_factor`` and trains them further, up to ``max_resource``. Between
    rungs a trial is *paused*: ``save(number, state)`` stores what ``train`` returned, and
    when the trial is promoted ``load(number)`` hands it back, so training resumes from the
    checkpoint rather than from scratch. Trials that are not promoted are told PRUNED (their
    checkpoint is deleted when the store has ``delete``); the last rung's are COMPLETE.

    ``train(trial, state, start, stop)`` trains the configuration of ``trial`` (suggest
    parameters as usual; the same values come back on every call) from resource ``start``
    (0 = from scratch, ``state`` is None) to ``stop`` and returns ``(value, new_state)``;
    it may ``trial.report`` intermediate values itself. ``value`` is a float, or a list
    for several objectives. Resources are those of :class:`Budget` (``budget.at(stop)``
    gives epochs, data fraction and resolution).

    Args:
        study: the study (any sampler; BOHB's TPE learns from every rung).
        n_configs: trials in the first rung.
        budget: a :class:`Budget` (levels = the rungs), or give the three numbers below.
        checkpoints: an object with ``save``/``load`` (and optionally ``delete``), e.g.
            :class:`MemoryCheckpoints` (default) or :class:`DirectoryCheckpoints`.
        save, load: callbacks instead of ``checkpoints``.

    >>> import slimtune as st
    >>> from slimtune.multifidelity import Budget, SyncSuccessiveHalving
    >>> def train(trial, state, start, stop):
    ...     x = trial.suggest_float("x", 0, 1)
    ...     w = state or 0.0
    ...     for _ in range(start, stop):
    ...         w += 0.1  # one "epoch"
    ...     return (x - 0.5) ** 2 + 1 / (1 + w), w
    >>> study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    >>> best = SyncSuccessiveHalving(study, n_configs=9, budget=Budget(9, 1, 3)).run(train)
    >>> best.last_step
    9
    """

    def __init__(
        self,
        study: Study,
        n_configs: int = 27,
        budget: Budget | None = None,
        *,
        min_resource: int = 1,
        max_resource: int = 27,
        reduction_factor: float = 3,
        checkpoints: Any | None = None,
        save: Callable[[int, Any], None] | None = None,
        load: Callable[[int], Any] | None = None,
    ):
        self.study = study
        self.n_configs = check_int("n_configs", n_configs, 1)
        self.budget = budget or Budget(max_resource, min_resource, reduction_factor)
        if (save is None) != (load is None):
            raise ValueError("give both save= and load= callbacks, or neither.")
        store = checkpoints if checkpoints is not None else MemoryCheckpoints()
        self._save = save or store.save
        self._load = load or store.load
        self._delete = getattr(store, "delete", None) if save is None else None
        self.n_resumed = 0  # trials continued from a checkpoint (for checks and logs)
        self.resource_spent = 0  # sum over calls of (stop - start)

    def run(self, train: TrainFn) -> Any:
        """Run the rungs; returns the best finished trial (or the Pareto front's list)."""
        study = self.study
        directions = study.directions
        alive = [study.ask() for _ in range(self.n_configs)]
        start = 0
        levels = self.budget.levels()
        rf = float(self.budget.reduction_factor)
        for i, stop in enumerate(levels):
            last = i == len(levels) - 1
            vals: list[Any] = []
            ok = []
            for t in alive:
                state = None
                if start > 0:
                    state = self._load(t.number)
                    self.n_resumed += 1
                try:
                    out = train(t, state, start, stop)
                except TrialPruned:
                    study.tell(t, state=TrialState.PRUNED)
                    continue
                except Exception as e:  # noqa: BLE001 - recorded as FAIL, the others go on
                    t.set_system_attr(keys.FAIL_REASON, f"{type(e).__name__}: {e}")
                    study.tell(t, state=TrialState.FAIL)
                    continue
                self.resource_spent += stop - start
                value, new_state = out if isinstance(out, tuple) and len(out) == 2 else (out, None)
                if stop not in t.intermediate_values:
                    t.report(value, stop)
                if not last:
                    self._save(t.number, new_state)
                vals.append(value)
                ok.append(t)
            if last:
                for t, v in zip(ok, vals):
                    study.tell(t, v)
                    if self._delete:
                        self._delete(t.number)
                break
            if not ok:
                break
            L = to_losses(np.array(vals, dtype=float).reshape(len(vals), -1), directions)
            k = max(int(len(ok) // rf), 1)
            keep = set(top_k(L, k).tolist())
            alive = []
            for j, t in enumerate(ok):
                if j in keep:
                    alive.append(t)
                else:
                    study.tell(t, state=TrialState.PRUNED)
                    if self._delete:
                        self._delete(t.number)
            start = stop
        if len(directions) > 1:
            return study.best_trials
        try:
            return study.best_trial
        except ValueError:
            return None
