"""Promotion-type ASHA and Hyperband: paused trials resume from a checkpoint.

Stopping-type ASHA (:class:`~slimtune.multifidelity.successive_halving.
SuccessiveHalvingPruner`) kills a trial that is not in the top ``1 / reduction_factor`` of its
rung when it arrives there; a trial that would have become promotable later (once more,
worse trials reach the rung) is lost, and running its configuration again costs the epochs
once more. Promotion-type ASHA (Li et al. 2020, Algorithm 2; syne-tune's
``type="promotion"``, Ray Tune's ASHA with checkpoints) *pauses* it instead:

* **At a rung**: the trial's value is recorded (``"sh:rung@<r>"``) and it continues at once if
  it is in the top ``floor(n / rf)`` of the ``n`` trials recorded there; otherwise
  ``should_prune()`` returns True and the trial is marked paused at ``r``
  (``"promo:paused_at"``). The objective saves its state (``trial.save_checkpoint(state)``)
  and raises ``TrialPruned``, as for any pruned trial: the trial is stored PRUNED, with its
  curve so far, as in Optuna.
* **When a worker asks for a trial** (``study.ask``, so also every ``optimize`` worker) and
  no enqueued trial waits, :meth:`continuation` looks for a paused trial that is now in the
  top ``floor(n / rf)`` of its rung (highest rungs first). If there is one, ``ask`` starts
  its *continuation*: a new RUNNING trial with the same parameters, the parent's
  intermediate values up to the checkpoint's step, and system attributes naming the parent
  (``"promo:resumed_from"``), the step it resumes from
  (``trial.resume_step``) and the checkpoint (``trial.load_checkpoint()`` returns the
  parent's state). Exactly one worker wins a paused trial (``claim`` in the checkpoint store:
  an exclusive file create in a directory every worker sees). Otherwise a new configuration
  is sampled as usual.
* **Each configuration counts once per rung**: a continuation does not compete at the rungs
  its parent already passed (up to the rung it was promoted from); it records only the
  higher ones. The cost of a trial is the steps it actually trained,
  :func:`epochs_trained` = last step - ``resume_step``.

Several objectives (MO-ASHA) are ranked at a rung by non-dominated rank and crowding
distance (:func:`~slimtune.multifidelity.rungs.top_k`); a NaN value stops the trial for good
(it is not paused, so never resumed); trials whose constraints (``trial.set_constraint``,
e.g. MACs known before training) are violated rank after every feasible one, by their total
violation.

A continuation that fails (its objective raises, its worker dies) is FAIL like any trial;
its parent stays PRUNED and is not promoted again, so nothing is left waiting. A paused trial
whose checkpoint is missing is continued from scratch (``resume_step`` 0).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.multifidelity.checkpoints import as_checkpoint_store
from slimtune.multifidelity.hyperband import HyperbandPruner
from slimtune.multifidelity.rungs import is_nan_value, record_rung, rung_key, rung_value, top_k
from slimtune.multifidelity.schedule import RungSchedule, bracket_of
from slimtune.multifidelity.successive_halving import SuccessiveHalvingPruner
from slimtune.multiobjective import to_losses
from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = [
    "PromotionASHAPruner",
    "PromotionHyperbandPruner",
    "epochs_trained",
    "is_paused",
    "resumed_from",
]

logger = logging.getLogger("slimtune")


# --- facts about a trial -----------------------------------------------------------------


def epochs_trained(trial: FrozenTrial) -> int:
    """The steps this trial actually trained: its last step minus the step it resumed from
    (the cost of a trial under pause and resume)."""
    if not trial.intermediate_values:
        return 0
    return max(trial.intermediate_values) - int(trial.system_attrs.get(keys.RESUME_STEP, 0))


def is_paused(trial: FrozenTrial) -> bool:
    """Whether ``trial`` was paused at a rung (PRUNED with a ``"promo:paused_at"`` mark)."""
    return trial.state == TrialState.PRUNED and keys.PAUSED_AT in trial.system_attrs


def resumed_from(trial: FrozenTrial) -> int | None:
    """The number of the paused trial that ``trial`` continues (None: a fresh start)."""
    n = trial.system_attrs.get(keys.RESUMED_FROM)
    return None if n is None else int(n)


def _root(t: FrozenTrial) -> int:
    return int(t.system_attrs.get(keys.RESUME_ROOT, t.number))


def _violation(t: FrozenTrial) -> float:
    c = t.system_attrs.get(keys.CONSTRAINTS)
    return float(sum(max(float(x), 0.0) for x in c)) if c else 0.0


def _best(
    values: list[Any], violations: list[float], k: int, directions: Sequence[str]
) -> set[int]:
    """Indices of the ``k`` best of ``values`` (feasible first, ranked by loss / MO-ASHA;
    then the infeasible by their total violation)."""
    if k <= 0 or not values:
        return set()
    viol = np.asarray(violations, dtype=float)
    feas = np.flatnonzero(viol <= 0)
    arr = np.array(values, dtype=float).reshape(len(values), -1)
    out: list[int] = []
    if len(feas):
        L = to_losses(arr[feas], directions)
        out = [int(feas[i]) for i in top_k(L, min(k, len(feas)))]
    if len(out) < k:
        infeas = np.flatnonzero(viol > 0)
        order = infeas[np.argsort(viol[infeas], kind="stable")]
        out += [int(i) for i in order[: k - len(out)]]
    return set(out)


# --- the shared decision and promotion rules ----------------------------------------------


class _FinishedIndex:
    """Per process: rung entries, paused trials and promoted parents of finished trials."""

    def __init__(self, storage: Any) -> None:
        self.storage = weakref.ref(storage)  # an id() may be reused once it is collected
        self.seen: set[int] = set()
        self.entries: dict[tuple[float, int], tuple[list[FrozenTrial], list[Any]]] = {}
        self.paused: list[FrozenTrial] = []
        self.taken: set[int] = set()
        self.unfinished: list[FrozenTrial] = []



class _PromotionRules:
    """What both promotion pruners do; they differ only in a trial's rungs and peers."""

    reduction_factor: float
    checkpoints: Any

    def _schedule_of(self, trial: FrozenTrial) -> RungSchedule:  # pragma: no cover
        raise NotImplementedError

    def _group_of(self, trial: FrozenTrial) -> int:
        """Trials compete only within their group (Hyperband: the bracket)."""
        return 0

    @staticmethod
    def _entry(t: FrozenTrial, res: float, key: str) -> Any:
        """A trial's entry at rung ``res`` (None: it has none there).

        Its recorded value there; a continuation has one only at rungs above the one it was
        promoted from (its parent holds the lower ones); trials that never asked this pruner
        (added with ``add_trial``, run without it) count with their first report at or after
        the rung. NaN entries do not count."""
        attrs = t.system_attrs
        v = attrs.get(key)
        if v is None:
            if keys.RESUMED_FROM in attrs or keys.PAUSED_AT in attrs:
                return None
            iv = t.intermediate_values
            if not iv or max(iv) < res:
                return None
            v = rung_value(t, res, key)
        return None if v is None or is_nan_value(v) else v

    def _index(self, study: Study, trials: Sequence[FrozenTrial]) -> _FinishedIndex:
        """The rung entries of the study's finished trials, read once per trial (a finished
        trial never changes in the storage), with this call's unfinished trials."""
        cache = self.__dict__.setdefault("_indexes", {})
        at = (id(study.storage), study.study_id)
        idx = cache.get(at)
        if idx is None or idx.storage() is not study.storage:
            idx = cache[at] = _FinishedIndex(study.storage)
        idx.unfinished = []
        seen = idx.seen
        for t in trials:
            if t.trial_id in seen:
                continue
            if not t.state.is_finished():
                idx.unfinished.append(t)
            else:
                seen.add(t.trial_id)
                g = self._group_of(t)
                for res in self._rungs_of_group(g):
                    v = self._entry(t, res, rung_key(res))
                    if v is not None:
                        ts, vs, cs = idx.entries.setdefault((res, g), ([], [], []))
                        ts.append(t)
                        vs.append(v)
                        cs.append(_violation(t))
                if is_paused(t):
                    idx.paused.append(t)
                if (p := resumed_from(t)) is not None:
                    idx.taken.add(p)
        return idx

    def _rungs_of_group(self, group: int) -> list[float]:  # pragma: no cover
        raise NotImplementedError

    def _members(
        self, idx: _FinishedIndex, res: float, group: int, exclude: int | None = None
    ) -> tuple[list[FrozenTrial], list[Any], list[float]]:
        """The trials of ``group`` with an entry at rung ``res``, their values and their
        constraint violations (``exclude``: a running trial's id, left out)."""
        fin_t, fin_v, fin_c = idx.entries.get((res, group), ([], [], []))
        ts, vs, cs = list(fin_t), list(fin_v), list(fin_c)
        key = rung_key(res)
        for t in idx.unfinished:
            if t.trial_id == exclude or self._group_of(t) != group:
                continue
            v = self._entry(t, res, key)
            if v is not None:
                ts.append(t)
                vs.append(v)
                cs.append(_violation(t))
        return ts, vs, cs

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_indexes", None)  # per process; rebuilt from the storage
        return state

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        """Record the trial's value at each rung it has newly crossed; True (pause, or stop
        for a NaN value) unless it is in the top ``floor(n / rf)`` there."""
        iv = trial.intermediate_values
        if not iv:
            return False
        step = max(iv)
        value = iv[step]
        if is_nan_value(value):
            return True  # stopped for good: no pause mark, never resumed
        done_below = float(trial.system_attrs.get(keys.RESUME_RUNG, -1))
        rungs = [r for r in self._schedule_of(trial).rungs() if done_below < r <= step]
        attrs = trial.system_attrs
        if all(rung_key(r) in attrs for r in rungs):
            return False
        attrs = study.get_trial(trial.trial_id).system_attrs  # the storage's, freshest
        todo = [r for r in rungs if rung_key(r) not in attrs]
        if not todo:
            return False
        idx = self._index(study, study.get_trials(deepcopy=False))
        group = self._group_of(trial)
        for res in todo:
            record_rung(study, trial, res, value)
            _, vals, viol = self._members(idx, res, group, exclude=trial.trial_id)
            viol.append(_violation(trial))
            n = len(vals) + 1
            best = _best([*vals, value], viol, int(n // self.reduction_factor), study.directions)
            if n - 1 not in best:
                study.set_trial_system_attr(trial.trial_id, keys.PAUSED_AT, res)
                return True
        return False

    def continuation(self, study: Study) -> dict[str, Any] | None:
        """The continuation of the best paused trial that is now promotable (highest rung
        first), claimed for this caller, for ``Study.ask`` to start; None if there is none."""
        idx = self._index(study, study.get_trials(deepcopy=False))
        paused = idx.paused
        if not paused:
            return None
        taken = idx.taken | ({resumed_from(t) for t in idx.unfinished} - {None})
        by_rung: dict[tuple[float, int], list[FrozenTrial]] = {}
        for t in paused:
            if t.number not in taken:
                g = (float(t.system_attrs[keys.PAUSED_AT]), self._group_of(t))
                by_rung.setdefault(g, []).append(t)
        for res, group in sorted(by_rung, key=lambda g: (-g[0], g[1])):
            members, vals, viol = self._members(idx, res, group)
            k = int(len(members) // self.reduction_factor)
            if k == 0:
                continue
            best = _best(vals, viol, k, study.directions)
            waiting = {t.trial_id for t in by_rung[(res, group)]}
            cands = [members[i] for i in sorted(best) if members[i].trial_id in waiting]
            # Best first: the order of the values at the rung (one objective), else as found.
            if len(study.directions) == 1:
                sign = -1.0 if study.directions[0] == "maximize" else 1.0
                cands.sort(key=lambda t: sign * float(t.system_attrs[rung_key(res)]))
            for parent in cands:
                key = keys.checkpoint_key(study.study_name, parent.number, study.study_id)
                if self.checkpoints.claim(key):
                    return self._continuation_of(parent, res)
        return None

    def _continuation_of(self, parent: FrozenTrial, res: float) -> dict[str, Any]:
        attrs = parent.system_attrs
        ckpt = attrs.get(keys.CHECKPOINT)
        step = 0
        extra: dict[str, Any] = {}
        if ckpt is not None and self.checkpoints.exists(ckpt):
            step = int(attrs.get(keys.CHECKPOINT_STEP, 0))
            extra[keys.RESUME_KEY] = ckpt
        elif ckpt is None:
            logger.warning(
                "Trial %d was paused without trial.save_checkpoint(...); its continuation "
                "trains from scratch.",
                parent.number,
            )
        for k in (keys.CONSTRAINTS, keys.CONSTRAINT_NAMES):
            if k in attrs:
                extra[k] = attrs[k]
        return {
            "params": dict(parent.params),
            "system_attrs": {
                keys.RESUMED_FROM: parent.number,
                keys.RESUME_ROOT: _root(parent),
                keys.RESUME_STEP: step,
                keys.RESUME_RUNG: res,
                **extra,
            },
            "intermediate_values": {
                s: v for s, v in parent.intermediate_values.items() if s <= step
            },
        }


class PromotionASHAPruner(_PromotionRules, SuccessiveHalvingPruner):
    """Promotion-type asynchronous successive halving: trials not promotable at a rung are
    paused (checkpoint kept) and resumed when they become promotable.

    Args:
        min_resource: steps before the first rung (an int: the rungs must be known).
        reduction_factor: promote the top ``1 / reduction_factor`` of each rung.
        min_early_stopping_rate: skip the first rungs.
        max_resource: the full budget (no rung at or beyond it).
        checkpoints: where paused trials' states go: a directory path, a store
            (:class:`~slimtune.multifidelity.checkpoints.DirectoryCheckpoints`,
            ``MemoryCheckpoints()`` for one process), or None: a new temporary directory
            (seen by this machine's worker processes; give a shared one for several machines).

    The objective continues a promoted trial from its checkpoint::

        def objective(trial):
            lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
            model = trial.load_checkpoint() or make_model()      # None: a fresh start
            for epoch in range(trial.resume_step + 1, 82):
                loss = train_one_epoch(model, lr)
                trial.report(loss, epoch)
                if trial.should_prune():
                    trial.save_checkpoint(model)                 # paused: kept to resume
                    raise st.TrialPruned()
            return loss

    >>> import slimtune as st
    >>> from slimtune.multifidelity import MemoryCheckpoints
    >>> pruner = st.pruners.PromotionASHAPruner(1, 3, max_resource=27,
    ...                                         checkpoints=MemoryCheckpoints())
    >>> pruner.rung_schedule().rungs()
    [1.0, 3.0, 9.0]
    """

    def __init__(
        self,
        min_resource: int = 1,
        reduction_factor: float = 3,
        min_early_stopping_rate: int = 0,
        *,
        max_resource: int | None = None,
        checkpoints: Any = None,
    ):
        if min_resource == "auto":
            raise ValueError(
                "PromotionASHAPruner needs min_resource as an int (the rungs must be known "
                "before trials are paused at them), e.g. min_resource=1."
            )
        super().__init__(
            min_resource, reduction_factor, min_early_stopping_rate, max_resource=max_resource
        )
        self.checkpoints = as_checkpoint_store(checkpoints)
        self._schedule = self.rung_schedule()

    def _schedule_of(self, trial: FrozenTrial) -> RungSchedule:
        assert self._schedule is not None
        return self._schedule

    def _rungs_of_group(self, group: int) -> list[float]:
        assert self._schedule is not None
        return self._schedule.rungs()

    def __repr__(self) -> str:
        return (
            f"PromotionASHAPruner(min_resource={self.min_resource}, reduction_factor="
            f"{self.reduction_factor}, min_early_stopping_rate={self.min_early_stopping_rate}, "
            f"max_resource={self.max_resource})"
        )


class PromotionHyperbandPruner(_PromotionRules, HyperbandPruner):
    """Hyperband whose brackets are promotion-type ASHA (paused trials resume).

    A trial's bracket is that of the first trial of its chain of continuations, so a
    resumed configuration stays in its bracket. Arguments as :class:`HyperbandPruner`
    (``max_resource`` must be given) and ``checkpoints`` as :class:`PromotionASHAPruner`.

    >>> import slimtune as st
    >>> from slimtune.multifidelity import MemoryCheckpoints
    >>> st.pruners.PromotionHyperbandPruner(1, 27, checkpoints=MemoryCheckpoints()).n_brackets()
    4
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int = 81,
        reduction_factor: float = 3,
        *,
        checkpoints: Any = None,
    ):
        if max_resource == "auto":
            raise ValueError(
                "PromotionHyperbandPruner needs max_resource as an int (the brackets must be "
                "known before trials are paused in them), e.g. max_resource=81."
            )
        super().__init__(min_resource, max_resource, reduction_factor)
        self.checkpoints = as_checkpoint_store(checkpoints)
        self._full = self.rung_schedule()
        assert self._full is not None
        self._n_br = self._full.n_brackets()

    def _group_of(self, trial: FrozenTrial) -> int:
        return bracket_of(_root(trial), self._n_br, self.reduction_factor)

    def _schedule_of(self, trial: FrozenTrial) -> RungSchedule:
        return self._full.bracket(self._group_of(trial))

    def _rungs_of_group(self, group: int) -> list[float]:
        return self._full.bracket(group).rungs()

    def __repr__(self) -> str:
        return (
            f"PromotionHyperbandPruner(min_resource={self.min_resource}, max_resource="
            f"{self.max_resource}, reduction_factor={self.reduction_factor})"
        )
