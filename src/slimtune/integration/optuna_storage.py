"""Optuna's storage protocol over a slimtune storage: :class:`OptunaStorageAdapter`.

An implementation of ``optuna.storages.BaseStorage`` whose every method calls a slimtune
storage, converting trials, distributions, states and directions on the way: what
optuna-dashboard (or any Optuna code that takes a storage object) needs to read and write a
slimtune study. Needs ``optuna`` (installed with the ``dashboard`` extra).

What does not carry over: a trial copied through ``create_new_trial(template_trial=...)``
gets new start and end times; slimtune's list-valued intermediate values (multi-objective
reports) are left out, as Optuna holds one float per step.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Container, Sequence
from typing import Any

from slimtune.integration.convert import from_optuna_distribution, to_optuna_distribution
from slimtune.integration.extras import require
from slimtune.storage import (
    BaseStorage,
    DuplicatedStudyError,
    UpdateFinishedTrialError,
    get_storage,
)
from slimtune.trial import FrozenTrial, TrialState

require("optuna", "dashboard", "the Optuna storage adapter")

from optuna import exceptions as _oexc  # noqa: E402
from optuna.storages import BaseStorage as _OptunaBaseStorage  # noqa: E402
from optuna.study import StudyDirection as _ODirection  # noqa: E402

# What Optuna's get_all_studies returns; Optuna keeps it in this module (optuna-dashboard
# imports it from here too).
from optuna.study._frozen import FrozenStudy as _OFrozenStudy  # noqa: E402
from optuna.trial import FrozenTrial as _OFrozenTrial  # noqa: E402
from optuna.trial import TrialState as _OState  # noqa: E402

__all__ = ["OptunaStorageAdapter", "to_optuna_storage", "to_optuna_trial"]


def _to_odirection(d: str) -> Any:
    return _ODirection.MAXIMIZE if d == "maximize" else _ODirection.MINIMIZE


def _from_odirection(d: Any) -> str:
    name = getattr(d, "name", str(d)).lower()
    if name not in ("minimize", "maximize"):
        raise ValueError(f"direction {d!r}: use MINIMIZE or MAXIMIZE.")
    return name


def _scalar(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def to_optuna_trial(t: FrozenTrial) -> Any:
    """An Optuna ``FrozenTrial`` equal to a slimtune one."""
    state = _OState[t.state.name]
    values = None if t.values is None else [float(v) for v in t.values]
    if state != _OState.COMPLETE and state != _OState.PRUNED:
        values = None
    return _OFrozenTrial(
        number=t.number,
        state=state,
        value=None,
        values=values,
        datetime_start=t.datetime_start,
        datetime_complete=t.datetime_complete,
        params=dict(t.params),
        distributions={k: to_optuna_distribution(d) for k, d in t.distributions.items()},
        user_attrs=dict(t.user_attrs),
        system_attrs=dict(t.system_attrs),
        intermediate_values={
            int(s): float(v) for s, v in t.intermediate_values.items() if _scalar(v)
        },
        trial_id=t.trial_id,
    )


class OptunaStorageAdapter(_OptunaBaseStorage):  # type: ignore[misc]
    """Optuna's storage protocol over a slimtune storage (what optuna-dashboard needs).

    Args:
        storage: a slimtune storage or a database URL.
    """

    def __init__(self, storage: str | BaseStorage) -> None:
        self.storage = get_storage(storage)
        self._lock = threading.Lock()
        self._converted: dict[int, Any] = {}  # trial id -> Optuna trial (finished only)

    def __repr__(self) -> str:
        return f"OptunaStorageAdapter({self.storage!r})"

    # --- studies --------------------------------------------------------------------------
    def create_new_study(self, directions: Sequence[Any], study_name: str | None = None) -> int:
        name = study_name or f"no-name-{uuid.uuid4()}"
        try:
            return self.storage.create_new_study([_from_odirection(d) for d in directions], name)
        except DuplicatedStudyError as e:
            raise _oexc.DuplicatedStudyError(str(e)) from None

    def delete_study(self, study_id: int) -> None:
        self.storage.delete_study(study_id)

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        self.storage.set_study_user_attr(study_id, key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        self.storage.set_study_system_attr(study_id, key, value)

    def get_study_id_from_name(self, study_name: str) -> int:
        return self.storage.get_study_id_from_name(study_name)

    def get_study_name_from_id(self, study_id: int) -> str:
        return self.storage.get_study_name_from_id(study_id)

    def get_study_directions(self, study_id: int) -> list[Any]:
        return [_to_odirection(d) for d in self.storage.get_study_directions(study_id)]

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(self.storage.get_study_user_attrs(study_id))

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(self.storage.get_study_system_attrs(study_id))

    def get_all_studies(self) -> list[Any]:
        ids = sorted(
            (self.storage.get_study_id_from_name(n), n) for n in self.storage.get_all_study_names()
        )
        return [
            _OFrozenStudy(
                study_name=name,
                direction=None,
                directions=self.get_study_directions(sid),
                user_attrs=self.get_study_user_attrs(sid),
                system_attrs=self.get_study_system_attrs(sid),
                study_id=sid,
            )
            for sid, name in ids
        ]

    # --- trials ---------------------------------------------------------------------------
    def create_new_trial(self, study_id: int, template_trial: Any = None) -> int:
        if template_trial is None:
            return self.storage.create_new_trial(study_id)
        state = TrialState[template_trial.state.name]
        first = TrialState.WAITING if state == TrialState.WAITING else TrialState.RUNNING
        tid = self.storage.create_new_trial(
            study_id,
            first,
            system_attrs=dict(template_trial.system_attrs),
            user_attrs=dict(template_trial.user_attrs),
        )
        for name, value in template_trial.params.items():
            dist = from_optuna_distribution(template_trial.distributions[name])
            self.storage.set_trial_param(tid, name, dist.to_internal(value), dist)
        for step, v in template_trial.intermediate_values.items():
            self.storage.set_trial_intermediate_value(tid, int(step), float(v))
        if state.is_finished():
            self.storage.set_trial_state_values(tid, state, template_trial.values)
        return tid

    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: Any
    ) -> None:
        self._check_updatable(trial_id)
        self.storage.set_trial_param(
            trial_id, param_name, float(param_value_internal),
            from_optuna_distribution(distribution),
        )

    def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
        for t in self.storage.get_all_trials(study_id):
            if t.number == trial_number:
                return t.trial_id
        raise KeyError(f"no trial number {trial_number} in study {study_id}.")

    def _check_updatable(self, trial_id: int) -> None:
        t = self.storage.get_trial(trial_id)
        if t.state.is_finished():
            raise _oexc.UpdateFinishedTrialError(
                f"trial {t.number} is already finished ({t.state.name}); it cannot change."
            )

    def set_trial_state_values(
        self, trial_id: int, state: Any, values: Sequence[float] | None = None
    ) -> bool:
        self._check_updatable(trial_id)
        try:
            return bool(
                self.storage.set_trial_state_values(trial_id, TrialState[state.name], values)
            )
        except UpdateFinishedTrialError as e:
            raise _oexc.UpdateFinishedTrialError(str(e)) from None

    def set_trial_intermediate_value(
        self, trial_id: int, step: int, intermediate_value: float
    ) -> None:
        self._check_updatable(trial_id)
        self.storage.set_trial_intermediate_value(trial_id, int(step), intermediate_value)

    def set_trial_user_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._check_updatable(trial_id)
        self.storage.set_trial_user_attr(trial_id, key, value)

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        self._check_updatable(trial_id)
        self.storage.set_trial_system_attr(trial_id, key, value)

    def _convert(self, t: FrozenTrial) -> Any:
        if not t.state.is_finished():
            return to_optuna_trial(t)
        with self._lock:
            hit = self._converted.get(t.trial_id)
        if hit is None:
            hit = to_optuna_trial(t)
            with self._lock:
                self._converted[t.trial_id] = hit
        return hit

    def get_trial(self, trial_id: int) -> Any:
        return copy.deepcopy(self._convert(self.storage.get_trial(trial_id)))

    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Container[Any] | None = None
    ) -> list[Any]:
        wanted = None if states is None else {s.name for s in states}
        out = [
            self._convert(t)
            for t in self.storage.get_all_trials(study_id)
            if wanted is None or t.state.name in wanted
        ]
        return copy.deepcopy(out) if deepcopy else out


def to_optuna_storage(storage: str | BaseStorage) -> OptunaStorageAdapter:
    """An Optuna storage over a slimtune one, e.g. for ``optuna_dashboard.run_server``."""
    return OptunaStorageAdapter(storage)
