"""Parameter distributions: validation, the internal (float) representation and JSON.

Every parameter value has an *external* form (what the objective sees: a float, an int or
one of the categorical choices) and an *internal* form, always a float, which is what the
storage keeps next to the JSON of the distribution and what samplers model:

* float / int: the value itself (samplers apply the log transform themselves);
* categorical: the index of the choice.

A step that does not divide ``high - low`` is *adjusted*: ``high`` is lowered to the last
reachable grid point and a warning is emitted (the same convention as Optuna, so objectives
move over unchanged).
"""

from __future__ import annotations

import functools
import json
import math
import warnings
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

CategoricalChoiceType = Union[None, bool, int, float, str]

__all__ = [
    "BaseDistribution",
    "FloatDistribution",
    "IntDistribution",
    "CategoricalDistribution",
    "CategoricalChoiceType",
    "distribution_to_json",
    "json_to_distribution",
    "check_distribution_compatibility",
    "DISTRIBUTION_CLASSES",
    "UniformDistribution",
    "LogUniformDistribution",
    "DiscreteUniformDistribution",
    "IntUniformDistribution",
    "IntLogUniformDistribution",
]


class BaseDistribution:
    """Common interface of all distributions."""

    def to_internal(self, value: Any) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_external(self, internal: float) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def contains(self, internal: float) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def single(self) -> bool:  # pragma: no cover - abstract
        """True when the distribution admits one value only."""
        raise NotImplementedError

    # Optuna's names of the two conversions.
    def to_internal_repr(self, param_value_in_external_repr: Any) -> float:
        """Optuna's name of :meth:`to_internal`."""
        return self.to_internal(param_value_in_external_repr)

    def to_external_repr(self, param_value_in_internal_repr: float) -> Any:
        """Optuna's name of :meth:`to_external`."""
        return self.to_external(param_value_in_internal_repr)

    def _asdict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self._asdict() == other._asdict()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, json.dumps(self._asdict(), sort_keys=True)))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._asdict().items())
        return f"{type(self).__name__}({args})"


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _adjust_high(low: float, high: float, step: float, what: str) -> float:
    """Lower ``high`` to the last grid point ``low + k*step`` and warn when it moved."""
    n = math.floor((high - low) / step + 1e-9)
    new_high = low + n * step
    if isinstance(low, int) and isinstance(step, int):
        new_high = int(new_high)
    if math.isclose(new_high, high, rel_tol=1e-9, abs_tol=1e-9 * abs(step)):
        return high
    if new_high > high:  # float noise past the bound
        return high
    warnings.warn(
        f"{what}: the range high - low = {high - low} is not divisible by step={step}; "
        f"high is adjusted from {high} to {new_high}.",
        UserWarning,
        stacklevel=4,
    )
    return new_high


class FloatDistribution(BaseDistribution):
    """A float in ``[low, high]``, optionally on a log scale or on a grid of ``step``."""

    def __init__(self, low: float, high: float, log: bool = False, step: float | None = None):
        if not _is_number(low) or not _is_number(high):
            raise TypeError(f"low and high must be numbers, got low={low!r}, high={high!r}.")
        low, high = float(low), float(high)
        if not (math.isfinite(low) and math.isfinite(high)):
            raise ValueError(f"low and high must be finite, got low={low}, high={high}.")
        if log and step is not None:
            raise ValueError(f"log=True cannot be combined with step={step}; use one or the other.")
        if low > high:
            raise ValueError(f"low={low} must be <= high={high}; swap them.")
        if log and low <= 0.0:
            raise ValueError(
                f"log=True needs low > 0, got low={low}; use a positive lower bound or log=False."
            )
        if step is not None:
            if not _is_number(step) or step <= 0:
                raise ValueError(f"step must be a positive number, got step={step!r}.")
            step = float(step)
            high = _adjust_high(low, high, step, "FloatDistribution")
        self.low = low
        self.high = high
        self.log = bool(log)
        self.step = step

    def to_internal(self, value: Any) -> float:
        if not _is_number(value):
            raise TypeError(f"value {value!r} is not a number.")
        return float(value)

    def to_external(self, internal: float) -> float:
        return float(internal)

    def contains(self, internal: float) -> bool:
        v = float(internal)
        if not (self.low <= v <= self.high):
            return False
        if self.step is not None:
            k = (v - self.low) / self.step
            # Float rounding of v and low, measured in steps, plus a small absolute slack.
            tol = 1e-6 + 8 * np.finfo(float).eps * max(abs(v), abs(self.low)) / self.step
            return abs(k - round(k)) < tol
        return True

    def single(self) -> bool:
        if self.low == self.high:
            return True
        return self.step is not None and (self.high - self.low) < self.step

    def describe_range(self) -> str:
        extra = ", log scale" if self.log else (f", step {self.step}" if self.step else "")
        return f"[{self.low}, {self.high}]{extra}"


class IntDistribution(BaseDistribution):
    """An integer in ``[low, high]`` with ``step`` (default 1), optionally on a log scale."""

    def __init__(self, low: int, high: int, log: bool = False, step: int = 1):
        for name, v in (("low", low), ("high", high), ("step", step)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                if isinstance(v, (float, np.floating)) and float(v).is_integer():
                    continue
                raise TypeError(f"{name} must be an integer, got {name}={v!r}.")
        low, high, step = int(low), int(high), int(step)
        if log and step != 1:
            raise ValueError(
                f"log=True cannot be combined with step={step}; use step=1 with log=True."
            )
        if step <= 0:
            raise ValueError(f"step must be a positive integer, got step={step}.")
        if low > high:
            raise ValueError(f"low={low} must be <= high={high}; swap them.")
        if log and low < 1:
            raise ValueError(
                f"log=True needs low >= 1, got low={low}; use a positive lower bound or log=False."
            )
        high = int(_adjust_high(low, high, step, "IntDistribution"))
        self.low = low
        self.high = high
        self.log = bool(log)
        self.step = step

    def to_internal(self, value: Any) -> float:
        if not _is_number(value):
            raise TypeError(f"value {value!r} is not a number.")
        return float(value)

    def to_external(self, internal: float) -> int:
        return int(round(float(internal)))

    def contains(self, internal: float) -> bool:
        v = float(internal)
        if not (self.low <= v <= self.high):
            return False
        return abs((v - self.low) / self.step - round((v - self.low) / self.step)) < 1e-9

    def single(self) -> bool:
        return self.low == self.high or (self.high - self.low) < self.step

    def describe_range(self) -> str:
        extra = ", log scale" if self.log else (f", step {self.step}" if self.step != 1 else "")
        return f"[{self.low}, {self.high}]{extra}"


def _choice_key(c: Any) -> tuple[str, Any]:
    # bool is an int in Python, and 1 == 1.0 == True; keep them distinct choices.
    return (type(c).__name__, c)


class CategoricalDistribution(BaseDistribution):
    """One of a finite list of JSON-serialisable choices (str, int, float, bool, None)."""

    def __init__(self, choices: Sequence[CategoricalChoiceType]):
        if isinstance(choices, (str, bytes)) or not isinstance(choices, Sequence):
            if isinstance(choices, (set, frozenset)) or not hasattr(choices, "__iter__"):
                raise TypeError(
                    f"choices must be a list or tuple, got {type(choices).__name__}; "
                    "sets have no stable order."
                )
        choices = tuple(choices)
        if len(choices) == 0:
            raise ValueError("choices must not be empty; give at least one choice.")
        seen: set[tuple[str, Any]] = set()
        norm: list[Any] = []
        for c in choices:
            if isinstance(c, np.generic):
                c = c.item()
            if c is not None and not isinstance(c, (bool, int, float, str)):
                raise TypeError(
                    f"choice {c!r} of type {type(c).__name__} is not JSON-serialisable; "
                    "use str, int, float, bool or None (encode other objects by name)."
                )
            if isinstance(c, float) and math.isnan(c):
                raise ValueError("NaN is not a valid choice.")
            key = _choice_key(c)
            if key in seen:
                raise ValueError(f"duplicate choice {c!r} in choices={list(choices)!r}.")
            seen.add(key)
            norm.append(c)
        self.choices = tuple(norm)

    def _asdict(self) -> dict[str, Any]:
        return {"choices": list(self.choices)}

    def index_of(self, value: Any) -> int:
        if isinstance(value, np.generic):
            value = value.item()
        key = _choice_key(value)
        for i, c in enumerate(self.choices):
            if _choice_key(c) == key:
                return i
        # Accept an int for a float choice and similar harmless numeric mismatches.
        for i, c in enumerate(self.choices):
            if _is_number(c) and _is_number(value) and c == value:
                return i
        raise ValueError(f"value {value!r} is not one of the choices {list(self.choices)!r}.")

    def to_internal(self, value: Any) -> float:
        return float(self.index_of(value))

    def to_external(self, internal: float) -> CategoricalChoiceType:
        return self.choices[int(internal)]

    def contains(self, internal: float) -> bool:
        i = float(internal)
        return i.is_integer() and 0 <= int(i) < len(self.choices)

    def single(self) -> bool:
        return len(self.choices) == 1

    def describe_range(self) -> str:
        return f"one of {list(self.choices)!r}"


_CLASSES = {
    "FloatDistribution": FloatDistribution,
    "IntDistribution": IntDistribution,
    "CategoricalDistribution": CategoricalDistribution,
}


def distribution_to_json(dist: BaseDistribution) -> str:
    """Serialise a distribution to a JSON string (used by the storages)."""
    return json.dumps({"name": type(dist).__name__, "attributes": dist._asdict()})


def json_to_distribution(json_str: str) -> BaseDistribution:
    """Inverse of :func:`distribution_to_json`."""
    s = json_str
    d = json.loads(s)
    cls = _CLASSES.get(d.get("name")) or _OLD_NAMES.get(d.get("name"))
    if cls is None:
        raise ValueError(f"unknown distribution {d.get('name')!r} in {s!r}.")
    attrs = d["attributes"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**attrs)


def check_distribution_compatibility(
    dist_old: BaseDistribution, dist_new: BaseDistribution, name: str = "?"
) -> None:
    """Raise when a parameter name is reused with an incompatible kind of distribution.

    Different ranges of the same kind are fine across trials (dynamic search spaces);
    a categorical parameter must keep its choices.
    """
    old, new = dist_old, dist_new
    if type(old) is not type(new):
        raise ValueError(
            f"parameter {name!r} was defined as {old!r} and is now {new!r}; a name must keep "
            "its kind of distribution. Rename one of them."
        )
    if isinstance(old, CategoricalDistribution) and old.choices != new.choices:  # type: ignore[attr-defined]
        raise ValueError(
            f"parameter {name!r}: categorical choices changed from {list(old.choices)!r} to "
            f"{list(new.choices)!r}; choices must stay the same across trials. Rename it."
        )


# --- Optuna's deprecated names (2.x) -----------------------------------------------------
# Each builds the equivalent modern distribution (with a FutureWarning, as Optuna warns):
# ``UniformDistribution(0, 1)`` *is* ``FloatDistribution(0, 1)``, so it compares equal to
# it, is stored as it and is modelled the same. (Optuna keeps them as subclasses; here
# ``isinstance(d, UniformDistribution)`` is False: test for ``FloatDistribution``.)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(
        f"{old} is deprecated (as in Optuna); use {new} instead.", FutureWarning, stacklevel=3
    )


class UniformDistribution:
    """Deprecated: ``FloatDistribution(low, high)``."""

    def __new__(cls, low: float, high: float) -> FloatDistribution:  # type: ignore[misc]
        _deprecated("UniformDistribution", "FloatDistribution(low, high)")
        return FloatDistribution(low, high)


class LogUniformDistribution:
    """Deprecated: ``FloatDistribution(low, high, log=True)``."""

    def __new__(cls, low: float, high: float) -> FloatDistribution:  # type: ignore[misc]
        _deprecated("LogUniformDistribution", "FloatDistribution(low, high, log=True)")
        return FloatDistribution(low, high, log=True)


class DiscreteUniformDistribution:
    """Deprecated: ``FloatDistribution(low, high, step=q)``."""

    def __new__(cls, low: float, high: float, q: float) -> FloatDistribution:  # type: ignore[misc]
        _deprecated("DiscreteUniformDistribution", "FloatDistribution(low, high, step=q)")
        return FloatDistribution(low, high, step=q)


class IntUniformDistribution:
    """Deprecated: ``IntDistribution(low, high, step=step)``."""

    def __new__(cls, low: int, high: int, step: int = 1) -> IntDistribution:  # type: ignore[misc]
        _deprecated("IntUniformDistribution", "IntDistribution(low, high, step=step)")
        return IntDistribution(low, high, step=step)


class IntLogUniformDistribution:
    """Deprecated: ``IntDistribution(low, high, log=True)`` (``step`` must be 1)."""

    def __new__(cls, low: int, high: int, step: int = 1) -> IntDistribution:  # type: ignore[misc]
        _deprecated("IntLogUniformDistribution", "IntDistribution(low, high, log=True)")
        if step != 1:
            raise ValueError(f"IntLogUniformDistribution: step must be 1 with log, got {step}.")
        return IntDistribution(low, high, log=True)


def _from_old(name: str, **attrs: Any) -> BaseDistribution:
    if name == "UniformDistribution":
        return FloatDistribution(attrs["low"], attrs["high"])
    if name == "LogUniformDistribution":
        return FloatDistribution(attrs["low"], attrs["high"], log=True)
    if name == "DiscreteUniformDistribution":
        return FloatDistribution(attrs["low"], attrs["high"], step=attrs["q"])
    if name == "IntUniformDistribution":
        return IntDistribution(attrs["low"], attrs["high"], step=attrs.get("step", 1))
    return IntDistribution(attrs["low"], attrs["high"], log=True)


# JSON written by Optuna 2.x (the old names) reads as the modern distributions.
_OLD_NAMES: dict[str, Any] = {
    n: functools.partial(_from_old, n)
    for n in (
        "UniformDistribution",
        "LogUniformDistribution",
        "DiscreteUniformDistribution",
        "IntUniformDistribution",
        "IntLogUniformDistribution",
    )
}

#: The distribution classes (Optuna's tuple; the deprecated names construct these).
DISTRIBUTION_CLASSES = (IntDistribution, FloatDistribution, CategoricalDistribution)
