"""Choosing models: the trained trials as :class:`Candidate` s, their Pareto front, and
the pick rules (``pick.rule`` in a config; add one with :func:`register_pick_rule`).

A pick rule is ``rule(candidates, **options) -> index``; the options are the ``pick``
section's keys other than ``rule`` (``max_macs``, ``target_macs``, ``w``, ``accuracy``,
``by``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import slimtune as st
from slimtune.multiobjective import is_pareto_front, to_losses
from slimtune.nas.config import PICK_RULES, ConfigError, PickRule, register_pick_rule
from slimtune.nas.objective import TrialRecord

__all__ = [
    "DUPLICATE_OF",
    "EVIDENCE",
    "PICK_RULES",
    "Candidate",
    "PickRule",
    "collect_candidates",
    "describe_pick",
    "pick_model",
    "rank_by_rule",
    "register_pick_rule",
]


DUPLICATE_OF = "duplicate_of"
"""User attribute of a trial whose configuration was already run: the number of the trial
it repeats (its record is a copy; it is not a candidate of its own)."""


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
    epochs: int = 0  # the epochs trained: the fidelity its scores were measured at
    on_front: bool = False
    retrained: bool = False
    pruned: bool = False  # stopped by the pruner: scores measured at ``epochs``

    def score(self, by: str = "accuracy") -> float:
        """The validation ``accuracy`` or ``f1``."""
        return self.f1 if by == "f1" else self.accuracy

    @classmethod
    def from_trial(cls, trial: st.FrozenTrial) -> Candidate | None:
        """The candidate of a trial whose record says it was trained, else None (a pruned
        trial is one too: its scores and ``epochs`` are those of the epoch it stopped at)."""
        rec = TrialRecord.of(trial)
        if rec is None or not rec.trained:
            return None
        pruned = trial.state == st.TrialState.PRUNED
        epochs = rec.epochs
        if epochs is None and pruned and trial.intermediate_values:  # an older record
            epochs = int(max(trial.intermediate_values))
        return cls(
            number=trial.number,
            accuracy=float(rec.accuracy),  # type: ignore[arg-type]
            f1=float(rec.f1),  # type: ignore[arg-type]
            macs=rec.macs,
            params=rec.params,
            latency_ms=rec.latency_ms,
            spec=rec.spec or {},
            params_values=dict(trial.params),
            epochs=epochs or 0,
            pruned=pruned,
        )


EVIDENCE = ("all", "complete")
"""What :func:`collect_candidates` counts: every trial's best evidence, or complete trials."""


def _values(t: st.FrozenTrial) -> list[float] | None:
    """A trial's objective values: its final ones, or (pruned) those it last reported."""
    if t.state == st.TrialState.COMPLETE:
        return list(t.values)  # type: ignore[arg-type]
    iv = t.intermediate_values
    if not iv:
        return None
    v = iv[max(iv)]
    vals = [float(x) for x in v] if isinstance(v, (list, tuple)) else [float(v)]
    return None if any(x != x for x in vals) else vals


def collect_candidates(
    study: st.Study, directions: Sequence[str], evidence: str = "all"
) -> list[Candidate]:
    """Feasible trained trials as candidates, the Pareto front marked.

    ``evidence="all"`` (default): every trial's best evidence, so the trials a pruner
    stopped count too, at the epoch they were stopped (a model trained for 2 epochs with a
    measured validation accuracy is a real point of the front at that fidelity; its
    ``epochs`` and ``pruned`` say so, and the tables show the epochs). ``"complete"``: only
    trials trained to the end. A trial that repeats an earlier configuration
    (:data:`DUPLICATE_OF`) is left out."""
    if evidence not in EVIDENCE:
        raise ValueError(f"evidence must be one of {EVIDENCE}, got {evidence!r}.")
    states = (st.TrialState.COMPLETE,)
    if evidence == "all":
        states = (st.TrialState.COMPLETE, st.TrialState.PRUNED)
    out, vals = [], []
    for t in study.get_trials(states=states):
        if t.constraints is not None and max(t.constraints) > 0:
            continue
        if DUPLICATE_OF in t.user_attrs:
            continue
        c = Candidate.from_trial(t)
        v = _values(t)
        if c is None or v is None or len(v) != len(directions):
            continue
        out.append(c)
        vals.append(v)
    if out:
        mask = is_pareto_front(to_losses(np.array(vals, dtype=float), list(directions)))
        for c, m in zip(out, mask):
            c.on_front = bool(m)
    return out


# The registry lives in config (which validates `pick.rule` against it); the built-in
# rules below register themselves into it.


@register_pick_rule("best")
def pick_best(cands: Sequence[Candidate], by: str = "accuracy", **_: Any) -> int:
    """Highest score; ties to the fewest MACs."""
    keys = np.array([(-c.score(by), c.macs) for c in cands], dtype=float)
    return int(np.lexsort((keys[:, 1], keys[:, 0]))[0])


@register_pick_rule("budget")
def pick_budget(
    cands: Sequence[Candidate], max_macs: float | None = None, by: str = "accuracy", **_: Any
) -> int:
    """Best score among models with ``macs <= max_macs`` (else the smallest model)."""
    if max_macs is None:
        raise ConfigError("pick rule `budget` needs `pick.max_macs`.")
    macs = np.array([c.macs for c in cands], dtype=float)
    ok = np.flatnonzero(macs <= max_macs)
    if ok.size == 0:
        return int(np.argmin(macs))
    return int(ok[pick_best([cands[i] for i in ok], by)])


@register_pick_rule("mnasnet")
def pick_mnasnet(
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
def pick_smallest_above(
    cands: Sequence[Candidate], accuracy: float | None = None, by: str = "accuracy", **_: Any
) -> int:
    """Fewest MACs among models scoring ``>= accuracy`` (else the best-scoring one)."""
    if accuracy is None:
        raise ConfigError("pick rule `smallest_above` needs `pick.accuracy`.")
    s = np.array([c.score(by) for c in cands])
    ok = np.flatnonzero(s >= accuracy)
    if ok.size == 0:
        return pick_best(cands, by)
    macs = np.array([cands[i].macs for i in ok], dtype=float)
    return int(ok[np.argmin(macs)])


def describe_pick(rule: str | PickRule = "best", **options: Any) -> str:
    """The rule behind a chosen model, in words with its parameters (what the summary
    prints next to "chosen: trial N")."""
    by = options.get("by", "accuracy")

    def num(x: Any) -> str:
        return f"{x:,.0f}" if isinstance(x, (int, float)) and float(x).is_integer() else f"{x}"

    if rule == "best":
        return f"rule `best`: the highest validation {by}, ties to the fewest MACs"
    if rule == "budget":
        return (
            f"rule `budget`: the highest validation {by} among models with MACs <= "
            f"{num(options.get('max_macs'))} (pick.max_macs; the smallest model if none fits)"
        )
    if rule == "mnasnet":
        w = options.get("w", -0.07)
        return (
            f"rule `mnasnet`: the largest {by} * (MACs / {num(options.get('target_macs'))}) ** "
            f"{w} (pick.target_macs, pick.w)"
        )
    if rule == "smallest_above":
        return (
            f"rule `smallest_above`: the fewest MACs among models with validation {by} >= "
            f"{options.get('accuracy')} (pick.accuracy; the best {by} if none reaches it)"
        )
    fn = PICK_RULES.get(rule) if isinstance(rule, str) else rule
    name = rule if isinstance(rule, str) else getattr(rule, "__name__", repr(rule))
    doc = (getattr(fn, "__doc__", None) or "").strip().splitlines()
    opts = ", ".join(f"{k}={v!r}" for k, v in options.items())
    return f"rule `{name}`" + (f": {doc[0]}" if doc else "") + (f" ({opts})" if opts else "")


def pick_model(
    cands: Sequence[Candidate], rule: str | PickRule = "best", **options: Any
) -> Candidate:
    """The candidate chosen by ``rule`` (a name in :data:`PICK_RULES` or a callable)."""
    if not cands:
        raise ValueError("no candidate models to pick from (no feasible complete trial).")
    fn = PICK_RULES[rule] if isinstance(rule, str) else rule
    return cands[int(fn(list(cands), **options))]


def rank_by_rule(
    cands: Sequence[Candidate], k: int, rule: str | PickRule = "best", **options: Any
) -> list[Candidate]:
    """The first ``k`` candidates in the order ``rule`` picks them (pick, remove, repeat)."""
    rest, top = list(cands), []
    while rest and len(top) < k:
        c = pick_model(rest, rule, **options)
        top.append(c)
        rest.remove(c)
    return top
