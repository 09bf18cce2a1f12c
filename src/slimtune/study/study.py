"""Studies: create/load, ask/tell, optimize, best trials and the Pareto front.

What happens to a trial that fails (the failure policy) is the trial engine's:
see :mod:`slimtune.study.engine`, which ``optimize`` and every executor run trials through.
"""

from __future__ import annotations

import datetime as _dt
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Container, Iterable, Sequence
from typing import Any

import numpy as np

from slimtune import keys
from slimtune.distributions import BaseDistribution
from slimtune.multiobjective import is_pareto_front, to_losses
from slimtune.progress import StudyProgress
from slimtune.pruners.base import BasePruner
from slimtune.samplers.base import BaseSampler
from slimtune.storage import BaseStorage, DuplicatedStudyError, get_storage
from slimtune.study.engine import (
    check_values,
    normalize_catch,
    reap_stale,
    run_in_processes,
    run_trials,
)
from slimtune.trial import (
    FrozenTrial,
    Trial,
    TrialState,
)

__all__ = [
    "Study",
    "StudyDirection",
    "create_study",
    "load_study",
    "delete_study",
    "get_all_study_names",
    "get_all_study_summaries",
    "copy_study",
]

logger = logging.getLogger("slimtune")

ObjectiveFuncType = Callable[[Trial], float | Sequence[float]]
CallbackType = Callable[["Study", FrozenTrial], None]


class StudyDirection:
    """The two directions, as strings (what storage keeps)."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


def _normalize_direction(d: Any) -> str:
    name = getattr(d, "name", d)
    s = str(name).lower()
    if s not in ("minimize", "maximize"):
        raise ValueError(f"direction={d!r}: use 'minimize' or 'maximize'.")
    return s


class Study:
    """A set of trials in a storage, with a sampler and a pruner."""

    def __init__(
        self,
        study_name: str,
        storage: str | BaseStorage | None,
        sampler: BaseSampler | None = None,
        pruner: BasePruner | None = None,
    ):
        self._storage = get_storage(storage)
        self.study_name = study_name
        self._study_id = self._storage.get_study_id_from_name(study_name)
        self._directions = self._storage.get_study_directions(self._study_id)
        if sampler is None:
            from slimtune.samplers.auto import AutoSampler

            sampler = AutoSampler()
        self.sampler: BaseSampler = sampler
        if pruner is None:
            # Optuna's default: the median stopping rule. It only acts on trials that
            # report() and check should_prune(); pass NopPruner() to turn it off.
            from slimtune.multifidelity.median import MedianPruner

            pruner = MedianPruner()
        self.pruner: BasePruner = pruner
        self._stop_flag = False
        # name -> the distribution the stored trials first gave it, and how many of the
        # stored trials that index has seen (see known_distribution).
        self._history_dists: dict[str, BaseDistribution] = {}
        self._history_upto = 0
        # A process that died left its trials RUNNING: fail those whose heartbeat is stale
        # now, so that opening a study (CLI listings too) shows what happened.
        reap_stale(self, force=True)

    # --- basic properties ---------------------------------------------------------------
    @property
    def directions(self) -> list[str]:
        return list(self._directions)

    @property
    def direction(self) -> str:
        if len(self._directions) != 1:
            raise RuntimeError("this study has several objectives; use `directions`.")
        return self._directions[0]

    def _is_multi_objective(self) -> bool:
        return len(self._directions) > 1

    @property
    def storage(self) -> BaseStorage:
        """The storage this study lives in (what executors hand to their workers)."""
        return self._storage

    @property
    def study_id(self) -> int:
        """The study's id in its storage."""
        return self._study_id

    @property
    def stop_requested(self) -> bool:
        """True after :meth:`stop`, until the next ``optimize`` starts."""
        return self._stop_flag

    @property
    def metric_names(self) -> list[str] | None:
        """The name of each objective (``set_metric_names``), or None when not set."""
        names = self._storage.get_study_system_attrs(self._study_id).get(keys.METRIC_NAMES)
        return list(names) if names is not None else None

    def set_metric_names(self, metric_names: list[str]) -> None:
        """Name each objective (as Optuna does); tables, logs, CSV/JSON and figures use them."""
        if isinstance(metric_names, str) or not all(isinstance(n, str) for n in metric_names):
            raise TypeError(f"set_metric_names: pass a list of strings, got {metric_names!r}.")
        names = list(metric_names)
        if len(names) != len(self._directions):
            raise ValueError(
                f"set_metric_names: {len(names)} name(s) {names} for a study with "
                f"{len(self._directions)} objective(s); pass one name per objective."
            )
        if len(set(names)) != len(names):
            raise ValueError(f"set_metric_names: the names {names} must be distinct.")
        self._storage.set_study_system_attr(self._study_id, keys.METRIC_NAMES, names)

    def objective_names(self) -> list[str]:
        """The metric names, or ``value`` / ``values_<i>`` when none are set: the labels
        every table and figure of slimtune uses."""
        names = self.metric_names
        if names is not None:
            return names
        if len(self._directions) == 1:
            return ["value"]
        return [f"values_{i}" for i in range(len(self._directions))]

    @property
    def user_attrs(self) -> dict[str, Any]:
        return self._storage.get_study_user_attrs(self._study_id)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return self._storage.get_study_system_attrs(self._study_id)

    def set_user_attr(self, key: str, value: Any) -> None:
        self._storage.set_study_user_attr(self._study_id, key, value)

    def set_system_attr(self, key: str, value: Any) -> None:
        self._storage.set_study_system_attr(self._study_id, key, value)

    # --- trials -----------------------------------------------------------------------
    def get_trials(
        self, deepcopy: bool = False, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        """All trials ordered by number (optionally only those in ``states``)."""
        trials = self._storage.get_all_trials(self._study_id, states)
        if deepcopy:
            import copy

            trials = copy.deepcopy(trials)
        return trials

    @property
    def trials(self) -> list[FrozenTrial]:
        return self.get_trials()

    def get_trial(self, trial_id: int) -> FrozenTrial:
        """The freshest stored copy of one trial (by its ``trial_id``), e.g. for a pruner
        that must see a decision another worker wrote a moment ago."""
        return self._storage.get_trial(trial_id)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        """Leave a fact on a trial for the other layers (a sampler's proposal, a rung
        decision). ``key`` must be declared in :mod:`slimtune.keys`."""
        self._storage.set_trial_system_attr(trial_id, key, value)

    def known_distribution(self, name: str, refresh: bool = True) -> BaseDistribution | None:
        """The distribution the study's *stored* trials (of every process and every earlier
        run) first gave parameter ``name``, or None if no stored trial has it.

        This is what "a parameter keeps its kind of distribution" is checked against, so the
        rule holds across processes and resumes. A name seen once stays known (the first
        stored distribution never changes), so only a name this process has not seen yet
        reads the trials stored since the last read; ``refresh=False`` skips even that.
        """
        known = self._history_dists.get(name)
        if known is not None or not refresh:
            return known
        trials = self._storage.get_all_trials(self._study_id)
        # Trials before ``_history_upto`` were all finished when last read: never again.
        i = self._history_upto
        while i < len(trials) and trials[i].state.is_finished():
            for k, d in trials[i].distributions.items():
                self._history_dists.setdefault(k, d)
            i += 1
        self._history_upto = i
        for t in trials[i:]:  # running ones (other workers), and finished after them
            for k, d in t.distributions.items():
                self._history_dists.setdefault(k, d)
        return self._history_dists.get(name)

    def _complete_trials(self) -> list[FrozenTrial]:
        return self._storage.get_all_trials(self._study_id, (TrialState.COMPLETE,))

    @staticmethod
    def _feasible(trials: list[FrozenTrial]) -> list[FrozenTrial]:
        """Trials whose constraints (if any were reported) are all <= 0."""
        if not any(t.constraints is not None for t in trials):
            return trials
        return [t for t in trials if t.constraints is None or max(t.constraints) <= 0]

    @property
    def best_trial(self) -> FrozenTrial:
        """The best complete (and feasible) trial of a single-objective study."""
        if self._is_multi_objective():
            raise RuntimeError(
                "best_trial is for single-objective studies; use best_trials (the Pareto front)."
            )
        trials = self._feasible(self._complete_trials())
        if not trials:
            raise ValueError("no complete (feasible) trial yet: run some trials first.")
        vals = np.array([t.values[0] for t in trials])  # type: ignore[index]
        i = int(np.argmax(vals) if self._directions[0] == "maximize" else np.argmin(vals))
        return trials[i]

    @property
    def best_value(self) -> float:
        return self.best_trial.values[0]  # type: ignore[index]

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.best_trial.params)

    @property
    def best_trials(self) -> list[FrozenTrial]:
        """The Pareto front of complete (feasible) trials; the best trials for one objective."""
        trials = self._feasible(self._complete_trials())
        if not trials:
            return []
        L = to_losses(np.array([t.values for t in trials]), self._directions)
        mask = is_pareto_front(L)
        return [t for t, m in zip(trials, mask) if m]

    # --- ask / tell -------------------------------------------------------------------
    def ask(self, fixed_distributions: dict[str, BaseDistribution] | None = None) -> Trial:
        """Start a trial (an enqueued one first). Sample ``fixed_distributions`` at once.

        Without an enqueued trial, a pruner with ``continuation(study)`` (promotion-type
        successive halving) may hand back a paused trial's continuation (a dict of
        ``params``, ``system_attrs``, ``intermediate_values``), which this ask starts: it is
        created RUNNING, with its curve, so no other worker can take it half-written."""
        tid = self._storage.pop_waiting_trial_id(self._study_id)
        if tid is None:
            cont = getattr(self.pruner, "continuation", None)
            spec = cont(self) if cont is not None else None
            if spec is not None:
                tid = self._storage.create_new_trial(
                    self._study_id,
                    system_attrs={
                        **spec.get("system_attrs", {}),
                        keys.FIXED_PARAMS: dict(spec["params"]),
                    },
                )
                for step, v in spec.get("intermediate_values", {}).items():
                    self._storage.set_trial_intermediate_value(tid, int(step), v)
        if tid is None:
            tid = self._storage.create_new_trial(self._study_id)
        frozen = self._storage.get_trial(tid)
        self.sampler.before_trial(self, frozen)
        trial = Trial(self, tid, frozen)
        for name, dist in (fixed_distributions or {}).items():
            trial.suggest(name, dist)
        return trial

    def tell(
        self,
        trial: Trial | FrozenTrial | int,
        values: float | Sequence[float] | None = None,
        state: TrialState | None = None,
        skip_if_finished: bool = False,
    ) -> FrozenTrial:
        """Finish a trial with its value(s), or with ``state`` PRUNED / FAIL.

        Invalid values (NaN, inf, None, wrong count) store the trial as FAIL with the reason
        rather than raising, so that a study never loses a trial to a bad return value.
        """
        tid = self._resolve_trial_id(trial)
        frozen = trial.freeze() if isinstance(trial, Trial) else self._storage.get_trial(tid)
        if frozen.state.is_finished():
            if skip_if_finished:
                return frozen
            raise RuntimeError(
                f"trial {frozen.number} is already finished ({frozen.state.name}); pass "
                "skip_if_finished=True to ignore this."
            )
        reason: str | None = None
        vals: list[float] | None = None
        if state is None:
            state = TrialState.COMPLETE
        if state == TrialState.COMPLETE:
            vals, reason = check_values(values, len(self._directions))
            if reason is not None:
                state = TrialState.FAIL
        elif state == TrialState.PRUNED:
            if values is not None:
                vals, _ = check_values(values, len(self._directions))
            elif frozen.intermediate_values:
                last = frozen.intermediate_values[max(frozen.intermediate_values)]
                cand = last if isinstance(last, list) else [last]
                if len(cand) == len(self._directions) and all(
                    isinstance(v, (int, float)) and math.isfinite(v) for v in cand
                ):
                    vals = [float(v) for v in cand]
        elif state == TrialState.FAIL:
            vals = None
        else:
            raise ValueError(f"tell: state must be COMPLETE, PRUNED or FAIL, got {state!r}.")
        if reason is not None:
            self._storage.set_trial_system_attr(tid, keys.FAIL_REASON, reason)
        try:
            self.sampler.after_trial(self, frozen, state, vals)
        finally:
            ok = self._storage.set_trial_state_values(tid, state, vals)
        if not ok and not skip_if_finished:
            now = self._storage.get_trial(tid).state
            raise RuntimeError(
                f"trial {frozen.number} is already finished ({now.name}; told before, or "
                "failed by a stale heartbeat); pass skip_if_finished=True to ignore this."
            )
        done = self._storage.get_trial(tid)
        self._log_finished(done)
        return done

    def _log_finished(self, t: FrozenTrial) -> None:
        """One line per finished trial, as Optuna writes it, with the objectives' names."""
        if t.state == TrialState.FAIL:
            if logger.isEnabledFor(logging.WARNING):
                why = t.system_attrs.get(keys.FAIL_REASON, "no reason stored")
                logger.warning(
                    "Trial %d failed with parameters: %s because of the following error: %s",
                    t.number, t.params, why,
                )
            return
        if not logger.isEnabledFor(logging.INFO):
            return
        if t.state == TrialState.PRUNED:
            logger.info("Trial %d pruned. Parameters: %s.", t.number, t.params)
            return
        names = self.objective_names()
        vals = t.values or []
        if len(vals) == 1:
            shown = f"value: {vals[0]:.6g}" if names == ["value"] else (
                f"value: {names[0]}={vals[0]:.6g}"
            )
        else:
            shown = "values: " + ", ".join(f"{n}={v:.6g}" for n, v in zip(names, vals))
        best = ""
        if len(self._directions) == 1:
            try:
                b = self.best_trial
                best = f" Best is trial {b.number} with value: {b.values[0]:.6g}."
            except ValueError:
                best = ""
        logger.info("Trial %d finished with %s and parameters: %s.%s", t.number, shown,
                    t.params, best)

    def _resolve_trial_id(self, trial: Trial | FrozenTrial | int) -> int:
        if isinstance(trial, Trial):
            return trial.trial_id
        if isinstance(trial, FrozenTrial):
            return trial.trial_id
        if isinstance(trial, (int, np.integer)):
            for t in self._storage.get_all_trials(self._study_id):
                if t.number == int(trial):
                    return t.trial_id
            raise ValueError(f"tell: no trial number {trial} in study {self.study_name!r}.")
        raise TypeError(f"tell: expected a Trial, FrozenTrial or trial number, got {trial!r}.")

    def enqueue_trial(
        self,
        params: dict[str, Any],
        user_attrs: dict[str, Any] | None = None,
        skip_if_exists: bool = False,
        *,
        system_attrs: dict[str, Any] | None = None,
        intermediate_values: dict[int, Any] | None = None,
    ) -> None:
        """Queue a configuration; the next ``ask`` runs it (unsuggested params are sampled).

        ``system_attrs`` and ``intermediate_values`` (beyond Optuna's signature) let a
        retry carry its history, see :class:`~slimtune.storage.RetryFailedTrialCallback`.
        """
        if skip_if_exists:
            for t in self.get_trials():
                fixed = t.system_attrs.get(keys.FIXED_PARAMS)
                if t.params == params or fixed == params:
                    return
        tid = self._storage.create_new_trial(
            self._study_id,
            state=TrialState.WAITING,
            system_attrs={**(system_attrs or {}), keys.FIXED_PARAMS: dict(params)},
            user_attrs=user_attrs,
        )
        for step, v in (intermediate_values or {}).items():
            self._storage.set_trial_intermediate_value(tid, int(step), v)

    def add_trial(self, trial: FrozenTrial) -> None:
        """Add a finished trial (e.g. from another study or a past run)."""
        tid = self._storage.create_new_trial(
            self._study_id,
            system_attrs=dict(trial.system_attrs),
            user_attrs=dict(trial.user_attrs),
        )
        for name, value in trial.params.items():
            dist = trial.distributions[name]
            self._storage.set_trial_param(tid, name, dist.to_internal(value), dist)
        for step, v in trial.intermediate_values.items():
            self._storage.set_trial_intermediate_value(tid, step, v)
        self._storage.set_trial_state_values(tid, trial.state, trial.values)

    def add_trials(self, trials: Iterable[FrozenTrial]) -> None:
        """:meth:`add_trial` for each of ``trials`` (e.g. ``other_study.trials``)."""
        for t in trials:
            self.add_trial(t)

    def stop(self) -> None:
        """Stop ``optimize`` after the running trial(s)."""
        self._stop_flag = True

    # --- optimize ---------------------------------------------------------------------
    def optimize(
        self,
        func: ObjectiveFuncType,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        catch: Iterable[type[Exception]] | type[Exception] | None = None,
        callbacks: Sequence[CallbackType] | None = None,
        gc_after_trial: bool = False,
        show_progress_bar: bool = False,
    ) -> None:
        """Run trials until ``n_trials`` are done (in this call), ``timeout`` seconds pass,
        or ``stop()`` is called.

        ``n_jobs > 1`` (``-1`` = all cores) runs trials in separate worker *processes*; see
        :mod:`slimtune.parallel.local` for what the objective must satisfy.
        """
        if n_trials is not None and (not isinstance(n_trials, int) or n_trials < 0):
            raise ValueError(f"n_trials must be a non-negative int or None, got {n_trials!r}.")
        if timeout is not None and timeout < 0:
            raise ValueError(f"timeout must be >= 0 seconds or None, got {timeout!r}.")
        catch_t = normalize_catch(catch)
        if n_jobs == -1:
            n_jobs = os.cpu_count() or 1
        if not isinstance(n_jobs, int) or n_jobs < 1:
            raise ValueError(f"n_jobs must be a positive int or -1, got {n_jobs!r}.")
        self._stop_flag = False
        if n_jobs > 1:
            run_in_processes(
                self, func, n_trials, timeout, n_jobs, catch_t, list(callbacks or []),
                show_progress_bar,
            )
            return
        progress = StudyProgress(self, n_trials) if show_progress_bar else None
        t0 = time.monotonic()
        done = 0

        def claim() -> bool:
            nonlocal done
            if n_trials is not None and done >= n_trials:
                return False
            if timeout is not None and time.monotonic() - t0 >= timeout:
                return False
            done += 1
            return True

        def on_done(frozen: FrozenTrial) -> None:
            for cb in callbacks or []:
                cb(self, frozen)
            if progress:
                progress.update(frozen)

        try:
            run_trials(self, func, catch_t, claim, on_done, gc_after_trial=gc_after_trial)
        finally:
            if progress:
                progress.close()

    # --- misc -------------------------------------------------------------------------
    def trials_dataframe(
        self,
        attrs: tuple[str, ...] = (
            "number",
            "value",
            "datetime_start",
            "datetime_complete",
            "duration",
            "params",
            "user_attrs",
            "system_attrs",
            "state",
        ),
        multi_index: bool = False,
    ) -> Any:
        """The trials as a pandas DataFrame, one row per trial, with Optuna's columns:
        ``number``, ``value`` (``values_0``... for several objectives, or the metric names),
        datetimes, ``duration``, ``params_<name>``, ``user_attrs_<key>``,
        ``system_attrs_<key>``, ``intermediate_values_<step>``, ``state`` (its name).
        ``multi_index=True`` gives two-level columns such as ``("params", "x")``.
        Needs pandas (``pip install slimtune[pandas]``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "trials_dataframe needs pandas: pip install slimtune[pandas]"
            ) from None
        allowed = {
            "number", "value", "values", "datetime_start", "datetime_complete", "duration",
            "params", "user_attrs", "system_attrs", "intermediate_values", "state",
        }
        bad = [a for a in attrs if a not in allowed]
        if bad:
            raise ValueError(
                f"trials_dataframe: unknown attrs {bad}; choose from {sorted(allowed)}."
            )
        multi = self._is_multi_objective()
        attrs = tuple(
            ("values" if multi else "value") if a in ("value", "values") else a for a in attrs
        )
        attrs = tuple(dict.fromkeys(attrs))  # value and values both given: one column group
        trials = self.get_trials()
        if not trials:
            return pd.DataFrame()
        names = getattr(self, "metric_names", None)
        n_obj = len(self._directions)
        value_keys: list[Any] = list(names) if names else list(range(n_obj))
        groups = {"params", "user_attrs", "system_attrs", "intermediate_values"}
        keys_of: dict[str, list[Any]] = {}
        for g in groups & set(attrs):
            seen: set[Any] = set()
            for t in trials:
                seen.update(getattr(t, g))
            keys_of[g] = sorted(seen, key=lambda k: (str(type(k)), k))
        columns: list[tuple[str, Any]] = []
        for a in attrs:
            if a in groups:
                columns += [(a, k) for k in keys_of[a]]
            elif a == "values":
                columns += [("values", k) for k in value_keys]
            elif a == "value" and names:
                columns.append(("value", names[0]))
            else:
                columns.append((a, ""))
        rows = []
        for t in trials:
            row: list[Any] = []
            for a, k in columns:
                if a in groups:
                    row.append(getattr(t, a).get(k))
                elif a == "values":
                    row.append(t.values[value_keys.index(k)] if t.values else None)
                elif a == "value":
                    row.append(t.values[0] if t.values else None)
                elif a == "state":
                    row.append(t.state.name)
                else:
                    row.append(getattr(t, a))
            rows.append(row)
        if multi_index:
            index = pd.MultiIndex.from_tuples(columns)
            return pd.DataFrame(rows, columns=index)
        flat = [a if k == "" else f"{a}_{k}" for a, k in columns]
        return pd.DataFrame(rows, columns=flat)

    def trials_records(self) -> list[dict[str, Any]]:
        """One flat dict per trial (number, state, values, params_*, durations): for tables."""
        out = []
        names = self.metric_names
        for t in self.get_trials():
            rec: dict[str, Any] = {
                "number": t.number,
                "state": t.state.name,
            }
            if t.values is not None:
                # Optuna's trials_dataframe column names: value / value_<name> for one
                # objective, values_<i> / values_<name> for several.
                if len(t.values) == 1:
                    rec["value" if names is None else f"value_{names[0]}"] = t.values[0]
                else:
                    for i, v in enumerate(t.values):
                        rec[f"values_{i if names is None else names[i]}"] = v
            rec.update({f"params_{k}": v for k, v in t.params.items()})
            rec["datetime_start"] = t.datetime_start.isoformat() if t.datetime_start else None
            d = t.duration
            rec["duration_s"] = d.total_seconds() if d else None
            if keys.FAIL_REASON in t.system_attrs:
                rec["fail_reason"] = t.system_attrs[keys.FAIL_REASON]
            out.append(rec)
        return out

    def __repr__(self) -> str:
        return f"Study(name={self.study_name!r}, directions={self._directions})"


# --- module-level functions -----------------------------------------------------------


def create_study(
    storage: str | BaseStorage | None = None,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
    study_name: str | None = None,
    direction: str | None = None,
    load_if_exists: bool = False,
    *,
    directions: Sequence[str] | None = None,
) -> Study:
    """Create a study (or load it with ``load_if_exists=True``)."""
    if direction is not None and directions is not None:
        raise ValueError("give either direction or directions, not both.")
    if directions is None:
        directions = [direction or "minimize"]
    if len(directions) == 0:
        raise ValueError("directions must not be empty.")
    dirs = [_normalize_direction(d) for d in directions]
    st = get_storage(storage)
    name = study_name or f"study-{_dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    try:
        st.create_new_study(dirs, name)
    except DuplicatedStudyError:
        if not load_if_exists:
            raise DuplicatedStudyError(
                f"a study named {name!r} already exists in this storage; pass "
                "load_if_exists=True to resume it, or choose another study_name."
            ) from None
        existing = st.get_study_directions(st.get_study_id_from_name(name))
        if existing != dirs and (direction is not None or len(dirs) > 1):
            raise ValueError(
                f"study {name!r} exists with directions {existing}, not {dirs}."
            ) from None
    return Study(name, st, sampler=sampler, pruner=pruner)


def load_study(
    study_name: str | None,
    storage: str | BaseStorage,
    sampler: BaseSampler | None = None,
    pruner: BasePruner | None = None,
) -> Study:
    """Open an existing study. ``study_name=None`` works when the storage holds one study."""
    st = get_storage(storage)
    if study_name is None:
        names = st.get_all_study_names()
        if len(names) != 1:
            raise ValueError(
                f"study_name=None needs exactly one study in the storage; found {names}."
            )
        study_name = names[0]
    return Study(study_name, st, sampler=sampler, pruner=pruner)


def delete_study(study_name: str, storage: str | BaseStorage) -> None:
    st = get_storage(storage)
    st.delete_study(st.get_study_id_from_name(study_name))


def get_all_study_names(storage: str | BaseStorage) -> list[str]:
    return get_storage(storage).get_all_study_names()


def get_all_study_summaries(storage: str | BaseStorage) -> list[Any]:
    return get_storage(storage).get_all_studies()


def copy_study(
    from_study_name: str,
    from_storage: str | BaseStorage,
    to_storage: str | BaseStorage,
    to_study_name: str | None = None,
) -> None:
    """Copy a study with all its trials into another storage."""
    src = load_study(from_study_name, from_storage)
    dst = create_study(
        storage=to_storage,
        study_name=to_study_name or from_study_name,
        directions=src.directions,
    )
    for k, v in src.user_attrs.items():
        dst.set_user_attr(k, v)
    for t in src.get_trials():
        dst.add_trial(t)
