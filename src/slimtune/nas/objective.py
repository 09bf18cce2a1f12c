"""The objective of a search trial and the record it leaves in the trial.

Each trial samples an architecture and a recipe, profiles the model on the meta device
(params, MACs; latency if needed), records the constraints and skips training when one
is violated (the trial completes with the worst score and is infeasible, so samplers
learn to avoid the region and the front ignores it). Otherwise it trains, reporting the
validation score (and the cost) after every epoch, so a pruner can stop it.

What a trial stores is one :class:`TrialRecord`, written to and read from the trial's
user attributes by this module only (the candidates, the outputs and the CLI read it with
:meth:`TrialRecord.from_user_attrs`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import torch

import slimtune as st
from slimtune.nas.config import CONSTRAINTS, SearchConfig
from slimtune.nas.data import Dataset
from slimtune.nas.profile import measure_latency, profile_spec
from slimtune.nas.proxies import ProxyRung
from slimtune.nas.space import ArchSpace
from slimtune.nas.spec import build_model
from slimtune.nas.train import TrainConfig, set_seed, train_model

__all__ = ["SKIPPED_OVER_BUDGET", "NASObjective", "TrialRecord", "train_config_for"]

SKIPPED_OVER_BUDGET = "over budget: not trained"


@dataclass
class TrialRecord:
    """What a search trial stores (as user attributes, one per field that is set).

    ``macs``, ``params``, ``spec`` (and ``latency_ms`` when measured) are set once the
    model is profiled; ``skipped`` when a constraint kept it from training; ``accuracy``
    and ``f1`` after training (or at the epoch it was pruned); ``epochs`` the epochs it was
    trained for (the epoch its scores were measured at, also when it was pruned); ``device``
    (``cpu``, ``cuda``) it trained on; ``latency_source`` says whether ``latency_ms`` was
    ``"measured"`` or predicted by the per-block ``"table"`` (:mod:`slimtune.nas.latency`)."""

    macs: int
    params: int
    latency_ms: float | None = None
    spec: dict[str, Any] | None = None
    accuracy: float | None = None
    f1: float | None = None
    epochs: int | None = None
    skipped: str | None = None
    latency_source: str | None = None
    device: str | None = None

    @property
    def trained(self) -> bool:
        """Trained within the constraints (has validation scores, was not skipped)."""
        return self.skipped is None and self.accuracy is not None

    def score(self, by: str = "accuracy") -> float | None:
        """The validation ``accuracy`` or ``f1``."""
        return self.f1 if by == "f1" else self.accuracy

    def to_user_attrs(self, *names: str) -> dict[str, Any]:
        """The fields ``names`` (default: all) that are set, as user attributes."""
        keys = names or tuple(f.name for f in fields(self))
        return {k: getattr(self, k) for k in keys if getattr(self, k) is not None}

    def save(self, trial: st.Trial, *names: str) -> None:
        """Write the fields ``names`` (default: all that are set) to ``trial``."""
        for k, v in self.to_user_attrs(*names).items():
            trial.set_user_attr(k, v)

    @classmethod
    def from_user_attrs(cls, ua: Mapping[str, Any]) -> TrialRecord | None:
        """The record of a trial's user attributes (None when it was never profiled)."""
        if "macs" not in ua:
            return None

        def opt(key: str, cast: Any) -> Any:
            return None if ua.get(key) is None else cast(ua[key])

        return cls(
            macs=int(ua["macs"]),
            params=int(ua["params"]),
            latency_ms=opt("latency_ms", float),
            spec=ua.get("spec"),
            accuracy=opt("accuracy", float),
            f1=opt("f1", float),
            epochs=opt("epochs", int),
            skipped=ua.get("skipped"),
            latency_source=ua.get("latency_source"),
            device=ua.get("device"),
        )

    @classmethod
    def of(cls, trial: st.FrozenTrial) -> TrialRecord | None:
        """The record of a finished trial."""
        return cls.from_user_attrs(trial.user_attrs)


def train_config_for(cfg: SearchConfig, values: Mapping[str, Any], **kw: Any) -> TrainConfig:
    """The training recipe of sampled ``values`` (budgets and seed from ``kw``)."""
    arch = ArchSpace(cfg.model, cfg.train, 1, 2, (8, 8))
    return arch.to_train_config(values, **kw)


class NASObjective:
    """The objective run for every trial (see the module docstring): returns the score,
    or ``(score, cost)`` with two objectives."""

    def __init__(self, cfg: SearchConfig, data: Dataset, arch: ArchSpace, out_dir: Path | None):
        self.cfg = cfg
        self.data = data
        self.arch = arch
        self.out_dir = out_dir
        self.seed = cfg.study.seed
        self.epochs = cfg.fidelity.epochs
        self.subset = cfg.fidelity.subset
        self.resolution = cfg.fidelity.resolution
        self.cost = cfg.cost
        self.need_latency = cfg.need_latency
        self.proxy = None if cfg.proxy is None else ProxyRung(cfg.proxy, data, cfg.study.seed)
        self.latency = cfg.latency
        self._table: Any = None  # the per-block latency table, opened on first use

    def _latency_of(self, spec: Any, shape: tuple[int, ...], model: Any) -> tuple[float, str]:
        """``(ms, source)`` of a model: predicted from the table or measured, as
        ``latency.method`` says."""
        lat = self.latency
        if lat.method == "table":
            if self._table is None:
                from dataclasses import replace

                from slimtune.nas.latency import table_for

                if lat.cache is not None:  # relative to the config's directory
                    lat = replace(lat, cache=str(self.cfg.resolve_path(lat.cache)))
                self._table = table_for(lat)
            return self._table.latency(spec)
        shape = (lat.batch, *tuple(shape)[1:])
        ms = measure_latency(model, shape, lat.threads, lat.warmup, lat.repeats, lat.device)
        return ms, "measured"

    def _cost_value(self, rec: TrialRecord) -> float:
        return float(rec.latency_ms if self.cost == "latency" else getattr(rec, str(self.cost)))

    def __call__(self, trial: st.Trial) -> float | tuple[float, float]:
        values = self.arch.suggest(trial)
        spec = self.arch.to_spec(values)
        prof = profile_spec(spec).to_dict()
        model = None
        lat, source = None, None
        if self.need_latency:
            if self.latency.method == "measure":
                set_seed(self.seed + trial.number)
                model = build_model(spec)
            lat, source = self._latency_of(spec, prof["input_shape"], model)
        rec = TrialRecord(
            macs=int(prof["macs"]),
            params=int(prof["params"]),
            latency_ms=None if lat is None else float(lat),
            spec=spec.to_dict(),
            latency_source=source,
        )
        rec.save(trial)
        violations = [
            getattr(rec, key) / limit - 1.0
            for name, key in CONSTRAINTS.items()
            if (limit := self.cfg.constraints.get(name)) is not None
        ]
        if violations:
            trial.set_constraints(violations)
        cost = self._cost_value(rec) if self.cost else None
        if violations and max(violations) > 0:
            rec.skipped = SKIPPED_OVER_BUDGET
            rec.save(trial, "skipped")
            return (0.0, cost) if cost is not None else 0.0  # type: ignore[return-value]
        tcfg = self.arch.to_train_config(
            values,
            epochs=self.epochs,
            subset=self.subset,
            seed=self.seed + trial.number,
            threads=self.cfg.threads,
        )
        if self.resolution is not None:  # a cheaper proxy: train and rank at low resolution
            tcfg = tcfg.replace(resolution=self.resolution)
        if model is None:
            set_seed(self.seed + trial.number)
            model = build_model(spec)
        if self.proxy is not None:  # the zero-cost rung before epoch 1 (may prune)
            self.proxy.check(trial, model, rec.macs, tcfg.resolution)
        key = self.cfg.score

        def on_epoch(epoch: int, m: dict[str, float]) -> None:
            trial.report([m[key], cost] if cost is not None else m[key], epoch)
            if trial.should_prune():
                rec.accuracy, rec.f1, rec.epochs = m["accuracy"], m["f1"], epoch
                rec.save(trial, "accuracy", "f1", "epochs")
                raise st.TrialPruned(f"pruned at epoch {epoch}")

        # Pause and resume (a promotion-type pruner keeps checkpoints): every epoch's state
        # is kept through the trial, and a promoted continuation goes on from its parent's.
        resume = None
        if getattr(trial, "resume_step", 0):
            resume = trial.load_checkpoint(reader=lambda p: torch.load(p, weights_only=True))

        def on_state(epoch: int, get_state: Any) -> None:
            trial.save_checkpoint(writer=lambda p: torch.save(get_state(), p), step=epoch)

        pruner = getattr(getattr(trial, "study", None), "pruner", None)
        pause: dict[str, Any] = {}  # only under a pruner that keeps checkpoints
        if resume is not None:
            pause["resume"] = resume
        if getattr(pruner, "checkpoints", None) is not None:
            pause["on_state"] = on_state
        res = train_model(model, self.data, tcfg, on_epoch, **pause)
        rec.accuracy, rec.f1, rec.epochs, rec.device = res.accuracy, res.f1, res.epochs, res.device
        rec.save(trial, "accuracy", "f1", "epochs", "device")
        if self.out_dir is not None and self.cfg.output.save_trial_weights:
            wdir = self.out_dir / "trials"
            wdir.mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), wdir / f"trial_{trial.number}.pt")
        score = res.accuracy if key == "accuracy" else res.f1
        return (score, cost) if cost is not None else score  # type: ignore[return-value]
