"""A self-contained HTML report of a study: summary, failure reasons, the best trial(s) and
the figures (inline PNG), laid out to fit the page.

Tables sit in scrolling boxes and images scale to the page width, so a wide Pareto table
or parameter grid never runs off the page. A small inline script checks, once the page has
loaded, that every figure decoded and that no script error occurred, and records the result
on ``<body>`` (``data-images``, ``data-broken-images``, ``data-js-errors``,
``data-page-overflow``, ``data-widest-table`` in pixels, ``data-checked``): the test suite
renders the report in headless Chromium and reads them back.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slimtune.trial import TrialState
from slimtune.viz import plots

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = ["write_report"]

MAX_ROWS = 50
"""Rows shown of the best-trials table (the rest are counted)."""

_CSS = """
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1.5em;max-width:1100px;
 color:#222;line-height:1.4}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.6em}
.summary{color:#444}
.scroll{display:inline-block;overflow:auto;max-width:100%;max-height:32em;border:1px solid #ddd}
table{border-collapse:collapse;font-size:12px}
th{position:sticky;top:0;background:#f3f3f3}
td,th{border:1px solid #ddd;padding:3px 7px;white-space:nowrap;text-align:right}
td.text,th.text{text-align:left;white-space:normal;max-width:40em}
tr.chosen td{background:#fff6cc;font-weight:600}
.alert{background:#fdecea;border:1px solid #f5c2c0;padding:.6em 1em;border-radius:4px}
figure{margin:1em 0}figure img{max-width:100%;height:auto;display:block}
figcaption{color:#555;font-size:.9em}
"""

# Records on <body> what a browser found once the page loaded (read by the tests).
_CHECK_JS = """
window.slimtuneErrors=[];
window.addEventListener('error',function(e){
 window.slimtuneErrors.push(e.message?String(e.message):'resource failed: '+
  (e.target&&e.target.alt?e.target.alt:'?'));},true);
window.addEventListener('load',function(){
 var im=document.images,bad=[];
 for(var i=0;i<im.length;i++){if(!im[i].complete||im[i].naturalWidth===0){bad.push(im[i].alt||i);}}
 var b=document.body,d=document.documentElement;
 b.setAttribute('data-images',String(im.length));
 b.setAttribute('data-broken-images',bad.join('|'));
 b.setAttribute('data-js-errors',window.slimtuneErrors.join('|'));
 b.setAttribute('data-page-overflow',String(d.scrollWidth>d.clientWidth));
 var w=0,tb=document.getElementsByTagName('table');
 for(var j=0;j<tb.length;j++){w=Math.max(w,tb[j].scrollWidth);}
 b.setAttribute('data-widest-table',String(w));
 b.setAttribute('data-checked','1');
});
"""


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _cell(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return html.escape("" if v is None else str(v))
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return str(v)
        if abs(v) >= 1e3 and float(v).is_integer():
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return html.escape(str(v))


def _table(
    cols: list[str],
    rows: list[list[Any]],
    text_cols: tuple[str, ...] = (),
    marked: set[int] | None = None,
) -> str:
    """An HTML table in a scrolling box; row indices in ``marked`` are highlighted."""

    def cls(c: str) -> str:
        return " class='text'" if c in text_cols else ""

    head = "".join(f"<th{cls(c)}>{html.escape(c)}</th>" for c in cols)
    body = []
    for k, r in enumerate(rows):
        tr = "<tr class='chosen'>" if marked and k in marked else "<tr>"
        body.append(tr + "".join(f"<td{cls(c)}>{_cell(v)}</td>" for c, v in zip(cols, r)) + "</tr>")
    return f"<div class='scroll'><table><tr>{head}</tr>{''.join(body)}</table></div>"


def _figure(title: str, fig: Any, caption: str = "") -> str:
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f"<h2>{html.escape(title)}</h2><figure><img alt='{html.escape(title, quote=True)}' "
        f"src='data:image/png;base64,{_png(fig)}'>{cap}</figure>"
    )


def _failures_section(study: Study, n_trials: int, n_complete: int) -> list[str]:
    groups = plots.failure_reasons(study)
    if not groups:
        return []
    n_fail = sum(g[1] for g in groups)
    out = ["<h2>Failures</h2>"]
    if n_complete == 0:
        out.append(
            f"<p class='alert'>Every finished trial failed ({n_fail} of {n_trials}): there is "
            "nothing to plot yet. The reasons are below, most common first; fix the cause "
            "(often a bug in the objective) and run the study again.</p>"
        )
    else:
        out.append(f"<p>{n_fail} of {n_trials} trials failed, by reason:</p>")

    def numbers(ns: list[int]) -> str:
        shown = ", ".join(str(n) for n in ns[:12])
        return shown + (f", … ({len(ns) - 12} more)" if len(ns) > 12 else "")

    rows = [[r, c, numbers(ns)] for r, c, ns in groups]
    out.append(_table(["reason", "trials", "trial numbers"], rows, ("reason", "trial numbers")))
    out.append(_figure("Failures by reason", plots.plot_failures(study)))
    return out


def write_report(study: Study, path: str | Path, chosen: int | None = None) -> Path:
    """Write ``path`` (one HTML file, figures inline) with the study's summary, the reasons
    of its failed trials, its best trial(s) and its figures. ``chosen`` (a trial number,
    default the study's ``chosen_trial`` user attribute, else the best trial of a
    single-objective study) is highlighted in the table and starred in the figures."""
    trials = study.get_trials(deepcopy=False)
    names = study.objective_names()
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in TrialState}
    n_complete = counts["complete"]
    pick, pick_label = plots.chosen_trial(study, chosen)
    mo = len(study.directions) > 1

    objs = ", ".join(f"{n} ({d})" for n, d in zip(names, study.directions))
    n_bad = sum(
        t.state == TrialState.COMPLETE and t.constraints is not None and max(t.constraints) > 0
        for t in trials
    )
    words = {"fail": "failed", "complete": f"complete ({n_bad} infeasible)" if n_bad else ""}
    state_txt = ", ".join(f"{v} {words.get(k) or k}" for k, v in counts.items() if v)
    summary = f"objectives: {objs} · {len(trials)} trials" + (f": {state_txt}" if state_txt else "")
    if pick is not None:
        summary += f" · {pick_label}"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>slimtune report: {html.escape(study.study_name)}</title>",
        f"<style>{_CSS}</style><script>{_CHECK_JS}</script></head><body>",
        f"<h1>Study {html.escape(study.study_name)}</h1>",
        f"<p class='summary'>{html.escape(summary)}</p>",
    ]
    parts += _failures_section(study, len(trials), n_complete)

    best = sorted(
        study.best_trials, key=lambda t: t.values[0], reverse=study.directions[0] == "maximize"
    )  # type: ignore[index]
    if best:
        pnames = sorted({k for t in best for k in t.params})
        cols = ["trial", *names, *pnames]
        rows = [[t.number, *(t.values or []), *(t.params.get(p) for p in pnames)] for t in best]
        marked = {
            k for k, t in enumerate(best[:MAX_ROWS]) if pick is not None and t.number == pick.number
        }
        title = f"Pareto front ({len(best)} trials)" if mo else "Best trial"
        parts.append(f"<h2>{title}</h2>")
        parts.append(_table(cols, rows[:MAX_ROWS], marked=marked))
        if len(best) > MAX_ROWS:
            parts.append(f"<p>{len(best) - MAX_ROWS} more trials on the front not shown.</p>")
        if pick is not None and pick.number not in {t.number for t in best}:
            parts.append(f"<p>The chosen trial {pick.number} is not on the front.</p>")

    if not trials:
        parts.append("<p>No trial yet: run the study, then write the report again.</p>")
    if n_complete:
        if mo:
            parts.append(_figure("Pareto front", plots.plot_pareto_front(study, chosen=chosen)))
        for i, n in enumerate(names[:3]):
            parts.append(
                _figure(f"History of {n}", plots.plot_optimization_history(study, i, chosen))
            )
    if any(t.intermediate_values for t in trials):  # pruned trials have curves too
        parts.append(_figure("Learning curves", plots.plot_intermediate_values(study)))
    if n_complete and any(t.params for t in trials if t.state == TrialState.COMPLETE):
        parts.append(_figure(f"{names[0]} by parameter", plots.plot_slice(study, chosen=chosen)))
    parts.append("</body></html>")
    out = Path(path)
    out.write_text("\n".join(parts), encoding="utf-8")
    return out
