"""What a search leaves behind: the csv tables, the Pareto plot, the chosen model's
exports and recipe, the progress display and the printed summary.

Files written to the output directory (see ``docs/nas.md``): ``pareto.csv``,
``trials.csv``, ``retrained.csv``, ``pareto.png``, ``model.*`` and ``train.yaml``.
"""

from __future__ import annotations

import csv
import logging
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

import slimtune as st
from slimtune import keys
from slimtune.nas.config import CONSTRAINTS, SearchConfig
from slimtune.nas.objective import TrialRecord, train_config_for
from slimtune.nas.selection import DUPLICATE_OF, Candidate, collect_candidates, describe_pick
from slimtune.nas.spec import SpecNet

if TYPE_CHECKING:
    from slimtune.nas.search import SearchResult

__all__ = [
    "COLUMNS",
    "SearchProgress",
    "export_chosen",
    "front_table",
    "infeasible_reason",
    "load_weights",
    "plot_front",
    "print_summary",
    "resume_command",
    "write_csv",
    "write_tables",
]

logger = logging.getLogger("slimtune.nas")

COLUMNS = ("trial", "accuracy", "f1", "macs", "params", "latency_ms", "epochs", "front")
"""The first columns of the csv tables (the searched parameters follow)."""


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
        w.writerow([*COLUMNS, *keys])
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


def write_tables(
    cfg: SearchConfig, cands: Sequence[Candidate], front: Sequence[Candidate], out: Path
) -> dict[str, Path]:
    """``pareto.csv``, ``trials.csv`` (by MACs) and, when ``output.plot``, ``pareto.png``."""
    files: dict[str, Path] = {}
    rows = sorted(cands, key=lambda c: c.macs)
    files["pareto_csv"] = write_csv(front, out / "pareto.csv")
    files["trials_csv"] = write_csv(rows, out / "trials.csv")
    if cfg.output.plot:
        p = plot_front(cands, out / "pareto.png", cfg.objectives)
        if p is not None:
            files["plot"] = p
    return files


def load_weights(model: SpecNet, path: Path) -> bool:
    """Load the state dict at ``path`` into ``model`` if the file exists."""
    if not path.is_file():
        return False
    import torch

    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return True


def export_chosen(
    cfg: SearchConfig, chosen: Candidate, model: SpecNet, out: Path
) -> tuple[SpecNet, dict[str, Any]]:
    """Export the chosen model (``output.export`` formats) and write its recipe
    ``train.yaml``; returns the model on the CPU in eval mode and the files."""
    from slimtune.nas.export import export_model

    model = model.cpu().eval()
    files: dict[str, Any] = dict(export_model(model, out, formats=cfg.output.export, stem="model"))
    tc = train_config_for(cfg, chosen.params_values, epochs=max(chosen.epochs, 1))
    (out / "train.yaml").write_text(
        yaml.safe_dump(
            {k: v for k, v in tc.__dict__.items() if k not in ("device", "threads")},
            sort_keys=False,
        )
    )
    files["train_yaml"] = out / "train.yaml"
    return model, files


def infeasible_reason(rec: TrialRecord | None, constraints: dict[str, float]) -> str:
    """Why a model was not trained, e.g. ``312,000 MACs > max_macs 250,000``."""
    if rec is None:
        return "not profiled"
    over = []
    for name, key in CONSTRAINTS.items():
        limit = constraints.get(name)
        v = getattr(rec, key, None)
        if limit is not None and v is not None and v > limit:
            unit = {"macs": "MACs", "params": "params", "latency_ms": "ms"}[key]
            over.append(
                f"{v:,.4g} {unit} > {name} {limit:,.4g}"
                if key == "latency_ms"
                else f"{v:,} {unit} > {name} {limit:,.0f}"
            )
    return "; ".join(over) or str(rec.skipped)


def _counts(study: st.Study) -> str:
    """``12 trials: 8 trained, 2 infeasible (over a constraint), 1 pruned, 1 failed``."""
    trained = infeasible = pruned = failed = interrupted = dup = running = 0
    for t in study.get_trials(deepcopy=False):
        if DUPLICATE_OF in t.user_attrs:
            dup += 1
        elif t.state == st.TrialState.COMPLETE:
            rec = TrialRecord.of(t)
            if rec is not None and rec.skipped is not None:
                infeasible += 1
            else:
                trained += 1
        elif t.state == st.TrialState.PRUNED:
            pruned += 1
        elif t.state == st.TrialState.FAIL:
            why = str(t.system_attrs.get(keys.FAIL_REASON, ""))
            if "interrupted" in why:
                interrupted += 1
            else:
                failed += 1
        elif t.state == st.TrialState.RUNNING:
            running += 1
    parts = [
        (trained, "trained"),
        (infeasible, "infeasible (over a constraint, not trained)"),
        (pruned, "pruned"),
        (failed, "failed"),
        (interrupted, "interrupted"),
        (dup, "repeats of an earlier trial (not run again)"),
        (running, "still running elsewhere"),
    ]
    return ", ".join(f"{k} {what}" for k, what in parts if k)


def resume_command(res: SearchResult) -> str:
    """The command that resumes ``res``'s study (the config file, and the storage, study
    name, output directory, remaining trials and timeout when they differ from the
    config's)."""
    cfg = res.config
    raw_study = (cfg.raw.get("study") or {}) if cfg is not None else {}
    words = ["slimtune", "search"]
    words.append(str(cfg.source) if cfg is not None and cfg.source is not None else "CONFIG.yaml")
    if res.storage is not None and res.storage != raw_study.get("storage"):
        words += ["--storage", res.storage]
    if cfg is not None and cfg.study.name != raw_study.get("name", "nas"):
        words += ["--study-name", str(cfg.study.name)]
    if res.out_dir is not None and cfg is not None and Path(res.out_dir) != Path(cfg.output.dir):
        words += ["--out", str(res.out_dir)]
    if res.n_trials is not None and res.n_run < res.n_trials:
        words += ["--n-trials", str(res.n_trials - res.n_run)]
    if res.timeout is not None and res.timeout != raw_study.get("timeout"):
        words += ["--timeout", f"{res.timeout:g}"]
    return shlex.join(words)


def print_summary(res: SearchResult, console: Any) -> None:
    """The front table and a few lines on the search and the chosen model (``rich``
    console); what ``slimtune search`` prints. After Ctrl-C the last line says how many
    trials are saved and the command that resumes the search."""
    console.print(front_table(res.front, res.chosen))
    if res.chosen is not None and res.chosen.retrained:
        console.print("(front at search fidelity; the chosen model was retrained, see below)")
    n = len(res.study.trials)
    console.print(
        f"{n} trials in study {res.study.study_name!r} ({res.n_run} in this run): "
        f"{_counts(res.study)}; {len(res.front)} on the Pareto front.",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    tm = res.timings
    if tm:
        bound = (
            f" (timeout {res.timeout:g} s from the start: no trial starts after it, a running "
            "one finishes)"
            if res.timeout is not None
            else ""
        )
        console.print(
            f"time: {tm['setup']:.1f} s setup (data, warm-up), {tm['trials']:.1f} s trials"
            f"{bound}, {tm['finish']:.1f} s tables, retraining and export; "
            f"{res.seconds:.1f} s in all.",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    if res.chosen is not None:
        c = res.chosen
        rule, opts = res.pick
        pool = f"the {len(res.front)} models of the Pareto front" if res.front else "all models"
        console.print(
            f"chosen: trial {c.number}, accuracy {c.accuracy:.4f}, F1 {c.f1:.4f}, "
            f"{c.macs:,} MACs, {c.params:,} params" + (" (retrained)" if c.retrained else ""),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        why = f"  by {describe_pick(rule, **opts)}; among {pool}"
        if rule == "budget" and opts.get("max_macs") is not None and c.macs > opts["max_macs"]:
            why += f": none has MACs <= {opts['max_macs']:,.0f}, so the smallest was chosen"
        by = opts.get("by", "accuracy")
        if rule == "smallest_above" and opts.get("accuracy") is not None:
            if c.score(by) < opts["accuracy"]:
                why += f": none reaches {by} {opts['accuracy']}, so the best was chosen"
        console.print(
            why + ".",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        if res.interrupted and res.model is None:
            console.print(
                "  (not exported: its weights were not kept and nothing is retrained after "
                "Ctrl-C; `slimtune export --storage ...` retrains it)",
                markup=False,
                highlight=False,
            )
        for k, v in res.files.items():
            if isinstance(v, Path):
                console.print(f"  {k}: {v}", markup=False, highlight=False, soft_wrap=True)
    if res.interrupted:
        if res.storage is None:
            last = (
                f"interrupted (Ctrl-C): the {n} trials were in memory only and are not kept; "
                "give --storage sqlite:///nas.db to be able to resume."
            )
        else:
            last = (
                f"interrupted (Ctrl-C): {n} trials are saved in study {res.study.study_name!r} "
                f"({res.storage}); resume with: {resume_command(res)}"
            )
        console.print(last, markup=False, highlight=False, soft_wrap=True)


class SearchProgress:
    """Rich progress bar: trials done, best score so far, size of the Pareto front; a log
    line per trial when not on a terminal (``enabled=None``: auto). A resumed study starts
    from its stored best."""

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
        self.best: float | None = None
        self.best_trial: int | None = None
        for t in study.get_trials(deepcopy=False, states=(st.TrialState.COMPLETE,)):
            self._see(t)
        self.front = 0
        if self.enabled:
            from slimtune.progress import ProgressBar

            self._p = ProgressBar(f"search {study.study_name}", n)

    def _see(self, frozen: st.FrozenTrial) -> None:
        rec = TrialRecord.of(frozen)
        if frozen.state != st.TrialState.COMPLETE or rec is None or not rec.trained:
            return
        if frozen.constraints is not None and max(frozen.constraints) > 0:
            return
        v = float(frozen.values[0])  # type: ignore[index]
        if self.best is None or v > self.best:
            self.best, self.best_trial = v, frozen.number

    def _info(self) -> str:
        if self.best is None:
            best = f"best {self.cfg.score}: none trained yet"
        else:
            best = f"best {self.cfg.score} {self.best:.4f} (trial {self.best_trial})"
        return f"{best} | front {self.front}"

    def update(self, study: st.Study, frozen: st.FrozenTrial) -> None:
        """A study callback: advance the bar (or log the trial)."""
        self._see(frozen)
        self.front = len(_front(study, self.cfg.directions))
        if self._p is not None:
            self._p.advance(self._info())
            return
        rec = TrialRecord.of(frozen)
        if DUPLICATE_OF in frozen.user_attrs:
            what = f"repeats trial {frozen.user_attrs[DUPLICATE_OF]}, not run again"
        elif frozen.state == st.TrialState.COMPLETE and rec is not None and rec.skipped:
            what = f"infeasible, not trained: {infeasible_reason(rec, self.cfg.constraints)}"
        elif frozen.state == st.TrialState.COMPLETE:
            what = f"{self.cfg.score} {float(frozen.values[0]):.4f}"  # type: ignore[index]
        elif frozen.state == st.TrialState.FAIL:
            what = f"failed: {frozen.system_attrs.get(keys.FAIL_REASON, '')}"
        else:
            what = frozen.state.name.lower()
        size = "" if rec is None or rec.skipped else f", {rec.macs:,} MACs"
        logger.info("trial %d: %s%s | %s", frozen.number, what, size, self._info())

    def close(self) -> None:
        """Close the bar."""
        if self._p is not None:
            self._p.close()


def _front(study: st.Study, directions: Sequence[str]) -> list[Candidate]:
    """The Pareto front of the study's candidates (feasible, trained, no repeats)."""
    return [c for c in collect_candidates(study, directions) if c.on_front]
