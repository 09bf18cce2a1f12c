"""A self-contained HTML report of a study: summary, best trials, figures (inline PNG)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slimtune.trial import TrialState

if TYPE_CHECKING:
    from slimtune.study import Study


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<p>none</p>"
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.6g}"
        return html.escape("" if v is None else str(v))

    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(c))}</td>" for c in cols) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def write_report(study: Study, path: str | Path) -> Path:
    """Write ``path`` (HTML) with the study's summary, best trial(s) and figures."""
    from slimtune.viz import plots

    trials = study.get_trials()
    counts = {s.name: sum(t.state == s for t in trials) for s in TrialState}
    best = study.best_trials
    best_rows = [
        {"number": t.number, **{f"value {i}": v for i, v in enumerate(t.values or [])}, **t.params}
        for t in best[:50]
    ]
    figs = [("Optimization history", plots.plot_optimization_history(study))]
    if len(study.directions) >= 2:
        figs.append(("Pareto front", plots.plot_pareto_front(study)))
    if any(t.intermediate_values for t in trials):
        figs.append(("Intermediate values", plots.plot_intermediate_values(study)))
    if any(t.params for t in trials):
        figs.append(("Parameters", plots.plot_slice(study)))
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>slimtune report: {html.escape(study.study_name)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}</style></head><body>",
        f"<h1>Study {html.escape(study.study_name)}</h1>",
        f"<p>directions: {html.escape(', '.join(study.directions))}; trials: {len(trials)} "
        + ", ".join(f"{k.lower()}: {v}" for k, v in counts.items() if v)
        + "</p>",
        "<h2>Best trial" + ("s (Pareto front)" if len(study.directions) > 1 else "") + "</h2>",
        _table(best_rows),
    ]
    for title, fig in figs:
        parts.append(f"<h2>{title}</h2><img src='data:image/png;base64,{_png(fig)}'>")
    parts.append("</body></html>")
    out = Path(path)
    out.write_text("\n".join(parts))
    return out
