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

import contextlib
import copy
import logging
import multiprocessing as mp
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import slimtune as st
from slimtune import keys
from slimtune.nas.card import model_card, write_card
from slimtune.nas.config import (
    COSTS,
    DEFAULT_N_TRIALS,
    ConfigError,
    SearchConfig,
    as_config,
    config_changes,
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
    DUPLICATE_OF,
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
from slimtune.storage import get_storage
from slimtune.study.engine import FAIL_FAST_TRIALS

__all__ = [
    "INTERRUPTED",
    "PICK_RULES",
    "Candidate",
    "ConfigChangedError",
    "ConfigError",
    "NASObjective",
    "SearchConfig",
    "SearchFailedError",
    "SearchInterrupted",
    "SearchResult",
    "TrialRecord",
    "collect_candidates",
    "export_trial",
    "front_table",
    "load_config",
    "pick_model",
    "plot_front",
    "register_pick_rule",
    "resume_seed",
    "retrain_candidate",
    "run_search",
    "version_name",
    "weights_root",
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
    timings: dict[str, float] = field(default_factory=dict)  # setup, trials, finish (s)
    interrupted: bool = False  # Ctrl-C stopped the trials
    storage: str | None = None  # the storage URL (None: in memory)
    out_dir: Path | None = None
    n_run: int = 0  # trials run by this call
    n_trials: int | None = None  # the trial budget of this call
    timeout: float | None = None  # the timeout of this call (s)
    pick: tuple[Any, dict[str, Any]] = ("best", {})  # the pick rule and its options
    config: SearchConfig | None = None


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


# What the NAS search gives a TPE sampler with an accuracy and a cost objective, unless the
# config sets the key (measured in docs/nas.md: benchmarks/nas_vs_optuna.py and
# benchmarks/nas_sampler_probe.py): the good set weighted by hypervolume contribution, the
# cost (MACs, parameters, latency: they span decades) on a log scale, no per-branch extras.
TPE_NAS_DEFAULTS: dict[str, Any] = {"good_weights": "hypervolume", "branch_weight": 0.0}


def sampler_spec_for(cfg: SearchConfig) -> dict[str, Any]:
    """The config's sampler section with the NAS defaults of a multi-objective TPE filled in
    (:data:`TPE_NAS_DEFAULTS`, ``objective_scales`` log for the cost); keys given win. With
    no sampler, or ``AutoSampler``, they go to its TPE delegate (``tpe_kwargs``)."""
    spec = dict(cfg.sampler)
    if len(cfg.objectives) < 2:
        return spec
    defaults = {
        **TPE_NAS_DEFAULTS,
        "objective_scales": ["log" if o in COSTS else "linear" for o in cfg.objectives],
    }
    name = spec.get("name", "AutoSampler")
    if name in ("TPESampler", "MOTPESampler"):
        for k, v in defaults.items():
            spec.setdefault(k, v)
    elif name == "AutoSampler":  # the default sampler: its TPE delegate gets them too
        given = spec.get("tpe_kwargs")
        if given is None or isinstance(given, Mapping):  # else AutoSampler says what's wrong
            spec["tpe_kwargs"] = {**defaults, **(given or {})}
    return spec


def initial_design_size(spec: Mapping[str, Any]) -> int:
    """Trials of the first design: the sampler's random start-up trials (TPE's
    ``n_startup_trials``, also through AutoSampler's ``tpe_kwargs``), else 10."""
    for kw in (spec, spec.get("tpe_kwargs") or {}):
        k = kw.get("n_startup_trials") if isinstance(kw, Mapping) else None
        if isinstance(k, int) and k > 0:
            return k
    return 10


# Model-based samplers that start from random trials: the design replaces those. Random,
# quasi-random, grid and evolutionary samplers keep their own first trials.
_STARTS_AT_RANDOM = ("AutoSampler", "TPESampler", "MOTPESampler", "GPSampler")


def _enqueue_initial_design(
    study: st.Study, cfg: SearchConfig, arch: ArchSpace, spec: Mapping[str, Any], n: int | None
) -> None:
    """A new study with a cost objective starts from configurations spread over log10 MACs
    (:func:`slimtune.nas.design.cost_spread_design`) instead of the sampler's random start."""
    if cfg.study.initial_design != "cost-spread" or len(cfg.objectives) < 2:
        return
    if spec.get("name", "AutoSampler") not in _STARTS_AT_RANDOM:
        return
    size = initial_design_size(spec)
    if n is not None:
        size = min(size, n)
    caps = {k: v for k, v in cfg.constraints.items() if k in ("max_macs", "max_params")}
    from slimtune.nas.design import cost_spread_design

    design = cost_spread_design(arch, size, seed=cfg.study.seed, caps=caps, pool=max(256, size))
    for params in design:
        study.enqueue_trial(params, skip_if_exists=True)
    logger.info(
        "the first %d trials are spread over log10 MACs (study.initial_design)", len(design)
    )


class ConfigChangedError(ConfigError):
    """A rerun's config differs from the stored one in what the trials mean (objectives,
    space, constraints, data, fidelity); the message names the keys and the ways on."""


class SearchFailedError(ConfigError):
    """The first trials of a search all failed the same way (the fail-fast rule of
    :mod:`slimtune.study.engine`): most likely a config value or the data, not bad luck."""


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C (or the parent's stop) inside a trial: the trial is stored as FAIL with this
    text as its reason."""


INTERRUPTED = "interrupted by the user (Ctrl-C)"
"""The failure reason of a trial that Ctrl-C stopped."""
RESUME_ATTR = "nas_resume_key"
"""Study user attribute: the config's :meth:`SearchConfig.resume_key` the study runs with."""
CONFIG_ATTR = "nas_config"
"""Study user attribute: the config as given at the last run (``slimtune export`` uses it)."""


def version_name(name: str, version: int) -> str:
    """The study name of version ``version`` of a search (``--force``): ``name``, then
    ``name-v2``, ``name-v3``, ..."""
    return name if version <= 1 else f"{name}-v{version}"


VERSION_ATTR = "nas_version"
"""Study user attribute: the version of the search (1, then 2, 3, ... after ``--force``)."""


def weights_root(out: Path, study: st.Study) -> Path:
    """The directory whose ``trials/`` holds the kept weights of ``study``'s trials: the
    output directory for version 1, ``<out>/<study name>`` for a later version (so that a
    ``--force`` version never overwrites, or loads, the weights of the old one)."""
    if int(study.user_attrs.get(VERSION_ATTR, 1)) > 1:
        return out / study.study_name
    return out


def resume_seed(seed: int, n_stored: int) -> int:
    """The sampler seed of a run that starts with ``n_stored`` trials in the study: the
    config's seed for a new study, else a seed derived from both, so that a resumed search
    does not draw the configurations of its first run again."""
    if n_stored == 0:
        return int(seed)
    return int(np.random.SeedSequence([int(seed), int(n_stored)]).generate_state(1)[0] >> 1)


def _stored_key(study: st.Study) -> dict[str, Any] | None:
    ua = study.user_attrs
    if RESUME_ATTR in ua:
        return ua[RESUME_ATTR]
    if CONFIG_ATTR in ua:  # a study of an earlier version: rebuild the key from its config
        try:
            return SearchConfig.from_dict(ua[CONFIG_ATTR]).resume_key()
        except ConfigError:
            return None
    return None


def _open_study(cfg: SearchConfig, storage: Any, force: bool) -> tuple[str, int, str | None]:
    """The study this run uses: (name, version, the changes ``--force`` moved past).

    The newest version of ``study.name`` in the storage is resumed when its stored config
    has the same :meth:`~SearchConfig.resume_key` (or it has no trials yet). Otherwise the
    run is refused (:class:`ConfigChangedError`), or with ``force`` a new version
    ``name-vN`` is started; the old trials stay, untouched, in their own study.
    """
    base = cfg.study.name or "nas"
    names = set(storage.get_all_study_names())
    version = 1
    while version_name(base, version + 1) in names:
        version += 1
    name = version_name(base, version)
    if name not in names:
        return name, version, None
    study = st.load_study(study_name=name, storage=storage)
    n = len(study.get_trials(deepcopy=False))
    if n == 0:
        return name, version, None
    stored = _stored_key(study)
    new = cfg.resume_key()
    if stored is not None:
        changes = config_changes(stored, new)
    else:
        changes = ["(the study holds no search config: it was not made by `slimtune search`)"]
    if not changes:
        return name, version, None
    nxt = version_name(base, version + 1)
    if force:
        return nxt, version + 1, "; ".join(changes)
    raise ConfigChangedError(
        f"study {name!r} holds {n} trials of another config; changed: {'; '.join(changes)}. "
        f"Resuming would mix trials that are not comparable. Either give the study a new name "
        f"(--study-name NAME, or study.name), or pass --force to start {nxt!r} with this "
        f"config in the same storage (the {n} old trials stay in {name!r}, unused)."
    )


class _GuardedTrial:
    """A trial whose every method call is a critical section of ``guard``: a Ctrl-C that
    comes during one (a storage write) takes effect when it returns, never half-way
    through a database transaction."""

    def __init__(self, trial: st.Trial, guard: _SearchObjective):
        self._trial = trial
        self._guard = guard

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._trial, name)
        if not callable(attr):
            return attr
        guard = self._guard

        def call(*args: Any, **kwargs: Any) -> Any:
            with guard.critical():
                return attr(*args, **kwargs)

        return call


class _SearchObjective:
    """The NAS objective as the search runs it: a configuration already finished in the
    study is not run again, and Ctrl-C inside a trial stores it as interrupted.

    A repeat of a COMPLETE trial completes with that trial's values and a copy of its
    record (marked :data:`~slimtune.nas.selection.DUPLICATE_OF`, left out of the
    candidates); a repeat of a PRUNED one is pruned.

    Signals (Ctrl-C; SIGTERM in a worker process, sent by the main process when it stops):
    inside a trial they raise :class:`SearchInterrupted`, deferred to the end of a storage
    call in progress; between trials (asking, telling) they only mark the stop, so that
    nothing is left half-written: a worker then stores what it has and stops its next
    trial at once, the main process (``n_jobs=1``) stops the study after the trial. A
    second Ctrl-C in the main process raises ``KeyboardInterrupt`` at once."""

    def __init__(self, inner: NASObjective, arch: ArchSpace, workers: bool = False):
        self.inner = inner
        self.arch = arch
        self.parent_pid = os.getpid()
        self.study: st.Study | None = None  # stopped by a Ctrl-C between trials (n_jobs=1)
        self.current: int | None = None  # the trial running in this process
        self.last: int | None = None  # the last trial started in this process
        self.stopping = False
        self.signum = signal.SIGINT
        self._critical = 0
        self._pending = False
        # set by the main process on Ctrl-C, before it stops the workers (SIGTERM)
        self.user_stop = mp.Event() if workers else None

    def __getstate__(self) -> dict[str, Any]:
        # pickled for spawned workers: no study (the worker has its own) and no Event (it
        # travels only by inheritance); such a worker names SIGTERM as the reason
        state = dict(self.__dict__)
        state["study"] = None
        state["user_stop"] = None
        return state

    def _reason(self, signum: int) -> str:
        if signum == signal.SIGINT or (self.user_stop is not None and self.user_stop.is_set()):
            return INTERRUPTED
        return "interrupted: its worker process was stopped (SIGTERM)"

    @contextlib.contextmanager
    def critical(self) -> Iterator[None]:
        """A section that a signal must not cut (a storage call)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
            if not self._critical and self._pending and self.current is not None:
                self._pending = False
                raise SearchInterrupted(self._reason(self.signum))

    def _on_signal(self, signum: int, frame: Any) -> None:
        main = os.getpid() == self.parent_pid
        if self.stopping:
            if main and signum == signal.SIGINT:
                raise KeyboardInterrupt  # the second Ctrl-C: at once
            return
        self.stopping = True
        self.signum = signum
        if self.current is None:
            if main and self.study is not None:
                self.study.stop()
            return
        if self._critical:
            self._pending = True
            return
        raise SearchInterrupted(self._reason(signum))

    @contextlib.contextmanager
    def handle_signals(self, study: st.Study, n_jobs: int) -> Iterator[None]:
        """While the trials run in the main process: with ``n_jobs=1`` Ctrl-C goes through
        :meth:`_on_signal`; with worker processes it marks the stop as the user's (for the
        workers' trials) and raises ``KeyboardInterrupt`` as usual."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self.study = study
        flag = self.user_stop

        def to_workers(signum: int, frame: Any) -> None:
            if flag is not None:
                flag.set()
            signal.default_int_handler(signum, frame)

        prev = signal.signal(signal.SIGINT, self._on_signal if n_jobs == 1 else to_workers)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, prev)

    def _duplicate(self, trial: st.Trial) -> st.FrozenTrial | None:
        if trial.system_attrs.get(keys.RESUMED_FROM) is not None:
            return None  # a promoted continuation has its parent's params by design
        params = trial.params
        done = (st.TrialState.COMPLETE, st.TrialState.PRUNED)
        for t in trial.study.get_trials(deepcopy=False, states=done):
            if t.number != trial.number and t.params == params and DUPLICATE_OF not in t.user_attrs:
                return t
        return None

    def __call__(self, trial: st.Trial) -> Any:
        if os.getpid() != self.parent_pid and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._on_signal)
            signal.signal(signal.SIGTERM, self._on_signal)
        self.current = self.last = trial.trial_id
        guarded: Any = _GuardedTrial(trial, self)
        try:
            if self.stopping:  # a signal came between two trials
                raise SearchInterrupted(self._reason(self.signum))
            self.arch.suggest(guarded)  # the same values the objective gets again
            with self.critical():
                dup = self._duplicate(trial)
            if dup is None:
                return self.inner(guarded)
            with self.critical():
                for k, v in dup.user_attrs.items():
                    trial.set_user_attr(k, v)
                trial.set_user_attr(DUPLICATE_OF, dup.number)
                if dup.constraints is not None:
                    trial.set_constraints(list(dup.constraints))
            logger.info("trial %d repeats trial %d: not run again", trial.number, dup.number)
            if dup.state == st.TrialState.PRUNED:
                raise st.TrialPruned(f"repeats trial {dup.number} (pruned)")
            vals = list(dup.values)  # type: ignore[arg-type]
            return vals[0] if len(vals) == 1 else tuple(vals)
        except SearchInterrupted:
            raise
        except KeyboardInterrupt:
            raise SearchInterrupted(INTERRUPTED) from None
        finally:
            self.current = None
            self._pending = False


def _fail_fast_reason(study: st.Study) -> str | None:
    """The shared failure reason when the study's first trials all failed alike (the
    engine's fail-fast rule), else None."""
    done = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    if len(done) < FAIL_FAST_TRIALS or any(t.state != st.TrialState.FAIL for t in done):
        return None
    reasons = {t.system_attrs.get(keys.FAIL_REASON) for t in done}
    return next(iter(reasons)) if len(reasons) == 1 else None


def run_search(
    config: SearchConfig | Mapping[str, Any] | str | Path,
    storage: str | None = None,
    n_trials: int | None = None,
    timeout: float | None = None,
    out_dir: str | Path | None = None,
    progress: bool | None = None,
    pick: str | PickRule | None = None,
    data: Dataset | None = None,
    force: bool = False,
) -> SearchResult:
    """Run (or resume) the search of ``config`` and write the outputs to ``out_dir``.

    ``storage``/``n_trials``/``timeout``/``out_dir`` override the config's
    ``study``/``output`` values; ``pick`` overrides ``pick.rule`` (a name or a callable
    ``(candidates, **options) -> index``); ``data`` replaces the ``data`` section.

    Resuming: a study of the same name is resumed when its stored config agrees on
    :data:`~slimtune.nas.config.RESUME_SECTIONS`; else :class:`ConfigChangedError`, or with
    ``force`` a new version ``<name>-vN`` of the study (see :func:`version_name`). The
    sampler seed of a resumed run is :func:`resume_seed`, and a configuration already run
    is not run again.

    ``timeout`` counts from the call (data loading and warm-up included): no trial starts
    after it, a running one finishes; the retraining and the export come after it
    (``SearchResult.timings`` says how long each part took).

    Ctrl-C stops the trials (a running one is stored FAIL, "interrupted by the user
    (Ctrl-C)"), then the tables, the plot and the chosen model (with the weights the search
    kept; no retraining) are written and the result has ``interrupted=True``.
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
    url = storage or cfg.study.storage
    store = get_storage(url)
    name, version, forced = _open_study(cfg, store, force)
    study = st.create_study(
        storage=store,
        pruner=_make("pruner", cfg.pruner, None),
        study_name=name,
        directions=cfg.directions,
        load_if_exists=True,
    )
    n_before = len(study.get_trials(deepcopy=False))
    sampler_spec = sampler_spec_for(cfg)
    if "seed" in sampler_spec and isinstance(sampler_spec["seed"], int):  # derived too
        sampler_spec["seed"] = resume_seed(sampler_spec["seed"], n_before)
    study.sampler = _make("sampler", sampler_spec, resume_seed(cfg.study.seed, n_before))
    # the labels of every table and figure (latency is stored in milliseconds)
    study.set_metric_names([{"latency": "latency_ms"}.get(o, o) for o in cfg.objectives])
    try:  # kept with the study so that `slimtune export --storage ...` can retrain a trial
        study.set_user_attr(CONFIG_ATTR, cfg.raw)
        study.set_user_attr(RESUME_ATTR, cfg.resume_key())
        study.set_user_attr(VERSION_ATTR, version)
    except (TypeError, ValueError):  # pragma: no cover - a config that is not JSON
        logger.warning("the config could not be stored with the study (not JSON-serialisable)")
    if forced:
        logger.warning(
            "--force: the config changed (%s); starting version %d of the study as %r "
            "(the earlier trials stay in %r)",
            forced,
            version,
            name,
            version_name(cfg.study.name or "nas", version - 1),
        )
    if n_before:
        logger.info("resuming study %r with %d trials", name, n_before)
    n = n_trials if n_trials is not None else cfg.study.n_trials
    tmo = timeout if timeout is not None else cfg.study.timeout
    if n is None and tmo is None:
        n = DEFAULT_N_TRIALS
    if n_before == 0:
        _enqueue_initial_design(study, cfg, arch, sampler_spec, n)
    objective = _SearchObjective(
        NASObjective(cfg, data, arch, weights_root(out, study)),
        arch,
        workers=cfg.study.n_jobs > 1,
    )
    warm_up()  # once here, not in every worker process
    bar = SearchProgress(study, n, tmo, cfg, enabled=progress)
    t_setup = time.monotonic() - t0
    left = None if tmo is None else max(tmo - t_setup, 1e-3)  # the timeout counts from t0
    interrupted = False
    try:
        with objective.handle_signals(study, cfg.study.n_jobs):
            study.optimize(
                objective,
                n_trials=n,
                timeout=left,
                n_jobs=cfg.study.n_jobs,
                callbacks=[bar.update],
            )
    except KeyboardInterrupt:
        interrupted = True
    except Exception:
        why = _fail_fast_reason(study)
        if why is None:
            raise
        raise SearchFailedError(
            f"the first {FAIL_FAST_TRIALS} trials of study {name!r} all failed with {why!r}, "
            "so the search stopped (a config value or the data, not bad luck); fix it and run "
            "again (`slimtune trials` lists every trial's reason)."
        ) from None
    finally:
        bar.close()
    interrupted = interrupted or objective.stopping  # Ctrl-C between trials: study.stop()
    if interrupted and objective.last is not None:  # stopped outside the objective (tell)
        study.storage.fail_trial(objective.last, f"SearchInterrupted: {INTERRUPTED}")
    t_trials = time.monotonic() - t0 - t_setup
    n_run = len(study.get_trials(deepcopy=False)) - n_before
    cands = collect_candidates(study, cfg.directions)
    front = sorted([c for c in cands if c.on_front], key=lambda c: c.macs)
    try:
        chosen, model, files = _finish(
            cfg, cands, front, data, out, pick, interrupted, weights_root(out, study) / "trials"
        )
    except KeyboardInterrupt:  # Ctrl-C while retraining / exporting: the tables are written
        interrupted = True
        chosen, model = None, None
        files = {
            k: out / f
            for k, f in (("pareto_csv", "pareto.csv"), ("trials_csv", "trials.csv"))
            if (out / f).is_file()
        }
    if chosen is not None:  # `slimtune report` and slimtune.viz star it
        study.set_user_attr("chosen_trial", chosen.number)
    total = time.monotonic() - t0
    timings = {
        "setup": t_setup,
        "trials": t_trials,
        "finish": total - t_setup - t_trials,
    }
    res = SearchResult(
        study,
        cands,
        front,
        chosen,
        model,
        files,
        total,
        timings=timings,
        interrupted=interrupted,
        storage=url,
        out_dir=out,
        n_run=n_run,
        n_trials=n,
        timeout=tmo,
        pick=(pick or cfg.pick.rule, dict(cfg.pick.options)),
        config=cfg,
    )
    try:  # the chosen model's one-screen card: model_card.md
        card = model_card(res, data)
        if card is not None:
            files["model_card"] = write_card(card, out)
    except (OSError, ValueError, RuntimeError) as e:  # the search's results stand without it
        logger.warning("the model card could not be written: %s", e)
    return res


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

    cfg_raw = study.user_attrs.get(CONFIG_ATTR)
    cands = collect_candidates(study, study.directions)
    if trial is None:
        if not cands:
            raise ValueError(f"study {study.study_name!r} has no feasible trained trial.")
        chosen = pick_model(cands, "best")
    else:
        match = [c for c in cands if c.number == trial]
        if not match:
            raise ValueError(
                f"trial {trial} is not a feasible, trained trial of "
                f"{study.study_name!r}; choose one of {[c.number for c in cands]}."
            )
        chosen = match[0]
    out = Path(out_dir)
    model = build_model(ModelSpec.from_dict(chosen.spec), check=False)
    kept = weights_root(out, study) / "trials" / f"trial_{chosen.number}.pt"
    w = Path(weights) if weights else kept
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
    interrupted: bool = False,
    wdir: Path | None = None,
) -> tuple[Candidate | None, SpecNet | None, dict[str, Any]]:
    """Write the tables, choose a model (retraining the top k when asked), export it.

    After Ctrl-C (``interrupted``) nothing is trained: the chosen model is exported only
    when the search kept its weights."""
    files: dict[str, Any] = dict(write_tables(cfg, cands, front, out))
    wdir = wdir or out / "trials"
    if not cands:
        return None, None, files
    rule = pick or cfg.pick.rule
    opts = cfg.pick.options
    pool = front or cands
    k = cfg.retrain.top_k
    if interrupted:
        chosen = pick_model(pool, rule, **opts)
        if cfg.output.plot:  # the chosen model starred after Ctrl-C too
            plot_front(cands, out / "pareto.png", cfg.objectives, chosen)
        model = build_model(ModelSpec.from_dict(chosen.spec), check=False)
        if not load_weights(model, wdir / f"trial_{chosen.number}.pt"):
            return chosen, None, files
        model, exported = export_chosen(cfg, chosen, model, out)
        files.update(exported)
        return chosen, model, files
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
        w = wdir / f"trial_{chosen.number}.pt"
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
