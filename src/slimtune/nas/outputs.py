"""What a search leaves behind: the csv tables, the Pareto plot, the chosen model's
exports and recipe, the progress display and the printed summary.

Files written to the output directory (see ``docs/nas.md``): ``pareto.csv``,
``trials.csv``, ``retrained.csv``, ``pareto.png``, ``model.*`` and ``train.yaml``
(``model_card.md`` comes from :mod:`slimtune.nas.card`).
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
    "front_figure",
    "front_table",
    "infeasible_reason",
    "load_weights",
    "pick_sentence",
    "plot_front",
    "print_summary",
    "resume_command",
    "trial_counts",
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


def front_table(
    front: Sequence[Candidate], chosen: Candidate | None = None, width: int | None = None
) -> Any:
    """A rich table of the Pareto front (the chosen model marked), laid out for ``width``
    columns (default: the terminal's): MACs and parameters as ``45.7k`` (the exact counts
    are in ``pareto.csv``), scores with the same decimals, no cell cut."""
    from slimtune.tables import Column, format_column, format_count, render, terminal_width

    lat = [c.latency_ms for c in front]
    cols = [
        Column("trial", [str(c.number) for c in front], priority=0, numeric=True),
        Column("accuracy", format_column([c.accuracy for c in front]), priority=0, numeric=True),
        Column("f1", format_column([c.f1 for c in front]), priority=1, numeric=True),
        Column("MACs", [format_count(c.macs) for c in front], priority=0, numeric=True),
        Column("params", [format_count(c.params) for c in front], priority=1, numeric=True),
    ]
    if any(v is not None for v in lat):
        cols.append(Column("latency ms", format_column(lat), priority=0.5, numeric=True))
    cols.append(Column("epochs", [str(c.epochs) for c in front], priority=2, numeric=True))
    marks = ["chosen" if chosen is not None and c.number == chosen.number else "" for c in front]
    cols.append(Column("", marks, priority=0, min_width=6, key="chosen"))
    table, _ = render(cols, width or terminal_width(), title="Pareto front")
    return table


# What each cost objective puts on the x axis of ``pareto.png``: attribute and label.
_COST_AXES = {
    "macs": ("macs", "MACs"),
    "params": ("params", "parameters"),
    "latency": ("latency_ms", "latency (ms)"),
}


def _short_tick(v: float, _pos: Any = None) -> str:
    """Tick labels of a few characters (``20k``, ``1.5M``, ``0.25``) that never crowd."""
    a = abs(v)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:g}{suffix}"
    return f"{v:g}"


def _cost_axis(ax: Any, values: np.ndarray) -> None:
    """Log scale when the positive costs span a decade or more (ticks at 1-2-5 of each
    decade, no minor labels); otherwise a linear axis with at most 6 ticks."""
    from matplotlib import ticker

    if values.min() > 0 and values.max() / values.min() >= 10:
        ax.set_xscale("log")
        ax.autoscale_view()
        lo, hi = ax.get_xlim()
        subs = (1.0, 2.0, 5.0) if np.log10(hi / lo) < 3 else (1.0,)
        ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs, numticks=12))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    else:
        ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins=6))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(_short_tick))


def plot_front(
    cands: Sequence[Candidate],
    path: Path,
    objectives: Sequence[str] = ("accuracy", "macs"),
    chosen: Candidate | None = None,
) -> Path | None:
    """Write :func:`front_figure` to ``path`` (PNG); None without matplotlib or without
    candidates."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig = front_figure(cands, objectives, chosen)
    if fig is None:
        return None
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def front_figure(
    cands: Sequence[Candidate],
    objectives: Sequence[str] = ("accuracy", "macs"),
    chosen: Candidate | None = None,
) -> Any:
    """The validation score against the cost objective (``macs``, ``params`` or
    ``latency``; MACs for a score-only search), log-scaled when the costs span a decade,
    the Pareto front as a line and the chosen model as a labelled star; a matplotlib
    Figure, or None without candidates."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    by = objectives[0]
    cost = objectives[1] if len(objectives) > 1 else None
    attr, xlabel = _COST_AXES[cost or "macs"]
    pts = [c for c in cands if getattr(c, attr) is not None]
    if not pts:
        return None
    x = np.array([getattr(c, attr) for c in pts], dtype=float)
    s = np.array([c.score(by) for c in pts])
    on = np.array([c.on_front for c in pts])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.scatter(x[~on], s[~on], s=16, c="0.6", label="trained trials")
    order = np.argsort(x[on])
    front_label = "Pareto front" if cost else f"best {by}"
    ax.plot(x[on][order], s[on][order], "o-", c="C3", ms=5, label=front_label)
    pick = next((c for c in pts if chosen is not None and c.number == chosen.number), None)
    if pick is not None:
        px, py = float(getattr(pick, attr)), pick.score(by)
        label = f"chosen: trial {pick.number}"
        ax.scatter([px], [py], marker="*", s=280, c="gold", edgecolors="black", zorder=6,
                   label=label)
    _cost_axis(ax, x)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    if pick is not None:
        fx, fy = ax.transAxes.inverted().transform(ax.transData.transform((px, py)))
        dx, dy = (-9 if fx > 0.6 else 9), (-14 if fy > 0.8 else 9)
        ax.annotate(
            label, (px, py), xytext=(dx, dy), textcoords="offset points", fontsize=9,
            ha="right" if dx < 0 else "left", va="top" if dy < 0 else "bottom", zorder=7,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "0.6", "alpha": 0.9},
        )
    score_name = "F1" if by == "f1" else by
    ax.set_xlabel(xlabel + ("" if cost else " (not an objective)"))
    ax.set_ylabel(f"validation {score_name}")
    vs = f" vs {xlabel}" if cost else ""
    ax.set_title(f"{score_name}{vs}: {len(pts)} trained models, {int(on.sum())} on the front",
                 fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


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


def trial_counts(study: st.Study) -> str:
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


def pick_sentence(res: SearchResult) -> str:
    """Why ``res.chosen`` was picked, in words: the rule, the pool it chose from, and the
    fall-back when no model met the rule's bound (printed and in the model card)."""
    c = res.chosen
    rule, opts = res.pick
    pool = f"the {len(res.front)} models of the Pareto front" if res.front else "all models"
    why = f"by {describe_pick(rule, **opts)}; among {pool}"
    if c is None:
        return why + "."
    if rule == "budget" and opts.get("max_macs") is not None and c.macs > opts["max_macs"]:
        why += f": none has MACs <= {opts['max_macs']:,.0f}, so the smallest was chosen"
    by = opts.get("by", "accuracy")
    if rule == "smallest_above" and opts.get("accuracy") is not None:
        if c.score(by) < opts["accuracy"]:
            why += f": none reaches {by} {opts['accuracy']}, so the best was chosen"
    return why + "."


def print_summary(res: SearchResult, console: Any) -> None:
    """The front table and a few lines on the search and the chosen model (``rich``
    console); what ``slimtune search`` prints. After Ctrl-C the last line says how many
    trials are saved and the command that resumes the search."""
    console.print(front_table(res.front, res.chosen, width=getattr(console, "width", None)))
    if res.chosen is not None and res.chosen.retrained:
        console.print("(front at search fidelity; the chosen model was retrained, see below)")
    n = len(res.study.trials)
    console.print(
        f"{n} trials in study {res.study.study_name!r} ({res.n_run} in this run): "
        f"{trial_counts(res.study)}; {len(res.front)} on the Pareto front.",
        markup=False,
        highlight=False,
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
        )
    card = res.files.get("model_card")
    if res.chosen is not None and isinstance(card, Path) and card.is_file():
        console.print("", markup=False, highlight=False)
        console.print(card.read_text().rstrip("\n"), markup=False, highlight=False)
        console.print(f"(the card is {card}; `slimtune card {card.parent}` prints it again)",
                      markup=False, highlight=False)
    elif res.chosen is not None:
        c = res.chosen
        console.print(
            f"chosen: trial {c.number}, accuracy {c.accuracy:.4f}, F1 {c.f1:.4f}, "
            f"{c.macs:,} MACs, {c.params:,} params" + (" (retrained)" if c.retrained else ""),
            markup=False,
            highlight=False,
        )
        console.print("  " + pick_sentence(res), markup=False, highlight=False)
    if res.chosen is not None:
        if res.interrupted and res.model is None:
            console.print(
                "  (not exported: its weights were not kept and nothing is retrained after "
                "Ctrl-C; `slimtune export --storage ...` retrains it)",
                markup=False,
                highlight=False,
            )
        if not (isinstance(card, Path) and card.is_file()):
            for k, v in res.files.items():
                if isinstance(v, Path):
                    console.print(f"  {k}: {v}", markup=False, highlight=False)
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
        # the library logs each finished trial at INFO already; this line adds what its
        # values cannot say (a model over a constraint, a repeat) at INFO, the rest at DEBUG
        special = DUPLICATE_OF in frozen.user_attrs or (rec is not None and rec.skipped)
        logger.log(
            logging.INFO if special else logging.DEBUG,
            "trial %d: %s%s | %s",
            frozen.number,
            what,
            size,
            self._info(),
        )

    def close(self) -> None:
        """Close the bar."""
        if self._p is not None:
            self._p.close()


def _front(study: st.Study, directions: Sequence[str]) -> list[Candidate]:
    """The Pareto front of the study's candidates (feasible, trained, no repeats)."""
    return [c for c in collect_candidates(study, directions) if c.on_front]
