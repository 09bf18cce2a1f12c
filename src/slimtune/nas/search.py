"""The lightweight-model search: a YAML config in, a Pareto front and a chosen model out.

This module only orchestrates; the parts are

* :mod:`~slimtune.nas.config`: the typed config (every default resolved once);
* :mod:`~slimtune.nas.objective`: the trial objective and the record a trial stores;
* :mod:`~slimtune.nas.selection`: candidates, the Pareto front and the pick rules;
* :mod:`~slimtune.nas.outputs`: csv tables, plot, exports, progress and summary.

:func:`run_search` creates (or resumes) the study, runs the trials, collects the
candidates, optionally retrains the top ``retrain.top_k`` and writes the outputs;
:func:`export_trial` exports one trial of a finished study. The names of the parts are
re-exported here for compatibility.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import slimtune as st
from slimtune.nas.config import (
    DEFAULT_N_TRIALS,
    ConfigError,
    SearchConfig,
    as_config,
    load_config,
)
from slimtune.nas.data import Dataset, load_data
from slimtune.nas.objective import NASObjective, TrialRecord, train_config_for
from slimtune.nas.outputs import (
    SearchProgress,
    export_chosen,
    front_table,
    load_weights,
    plot_front,
    write_csv,
    write_tables,
)
from slimtune.nas.profile import warm_up
from slimtune.nas.selection import (
    PICK_RULES,
    Candidate,
    PickRule,
    collect_candidates,
    pick_model,
    rank_by_rule,
    register_pick_rule,
)
from slimtune.nas.space import ArchSpace
from slimtune.nas.spec import ModelSpec, SpecNet, build_model
from slimtune.nas.train import set_seed, train_model

__all__ = [
    "PICK_RULES",
    "Candidate",
    "ConfigError",
    "NASObjective",
    "SearchConfig",
    "SearchResult",
    "TrialRecord",
    "collect_candidates",
    "export_trial",
    "front_table",
    "load_config",
    "pick_model",
    "plot_front",
    "register_pick_rule",
    "retrain_candidate",
    "run_search",
    "write_csv",
]

logger = logging.getLogger("slimtune.nas")


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
    cfg = as_config(config)
    if data is None:
        try:
            data = load_data(cfg.data)
        except (ValueError, TypeError) as e:
            raise ConfigError(f"`data`: {e}") from None
    try:
        arch = ArchSpace(cfg.model, cfg.train, data.in_channels, data.num_classes, data.input_size)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    out = Path(out_dir or cfg.output.dir)
    out.mkdir(parents=True, exist_ok=True)
    name = cfg.study.name
    study = st.create_study(
        storage=storage or cfg.study.storage,
        sampler=_make("sampler", cfg.sampler, cfg.study.seed),
        pruner=_make("pruner", cfg.pruner, None),
        study_name=name,
        directions=cfg.directions,
        load_if_exists=True,
    )
    # the labels of every table and figure (latency is stored in milliseconds)
    study.set_metric_names([{"latency": "latency_ms"}.get(o, o) for o in cfg.objectives])
    n_before = len(study.trials)
    try:  # kept with the study so that `slimtune export --storage ...` can retrain a trial
        study.set_user_attr("nas_config", cfg.raw)
    except (TypeError, ValueError):  # pragma: no cover - a config that is not JSON
        logger.warning("the config could not be stored with the study (not JSON-serialisable)")
    if n_before:
        logger.info("resuming study %r with %d trials", name, n_before)
    n = n_trials if n_trials is not None else cfg.study.n_trials
    tmo = timeout if timeout is not None else cfg.study.timeout
    if n is None and tmo is None:
        n = DEFAULT_N_TRIALS
    objective = NASObjective(cfg, data, arch, out)
    warm_up()  # once here, not in every worker process
    bar = SearchProgress(study, n, tmo, cfg, enabled=progress)
    try:
        study.optimize(
            objective,
            n_trials=n,
            timeout=tmo,
            n_jobs=cfg.study.n_jobs,
            catch=(Exception,),
            callbacks=[bar.update],
        )
    finally:
        bar.close()
    cands = collect_candidates(study, cfg.directions)
    front = sorted([c for c in cands if c.on_front], key=lambda c: c.macs)
    chosen, model, files = _finish(cfg, cands, front, data, out, pick)
    if chosen is not None:  # `slimtune report` and slimtune.viz star it
        study.set_user_attr("chosen_trial", chosen.number)
    return SearchResult(study, cands, front, chosen, model, files, time.monotonic() - t0)


def retrain_candidate(
    cfg: SearchConfig, c: Candidate, data: Dataset, epochs: int | None = None
) -> tuple[SpecNet, float, float]:
    """Train a candidate's spec and recipe from scratch for ``epochs`` (default
    ``retrain.epochs``) on ``retrain.subset``, with the seed of its trial; returns the
    model and its validation accuracy and F1."""
    spec = ModelSpec.from_dict(c.spec)
    if epochs is None:
        epochs = cfg.retrain.epochs
    seed = cfg.study.seed + c.number
    tcfg = train_config_for(
        cfg,
        c.params_values,
        epochs=epochs,
        subset=cfg.retrain.subset,
        seed=seed,
        threads=cfg.threads,
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
    cands = collect_candidates(study, study.directions)
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
    if load_weights(model, w):
        pass
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
        ep = epochs or cfg.fidelity.epochs
        model, chosen.accuracy, chosen.f1 = retrain_candidate(cfg, chosen, data, epochs=ep)
        chosen.retrained = True
    files = export_model(model.cpu().eval(), out, formats=tuple(formats), stem="model")
    return chosen, files


def _finish(
    cfg: SearchConfig,
    cands: list[Candidate],
    front: list[Candidate],
    data: Dataset,
    out: Path,
    pick: str | PickRule | None,
) -> tuple[Candidate | None, SpecNet | None, dict[str, Any]]:
    """Write the tables, choose a model (retraining the top k when asked), export it."""
    files: dict[str, Any] = dict(write_tables(cfg, cands, front, out))
    if not cands:
        return None, None, files
    rule = pick or cfg.pick.rule
    opts = cfg.pick.options
    pool = front or cands
    k = cfg.retrain.top_k
    if k > 0:
        # the front keeps its search-fidelity scores: the top k are retrained as copies
        top = [copy.copy(c) for c in rank_by_rule(pool, k, rule, **opts)]
        models = {}
        for c in top:
            m, acc, f1 = retrain_candidate(cfg, c, data)
            c.accuracy, c.f1, c.retrained = acc, f1, True
            c.epochs = cfg.retrain.epochs
            models[c.number] = m
        chosen = pick_model(top, rule, **opts)
        model = models[chosen.number]
        files["retrained_csv"] = write_csv(top, out / "retrained.csv")
    else:
        chosen = pick_model(pool, rule, **opts)
        model = build_model(ModelSpec.from_dict(chosen.spec), check=False)
        w = out / "trials" / f"trial_{chosen.number}.pt"
        if not load_weights(model, w):
            # weights not kept (or another machine ran it): retrain at the search budget
            model, chosen.accuracy, chosen.f1 = retrain_candidate(
                cfg, chosen, data, epochs=cfg.fidelity.epochs
            )
    model, exported = export_chosen(cfg, chosen, model, out)
    files.update(exported)
    if cfg.output.plot:  # drawn again now that the choice is made: the chosen model starred
        plot_front(cands, out / "pareto.png", cfg.objectives, chosen)
    return chosen, model, files
