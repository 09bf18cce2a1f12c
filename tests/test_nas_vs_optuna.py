"""The NAS-vs-Optuna benchmark harness: what counts, the hypervolume over time, the adapter
and the report (no search is run: the rows are made up)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: `benchmarks`

pytest.importorskip("torch")

from benchmarks import nas_vs_optuna as B  # noqa: E402
from slimtune.multiobjective import hypervolume  # noqa: E402

CAP = 250_000


def row(t, acc, macs, state="COMPLETE", epochs=10, feasible=True):
    return {
        "t": t,
        "state": state,
        "feasible": feasible,
        "accuracy": acc,
        "macs": macs,
        "epochs": epochs,
    }


ROWS = [
    row(5.0, 0.90, 20_000),
    row(8.0, 0.80, 2_000, state="PRUNED", epochs=2),
    row(9.0, 0.0, 300_000, epochs=None, feasible=False),  # over the cap: not trained
    row(12.0, 0.95, 80_000),
    row(14.0, None, 1_000, state="FAIL", epochs=None),
    row(30.0, 0.99, 1_000),  # after the budget
]


def test_evidence_counts_feasible_measured_trials_within_the_budget():
    assert [r["t"] for r in B.evidence(ROWS, 20.0, 10, "all")] == [5.0, 8.0, 12.0]
    assert [r["t"] for r in B.evidence(ROWS, 20.0, 10, "complete")] == [5.0, 12.0]
    # a COMPLETE trial that stopped early (fewer epochs) is not "trained to the end"
    early = [row(1.0, 0.9, 1000, epochs=3)]
    assert B.evidence(early, 20.0, 10, "complete") == []


def test_hv_curve_steps_at_completion_times():
    ev = B.evidence(ROWS, 20.0, 10, "all")
    grid = np.array([0.0, 5.0, 7.9, 8.0, 20.0])
    curve = B.hv_curve(ev, CAP, grid)
    ref = np.array([1.0, np.log10(CAP)])
    L = np.array([[1 - r["accuracy"], np.log10(r["macs"])] for r in ev])
    want = [
        0.0,
        hypervolume(L[:1], ref),
        hypervolume(L[:1], ref),
        hypervolume(L[:2], ref),
        hypervolume(L, ref),
    ]
    np.testing.assert_allclose(curve, want)
    assert np.all(np.diff(curve) >= 0)
    assert B.time_to_reach(curve, grid, want[3]) == 8.0
    assert B.time_to_reach(curve, grid, want[-1] + 1) is None
    assert B.hv_curve([], CAP, grid).tolist() == [0.0] * 5


def test_summarize_columns():
    s = B.summarize({"rows": ROWS}, CAP, 20.0, 10, "all")
    assert (s["trials"], s["trained_full"], s["points"]) == (5, 2, 3)
    assert s["best_small"] == 0.90  # the best accuracy at <= cap / 4 MACs
    assert s["hv"] == pytest.approx(B.summarize({"rows": ROWS}, CAP, 20.0, 10, "all")["hv"])


def test_optuna_adapter_turns_constraints_into_a_user_attr():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"])

    def objective(trial):
        t = B.OptunaTrialAdapter(trial)
        x = t.suggest_int("x", 1, 4)
        t.set_constraints([x - 2.5])
        t.report([0.5, x], 1)  # a no-op: Optuna prunes no multi-objective study
        assert t.should_prune() is False
        return 1.0 / x, float(x)

    study.optimize(objective, n_trials=6)
    for t in study.trials:
        assert B._constraints(t) == [t.params["x"] - 2.5]
        assert t.intermediate_values == {}


def test_report_writes_the_table_and_the_plot(tmp_path):
    pytest.importorskip("matplotlib")
    runs = []
    for seed in (0, 1):
        for m, shift in (("optuna", 0.0), ("slimtune", -2.0)):
            rows = [dict(r, t=max(r["t"] + shift, 0.1)) for r in ROWS]
            runs.append({"dataset": "digits", "seed": seed, "method": m, "rows": rows})
    saved = {
        "budget": 20.0,
        "methods": ["optuna", "slimtune"],
        "machine": "test",
        "load_before": [1.0, 1.0, 1.0],
        "runs": runs,
    }
    B.report(saved, tmp_path, "t")
    md = (tmp_path / "t.md").read_text()
    assert "| **slimtune** | **all** | mean ± s.e. |" in md and "| optuna | complete | 0 |" in md
    assert "| **slimtune** | **complete** | wins 0/2 |" in md  # equal final HV: no win
    assert "| **slimtune** | **all** | wins 2/2 |" in md  # the pruned point adds to it
    assert (tmp_path / "t_digits.png").stat().st_size > 10_000
