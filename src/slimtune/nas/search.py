"""The lightweight-model search: a YAML config in, a Pareto front and a chosen model out.

Config sections (all but ``model`` optional; errors name the key and what is allowed)::

    study:      {name, storage, n_trials, timeout, seed, n_jobs}
    data:       digits | {name: digits|mnist1d|folder|npz, val_fraction, seed, ...}
    objectives: [accuracy, macs]       # accuracy|f1 (maximised) vs macs|params|latency
    constraints: {max_macs, max_params, max_latency_ms}   # checked BEFORE training
    sampler:    {name: TPESampler, <kwargs>}   # any slimtune.samplers class, by name
    pruner:     {name: HyperbandPruner, <kwargs>}          # any slimtune.pruners class
    model:      the architecture space (see slimtune.nas.space)
    train:      the training hyperparameters (searchable) and fixed settings
    fidelity:   {epochs, subset, resolution}   # budgets of a search trial
    pick:       {rule: budget|mnasnet|smallest_above, ...}
    retrain:    {top_k: 3, epochs: 30} # retrain the top k at full budget and re-rank
    output:     {dir, plot, export: [torchscript, onnx]}

Each trial samples an architecture and a recipe, profiles the model on the meta device
(params, MACs; latency if needed), records the constraints and skips training when one
is violated (the trial completes with the worst score and is infeasible, so samplers
learn to avoid the region and the front ignores it). Otherwise it trains, reporting the
validation score (and the cost) after every epoch, so a pruner can stop it.
"""

from __future__ import annotations

import copy
import csv
import logging
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

import slimtune as st
from slimtune.multiobjective import is_pareto_front, to_losses
from slimtune.nas.data import Dataset, load_data
from slimtune.nas.profile import measure_latency, profile_spec, warm_up
from slimtune.nas.space import ArchSpace
from slimtune.nas.spec import ModelSpec, SpecNet, build_model
from slimtune.nas.train import TrainConfig, set_seed, train_model

__all__ = [
    "PICK_RULES",
    "Candidate",
    "ConfigError",
    "export_trial",
    "SearchConfig",
    "SearchResult",
    "load_config",
    "pick_model",
    "register_pick_rule",
    "run_search",
]

logger = logging.getLogger("slimtune.nas")

_SECTIONS = {
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
}
_SCORES = ("accuracy", "f1")
_COSTS = ("macs", "params", "latency")
_CONSTRAINTS = {"max_macs": "macs", "max_params": "params", "max_latency_ms": "latency_ms"}


class ConfigError(ValueError):
    """A search config is invalid; the message names the key and what is allowed."""


# --------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------


def _section(cfg: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    sec = cfg.get(key) or {}
    if not isinstance(sec, Mapping):
        raise ConfigError(f"`{key}` must be a mapping with keys {sorted(allowed)}, got {sec!r}.")
    bad = set(sec) - allowed
    if bad:
        raise ConfigError(f"`{key}`: unknown key(s) {sorted(bad)}; allowed: {sorted(allowed)}.")
    return dict(sec)


@dataclass
class SearchConfig:
    """A parsed, validated search config (see the module docstring for the sections)."""

    raw: dict[str, Any]
    study: dict[str, Any]
    data: dict[str, Any] | str
    objectives: list[str]
    constraints: dict[str, float]
    sampler: dict[str, Any]
    pruner: dict[str, Any]
    model: dict[str, Any]
    train: dict[str, Any]
    fidelity: dict[str, Any]
    pick: dict[str, Any]
    retrain: dict[str, Any]
    output: dict[str, Any]
    base_dir: Path = field(default_factory=Path.cwd)

    @classmethod
    def from_dict(cls, cfg: Mapping[str, Any], base_dir: str | Path | None = None) -> SearchConfig:
        if not isinstance(cfg, Mapping):
            raise ConfigError(f"a search config must be a mapping, got {type(cfg).__name__}.")
        bad = set(cfg) - _SECTIONS
        if bad:
            raise ConfigError(f"unknown section(s) {sorted(bad)}; allowed: {sorted(_SECTIONS)}.")
        if "model" not in cfg:
            raise ConfigError("the config needs a `model` section (the architecture space).")
        study = _section(cfg, "study", {"name", "storage", "n_trials", "timeout", "seed", "n_jobs"})
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
        objectives = cfg.get("objectives", ["accuracy", "macs"])
        if isinstance(objectives, str):
            objectives = [objectives]
        if not isinstance(objectives, list) or not 1 <= len(objectives) <= 2:
            raise ConfigError(
                f"`objectives` must be [score] or [score, cost] with score in {list(_SCORES)} "
                f"and cost in {list(_COSTS)}, got {objectives!r}."
            )
        if objectives[0] not in _SCORES:
            raise ConfigError(
                f"`objectives[0]`={objectives[0]!r}: the score must be one of {list(_SCORES)}."
            )
        if len(objectives) == 2 and objectives[1] not in _COSTS:
            raise ConfigError(
                f"`objectives[1]`={objectives[1]!r}: the cost must be one of {list(_COSTS)}."
            )
        constraints = _section(cfg, "constraints", set(_CONSTRAINTS))
        for k, v in constraints.items():
            if v is not None and not (isinstance(v, (int, float)) and v > 0):
                raise ConfigError(f"`constraints.{k}` must be a number > 0, got {v!r}.")
        constraints = {k: float(v) for k, v in constraints.items() if v is not None}
        sampler = _named(cfg, "sampler")
        pruner = _named(cfg, "pruner")
        fidelity = _section(cfg, "fidelity", {"epochs", "subset", "resolution"})
        for k, lo in (("epochs", 1), ("resolution", 1)):
            v = fidelity.get(k)
            if v is not None and (not isinstance(v, int) or v < lo):
                raise ConfigError(f"`fidelity.{k}` must be an int >= {lo}, got {v!r}.")
        sub = fidelity.get("subset")
        if sub is not None and not (isinstance(sub, (int, float)) and 0 < sub <= 1):
            raise ConfigError(f"`fidelity.subset` must be in (0, 1], got {sub!r}.")
        pick = _section(cfg, "pick", {"rule", "max_macs", "target_macs", "w", "accuracy", "by"})
        rule = pick.setdefault("rule", "best")
        if rule not in PICK_RULES:
            raise ConfigError(f"`pick.rule`={rule!r}: use one of {sorted(PICK_RULES)}.")
        retrain = _section(cfg, "retrain", {"top_k", "epochs", "subset"})
        output = _section(cfg, "output", {"dir", "plot", "export", "save_trial_weights"})
        data = cfg.get("data", "digits")
        if not isinstance(data, (str, Mapping)):
            raise ConfigError(f"`data` must be a name or a mapping, got {data!r}.")
        train = cfg.get("train") or {}
        if not isinstance(train, Mapping):
            raise ConfigError(f"`train` must be a mapping, got {train!r}.")
        return cls(
            raw=copy.deepcopy(dict(cfg)),
            study=study,
            data=data if isinstance(data, str) else dict(data),
            objectives=list(objectives),
            constraints=constraints,
            sampler=sampler,
            pruner=pruner,
            model=dict(cfg["model"]),
            train=dict(train),
            fidelity=fidelity,
            pick=pick,
            retrain=retrain,
            output=output,
            base_dir=Path(base_dir) if base_dir else Path.cwd(),
        )

    @property
    def directions(self) -> list[str]:
        return ["maximize", "minimize"][: len(self.objectives)]

    def resolve_path(self, p: str | Path) -> Path:
        p = Path(p)
        return p if p.is_absolute() else self.base_dir / p


def _named(cfg: Mapping[str, Any], key: str) -> dict[str, Any]:
    v = cfg.get(key)
    if v is None:
        return {}
    if isinstance(v, str):
        return {"name": v}
    if not isinstance(v, Mapping) or "name" not in v:
        raise ConfigError(f"`{key}` must be a class name or {{name: ..., <kwargs>}}, got {v!r}.")
    return dict(v)


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
    return SearchConfig.from_dict(data or {})


def _make(kind: str, spec: Mapping[str, Any], seed: int | None) -> Any:
    """A sampler or pruner instance from ``{name, kwargs}``, resolved by name at run time."""
    module = st.samplers if kind == "sampler" else st.pruners
    default = "AutoSampler" if kind == "sampler" else "NopPruner"
    kw = dict(spec)
    name = kw.pop("name", default)
    try:
        cls = getattr(module, name)
    except (AttributeError, ImportError) as e:
        avail = [n for n in getattr(module, "__all__", []) if not n.startswith("Base")]
        raise ConfigError(
            f"`{kind}.name`={name!r} is not available ({e}); use one of {avail}."
        ) from None
    if kind == "sampler" and "seed" not in kw and seed is not None:
        try:
            return cls(seed=seed, **kw)
        except TypeError:
            pass
    try:
        return cls(**kw)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"`{kind}`: {name}({kw}) failed: {e}") from None


# --------------------------------------------------------------------------------------
# Pick rules
# --------------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One evaluated model: its trial, score(s), cost and spec."""

    number: int
    accuracy: float
    f1: float
    macs: int
    params: int
    latency_ms: float | None
    spec: dict[str, Any]
    params_values: dict[str, Any]
    epochs: int = 0
    on_front: bool = False
    retrained: bool = False

    def score(self, by: str = "accuracy") -> float:
        return self.f1 if by == "f1" else self.accuracy


PickRule = Callable[..., int]
PICK_RULES: dict[str, PickRule] = {}


def register_pick_rule(name: str) -> Callable[[PickRule], PickRule]:
    """Register ``rule(candidates, **options) -> index`` under ``name`` (for ``pick.rule``)."""

    def deco(fn: PickRule) -> PickRule:
        PICK_RULES[name] = fn
        return fn

    return deco


@register_pick_rule("best")
def _pick_best(cands: Sequence[Candidate], by: str = "accuracy", **_: Any) -> int:
    """Highest score; ties to the fewest MACs."""
    keys = np.array([(-c.score(by), c.macs) for c in cands], dtype=float)
    return int(np.lexsort((keys[:, 1], keys[:, 0]))[0])


@register_pick_rule("budget")
def _pick_budget(
    cands: Sequence[Candidate], max_macs: float | None = None, by: str = "accuracy", **_: Any
) -> int:
    """Best score among models with ``macs <= max_macs`` (else the smallest model)."""
    if max_macs is None:
        raise ConfigError("pick rule `budget` needs `pick.max_macs`.")
    macs = np.array([c.macs for c in cands], dtype=float)
    ok = np.flatnonzero(macs <= max_macs)
    if ok.size == 0:
        return int(np.argmin(macs))
    return int(ok[_pick_best([cands[i] for i in ok], by)])


@register_pick_rule("mnasnet")
def _pick_mnasnet(
    cands: Sequence[Candidate],
    target_macs: float | None = None,
    w: float = -0.07,
    by: str = "accuracy",
    **_: Any,
) -> int:
    """MnasNet reward ``score * (MACs / target) ** w`` (soft constraint, default w=-0.07)."""
    if target_macs is None:
        raise ConfigError("pick rule `mnasnet` needs `pick.target_macs`.")
    s = np.array([c.score(by) for c in cands])
    m = np.array([max(c.macs, 1) for c in cands], dtype=float)
    return int(np.argmax(s * (m / float(target_macs)) ** float(w)))


@register_pick_rule("smallest_above")
def _pick_smallest_above(
    cands: Sequence[Candidate], accuracy: float | None = None, by: str = "accuracy", **_: Any
) -> int:
    """Fewest MACs among models scoring ``>= accuracy`` (else the best-scoring one)."""
    if accuracy is None:
        raise ConfigError("pick rule `smallest_above` needs `pick.accuracy`.")
    s = np.array([c.score(by) for c in cands])
    ok = np.flatnonzero(s >= accuracy)
    if ok.size == 0:
        return _pick_best(cands, by)
    macs = np.array([cands[i].macs for i in ok], dtype=float)
    return int(ok[np.argmin(macs)])


def pick_model(
    cands: Sequence[Candidate], rule: str | PickRule = "best", **options: Any
) -> Candidate:
    """The candidate chosen by ``rule`` (a name in :data:`PICK_RULES` or a callable)."""
    if not cands:
        raise ValueError("no candidate models to pick from (no feasible complete trial).")
    fn = PICK_RULES[rule] if isinstance(rule, str) else rule
    return cands[int(fn(list(cands), **options))]


# --------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------


@dataclass
class SearchResult:
    """What :func:`run_search` produced."""

    study: st.Study
    candidates: list[Candidate]
    front: list[Candidate]
    chosen: Candidate | None  # with retrained scores when ``retrain.top_k`` > 0
    model: SpecNet | None
    files: dict[str, Any]
    seconds: float


class NASObjective:
    """The objective run for every trial (see the module docstring)."""

    def __init__(self, cfg: SearchConfig, data: Dataset, arch: ArchSpace, out_dir: Path | None):
        self.cfg = cfg
        self.data = data
        self.arch = arch
        self.out_dir = out_dir
        self.seed = int(cfg.study.get("seed", 0))
        self.epochs = int(cfg.fidelity.get("epochs", cfg.train.get("epochs", 10)))
        self.subset = float(cfg.fidelity.get("subset", cfg.train.get("subset", 1.0)))
        self.resolution = cfg.fidelity.get("resolution")
        self.cost = cfg.objectives[1] if len(cfg.objectives) > 1 else None
        self.need_latency = self.cost == "latency" or "max_latency_ms" in cfg.constraints

    def _cost_value(self, prof: dict[str, Any]) -> float:
        return float(prof["latency_ms"] if self.cost == "latency" else prof[self.cost])

    def __call__(self, trial: st.Trial) -> float | tuple[float, float]:
        values = self.arch.suggest(trial)
        spec = self.arch.to_spec(values)
        prof = profile_spec(spec).to_dict()
        model = None
        if self.need_latency:
            set_seed(self.seed + trial.number)
            model = build_model(spec)
            prof["latency_ms"] = measure_latency(model, prof["input_shape"], threads=1)
        trial.set_user_attr("macs", int(prof["macs"]))
        trial.set_user_attr("params", int(prof["params"]))
        if prof.get("latency_ms") is not None:
            trial.set_user_attr("latency_ms", float(prof["latency_ms"]))
        trial.set_user_attr("spec", spec.to_dict())
        violations = [
            prof[key] / limit - 1.0
            for name, key in _CONSTRAINTS.items()
            if (limit := self.cfg.constraints.get(name)) is not None
        ]
        if violations:
            trial.set_constraints(violations)
        cost = self._cost_value(prof) if self.cost else None
        if violations and max(violations) > 0:
            trial.set_user_attr("skipped", "over budget: not trained")
            return (0.0, cost) if cost is not None else 0.0  # type: ignore[return-value]
        tcfg = self.arch.to_train_config(
            values,
            epochs=self.epochs,
            subset=self.subset,
            seed=self.seed + trial.number,
            threads=int(self.cfg.train.get("threads", 1)),
        )
        if self.resolution is not None:  # a cheaper proxy: train and rank at low resolution
            tcfg = tcfg.replace(resolution=int(self.resolution))
        if model is None:
            set_seed(self.seed + trial.number)
            model = build_model(spec)
        key = self.cfg.objectives[0]

        def on_epoch(epoch: int, m: dict[str, float]) -> None:
            trial.report([m[key], cost] if cost is not None else m[key], epoch)
            if trial.should_prune():
                trial.set_user_attr("accuracy", m["accuracy"])
                trial.set_user_attr("f1", m["f1"])
                raise st.TrialPruned(f"pruned at epoch {epoch}")

        res = train_model(model, self.data, tcfg, on_epoch)
        trial.set_user_attr("accuracy", res.accuracy)
        trial.set_user_attr("f1", res.f1)
        trial.set_user_attr("epochs", res.epochs)
        if self.out_dir is not None and self.cfg.output.get("save_trial_weights", True):
            import torch

            wdir = self.out_dir / "trials"
            wdir.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), wdir / f"trial_{trial.number}.pt")
        score = res.accuracy if key == "accuracy" else res.f1
        return (score, cost) if cost is not None else score  # type: ignore[return-value]


def collect_candidates(study: st.Study, directions: Sequence[str]) -> list[Candidate]:
    """Complete, feasible, trained trials as candidates, the Pareto front marked."""
    out, vals = [], []
    for t in study.get_trials(states=(st.TrialState.COMPLETE,)):
        ua = t.user_attrs
        if "skipped" in ua or "accuracy" not in ua:
            continue
        if t.constraints is not None and max(t.constraints) > 0:
            continue
        out.append(
            Candidate(
                number=t.number,
                accuracy=float(ua["accuracy"]),
                f1=float(ua["f1"]),
                macs=int(ua["macs"]),
                params=int(ua["params"]),
                latency_ms=ua.get("latency_ms"),
                spec=ua["spec"],
                params_values=dict(t.params),
                epochs=int(ua.get("epochs", 0)),
            )
        )
        vals.append(list(t.values))  # type: ignore[arg-type]
    if out:
        mask = is_pareto_front(to_losses(np.array(vals, dtype=float), list(directions)))
        for c, m in zip(out, mask):
            c.on_front = bool(m)
    return out


def run_search(
    config: SearchConfig | Mapping[str, Any] | str | Path,
    storage: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    out_dir: str | Path | None = None,
    progress: bool | None = None,
    pick: str | PickRule | None = None,
    data: Dataset | None = None,
) -> SearchResult:
    """Run (or resume) the search of ``config`` and write the outputs to ``out_dir``.

    ``storage``/``n_trials``/``timeout``/``out_dir`` override the config's
    ``study``/``output`` values; ``pick`` overrides ``pick.rule`` (a name or a callable
    ``(candidates, **options) -> index``); ``data`` replaces the ``data`` section.
    """
    t0 = time.monotonic()
    cfg = (
        config
        if isinstance(config, SearchConfig)
        else (
            SearchConfig.from_dict(config) if isinstance(config, Mapping) else load_config(config)
        )
    )
    if data is None:
        try:
            data = load_data(cfg.data)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"`data`: {e}") from None
    try:
        arch = ArchSpace(cfg.model, cfg.train, data.in_channels, data.num_classes, data.input_size)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    seed = int(cfg.study.get("seed", 0))
    out = Path(out_dir or cfg.output.get("dir") or "nas_out")
    out.mkdir(parents=True, exist_ok=True)
    storage = storage or cfg.study.get("storage")
    name = cfg.study.get("name", "nas")
    sampler = _make("sampler", cfg.sampler, seed)
    pruner = _make("pruner", cfg.pruner, None)
    study = st.create_study(
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        study_name=name,
        directions=cfg.directions,
        load_if_exists=True,
    )
    n_before = len(study.trials)
    try:  # kept with the study so that `slimtune export --storage ...` can retrain a trial
        study.set_user_attr("nas_config", cfg.raw)
    except (TypeError, ValueError):  # pragma: no cover - a config that is not JSON
        logger.warning("the config could not be stored with the study (not JSON-serialisable)")
    if n_before:
        logger.info("resuming study %r with %d trials", name, n_before)
    n = n_trials if n_trials is not None else cfg.study.get("n_trials")
    tmo = timeout if timeout is not None else cfg.study.get("timeout")
    if n is None and tmo is None:
        n = 20
    objective = NASObjective(cfg, data, arch, out)
    warm_up()  # once here, not in every worker process
    bar = _SearchProgress(study, n, tmo, cfg, enabled=progress)
    try:
        study.optimize(
            objective,
            n_trials=n,
            timeout=tmo,
            n_jobs=int(cfg.study.get("n_jobs", 1)),
            catch=(Exception,),
            callbacks=[bar.update],
        )
    finally:
        bar.close()
    cands = collect_candidates(study, cfg.directions)
    front = sorted([c for c in cands if c.on_front], key=lambda c: c.macs)
    chosen, model, files = _finish(cfg, cands, front, data, out, pick)
    res = SearchResult(study, cands, front, chosen, model, files, time.monotonic() - t0)
    return res


def _retrain(
    cfg: SearchConfig, c: Candidate, data: Dataset, epochs: int | None = None
) -> tuple[SpecNet, float, float]:
    """Train a candidate's spec and recipe from scratch (same seed as its trial)."""
    spec = ModelSpec.from_dict(c.spec)
    if epochs is None:
        epochs = int(cfg.retrain.get("epochs", cfg.fidelity.get("epochs", 10)))
    seed = int(cfg.study.get("seed", 0)) + c.number
    tcfg = _train_config_from(
        cfg,
        c.params_values,
        epochs=epochs,
        subset=float(cfg.retrain.get("subset", 1.0)),
        seed=seed,
        threads=int(cfg.train.get("threads", 1)),
    )
    set_seed(seed)
    model = build_model(spec)
    res = train_model(model, data, tcfg)
    return model, res.accuracy, res.f1


def export_trial(
    study: st.Study,
    out_dir: str | Path,
    trial: int | None = None,
    weights: str | Path | None = None,
    formats: Sequence[str] = ("torchscript", "onnx"),
    epochs: int | None = None,
) -> tuple[Candidate, dict[str, Any]]:
    """Export a searched model from its study: trial ``trial`` (default: the best score
    among feasible trained trials). Weights come from ``weights``, else from
    ``<out_dir>/trials/trial_N.pt`` when the search kept them, else the model is retrained
    with its recipe (``epochs``, default the search budget) using the config stored in the
    study."""
    from slimtune.nas.export import export_model

    cfg_raw = study.user_attrs.get("nas_config")
    directions = study.directions
    cands = collect_candidates(study, directions)
    if trial is None:
        if not cands:
            raise ValueError(f"study {study.study_name!r} has no feasible trained trial.")
        chosen = pick_model(cands, "best")
    else:
        match = [c for c in cands if c.number == trial]
        if not match:
            raise ValueError(
                f"trial {trial} is not a complete, feasible, trained trial of "
                f"{study.study_name!r}; choose one of {[c.number for c in cands]}."
            )
        chosen = match[0]
    out = Path(out_dir)
    model = build_model(ModelSpec.from_dict(chosen.spec), check=False)
    w = Path(weights) if weights else out / "trials" / f"trial_{chosen.number}.pt"
    if w.is_file():
        import torch

        model.load_state_dict(torch.load(w, map_location="cpu", weights_only=True))
    elif weights:
        raise ValueError(f"weights file {str(w)!r} not found.")
    else:
        if cfg_raw is None:
            raise ValueError(
                "no weights found and the study holds no search config to retrain with; "
                "pass --weights."
            )
        cfg = SearchConfig.from_dict(cfg_raw)
        data = load_data(cfg.data)
        ep = epochs or int(cfg.fidelity.get("epochs", 10))
        model, chosen.accuracy, chosen.f1 = _retrain(cfg, chosen, data, epochs=ep)
        chosen.retrained = True
    files = export_model(model.cpu().eval(), out, formats=tuple(formats), stem="model")
    return chosen, files


def _train_config_from(cfg: SearchConfig, values: Mapping[str, Any], **kw: Any) -> TrainConfig:
    arch = ArchSpace(cfg.model, cfg.train, 1, 2, (8, 8))
    return arch.to_train_config(values, **kw)


def _finish(
    cfg: SearchConfig,
    cands: list[Candidate],
    front: list[Candidate],
    data: Dataset,
    out: Path,
    pick: str | PickRule | None,
) -> tuple[Candidate | None, SpecNet | None, dict[str, Any]]:
    import torch

    files: dict[str, Any] = {}
    rows = sorted(cands, key=lambda c: c.macs)
    files["pareto_csv"] = write_csv(front, out / "pareto.csv")
    files["trials_csv"] = write_csv(rows, out / "trials.csv")
    if cfg.output.get("plot", True):
        p = plot_front(cands, out / "pareto.png", cfg.objectives)
        if p is not None:
            files["plot"] = p
    if not cands:
        return None, None, files
    rule = pick or cfg.pick.get("rule", "best")
    opts = {k: v for k, v in cfg.pick.items() if k != "rule"}
    pool = front or cands
    k = int(cfg.retrain.get("top_k", 0))
    model: SpecNet | None = None
    if k > 0:
        # rank the front by the rule: repeatedly pick and remove
        rest, top = list(pool), []
        while rest and len(top) < k:
            c = pick_model(rest, rule, **opts)
            top.append(copy.copy(c))  # the front keeps its search-fidelity scores
            rest.remove(c)
        models = {}
        for c in top:
            m, acc, f1 = _retrain(cfg, c, data)
            c.accuracy, c.f1, c.retrained = acc, f1, True
            c.epochs = int(cfg.retrain.get("epochs", cfg.fidelity.get("epochs", 10)))
            models[c.number] = m
        chosen = pick_model(top, rule, **opts)
        model = models[chosen.number]
        write_csv(top, out / "retrained.csv")
        files["retrained_csv"] = out / "retrained.csv"
    else:
        chosen = pick_model(pool, rule, **opts)
        model = build_model(ModelSpec.from_dict(chosen.spec), check=False)
        w = out / "trials" / f"trial_{chosen.number}.pt"
        if w.is_file():
            model.load_state_dict(torch.load(w, map_location="cpu", weights_only=True))
        else:  # weights not kept (or another machine ran it): retrain at the search budget
            model, chosen.accuracy, chosen.f1 = _retrain(
                cfg, chosen, data, epochs=int(cfg.fidelity.get("epochs", 10))
            )
    from slimtune.nas.export import export_model

    formats = tuple(cfg.output.get("export", ["torchscript", "onnx"]) or ())
    model = model.cpu().eval()
    files.update(export_model(model, out, formats=formats, stem="model"))
    tc = _train_config_from(cfg, chosen.params_values, epochs=max(chosen.epochs, 1))
    (out / "train.yaml").write_text(
        yaml.safe_dump(
            {k: v for k, v in tc.__dict__.items() if k not in ("device", "threads")},
            sort_keys=False,
        )
    )
    files["train_yaml"] = out / "train.yaml"
    return chosen, model, files


# --------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------

_COLUMNS = ("trial", "accuracy", "f1", "macs", "params", "latency_ms", "epochs", "front")


def _row(c: Candidate) -> list[Any]:
    lat = "" if c.latency_ms is None else f"{c.latency_ms:.3f}"
    return [
        c.number,
        f"{c.accuracy:.4f}",
        f"{c.f1:.4f}",
        c.macs,
        c.params,
        lat,
        c.epochs,
        int(c.on_front),
    ]


def write_csv(cands: Sequence[Candidate], path: Path) -> Path:
    """One row per candidate (``trial, accuracy, f1, macs, params, latency_ms, epochs,
    front``) followed by the searched parameters."""
    keys = sorted({k for c in cands for k in c.params_values})
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([*_COLUMNS, *keys])
        for c in cands:
            w.writerow([*_row(c), *(c.params_values.get(k, "") for k in keys)])
    return path


def front_table(front: Sequence[Candidate], chosen: Candidate | None = None) -> Any:
    """A rich table of the Pareto front (the chosen model marked)."""
    from rich.table import Table

    t = Table(title="Pareto front")
    for col in ("trial", "accuracy", "f1", "MACs", "params", "latency ms", "epochs", ""):
        t.add_column(col, justify="right")
    for c in front:
        mark = "chosen" if chosen is not None and c.number == chosen.number else ""
        lat = "" if c.latency_ms is None else f"{c.latency_ms:.2f}"
        t.add_row(
            str(c.number),
            f"{c.accuracy:.4f}",
            f"{c.f1:.4f}",
            f"{c.macs:,}",
            f"{c.params:,}",
            lat,
            str(c.epochs),
            mark,
        )
    return t


def plot_front(
    cands: Sequence[Candidate], path: Path, objectives: Sequence[str] = ("accuracy", "macs")
) -> Path | None:
    """PNG of score against MACs, the Pareto front marked (None without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    if not cands:
        return None
    by = objectives[0]
    macs = np.array([c.macs for c in cands], dtype=float)
    s = np.array([c.score(by) for c in cands])
    on = np.array([c.on_front for c in cands])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(macs[~on], s[~on], s=14, c="0.6", label="trials")
    order = np.argsort(macs[on])
    ax.plot(macs[on][order], s[on][order], "o-", c="C3", label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("MACs")
    ax.set_ylabel(f"validation {by}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


class _SearchProgress:
    """Rich progress bar: trials done, best score so far, size of the Pareto front; a log
    line per trial when not on a terminal (``enabled=None``: auto)."""

    def __init__(
        self,
        study: st.Study,
        n: int | None,
        timeout: float | None,
        cfg: SearchConfig,
        enabled: bool | None = None,
    ):
        self.study = study
        self.cfg = cfg
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._p = None
        self.best = -math.inf
        self.front = 0
        if self.enabled:
            from slimtune.progress import ProgressBar

            self._p = ProgressBar(f"search {study.study_name}", n)

    def update(self, study: st.Study, frozen: st.FrozenTrial) -> None:
        ua = frozen.user_attrs
        if frozen.state == st.TrialState.COMPLETE and "skipped" not in ua and "accuracy" in ua:
            self.best = max(self.best, float(frozen.values[0]))  # type: ignore[index]
        self.front = len(study.best_trials)
        info = f"best {self.cfg.objectives[0]} {self.best:.4f} | front {self.front}"
        if self._p is not None:
            self._p.advance(info)
        else:
            logger.info(
                "trial %d %s macs=%s %s",
                frozen.number,
                frozen.state.name,
                ua.get("macs"),
                info,
            )

    def close(self) -> None:
        if self._p is not None:
            self._p.close()
