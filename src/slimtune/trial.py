"""Trials: the define-by-run :class:`Trial`, its immutable snapshot :class:`FrozenTrial`,
:class:`FixedTrial` for calling an objective with given parameters, and :class:`TrialState`.
"""

from __future__ import annotations

import abc
import datetime as _dt
import enum
import math
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from slimtune import keys
from slimtune.distributions import (
    BaseDistribution,
    CategoricalChoiceType,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    check_distribution_compatibility,
)
from slimtune.exceptions import TrialPruned

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = [
    "BaseTrial",
    "TrialState",
    "FrozenTrial",
    "Trial",
    "FixedTrial",
    "TrialPruned",
    "create_trial",
]

class TrialState(enum.IntEnum):
    """Life cycle of a trial. WAITING (enqueued) -> RUNNING -> COMPLETE | PRUNED | FAIL."""

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4

    def is_finished(self) -> bool:
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

    def __repr__(self) -> str:
        return f"TrialState.{self.name}"


def _float_check(name: str, low: Any, high: Any) -> None:
    for k, v in (("low", low), ("high", high)):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            try:
                float(v)
            except (TypeError, ValueError):
                raise TypeError(f"parameter {name!r}: {k}={v!r} is not a number.") from None


class BaseTrial(abc.ABC):
    """What an objective may call on a trial (Optuna's ``BaseTrial``): the ``suggest_*``
    methods, ``report`` / ``should_prune`` and attributes. :class:`Trial` and
    :class:`FixedTrial` implement it, so an objective typed ``trial: BaseTrial`` takes both."""

    __slots__ = ()

    @abc.abstractmethod
    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    @abc.abstractmethod
    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    @abc.abstractmethod
    def suggest_categorical(
        self, name: str, choices: Sequence[CategoricalChoiceType]
    ) -> CategoricalChoiceType: ...

    @abc.abstractmethod
    def suggest_uniform(self, name: str, low: float, high: float) -> float: ...

    @abc.abstractmethod
    def suggest_loguniform(self, name: str, low: float, high: float) -> float: ...

    @abc.abstractmethod
    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float: ...

    @abc.abstractmethod
    def report(self, value: float, step: int) -> None: ...

    @abc.abstractmethod
    def should_prune(self) -> bool: ...

    @abc.abstractmethod
    def set_user_attr(self, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    def set_constraint(self, key: str, value: float) -> None: ...


class _SuggestMixin(BaseTrial):
    """The ``suggest_*`` convenience methods shared by :class:`Trial` and :class:`FixedTrial`."""

    __slots__ = ()

    def _suggest(self, name: str, dist: BaseDistribution) -> Any:  # pragma: no cover
        raise NotImplementedError

    def suggest(self, name: str, distribution: BaseDistribution) -> Any:
        """A value of ``name`` from a distribution object (what ``suggest_*`` build), e.g.
        for spaces declared as data: ``trial.suggest("lr", FloatDistribution(1e-4, 1, log=True))``.
        """
        if not isinstance(distribution, BaseDistribution):
            raise TypeError(
                f"parameter {name!r}: expected a distribution object, got {distribution!r}."
            )
        return self._suggest(name, distribution)

    @staticmethod
    def _make(name: str, cls: type, *args: Any, **kw: Any) -> BaseDistribution:
        if not isinstance(name, str) or not name:
            raise TypeError(f"parameter name must be a non-empty string, got {name!r}.")
        try:
            return cls(*args, **kw)
        except (ValueError, TypeError) as e:
            raise type(e)(f"parameter {name!r}: {e}") from None

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        """A float in ``[low, high]`` (log scale with ``log=True``, a grid with ``step``)."""
        dist = self._make(name, FloatDistribution, low, high, log=log, step=step)
        return float(self._suggest(name, dist))

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        """An integer in ``[low, high]`` (log scale with ``log=True``, a grid with ``step``)."""
        dist = self._make(name, IntDistribution, low, high, log=log, step=step)
        return int(self._suggest(name, dist))

    def suggest_categorical(
        self, name: str, choices: Sequence[CategoricalChoiceType]
    ) -> CategoricalChoiceType:
        """One of ``choices`` (str, int, float, bool or None)."""
        dist = self._make(name, CategoricalDistribution, choices)
        return self._suggest(name, dist)

    # Optuna 2.x spellings, kept so that old objectives run unchanged.
    def suggest_uniform(self, name: str, low: float, high: float) -> float:
        return self.suggest_float(name, low, high)

    def suggest_loguniform(self, name: str, low: float, high: float) -> float:
        return self.suggest_float(name, low, high, log=True)

    def suggest_discrete_uniform(self, name: str, low: float, high: float, q: float) -> float:
        return self.suggest_float(name, low, high, step=q)


class FrozenTrial(_SuggestMixin):
    """A read-only snapshot of a trial, as stored.

    ``params`` are external values (what the objective saw); ``internal_params`` are the
    floats that samplers model (choice index for categoricals).
    ``intermediate_values`` maps step -> value (a float, or a list for several objectives).

    Its ``suggest_*`` methods return the stored values (Optuna's behaviour), so
    ``objective(study.best_trial)`` re-runs the objective on the best parameters. The
    constructor takes Optuna's arguments (``value`` or ``values=``); a sequence as the
    third argument is read as ``values``.
    """

    __slots__ = (
        "number",
        "state",
        "values",
        "datetime_start",
        "datetime_complete",
        "params",
        "distributions",
        "user_attrs",
        "system_attrs",
        "intermediate_values",
        "trial_id",
        "__dict__",
    )

    def __init__(
        self,
        number: int,
        state: TrialState,
        value: float | Sequence[float] | None = None,
        datetime_start: _dt.datetime | None = None,
        datetime_complete: _dt.datetime | None = None,
        params: dict[str, Any] | None = None,
        distributions: dict[str, BaseDistribution] | None = None,
        user_attrs: dict[str, Any] | None = None,
        system_attrs: dict[str, Any] | None = None,
        intermediate_values: dict[int, Any] | None = None,
        trial_id: int = -1,
        *,
        values: Sequence[float] | None = None,
    ):
        if value is not None and values is not None:
            raise ValueError("FrozenTrial: give value or values, not both.")
        if value is not None:
            values = list(value) if isinstance(value, Sequence) else [value]  # type: ignore[list-item]
        params = params if params is not None else {}
        distributions = distributions if distributions is not None else {}
        user_attrs = user_attrs if user_attrs is not None else {}
        system_attrs = system_attrs if system_attrs is not None else {}
        intermediate_values = intermediate_values if intermediate_values is not None else {}
        self.number = number
        self.state = state
        self.values = list(values) if values is not None else None
        self.datetime_start = datetime_start
        self.datetime_complete = datetime_complete
        self.params = params
        self.distributions = distributions
        self.user_attrs = user_attrs
        self.system_attrs = system_attrs
        self.intermediate_values = intermediate_values
        self.trial_id = trial_id

    @property
    def value(self) -> float | None:
        """The objective value of a single-objective trial (None if not complete)."""
        if self.values is None:
            return None
        if len(self.values) != 1:
            raise RuntimeError(
                "this trial has several objective values; use `values` instead of `value`."
            )
        return self.values[0]

    @value.setter
    def value(self, v: float | None) -> None:
        self.values = None if v is None else [v]

    # --- Optuna's BaseTrial interface on a finished trial ---------------------------------
    def _suggest(self, name: str, dist: BaseDistribution) -> Any:
        if name not in self.params:
            raise ValueError(
                f"parameter {name!r} is not among this trial's params {sorted(self.params)}."
            )
        value = self.params[name]
        if not dist.contains(dist.to_internal(value)):
            raise ValueError(
                f"parameter {name!r}: the stored value {value!r} is outside "
                f"{dist.describe_range()}."  # type: ignore[attr-defined]
            )
        return value

    def report(self, value: float, step: int) -> None:
        """Does nothing: a finished trial is never pruned (Optuna's behaviour)."""

    def should_prune(self) -> bool:
        """False: a finished trial is never pruned."""
        return False

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def set_system_attr(self, key: str, value: Any) -> None:
        self.system_attrs[key] = value

    def set_constraint(self, key: str, value: float) -> None:
        names, vals = _named_constraints(self.system_attrs, key, value)
        self.system_attrs[keys.CONSTRAINT_NAMES] = names
        self.system_attrs[keys.CONSTRAINTS] = vals

    @cached_property
    def internal_params(self) -> dict[str, float]:
        return {k: self.distributions[k].to_internal(v) for k, v in self.params.items()}

    @property
    def last_step(self) -> int | None:
        return max(self.intermediate_values) if self.intermediate_values else None

    @property
    def duration(self) -> _dt.timedelta | None:
        if self.datetime_start and self.datetime_complete:
            return self.datetime_complete - self.datetime_start
        return None

    @property
    def constraints(self) -> list[float] | None:
        c = self.system_attrs.get(keys.CONSTRAINTS)
        return list(c) if c is not None else None

    def __repr__(self) -> str:
        return (
            f"FrozenTrial(number={self.number}, state={self.state!r}, values={self.values}, "
            f"params={self.params})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrozenTrial):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in self.__slots__[:-1])

    __hash__ = None  # type: ignore[assignment]


class Trial(_SuggestMixin):
    """A running trial, handed to the objective. Values are sampled on first use."""

    def __init__(self, study: Study, trial_id: int, frozen: FrozenTrial | None = None):
        self.study = study
        self._trial_id = trial_id
        self.storage = study.storage
        self._cached = frozen if frozen is not None else self.storage.get_trial(trial_id)
        self.number: int = self._cached.number
        self._params: dict[str, Any] = dict(self._cached.params)
        self._distributions: dict[str, BaseDistribution] = dict(self._cached.distributions)
        self._user_attrs: dict[str, Any] = dict(self._cached.user_attrs)
        self._system_attrs: dict[str, Any] = dict(self._cached.system_attrs)
        self._intermediate: dict[int, Any] = dict(self._cached.intermediate_values)
        self._fixed: dict[str, Any] = dict(self._system_attrs.get(keys.FIXED_PARAMS) or {})
        self._relative_space: dict[str, BaseDistribution] | None = None
        self._relative_params: dict[str, Any] | None = None
        self._snap: FrozenTrial | None = None  # cached snapshot, dropped on any change
        self._history_read = False  # read the study's stored distributions yet?

    # --- sampling ---------------------------------------------------------------------
    def _init_relative(self) -> None:
        sampler = self.study.sampler
        snap = self._snapshot()
        self._relative_space = sampler.infer_relative_search_space(self.study, snap)
        if self._relative_space:
            self._relative_params = sampler.sample_relative(self.study, snap, self._relative_space)
        else:
            self._relative_params = {}

    def _suggest(self, name: str, dist: BaseDistribution) -> Any:
        old = self._distributions.get(name)
        if old is not None:
            if old != dist:
                raise ValueError(
                    f"parameter {name!r} was already suggested in trial {self.number} as "
                    f"{old!r}; it cannot be suggested again as {dist!r}. Use one distribution "
                    "per name within a trial."
                )
            return self._params[name]
        # Same kind of distribution as in the study's stored trials, from every process and
        # earlier run (ranges may change: dynamic spaces). One read per trial.
        prev = self.study.known_distribution(name, refresh=not self._history_read)
        self._history_read = True
        if prev is not None:
            check_distribution_compatibility(prev, dist, name)

        if name in self._fixed:
            value = self._fixed[name]
            try:
                internal = dist.to_internal(value)
                ok = dist.contains(internal)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(
                    f"parameter {name!r}: the enqueued value {value!r} is outside "
                    f"{dist.describe_range()}."  # type: ignore[attr-defined]
                )
            value = dist.to_external(internal)
        elif dist.single():
            if isinstance(dist, CategoricalDistribution):
                value = dist.choices[0]
            else:
                value = dist.to_external(dist.low)  # type: ignore[attr-defined]
        else:
            if self._relative_params is None:
                self._init_relative()
            assert self._relative_space is not None and self._relative_params is not None
            rel = self._relative_params
            if name in rel and _fits(self._relative_space.get(name), dist, rel[name]):
                value = rel[name]
            else:
                value = self.study.sampler.sample_independent(
                    self.study, self._snapshot(), name, dist
                )
            internal = dist.to_internal(value)
            value = dist.to_external(internal)
        internal = dist.to_internal(value)
        self.storage.set_trial_param(self._trial_id, name, internal, dist)
        self._params[name] = value
        self._distributions[name] = dist
        self._snap = None
        return value

    # --- reporting and pruning ---------------------------------------------------------
    def report(self, value: float | Sequence[float], step: int) -> None:
        """Store an intermediate value (one per objective) at ``step`` (e.g. the epoch)."""
        if isinstance(step, bool) or not isinstance(step, int):
            try:
                if float(step).is_integer():
                    step = int(step)
                else:
                    raise ValueError
            except (TypeError, ValueError):
                raise TypeError(f"report: step must be an int, got step={step!r}.") from None
        if step < 0:
            raise ValueError(f"report: step must be >= 0, got step={step}.")
        n_obj = len(self.study.directions)
        if isinstance(value, Sequence) and not isinstance(value, str):
            vals = [float(v) for v in value]
            if len(vals) != n_obj:
                raise ValueError(
                    f"report: got {len(vals)} values at step {step}; the study has "
                    f"{n_obj} objective(s)."
                )
            stored: Any = vals if n_obj > 1 else vals[0]
        else:
            try:
                stored = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise TypeError(f"report: value must be a number, got {value!r}.") from None
            if n_obj > 1:
                raise ValueError(
                    f"report: the study has {n_obj} objectives; report a sequence of "
                    f"{n_obj} values."
                )
        if step in self._intermediate:
            # Keep the first value, as Optuna does; re-reporting a step is a no-op.
            return
        self.storage.set_trial_intermediate_value(self._trial_id, step, stored)
        self._intermediate[step] = stored
        self._snap = None

    def should_prune(self) -> bool:
        """Ask the study's pruner whether to stop this trial now."""
        return bool(self.study.pruner.prune(self.study, self._snapshot()))

    def set_constraints(self, values: Sequence[float]) -> None:
        """Constraint values of this trial: <= 0 means satisfied, > 0 violated."""
        vals = [float(v) for v in values]
        if any(math.isnan(v) for v in vals):
            raise ValueError(f"constraint values must not be NaN, got {vals}.")
        self.set_system_attr(keys.CONSTRAINTS, vals)
        self._system_attrs.pop(keys.CONSTRAINT_NAMES, None)

    def set_constraint(self, key: str, value: float) -> None:
        """Set the constraint named ``key`` (Optuna 5's form): <= 0 means satisfied.

        Named constraints are kept in order of first use; ``FrozenTrial.constraints`` is
        their list of values, what samplers read."""
        names, vals = _named_constraints(self._system_attrs, key, value)
        self.set_system_attr(keys.CONSTRAINT_NAMES, names)
        self.set_system_attr(keys.CONSTRAINTS, vals)

    # --- checkpoints (pause and resume) -----------------------------------------------
    # The store is the pruner's ``checkpoints`` (promotion-type successive halving owns one,
    # see slimtune.multifidelity.promotion). The study storage holds only the key and step.
    def _checkpoint_store(self) -> Any:
        return getattr(self.study.pruner, "checkpoints", None)

    @property
    def resume_step(self) -> int:
        """The step this trial continues from: the step of the checkpoint that
        :meth:`load_checkpoint` returns (a promoted trial), else 0 (train from scratch)."""
        return int(self._system_attrs.get(keys.RESUME_STEP, 0))

    def save_checkpoint(
        self, state: Any = None, step: int | None = None, *, writer: Any = None
    ) -> bool:
        """Keep this trial's training state, so that it can be resumed if it is paused.

        ``state`` is any picklable object; or give ``writer(path)``, which writes the file
        itself (``writer=lambda p: torch.save(model.state_dict(), p)``). ``step`` defaults
        to the last reported step. The state goes to the pruner's checkpoint store (files);
        the study storage records only its key and step. Returns False, storing nothing,
        when the study's pruner keeps no checkpoints (it never resumes a trial), so one
        objective runs under every pruner."""
        store = self._checkpoint_store()
        if store is None:
            return False
        if isinstance(step, bool) or not isinstance(step, (int, type(None))):
            raise TypeError(f"save_checkpoint: step must be an int, got step={step!r}.")
        if writer is not None and state is not None:
            raise ValueError("save_checkpoint: give the state or writer=, not both.")
        if step is None:
            step = max(self._intermediate) if self._intermediate else 0
        key = keys.checkpoint_key(self.study.study_name, self.number, self.study.study_id)
        if writer is not None:
            if not callable(getattr(store, "write_with", None)):
                raise TypeError(
                    f"{type(store).__name__} cannot run a checkpoint writer; pass the state "
                    "itself, or use DirectoryCheckpoints(path)."
                )
            store.write_with(key, writer)
        else:
            store.save(key, state)
        self.set_system_attr(keys.CHECKPOINT, key)
        self.set_system_attr(keys.CHECKPOINT_STEP, int(step))
        parent = self._system_attrs.get(keys.RESUME_KEY)
        if parent is not None and parent != key and callable(getattr(store, "delete", None)):
            store.delete(parent)  # the chain's state has moved on to this trial
        return True

    def load_checkpoint(self, reader: Any = None) -> Any:
        """The state to continue from: this trial's own latest checkpoint, else that of the
        paused trial it resumes (see :attr:`resume_step`), else None (a fresh start).

        ``reader(path)`` reads the file itself (``reader=lambda p: model.load_state_dict(
        torch.load(p))``) and its result is returned; without it the state is unpickled."""
        key = self._system_attrs.get(keys.CHECKPOINT) or self._system_attrs.get(keys.RESUME_KEY)
        if key is None:
            return None
        store = self._checkpoint_store()
        if store is None:
            raise ValueError(
                f"trial {self.number} resumes checkpoint {key!r}, but the study's pruner "
                f"{self.study.pruner!r} keeps no checkpoints; use the pruner it was paused by."
            )
        if reader is not None:
            return reader(store.path(key))
        return store.load(key)

    # --- attributes -------------------------------------------------------------------
    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-serialisable value to the trial."""
        self.storage.set_trial_user_attr(self._trial_id, key, value)
        self._user_attrs[key] = value
        self._snap = None

    def set_system_attr(self, key: str, value: Any) -> None:
        self.storage.set_trial_system_attr(self._trial_id, key, value)
        self._system_attrs[key] = value
        self._snap = None

    @property
    def params(self) -> dict[str, Any]:
        return dict(self._params)

    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return dict(self._distributions)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self._user_attrs)

    @property
    def system_attrs(self) -> dict[str, Any]:
        return dict(self._system_attrs)

    @property
    def intermediate_values(self) -> dict[int, Any]:
        return dict(self._intermediate)

    @property
    def datetime_start(self) -> _dt.datetime | None:
        return self._cached.datetime_start

    @property
    def relative_params(self) -> dict[str, Any]:
        """The values the sampler proposed jointly for this trial (sampled on first use)."""
        if self._relative_params is None:
            self._init_relative()
        return dict(self._relative_params or {})

    @property
    def constraints(self) -> list[float] | None:
        """The constraint values set so far (<= 0 satisfied), or None."""
        c = self._system_attrs.get(keys.CONSTRAINTS)
        return list(c) if c is not None else None

    @property
    def trial_id(self) -> int:
        return self._trial_id

    def freeze(self) -> FrozenTrial:
        """The running trial as a :class:`FrozenTrial` (what samplers and pruners see).

        Cached until the trial changes; treat it as read-only."""
        return self._snapshot()

    def _snapshot(self) -> FrozenTrial:
        if self._snap is None:
            self._snap = self._make_snapshot()
        return self._snap

    def _make_snapshot(self) -> FrozenTrial:
        return FrozenTrial(
            number=self.number,
            state=TrialState.RUNNING,
            values=None,
            datetime_start=self._cached.datetime_start,
            datetime_complete=None,
            params=dict(self._params),
            distributions=dict(self._distributions),
            user_attrs=dict(self._user_attrs),
            system_attrs=dict(self._system_attrs),
            intermediate_values=dict(self._intermediate),
            trial_id=self._trial_id,
        )

    def __repr__(self) -> str:
        return f"Trial(number={self.number}, params={self._params})"


def _fits(rel_dist: BaseDistribution | None, dist: BaseDistribution, value: Any) -> bool:
    """Use a jointly sampled value only if it is valid for the distribution asked now."""
    if rel_dist is None:
        return False
    if rel_dist == dist:
        return True
    if type(rel_dist) is not type(dist):
        return False
    try:
        return dist.contains(dist.to_internal(value))
    except (TypeError, ValueError):
        return False


class FixedTrial(_SuggestMixin):
    """Calls an objective with given parameters, outside any study (for tests and reruns).

    >>> FixedTrial({"x": 1.5}).suggest_float("x", 0, 2)
    1.5
    """

    def __init__(self, params: dict[str, Any], number: int = 0):
        self._given = dict(params)
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, BaseDistribution] = {}
        self.user_attrs: dict[str, Any] = {}
        self.system_attrs: dict[str, Any] = {}
        self.intermediate_values: dict[int, Any] = {}
        self.number = number
        self.datetime_start: _dt.datetime | None = _dt.datetime.now()

    @property
    def constraints(self) -> list[float] | None:
        """The constraint values set so far (<= 0 satisfied), or None."""
        c = self.system_attrs.get(keys.CONSTRAINTS)
        return list(c) if c is not None else None

    def _suggest(self, name: str, dist: BaseDistribution) -> Any:
        if name not in self._given:
            raise ValueError(f"parameter {name!r} is not among the given params {self._given}.")
        value = self._given[name]
        internal = dist.to_internal(value)
        if not dist.contains(internal):
            raise ValueError(
                f"parameter {name!r}: value {value!r} is outside {dist.describe_range()}."  # type: ignore[attr-defined]
            )
        self.params[name] = dist.to_external(internal)
        self.distributions[name] = dist
        return self.params[name]

    def report(self, value: Any, step: int) -> None:
        self.intermediate_values[step] = value

    def should_prune(self) -> bool:
        return False

    # A FixedTrial never resumes: an objective written for pause and resume runs unchanged.
    resume_step = 0

    def save_checkpoint(
        self, state: Any = None, step: int | None = None, *, writer: Any = None
    ) -> bool:
        """Nothing to keep (False): a FixedTrial is never paused."""
        return False

    def load_checkpoint(self, reader: Any = None) -> Any:
        """None: a FixedTrial always starts from scratch."""
        return None

    def set_user_attr(self, key: str, value: Any) -> None:
        self.user_attrs[key] = value

    def set_system_attr(self, key: str, value: Any) -> None:
        self.system_attrs[key] = value

    def set_constraints(self, values: Sequence[float]) -> None:
        self.system_attrs[keys.CONSTRAINTS] = [float(v) for v in values]

    def set_constraint(self, key: str, value: float) -> None:
        names, vals = _named_constraints(self.system_attrs, key, value)
        self.system_attrs[keys.CONSTRAINT_NAMES] = names
        self.system_attrs[keys.CONSTRAINTS] = vals


def _named_constraints(
    system_attrs: dict[str, Any], key: str, value: float
) -> tuple[list[str], list[float]]:
    """The (names, values) lists after setting constraint ``key`` to ``value``."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"set_constraint: key must be a non-empty string, got {key!r}.")
    v = float(value)
    if math.isnan(v):
        raise ValueError(f"set_constraint: constraint {key!r} must not be NaN.")
    old = list(system_attrs.get(keys.CONSTRAINTS) or [])
    names = list(system_attrs.get(keys.CONSTRAINT_NAMES) or [])
    if old and len(names) != len(old):
        raise ValueError(
            "set_constraint: this trial has unnamed constraints from set_constraints(); "
            "use one of the two forms per trial."
        )
    if key in names:
        old[names.index(key)] = v
    else:
        names.append(key)
        old.append(v)
    return names, old


def create_trial(
    *,
    state: TrialState = TrialState.COMPLETE,
    value: float | None = None,
    values: Sequence[float] | None = None,
    params: dict[str, Any] | None = None,
    distributions: dict[str, BaseDistribution] | None = None,
    user_attrs: dict[str, Any] | None = None,
    system_attrs: dict[str, Any] | None = None,
    intermediate_values: dict[int, float] | None = None,
    constraints: dict[str, float] | Sequence[float] | None = None,
) -> FrozenTrial:
    """A finished (or waiting) trial built by hand, for :meth:`Study.add_trial` (warm starts,
    trials from another tool). A COMPLETE trial needs ``value`` or ``values``; every param
    needs its distribution and must lie in it. ``number`` and ``trial_id`` are -1 until the
    study stores it."""
    if value is not None and values is not None:
        raise ValueError("create_trial: give value or values, not both.")
    vals = [float(value)] if value is not None else (
        [float(v) for v in values] if values is not None else None
    )
    state = TrialState(state)
    if state == TrialState.COMPLETE and vals is None:
        raise ValueError("create_trial: a COMPLETE trial needs value= or values=.")
    if state in (TrialState.FAIL, TrialState.RUNNING, TrialState.WAITING) and vals is not None:
        raise ValueError(f"create_trial: a {state.name} trial has no value; drop value(s)=.")
    params = dict(params or {})
    distributions = dict(distributions or {})
    if set(params) != set(distributions):
        raise ValueError(
            f"create_trial: params {sorted(params)} and distributions {sorted(distributions)} "
            "must name the same parameters."
        )
    for name, v in params.items():
        dist = distributions[name]
        if not dist.contains(dist.to_internal(v)):
            raise ValueError(
                f"create_trial: parameter {name!r}: value {v!r} is outside "
                f"{dist.describe_range()}."  # type: ignore[attr-defined]
            )
    sys_attrs = dict(system_attrs or {})
    if constraints is not None:
        if isinstance(constraints, dict):
            sys_attrs[keys.CONSTRAINT_NAMES] = [str(k) for k in constraints]
            sys_attrs[keys.CONSTRAINTS] = [float(v) for v in constraints.values()]
        else:
            sys_attrs[keys.CONSTRAINTS] = [float(v) for v in constraints]
    now = _dt.datetime.now()
    return FrozenTrial(
        number=-1,
        state=state,
        values=vals,
        datetime_start=None if state == TrialState.WAITING else now,
        datetime_complete=now if state.is_finished() else None,
        params=params,
        distributions=distributions,
        user_attrs=dict(user_attrs or {}),
        system_attrs=sys_attrs,
        intermediate_values=dict(intermediate_values or {}),
        trial_id=-1,
    )
