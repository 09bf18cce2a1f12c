"""Search spaces: the union space of a study, the unit-cube encoding that models use, and
declarative (dict / YAML) spaces with conditions and priors.

Encoding (:class:`SpaceEncoder`)
    Numeric parameters go to ``[0, 1]``: log parameters on the log scale, integers and
    stepped floats with half a step of padding on each side, so that every grid value owns
    a cell of equal width and ``decode`` is exact (``floor`` into a cell, never a blind
    round of an unpadded value). Categorical parameters keep their choice index. A
    parameter that a trial did not use (a conditional one) is *inactive*: its column is
    masked out, not imputed.

Declarative spaces (:class:`Space`)
    ``{"lr": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
       "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
       "momentum": {"type": "float", "low": 0, "high": 0.99, "when": {"optimizer": "sgd"}}}``
    ``space.suggest(trial)`` calls ``trial.suggest_*`` in dependency order and returns the
    active parameters, so a declared space runs in define-by-run code unchanged.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from slimtune.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

if TYPE_CHECKING:
    from slimtune.trial import FrozenTrial

__all__ = ["SpaceEncoder", "union_search_space", "intersection_search_space", "Space", "Prior"]


# --------------------------------------------------------------------------------------
# Union space of a study
# --------------------------------------------------------------------------------------


def union_search_space(trials: Iterable[FrozenTrial]) -> dict[str, BaseDistribution]:
    """All parameters seen in ``trials`` (conditional ones included), sorted by name.

    When a parameter's range changed across trials (a dynamic space), the latest trial's
    distribution wins; the kind of distribution cannot change (the trial enforces that).
    """
    space: dict[str, BaseDistribution] = {}
    for t in trials:
        for name, dist in t.distributions.items():
            space[name] = dist
    return dict(sorted(space.items()))


def intersection_search_space(trials: Iterable[FrozenTrial]) -> dict[str, BaseDistribution]:
    """Parameters present, with the same distribution, in every one of ``trials``."""
    space: dict[str, BaseDistribution] | None = None
    for t in trials:
        if space is None:
            space = dict(t.distributions)
            continue
        space = {k: v for k, v in space.items() if t.distributions.get(k) == v}
    return dict(sorted((space or {}).items()))


# --------------------------------------------------------------------------------------
# Encoding for models
# --------------------------------------------------------------------------------------


class SpaceEncoder:
    """Vectorised map between internal parameter values and model coordinates.

    ``encode`` turns a list of trials' internal params into ``X`` (n, d) and an ``active``
    mask (n, d); numeric columns of ``X`` lie in ``[0, 1]``, categorical columns hold the
    choice index. ``decode`` maps rows back to internal values on the exact grid.
    """

    def __init__(self, space: Mapping[str, BaseDistribution]):
        self.space = dict(space)
        self.names: list[str] = list(self.space)
        d = len(self.names)
        self.is_categorical = np.zeros(d, dtype=bool)
        self.n_choices = np.zeros(d, dtype=np.int64)  # 0 for numeric
        self.is_log = np.zeros(d, dtype=bool)
        self.is_discrete = np.zeros(d, dtype=bool)  # int or stepped float
        self.low = np.zeros(d)  # internal bounds (after log) with padding
        self.high = np.ones(d)
        self.step = np.zeros(d)  # grid step in the original scale (0 = continuous)
        self.grid_low = np.zeros(d)
        self.grid_high = np.zeros(d)
        for j, name in enumerate(self.names):
            dist = self.space[name]
            if isinstance(dist, CategoricalDistribution):
                self.is_categorical[j] = True
                self.n_choices[j] = len(dist.choices)
                continue
            assert isinstance(dist, (FloatDistribution, IntDistribution))
            self.is_log[j] = dist.log
            self.grid_low[j] = dist.low
            self.grid_high[j] = dist.high
            discrete = isinstance(dist, IntDistribution) or dist.step is not None
            self.is_discrete[j] = discrete
            step = float(dist.step) if discrete and dist.step is not None else 0.0
            self.step[j] = step
            if dist.log:
                pad = 0.5 if discrete else 0.0
                lo, hi = math.log(dist.low - pad), math.log(dist.high + pad)
            else:
                pad = 0.5 * step if discrete else 0.0
                lo, hi = dist.low - pad, dist.high + pad
            self.low[j], self.high[j] = lo, hi
        self.numeric = ~self.is_categorical
        self.numeric_idx = np.flatnonzero(self.numeric)
        self.categorical_idx = np.flatnonzero(self.is_categorical)

    @property
    def dim(self) -> int:
        return len(self.names)

    def to_unit(self, V: np.ndarray) -> np.ndarray:
        """Internal values (n, d) -> model coordinates (numeric columns in [0, 1])."""
        V = np.asarray(V, dtype=float)
        U = V.copy()
        num = self.numeric
        if num.any():
            x = V[:, num]
            logc = self.is_log[num]
            with np.errstate(divide="ignore", invalid="ignore"):
                x = np.where(logc, np.log(np.where(logc, x, 1.0)), x)
            span = self.high[num] - self.low[num]
            safe = np.where(span > 0, span, 1.0)
            u = np.where(span > 0, (x - self.low[num]) / safe, 0.5)
            U[:, num] = np.clip(u, 0.0, 1.0)
        return U

    def from_unit(self, U: np.ndarray) -> np.ndarray:
        """Model coordinates (n, d) -> internal values on the exact grid (n, d)."""
        U = np.asarray(U, dtype=float)
        V = U.copy()
        num = self.numeric
        if num.any():
            u = np.clip(U[:, num], 0.0, 1.0)
            x = self.low[num] + u * (self.high[num] - self.low[num])
            logc = self.is_log[num]
            x = np.where(logc, np.exp(np.where(logc, x, 0.0)), x)
            disc = self.is_discrete[num]
            glo, ghi = self.grid_low[num], self.grid_high[num]
            step = np.where(disc, self.step[num], 1.0)
            # Discrete: snap to the grid point whose cell contains x (exact, padded cells).
            k = np.round((x - glo) / step)
            snapped = glo + k * step
            x = np.where(disc, snapped, x)
            x = np.clip(x, glo, ghi)
            V[:, num] = x
        cat = self.is_categorical
        if cat.any():
            V[:, cat] = np.clip(np.round(U[:, cat]), 0, self.n_choices[cat] - 1)
        return V

    def encode(self, params: Sequence[Mapping[str, float]]) -> tuple[np.ndarray, np.ndarray]:
        """Internal params of several trials -> (X, active). Missing names are inactive."""
        n, d = len(params), self.dim
        V = np.zeros((n, d))
        active = np.zeros((n, d), dtype=bool)
        for i, p in enumerate(params):
            for j, name in enumerate(self.names):
                v = p.get(name)
                if v is not None:
                    V[i, j] = v
                    active[i, j] = True
        X = self.to_unit(V)
        # Inactive entries carry a neutral value, never used by a model that honours the mask.
        X[~active] = 0.0
        return X, active

    def decode(self, x: np.ndarray) -> dict[str, float]:
        """One row of model coordinates -> {name: internal value}."""
        v = self.from_unit(np.asarray(x, dtype=float)[None, :])[0]
        return {name: float(v[j]) for j, name in enumerate(self.names)}

    def decode_external(self, x: np.ndarray) -> dict[str, Any]:
        internal = self.decode(x)
        return {n: self.space[n].to_external(v) for n, v in internal.items()}


# --------------------------------------------------------------------------------------
# Priors
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prior:
    """A user's belief about a parameter, used by model-based samplers (piBO-style).

    Numbers: ``center`` (in the parameter's own units) and ``width`` as a fraction of the
    (log-)range, a Gaussian in the unit coordinates. Categoricals: ``weights``, one per
    choice. ``strength`` scales how many pseudo-observations the belief is worth; it fades
    as real observations arrive.
    """

    center: float | None = None
    width: float = 0.2
    weights: tuple[float, ...] | None = None
    strength: float = 1.0

    def __post_init__(self) -> None:
        if self.weights is None and self.center is None:
            raise ValueError("a prior needs `center` (numbers) or `weights` (categoricals).")
        if self.width <= 0:
            raise ValueError(f"prior width must be > 0, got width={self.width}.")
        if self.weights is not None:
            w = np.asarray(self.weights, dtype=float)
            if (w < 0).any() or not np.isfinite(w).all() or w.sum() <= 0:
                raise ValueError(f"prior weights must be >= 0 and sum > 0, got {self.weights}.")

    @classmethod
    def from_obj(cls, obj: Any, name: str = "?") -> Prior:
        if isinstance(obj, Prior):
            return obj
        if isinstance(obj, Mapping):
            allowed = {"center", "width", "weights", "strength"}
            unknown = set(obj) - allowed
            if unknown:
                raise ValueError(
                    f"prior of {name!r}: unknown key(s) {sorted(unknown)}; allowed: "
                    f"{sorted(allowed)}."
                )
            kw = {
                k: (_yaml_number(v) if k in ("center", "width", "strength") else v)
                for k, v in obj.items()
            }
            if "weights" in kw and kw["weights"] is not None:
                kw["weights"] = tuple(float(w) for w in kw["weights"])
            return cls(**kw)
        raise TypeError(f"prior of {name!r} must be a mapping or Prior, got {obj!r}.")

    def check(self, dist: BaseDistribution, name: str) -> None:
        if isinstance(dist, CategoricalDistribution):
            if self.weights is None or len(self.weights) != len(dist.choices):
                raise ValueError(
                    f"prior of {name!r}: give `weights` with one entry per choice "
                    f"({len(dist.choices)})."
                )
        else:
            if self.center is None:
                raise ValueError(f"prior of {name!r}: numeric parameters need `center`.")
            lo, hi = dist.low, dist.high  # type: ignore[attr-defined]
            if not (lo <= self.center <= hi):
                raise ValueError(
                    f"prior of {name!r}: center={self.center} is outside [{lo}, {hi}]."
                )


# --------------------------------------------------------------------------------------
# Declarative spaces
# --------------------------------------------------------------------------------------

_TYPE_ALIASES = {
    "float": "float",
    "uniform": "float",
    "loguniform": "float",
    "int": "int",
    "integer": "int",
    "categorical": "categorical",
    "choice": "categorical",
}
_KEYS = {
    "float": {"type", "low", "high", "log", "step", "when", "prior", "default"},
    "int": {"type", "low", "high", "log", "step", "when", "prior", "default"},
    "categorical": {"type", "choices", "when", "prior", "default"},
}


class SpaceError(ValueError):
    """A declarative space is malformed; the message names the key (and line if known)."""


@dataclass
class ParamSpec:
    name: str
    distribution: BaseDistribution
    when: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    prior: Prior | None = None
    default: Any = None


def _where(name: str, lines: Mapping[str, int] | None) -> str:
    if lines and name in lines:
        return f" (line {lines[name]})"
    return ""


class Space:
    """A declared search space with conditions (``when``) and optional priors.

    Build it from a dict (``Space.from_dict``), YAML text or file (``Space.from_yaml``), or
    from :class:`ParamSpec` objects. ``suggest(trial)`` samples it through a trial.
    """

    def __init__(self, params: Sequence[ParamSpec]):
        self.params: dict[str, ParamSpec] = {}
        for p in params:
            if p.name in self.params:
                raise SpaceError(f"parameter {p.name!r} is declared twice.")
            self.params[p.name] = p
        self._order = self._topological_order()

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_dict(cls, spec: Mapping[str, Any], _lines: Mapping[str, int] | None = None) -> Space:
        if not isinstance(spec, Mapping):
            raise SpaceError(
                f"a space must be a mapping of name -> spec, got {type(spec).__name__}."
            )
        params = []
        for name, entry in spec.items():
            params.append(cls._parse_entry(str(name), entry, _lines))
        space = cls(params)
        for p in space.params.values():
            for cond_name, values in p.when.items():
                if cond_name not in space.params:
                    raise SpaceError(
                        f"parameter {p.name!r}{_where(p.name, _lines)}: `when` refers to "
                        f"unknown parameter {cond_name!r}."
                    )
                cd = space.params[cond_name].distribution
                if isinstance(cd, CategoricalDistribution):
                    for v in values:
                        try:
                            cd.index_of(v)
                        except ValueError:
                            raise SpaceError(
                                f"parameter {p.name!r}{_where(p.name, _lines)}: `when` value "
                                f"{v!r} is not a choice of {cond_name!r} "
                                f"{list(cd.choices)!r}."
                            ) from None
        return space

    @staticmethod
    def _parse_entry(name: str, entry: Any, lines: Mapping[str, int] | None) -> ParamSpec:
        at = _where(name, lines)
        if isinstance(entry, list):  # shorthand: a list is a categorical
            entry = {"type": "categorical", "choices": entry}
        if not isinstance(entry, Mapping):
            raise SpaceError(
                f"parameter {name!r}{at}: expected a mapping with `type`, got {entry!r}."
            )
        typ_raw = entry.get("type")
        if typ_raw is None:
            typ_raw = "categorical" if "choices" in entry else None
        if typ_raw is None:
            raise SpaceError(
                f"parameter {name!r}{at}: missing `type`; use one of float, int, categorical."
            )
        typ = _TYPE_ALIASES.get(str(typ_raw).lower())
        if typ is None:
            raise SpaceError(
                f"parameter {name!r}{at}: unknown type {typ_raw!r}; use float, int or categorical."
            )
        unknown = set(entry) - _KEYS[typ]
        if unknown:
            raise SpaceError(
                f"parameter {name!r}{at}: unknown key(s) {sorted(unknown)}; allowed for "
                f"{typ}: {sorted(_KEYS[typ])}."
            )
        entry = {
            k: (_yaml_number(v) if k in ("low", "high", "step") else v) for k, v in entry.items()
        }
        try:
            if typ == "categorical":
                if "choices" not in entry:
                    raise SpaceError(f"parameter {name!r}{at}: categorical needs `choices`.")
                dist: BaseDistribution = CategoricalDistribution(entry["choices"])
            else:
                for k in ("low", "high"):
                    if k not in entry:
                        raise SpaceError(f"parameter {name!r}{at}: {typ} needs `{k}`.")
                log = bool(entry.get("log", str(typ_raw).lower() == "loguniform"))
                if typ == "float":
                    dist = FloatDistribution(
                        entry["low"], entry["high"], log=log, step=entry.get("step")
                    )
                else:
                    dist = IntDistribution(
                        entry["low"], entry["high"], log=log, step=entry.get("step", 1)
                    )
        except SpaceError:
            raise
        except (ValueError, TypeError) as e:
            raise SpaceError(f"parameter {name!r}{at}: {e}") from None
        when_raw = entry.get("when") or {}
        if not isinstance(when_raw, Mapping):
            raise SpaceError(
                f"parameter {name!r}{at}: `when` must be a mapping like {{optimizer: sgd}}."
            )
        when = {
            str(k): tuple(v) if isinstance(v, (list, tuple)) else (v,) for k, v in when_raw.items()
        }
        prior = None
        if entry.get("prior") is not None:
            try:
                prior = Prior.from_obj(entry["prior"], name)
                prior.check(dist, name)
            except (ValueError, TypeError) as e:
                raise SpaceError(f"parameter {name!r}{at}: {e}") from None
        return ParamSpec(name, dist, when, prior, entry.get("default"))

    @classmethod
    def from_yaml(cls, source: str | Path) -> Space:
        """Parse YAML text, or a path to a YAML file, into a space."""
        text = Path(source).read_text() if _looks_like_path(source) else str(source)
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            raise SpaceError(f"invalid YAML{where}: {getattr(e, 'problem', e)}") from None
        lines: dict[str, int] = {}
        if isinstance(node, yaml.MappingNode):
            for k, _ in node.value:
                lines[str(k.value)] = k.start_mark.line + 1
        if isinstance(data, Mapping) and "space" in data and len(data) == 1:
            data = data["space"]
            if isinstance(node, yaml.MappingNode):
                inner = node.value[0][1]
                if isinstance(inner, yaml.MappingNode):
                    lines = {str(k.value): k.start_mark.line + 1 for k, _ in inner.value}
        if data is None:
            raise SpaceError("the YAML space is empty.")
        return cls.from_dict(data, lines)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in self.params.values():
            d = p.distribution
            if isinstance(d, CategoricalDistribution):
                e: dict[str, Any] = {"type": "categorical", "choices": list(d.choices)}
            elif isinstance(d, FloatDistribution):
                e = {"type": "float", "low": d.low, "high": d.high}
                if d.log:
                    e["log"] = True
                if d.step is not None:
                    e["step"] = d.step
            else:
                assert isinstance(d, IntDistribution)
                e = {"type": "int", "low": d.low, "high": d.high}
                if d.log:
                    e["log"] = True
                if d.step != 1:
                    e["step"] = d.step
            if p.when:
                e["when"] = {k: (list(v) if len(v) > 1 else v[0]) for k, v in p.when.items()}
            if p.prior is not None:
                pr: dict[str, Any] = {}
                if p.prior.center is not None:
                    pr["center"] = p.prior.center
                    pr["width"] = p.prior.width
                if p.prior.weights is not None:
                    pr["weights"] = list(p.prior.weights)
                if p.prior.strength != 1.0:
                    pr["strength"] = p.prior.strength
                e["prior"] = pr
            if p.default is not None:
                e["default"] = p.default
            out[p.name] = e
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    # --- use --------------------------------------------------------------------------
    @property
    def distributions(self) -> dict[str, BaseDistribution]:
        return {n: p.distribution for n, p in self.params.items()}

    @property
    def priors(self) -> dict[str, Prior]:
        return {n: p.prior for n, p in self.params.items() if p.prior is not None}

    def is_active(self, name: str, values: Mapping[str, Any]) -> bool:
        p = self.params[name]
        for cond, allowed in p.when.items():
            if cond not in values:
                return False
            v = values[cond]
            if not any(_same_choice(v, a) for a in allowed):
                return False
        return True

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Sample the active parameters through ``trial.suggest_*``; return them."""
        values: dict[str, Any] = {}
        for name in self._order:
            if not self.is_active(name, values):
                continue
            d = self.params[name].distribution
            if isinstance(d, CategoricalDistribution):
                values[name] = trial.suggest_categorical(name, list(d.choices))
            elif isinstance(d, IntDistribution):
                values[name] = trial.suggest_int(name, d.low, d.high, step=d.step, log=d.log)
            else:
                assert isinstance(d, FloatDistribution)
                values[name] = trial.suggest_float(name, d.low, d.high, step=d.step, log=d.log)
        return values

    def active_params(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Filter ``values`` down to the parameters active under their own conditions."""
        out: dict[str, Any] = {}
        for name in self._order:
            if name in values and self.is_active(name, out):
                out[name] = values[name]
        return out

    def validate(self, values: Mapping[str, Any]) -> None:
        """Raise when ``values`` miss an active parameter or hold an invalid value."""
        got: dict[str, Any] = {}
        for name in self._order:
            if not self.is_active(name, got):
                continue
            if name not in values:
                raise ValueError(f"parameter {name!r} is active but has no value.")
            d = self.params[name].distribution
            try:
                ok = d.contains(d.to_internal(values[name]))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(
                    f"parameter {name!r}: value {values[name]!r} is outside {d.describe_range()}."  # type: ignore[attr-defined]
                )
            got[name] = values[name]

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(n: str, path: tuple[str, ...]) -> None:
            s = state.get(n, 0)
            if s == 2:
                return
            if s == 1:
                raise SpaceError(f"conditions form a cycle: {' -> '.join((*path, n))}.")
            state[n] = 1
            for dep in self.params[n].when:
                if dep in self.params:
                    visit(dep, (*path, n))
            state[n] = 2
            order.append(n)

        for n in self.params:
            visit(n, ())
        return order

    def __len__(self) -> int:
        return len(self.params)

    def __repr__(self) -> str:
        return f"Space({list(self.params)})"


def _yaml_number(v: Any) -> Any:
    """PyYAML reads ``1e-5`` (no dot) as a string; accept it as the number it means."""
    if isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return v
        return int(f) if f.is_integer() and "." not in v and "e" not in v.lower() else f
    return v


def _same_choice(a: Any, b: Any) -> bool:
    return (
        type(a) is type(b)
        and a == b
        or (
            isinstance(a, (int, float))
            and isinstance(b, (int, float))
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and a == b
        )
    )


def _looks_like_path(source: str | Path) -> bool:
    if isinstance(source, Path):
        return True
    s = str(source)
    if "\n" in s or ":" in s and not s.endswith((".yaml", ".yml")):
        return False
    with warnings.catch_warnings():
        return s.endswith((".yaml", ".yml")) or Path(s).is_file()
