"""The search config: a YAML file or a mapping parsed once into typed sections.

Every default is resolved here, in one place, so that the objective, the retraining, the
export and the outputs read the same numbers (e.g. the epochs of a search trial are
``fidelity.epochs``, else ``train.epochs``, else :data:`DEFAULT_EPOCHS`; the retraining
epochs are ``retrain.epochs``, else those of a search trial).

Sections (all but ``model`` optional; errors name the key and what is allowed)::

    study:      {name, storage, n_trials, timeout, seed, n_jobs, initial_design}
    data:       digits | {name: digits|mnist1d|folder|npz, val_fraction, seed, ...}
    objectives: [accuracy, macs]       # accuracy|f1 (maximised) vs macs|params|latency
    constraints: {max_macs, max_params, max_latency_ms}   # checked BEFORE training
    latency:    {method: table|measure, threads, batch, device, repeats, calibrate, ...}
    sampler:    {name: TPESampler, <kwargs>}   # any slimtune.samplers class, by name
    pruner:     {name: HyperbandPruner, <kwargs>}          # any slimtune.pruners class
    model:      the architecture space (see slimtune.nas.space)
    train:      the training hyperparameters (searchable) and fixed settings
    fidelity:   {epochs, subset, resolution}   # budgets of a search trial
    pick:       {rule: budget|mnasnet|smallest_above, ...}
    retrain:    {top_k: 3, epochs: 30, subset} # retrain the top k at full budget, re-rank
    output:     {dir, plot, export: [torchscript, onnx], save_trial_weights}
    proxy:      {name: naswot, keep: 0.5, warmup: 20, neighbors: 20, batch_size: 64}
                # a zero-cost proxy rung before epoch 1 (slimtune.nas.proxies); off if absent

This module reads no data; importing it imports no torch (parsing checks ``pick.rule``
against :data:`slimtune.nas.selection.PICK_RULES`, which does).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CONSTRAINTS",
    "COSTS",
    "DEFAULT_EPOCHS",
    "DEFAULT_N_TRIALS",
    "SCORES",
    "ConfigError",
    "PICK_RULES",
    "PickRule",
    "register_pick_rule",
    "FidelitySection",
    "LATENCY_CORRECTIONS",
    "LATENCY_METHODS",
    "LatencySection",
    "OutputSection",
    "PickSection",
    "PROXY_NAMES",
    "ProxySection",
    "RetrainSection",
    "SearchConfig",
    "StudySection",
    "RESUME_SECTIONS",
    "as_config",
    "config_changes",
    "load_config",
]

PickRule = Callable[..., int]
"""``rule(candidates, **options) -> index`` of the chosen candidate."""
PICK_RULES: dict[str, PickRule] = {}
"""Pick rules by name (``pick.rule``); :mod:`slimtune.nas.selection` registers the built-ins."""


def register_pick_rule(name: str) -> Callable[[PickRule], PickRule]:
    """Register ``rule(candidates, **options) -> index`` under ``name`` (for ``pick.rule``)."""

    def deco(fn: PickRule) -> PickRule:
        PICK_RULES[name] = fn
        return fn

    return deco


DEFAULT_EPOCHS = 10
"""Epochs of a search trial when neither ``fidelity.epochs`` nor ``train.epochs`` is given."""
DEFAULT_N_TRIALS = 20
"""Trials of a search when neither ``study.n_trials`` nor ``study.timeout`` is given."""
DEFAULT_EXPORT = ("torchscript", "onnx")

SECTIONS = frozenset(
    {
        "study",
        "data",
        "objectives",
        "constraints",
        "sampler",
        "pruner",
        "model",
        "train",
        "fidelity",
        "pick",
        "retrain",
        "output",
        "proxy",
        "latency",
    }
)
SCORES = ("accuracy", "f1")
"""Scores (maximised), the first objective."""
COSTS = ("macs", "params", "latency")
"""Costs (minimised), the optional second objective."""
CONSTRAINTS = {"max_macs": "macs", "max_params": "params", "max_latency_ms": "latency_ms"}
"""Constraint key -> the trial record field it bounds."""


PROXY_NAMES = ("synflow", "naswot", "grad_norm", "snip", "jacob_cov")
"""The zero-cost proxies ``proxy.name`` may name (:data:`slimtune.nas.proxies.PROXIES`)."""


class ConfigError(ValueError):
    """A search config is invalid; the message names the key and what is allowed."""


RESUME_SECTIONS = ("objectives", "constraints", "data", "model", "train", "fidelity")
"""The sections a resumed study must share with the config that started it: what the
stored scores mean (objectives, data, training fidelity), which models were allowed
(constraints) and the search space (model, train). The others (``study.n_trials``,
``timeout``, ``n_jobs``, ``seed``, ``sampler``, ``pruner``, ``pick``, ``retrain``,
``output``, ``proxy``) may change between runs of one study; so may ``train.threads``
(``proxy``, like the pruner, decides which trials train, not what a score means; the rung
compares a trial only with trials scored by the same proxy)."""


@dataclass
class StudySection:
    """``study``: where the trials go and how many to run."""

    name: str | None = "nas"
    storage: str | None = None
    n_trials: int | None = None
    timeout: float | None = None
    seed: int = 0
    n_jobs: int = 1
    initial_design: str = "cost-spread"  # or "random": the first trials of a new study


INITIAL_DESIGNS = ("cost-spread", "random")
"""``study.initial_design``: the first trials spread over log10 MACs
(:mod:`slimtune.nas.design`; with a cost objective only), or as the sampler draws them."""


@dataclass
class FidelitySection:
    """``fidelity``: the budget of one search trial (resolved: never None but ``resolution``)."""

    epochs: int = DEFAULT_EPOCHS
    subset: float = 1.0
    resolution: int | None = None


LATENCY_METHODS = ("table", "measure")
"""``latency.method``: predict from the per-block table (:mod:`slimtune.nas.latency`) or
measure every model."""
LATENCY_CORRECTIONS = ("offset", "linear", "none")
"""``latency.correction``: how the table's sum of block entries is fitted to whole-model
measurements (see :func:`slimtune.nas.latency.fit_correction`)."""


@dataclass
class LatencySection:
    """``latency``: how a trial gets its latency (when the cost or a constraint needs it).

    ``method`` ``table`` predicts it from this machine's per-block table (the first
    ``calibrate`` models are measured whole to fit the ``correction``), ``measure`` times
    every model; ``threads``, ``batch`` and ``device`` are those of the timed forward pass,
    ``warmup``/``repeats`` those of every measurement; ``cache`` is the table's directory
    (default ``$SLIMTUNE_CACHE/latency`` or ``~/.cache/slimtune/latency``)."""

    method: str = "table"
    threads: int = 1
    batch: int = 1
    device: str = "cpu"
    warmup: int = 10
    repeats: int = 30
    calibrate: int = 5
    correction: str = "linear"
    cache: str | None = None

    def meaning(self) -> dict[str, Any]:
        """The settings that change what a latency value means (for the resume key)."""
        return {"threads": self.threads, "batch": self.batch, "device": self.device}


@dataclass
class RetrainSection:
    """``retrain``: the top ``top_k`` models are retrained at ``epochs`` on ``subset``."""

    top_k: int = 0
    epochs: int = DEFAULT_EPOCHS
    subset: float = 1.0


@dataclass
class PickSection:
    """``pick``: the rule choosing the final model and its options (``max_macs`` ...)."""

    rule: str = "best"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutputSection:
    """``output``: where the files go and which ones are written."""

    dir: str = "nas_out"
    plot: bool = True
    export: tuple[str, ...] = DEFAULT_EXPORT
    save_trial_weights: bool = True


@dataclass
class ProxySection:
    """``proxy``: a rung before the first epoch. After ``warmup`` scored trials, a trial whose
    proxy score is below the ``1 - keep`` quantile of the scores of its ``neighbors`` nearest
    trials in log-MACs is pruned untrained; the score is taken on a fixed training batch of
    ``batch_size`` samples."""

    name: str
    keep: float = 0.5
    warmup: int = 20
    neighbors: int = 20
    batch_size: int = 64


def _section(cfg: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    sec = cfg.get(key) or {}
    if not isinstance(sec, Mapping):
        raise ConfigError(f"`{key}` must be a mapping with keys {sorted(allowed)}, got {sec!r}.")
    bad = set(sec) - allowed
    if bad:
        raise ConfigError(f"`{key}`: unknown key(s) {sorted(bad)}; allowed: {sorted(allowed)}.")
    return dict(sec)


def _named(cfg: Mapping[str, Any], key: str) -> dict[str, Any]:
    v = cfg.get(key)
    if v is None:
        return {}
    if isinstance(v, str):
        return {"name": v}
    if not isinstance(v, Mapping) or "name" not in v:
        raise ConfigError(f"`{key}` must be a class name or {{name: ..., <kwargs>}}, got {v!r}.")
    return dict(v)


def _given(d: Mapping[str, Any], key: str, default: Any) -> Any:
    """``d[key]`` unless missing or None."""
    v = d.get(key)
    return default if v is None else v


def _parse_study(cfg: Mapping[str, Any]) -> StudySection:
    study = _section(
        cfg, "study", {"name", "storage", "n_trials", "timeout", "seed", "n_jobs", "initial_design"}
    )
    for k in ("n_trials", "n_jobs", "seed"):
        if (
            k in study
            and study[k] is not None
            and (not isinstance(study[k], int) or study[k] < (0 if k == "seed" else 1))
        ):
            raise ConfigError(f"`study.{k}` must be a positive int, got {study[k]!r}.")
    if study.get("timeout") is not None and not (
        isinstance(study["timeout"], (int, float)) and study["timeout"] > 0
    ):
        raise ConfigError(f"`study.timeout` must be seconds > 0, got {study['timeout']!r}.")
    design = _given(study, "initial_design", "cost-spread")
    if design not in INITIAL_DESIGNS:
        raise ConfigError(
            f"`study.initial_design`={design!r}: use one of {list(INITIAL_DESIGNS)}."
        )
    return StudySection(
        initial_design=design,
        name=study.get("name", "nas"),
        storage=study.get("storage"),
        n_trials=study.get("n_trials"),
        timeout=study.get("timeout"),
        seed=int(_given(study, "seed", 0)),
        n_jobs=int(_given(study, "n_jobs", 1)),
    )


def _parse_objectives(cfg: Mapping[str, Any]) -> list[str]:
    objectives = cfg.get("objectives", ["accuracy", "macs"])
    if isinstance(objectives, str):
        objectives = [objectives]
    if not isinstance(objectives, list) or not 1 <= len(objectives) <= 2:
        raise ConfigError(
            f"`objectives` must be [score] or [score, cost] with score in {list(SCORES)} "
            f"and cost in {list(COSTS)}, got {objectives!r}."
        )
    if objectives[0] not in SCORES:
        raise ConfigError(
            f"`objectives[0]`={objectives[0]!r}: the score must be one of {list(SCORES)}."
        )
    if len(objectives) == 2 and objectives[1] not in COSTS:
        raise ConfigError(
            f"`objectives[1]`={objectives[1]!r}: the cost must be one of {list(COSTS)}."
        )
    return list(objectives)


def _parse_constraints(cfg: Mapping[str, Any]) -> dict[str, float]:
    constraints = _section(cfg, "constraints", set(CONSTRAINTS))
    for k, v in constraints.items():
        if v is not None and not (isinstance(v, (int, float)) and v > 0):
            raise ConfigError(f"`constraints.{k}` must be a number > 0, got {v!r}.")
    return {k: float(v) for k, v in constraints.items() if v is not None}


def _parse_fidelity(cfg: Mapping[str, Any], train: Mapping[str, Any]) -> FidelitySection:
    fidelity = _section(cfg, "fidelity", {"epochs", "subset", "resolution"})
    for k, lo in (("epochs", 1), ("resolution", 1)):
        v = fidelity.get(k)
        if v is not None and (not isinstance(v, int) or v < lo):
            raise ConfigError(f"`fidelity.{k}` must be an int >= {lo}, got {v!r}.")
    sub = fidelity.get("subset")
    if sub is not None and not (isinstance(sub, (int, float)) and 0 < sub <= 1):
        raise ConfigError(f"`fidelity.subset` must be in (0, 1], got {sub!r}.")
    # a fixed `train.epochs` / `train.subset` is the budget when `fidelity` does not say
    epochs = _given(fidelity, "epochs", _given(train, "epochs", DEFAULT_EPOCHS))
    subset = _given(fidelity, "subset", _given(train, "subset", 1.0))
    res = fidelity.get("resolution")
    return FidelitySection(int(epochs), float(subset), None if res is None else int(res))


def _parse_latency(cfg: Mapping[str, Any]) -> LatencySection:
    keys = {f.name for f in fields(LatencySection)}
    sec = _section(cfg, "latency", keys)
    out = LatencySection()
    method = _given(sec, "method", out.method)
    if method not in LATENCY_METHODS:
        raise ConfigError(f"`latency.method`={method!r}: use one of {list(LATENCY_METHODS)}.")
    ints = {"threads": 1, "batch": 1, "warmup": 0, "repeats": 1, "calibrate": 0}
    for k, lo in ints.items():
        v = sec.get(k)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < lo):
            raise ConfigError(f"`latency.{k}` must be an int >= {lo}, got {v!r}.")
    correction = _given(sec, "correction", out.correction)
    if correction not in LATENCY_CORRECTIONS:
        raise ConfigError(
            f"`latency.correction`={correction!r}: use one of {list(LATENCY_CORRECTIONS)}."
        )
    device = str(_given(sec, "device", out.device))
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"`latency.device`={device!r}: use cpu or cuda[:N].")
    cache = sec.get("cache")
    return LatencySection(
        method=str(method),
        device=device,
        correction=str(correction),
        cache=None if cache is None else str(cache),
        **{k: int(_given(sec, k, getattr(out, k))) for k in ints},
    )


def _parse_pick(cfg: Mapping[str, Any]) -> PickSection:
    pick = _section(cfg, "pick", {"rule", "max_macs", "target_macs", "w", "accuracy", "by"})
    rule = pick.pop("rule", "best")
    if rule not in PICK_RULES:
        # The built-in rules register themselves when nas.selection is imported (it imports
        # this module, so it is loaded by name here, on first use, to keep the layers acyclic).
        importlib.import_module("slimtune.nas.selection")
    if rule not in PICK_RULES:
        raise ConfigError(f"`pick.rule`={rule!r}: use one of {sorted(PICK_RULES)}.")
    return PickSection(rule, pick)


def _parse_proxy(cfg: Mapping[str, Any]) -> ProxySection | None:
    if cfg.get("proxy") is None:
        return None
    raw = cfg["proxy"]
    proxy = {"name": raw} if isinstance(raw, str) else raw
    if not isinstance(proxy, Mapping) or "name" not in proxy:
        raise ConfigError(
            f"`proxy` must be a proxy name or {{name: ..., keep: 0.5, warmup: 20}} with name "
            f"in {list(PROXY_NAMES)}, got {raw!r}."
        )
    proxy = dict(proxy)
    bad = set(proxy) - {"name", "keep", "warmup", "neighbors", "batch_size"}
    if bad:
        raise ConfigError(
            f"`proxy`: unknown key(s) {sorted(bad)}; allowed: "
            "['batch_size', 'keep', 'name', 'neighbors', 'warmup']."
        )
    if proxy["name"] not in PROXY_NAMES:
        raise ConfigError(f"`proxy.name`={proxy['name']!r}: use one of {list(PROXY_NAMES)}.")
    keep = proxy.get("keep", 0.5)
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0 < keep < 1:
        raise ConfigError(
            f"`proxy.keep` must be the fraction of trials kept, in (0, 1), got {keep!r}."
        )
    for k, lo in (("warmup", 1), ("neighbors", 2), ("batch_size", 2)):
        v = proxy.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < lo):
            raise ConfigError(f"`proxy.{k}` must be an int >= {lo}, got {v!r}.")
    return ProxySection(
        name=str(proxy["name"]),
        keep=float(keep),
        warmup=int(_given(proxy, "warmup", 20)),
        neighbors=int(_given(proxy, "neighbors", 20)),
        batch_size=int(_given(proxy, "batch_size", 64)),
    )


def _parse_retrain(cfg: Mapping[str, Any], fidelity: FidelitySection) -> RetrainSection:
    retrain = _section(cfg, "retrain", {"top_k", "epochs", "subset"})
    return RetrainSection(
        top_k=int(_given(retrain, "top_k", 0)),
        epochs=int(_given(retrain, "epochs", fidelity.epochs)),
        subset=float(_given(retrain, "subset", 1.0)),
    )


def _parse_output(cfg: Mapping[str, Any]) -> OutputSection:
    output = _section(cfg, "output", {"dir", "plot", "export", "save_trial_weights"})
    export = output.get("export", DEFAULT_EXPORT)
    return OutputSection(
        dir=str(output.get("dir") or "nas_out"),
        plot=bool(output.get("plot", True)),
        export=tuple(export or ()),  # `export: []` or `export: null`: no export
        save_trial_weights=bool(output.get("save_trial_weights", True)),
    )


# Numbers of the model space and their lowest valid value, by where they appear.
_MODEL_NUMBERS: dict[str, dict[str, tuple[float, bool, str]]] = {
    # key: (lowest, inclusive, what the number is)
    "stem": {"c2": (1, True, "a channel count"), "k": (1, True, "a kernel size"),
             "s": (1, True, "a stride")},
    "stage": {"c2": (1, True, "a channel count"), "k": (1, True, "a kernel size"),
              "s": (1, True, "a stride"), "t": (1, True, "an expansion ratio"),
              "depth": (1, True, "a depth")},
    "head": {"c2": (0, True, "a channel count (0: no head conv)"),
             "hidden": (0, True, "a width (0: none)"), "dropout": (0, True, "a dropout rate")},
    "model": {"channel_divisor": (1, True, "a channel divisor"),
              "width_multiple": (0, False, "a width multiple"),
              "depth_multiple": (0, False, "a depth multiple"),
              "resolution": (1, True, "an input resolution")},
}  # fmt: skip


def _numbers_in(spec: Any) -> list[Any]:
    """The numbers a space entry can take: a fixed value, a choice list, or ``low``/``high``
    of a ``{type: ..., low, high}`` parameter."""
    if isinstance(spec, Mapping):
        return [spec[k] for k in ("low", "high") if k in spec]
    if isinstance(spec, list):
        return list(spec)
    return [spec]


def _check_model_numbers(model: Mapping[str, Any]) -> None:
    """Refuse channel counts, kernel sizes, strides ... that no network can have (e.g.
    ``c2: [8, -16, 24]``), naming the key and the value, before any trial runs."""
    places: list[tuple[str, str, Any]] = [("model", "model", model)]
    for name in ("stem", "head"):
        if isinstance(model.get(name), Mapping):
            places.append((name, f"model.{name}", model[name]))
    stages = model.get("stages")
    if isinstance(stages, list):
        places += [
            ("stage", f"model.stages[{i}]", st) for i, st in enumerate(stages)
            if isinstance(st, Mapping)
        ]  # fmt: skip
    for kind, where, sec in places:
        for key, (low, inclusive, what) in _MODEL_NUMBERS[kind].items():
            if key not in sec:
                continue
            for v in _numbers_in(sec[key]):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    continue  # not a number: the space says what it expects
                if (v < low) if inclusive else (v <= low):
                    bound = f">= {low}" if inclusive else f"> {low}"
                    raise ConfigError(
                        f"`{where}.{key}`: {v!r} is not {what}; use values {bound} "
                        f"(got {sec[key]!r})."
                    )
                if key == "dropout" and v >= 1:
                    raise ConfigError(
                        f"`{where}.dropout`: {v!r} is not a dropout rate; use values in [0, 1)."
                    )


@dataclass
class SearchConfig:
    """A parsed, validated search config (see the module docstring for the sections).

    ``model`` and ``train`` stay mappings (they declare the search space, read by
    :class:`slimtune.nas.space.ArchSpace`); the other sections are typed with their
    defaults resolved; ``raw`` is the config as given (stored with the study)."""

    raw: dict[str, Any]
    study: StudySection
    data: dict[str, Any] | str
    objectives: list[str]
    constraints: dict[str, float]
    sampler: dict[str, Any]
    pruner: dict[str, Any]
    model: dict[str, Any]
    train: dict[str, Any]
    fidelity: FidelitySection
    pick: PickSection
    retrain: RetrainSection
    output: OutputSection
    latency: LatencySection = field(default_factory=LatencySection)
    threads: int = 1
    base_dir: Path = field(default_factory=Path.cwd)
    source: Path | None = None  # the YAML file it was read from (for the resume command)
    proxy: ProxySection | None = None  # the zero-cost proxy rung (None: off)

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any], base_dir: str | Path | None = None) -> SearchConfig:
        """Validate ``cfg`` and resolve every default (raises :class:`ConfigError`)."""
        if not isinstance(cfg, Mapping):
            raise ConfigError(f"a search config must be a mapping, got {type(cfg).__name__}.")
        bad = set(cfg) - SECTIONS
        if bad:
            raise ConfigError(f"unknown section(s) {sorted(bad)}; allowed: {sorted(SECTIONS)}.")
        if "model" not in cfg:
            raise ConfigError("the config needs a `model` section (the architecture space).")
        if isinstance(cfg["model"], Mapping):
            _check_model_numbers(cfg["model"])
        study = _parse_study(cfg)
        objectives = _parse_objectives(cfg)
        constraints = _parse_constraints(cfg)
        sampler = _named(cfg, "sampler")
        pruner = _named(cfg, "pruner")
        train = cfg.get("train") or {}
        if not isinstance(train, Mapping):
            raise ConfigError(f"`train` must be a mapping, got {train!r}.")
        fidelity = _parse_fidelity(cfg, train)
        pick = _parse_pick(cfg)
        retrain = _parse_retrain(cfg, fidelity)
        output = _parse_output(cfg)
        proxy = _parse_proxy(cfg)
        latency = _parse_latency(cfg)
        data = cfg.get("data", "digits")
        if not isinstance(data, (str, Mapping)):
            raise ConfigError(f"`data` must be a name or a mapping, got {data!r}.")
        return cls(
            raw=copy.deepcopy(dict(cfg)),
            study=study,
            data=data if isinstance(data, str) else dict(data),
            objectives=objectives,
            constraints=constraints,
            sampler=sampler,
            pruner=pruner,
            model=dict(cfg["model"]),
            train=dict(train),
            fidelity=fidelity,
            pick=pick,
            retrain=retrain,
            output=output,
            latency=latency,
            threads=int(_given(train, "threads", 1)),
            base_dir=Path(base_dir) if base_dir else Path.cwd(),
            proxy=proxy,
        )

    @property
    def directions(self) -> list[str]:
        """``maximize`` for the score, ``minimize`` for the cost."""
        return ["maximize", "minimize"][: len(self.objectives)]

    @property
    def score(self) -> str:
        """The score objective (``accuracy`` or ``f1``)."""
        return self.objectives[0]

    @property
    def cost(self) -> str | None:
        """The cost objective (``macs``, ``params``, ``latency``), None for a single score."""
        return self.objectives[1] if len(self.objectives) > 1 else None

    @property
    def need_latency(self) -> bool:
        """Whether every trial needs its latency (cost or constraint; measured or
        predicted, see ``latency.method``)."""
        return self.cost == "latency" or "max_latency_ms" in self.constraints

    def resume_key(self) -> dict[str, Any]:
        """The :data:`RESUME_SECTIONS`, canonical (defaults resolved, JSON types), stored
        with the study: a rerun whose key differs would mix incomparable trials. It holds
        ``latency`` (threads, batch, device) too when trials use latency and these are not
        the defaults (what the stored latencies mean); ``latency.method`` may change."""
        data = {"name": self.data} if isinstance(self.data, str) else dict(self.data)
        fid = {
            "epochs": self.fidelity.epochs,
            "subset": self.fidelity.subset,
            "resolution": self.fidelity.resolution,
        }
        train = {k: v for k, v in self.train.items() if k != "threads"}
        key = {
            "objectives": list(self.objectives),
            "constraints": dict(sorted(self.constraints.items())),
            "data": data,
            "model": self.model,
            "train": train,
            "fidelity": fid,
        }
        if self.need_latency and self.latency.meaning() != LatencySection().meaning():
            key["latency"] = self.latency.meaning()
        return _jsonable(key)

    def resolve_path(self, p: str | Path) -> Path:
        """``p`` relative to the config's base directory."""
        p = Path(p)
        return p if p.is_absolute() else self.base_dir / p


def _jsonable(x: Any) -> Any:
    """``x`` with tuples as lists and mapping keys as strings (what a JSON store returns),
    so that a stored key and a fresh one compare equal."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def config_changes(old: Any, new: Any, prefix: str = "") -> list[str]:
    """The keys (``model.stages[0].c2``) whose values differ between two resume keys
    (:meth:`SearchConfig.resume_key`), each as ``key: old -> new``; empty when equal."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            sub = f"{prefix}.{k}" if prefix else str(k)
            if k not in new:
                out.append(f"{sub}: {_short(old[k])} -> (removed)")
            elif k not in old:
                out.append(f"{sub}: (unset) -> {_short(new[k])}")
            else:
                out.extend(config_changes(old[k], new[k], sub))
        return out
    if (
        isinstance(old, list)
        and isinstance(new, list)
        and len(old) == len(new)
        and any(isinstance(v, (Mapping, list)) for v in old)
    ):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out.extend(config_changes(a, b, f"{prefix}[{i}]"))
        return out
    if old == new and type(old) is type(new):
        return []
    if old == new and {type(old), type(new)} <= {int, float}:
        return []
    return [f"{prefix}: {_short(old)} -> {_short(new)}"]


def _short(v: Any, width: int = 40) -> str:
    s = yaml.safe_dump(v, default_flow_style=True, width=10**6).strip()
    s = s.removesuffix("...").strip()
    return s if len(s) <= width else s[: width - 3] + "..."


def load_config(path: str | Path) -> SearchConfig:
    """Read and validate a search config YAML file (relative paths resolve from the
    current directory)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} not found.")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{p}: invalid YAML: {e}") from None
    cfg = SearchConfig.from_dict(data or {})
    cfg.source = p
    return cfg


def as_config(config: SearchConfig | Mapping[str, Any] | str | Path) -> SearchConfig:
    """A :class:`SearchConfig` from itself, a mapping or a YAML path."""
    if isinstance(config, SearchConfig):
        return config
    if isinstance(config, Mapping):
        return SearchConfig.from_dict(config)
    return load_config(config)
