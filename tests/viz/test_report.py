"""The HTML report: names, the chosen row, failure reasons instead of empty plots, tables
that fit the page; and the report rendered in headless Chromium, which must load every
figure without a script error and without the page running wider than the window."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

import slimtune as st

pytest.importorskip("matplotlib")

from slimtune.viz import CHOSEN_TRIAL_ATTR, write_report  # noqa: E402

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _browser() -> str | None:
    return next((p for p in map(shutil.which, BROWSERS) if p), None)


def render(path, tmp_path, width: int = 1000) -> dict[str, str]:
    """Load ``path`` in headless Chromium; the attributes the report's check script set on
    <body>, plus ``console`` (the browser's console errors)."""
    exe = _browser()
    if exe is None:
        pytest.skip("no chromium on this machine (CI installs it: .ci/run)")
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--window-size={width},1200",
        "--virtual-time-budget=10000",
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        path.resolve().as_uri(),
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    body = re.search(r"<body([^>]*)>", res.stdout)
    assert body is not None, res.stderr[-2000:]
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(1)))
    console = [ln for ln in res.stderr.splitlines() if "CONSOLE" in ln or "Uncaught" in ln]
    attrs["console"] = "\n".join(console)
    return attrs


def assert_renders(path, tmp_path, n_images: int) -> dict[str, str]:
    a = render(path, tmp_path)
    assert a.get("checked") == "1", a
    assert a["js-errors"] == "" and "Uncaught" not in a["console"], a
    assert a["broken-images"] == "", a
    assert int(a["images"]) == n_images, a
    assert a["page-overflow"] == "false", a
    return a


def test_single_objective_report(single_study, tmp_path):
    out = write_report(single_study, tmp_path / "r.html")
    text = out.read_text()
    best = single_study.best_trial.number
    assert "objectives: value (minimize)" in text
    assert "<h2>Best trial</h2>" in text and f"best: trial {best}" in text
    assert re.search(rf"<tr class='chosen'><td>{best}</td>", text)
    assert "Failures" not in text  # none failed
    for title in ("History of value", "Learning curves", "value by parameter"):
        assert f"<h2>{title}</h2>" in text
    assert_renders(out, tmp_path, n_images=3)


def test_two_objective_report_with_names_and_chosen(two_study, tmp_path):
    pick = two_study.best_trials[2].number
    out = write_report(two_study, tmp_path / "r.html", chosen=pick)
    text = out.read_text()
    assert "objectives: accuracy (maximize), macs (minimize)" in text
    n_bad = sum(max(t.constraints) > 0 for t in two_study.trials)
    assert f"30 trials: 30 complete ({n_bad} infeasible)" in text
    assert "<th>accuracy</th><th>macs</th>" in text and "objective 0" not in text
    assert f"chosen: trial {pick}" in text
    assert re.search(rf"<tr class='chosen'><td>{pick}</td>", text)
    for title in ("Pareto front", "History of accuracy", "History of macs"):
        assert f"<h2>{title}</h2>" in text
    assert_renders(out, tmp_path, n_images=4)


def test_all_failed_report_lists_reasons_and_no_empty_plots(failed_study, tmp_path):
    out = write_report(failed_study, tmp_path / "r.html")
    text = out.read_text()
    assert "Every finished trial failed (9 of 9)" in text
    assert "RuntimeError: CUDA out of memory" in text and "ValueError: shape mismatch" in text
    assert re.search(r"CUDA out of memory[^<]*</td><td>\d+</td>", text)
    assert "History of" not in text and "by parameter" not in text
    assert_renders(out, tmp_path, n_images=1)  # the failures chart only


def test_wide_tables_scroll_inside_the_page(tmp_path):
    s = st.create_study(
        directions=["maximize", "minimize"], sampler=st.samplers.RandomSampler(seed=3)
    )
    s.set_metric_names(["f1", "latency_ms"])

    def obj(trial):
        xs = [trial.suggest_float(f"a_rather_long_parameter_name_{k}", 0, 1) for k in range(8)]
        return sum(xs), sum(x * x for x in xs) + 1

    s.optimize(obj, n_trials=8)
    s.set_user_attr(CHOSEN_TRIAL_ATTR, s.best_trials[0].number)
    out = write_report(s, tmp_path / "wide.html")
    assert "<div class='scroll'><table>" in out.read_text()
    a = assert_renders(out, tmp_path, n_images=4)  # the page itself does not overflow ...
    assert int(a["widest-table"]) > 1000  # ... though the table is wider than the window


def test_empty_and_pruned_only_studies(tmp_path):
    empty = write_report(st.create_study(), tmp_path / "e.html").read_text()
    assert "No trial yet" in empty and "<img" not in empty

    def obj(trial):
        trial.report(trial.suggest_float("x", 0, 1), 0)
        raise st.TrialPruned()

    s = st.create_study(sampler=st.samplers.RandomSampler(seed=5))
    s.optimize(obj, n_trials=4)
    text = write_report(s, tmp_path / "p.html").read_text()
    assert "4 trials: 4 pruned" in text and "<h2>Learning curves</h2>" in text
    assert text.count("<img") == 1


def test_browser_check_catches_a_broken_figure_and_a_script_error(failed_study, tmp_path):
    out = write_report(failed_study, tmp_path / "r.html")
    bad = out.read_text().replace(
        "</body>",
        "<img alt='broken' src='data:image/png;base64,AAAA'>"
        "<script>undefinedFunction()</script>"
        "<div style='width:5000px'>wide</div></body>",
    )
    out.write_text(bad)
    a = render(out, tmp_path)
    assert a["checked"] == "1"
    assert "broken" in a["broken-images"]
    assert "undefinedFunction" in a["js-errors"]
    assert a["page-overflow"] == "true"
