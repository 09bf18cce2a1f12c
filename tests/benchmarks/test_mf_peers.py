"""Smoke tests of the side-by-side multi-fidelity harness (benchmarks/mf_peers.py).

They run without the peer venvs: the protocol is exercised with a stand-in runner in this
interpreter (benchmarks/peers/client.py is standard library only); the LCBench surrogate
test is skipped, with the reason, where its venv is not set up.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the repo root: `benchmarks`

from benchmarks import mf_peers as P  # noqa: E402
from benchmarks import multifidelity as mf  # noqa: E402
from benchmarks import yahpo_lcbench as Y  # noqa: E402


class _Curves:
    """A tiny problem: loss 1/epoch + config offset, noise-free; counts trainings."""

    max_epochs = 9

    def __init__(self) -> None:
        self.started = 0

    @staticmethod
    def suggest(trial):
        return {"x": trial.suggest_float("x", 0.0, 1.0),
                "k": trial.suggest_categorical("k", [1, 2])}

    def run(self, p, number):
        self.started += 1
        return mf._ArrayTrainer(self.curve(p), float(self.curve(p)[-1]))

    def curve(self, p):
        e = np.arange(1, self.max_epochs + 1)
        return 1.0 / e + p["x"] + 0.1 * p["k"]

    def true_value(self, p):
        return float(self.curve(p)[-1])


FAKE_RUNNER = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {peers!r})
    from client import BudgetSpent, Client
    c = Client()
    print("library noise on stdout must not break the protocol")
    a = {{"x": 0.5, "k": "2"}}
    out = {{}}
    try:
        out["a3"] = c.evaluate("a", a, 3)           # new run: epochs 1..3
        out["a9"] = c.evaluate("a", a, 9)           # resumed: epochs 4..9
        out["b2"] = c.evaluate("b", {{"x": 0.1, "k": 1}}, 2, keep=False)
        out["b2again"] = c.evaluate("b", {{"x": 0.1, "k": 1}}, 2)  # dropped: trains again
        out["a2"] = c.evaluate("a", a, 2)           # below its epochs: restarts
        while True:
            c.evaluate("z", {{"x": 0.9, "k": 1}}, 9, keep=False)
    except BudgetSpent:
        out["stopped"] = True
    sys.stderr.write(json.dumps(out))
    c.done()
""")


def test_protocol_resume_cost_and_budget(tmp_path):
    script = tmp_path / "fake_runner.py"
    script.write_text(FAKE_RUNNER.format(peers=str(ROOT / "benchmarks" / "peers")))
    prob = _Curves()
    job = {"method": "fake", "seed": 0, "budget": 40, "max_epochs": 9, "min_epochs": 1,
           "space": P.space_of(prob), "options": {}}
    with open(tmp_path / "stderr.txt", "w") as log:
        hist, counts = P.serve([sys.executable, str(script)], job, prob, 40, log=log)

    text = (tmp_path / "stderr.txt").read_text()
    out = json.loads(text[text.index("{"):])
    assert len(out["a3"]) == 3 and len(out["a9"]) == 6  # resumed: only the new epochs
    assert out["a9"][-1] == pytest.approx(1 / 9 + 0.5 + 0.2)  # "2" decoded to the int 2
    assert len(out["b2again"]) == 2 and len(out["a2"]) == 2
    assert out["stopped"]
    # 3 + 6 + 2 + 2 + 2 = 15 epochs, then runs of 9 until 40 are spent: 15 + 9 * 3 = 42.
    assert [h[0] for h in hist][:5] == [3, 9, 11, 13, 15]
    assert hist[-1][0] == 42 and counts["resumed"] == 1 and counts["trainings"] == 7
    # The incumbent is the best observed at the largest budget reached (epoch 9: a).
    assert hist[1][1] == pytest.approx(prob.true_value({"x": 0.5, "k": 2}))


def test_space_of_records_the_problems_space():
    sp = P.space_of(mf.LearningCurves(0))
    assert [s["name"] for s in sp] == ["lr", "width", "wd", "batch", "opt"]
    assert sp[3] == {"name": "batch", "type": "cat", "choices": mf.BATCHES}
    lc = P.space_of(Y.LCBench("3945", 0))
    assert len(lc) == 7 and {s["type"] for s in lc} == {"int", "float"}


def test_topk_spends_the_budget_as_stated_and_is_seeded():
    prob = mf.LearningCurves(1)
    hist = P.run_topk(prob, seed=3, budget=400)
    E = mf.MAX_EPOCHS
    n1, k = 200, (400 - 200) // (E - 1)
    assert len(hist) == n1 + k
    assert hist[n1 - 1][0] == n1 and hist[-1][0] == n1 + k * (E - 1)
    assert hist == P.run_topk(mf.LearningCurves(1), seed=3, budget=400)
    with pytest.raises(ValueError, match="share"):
        P.run_topk(prob, seed=0, budget=100, share=1.5)


def test_problem_scope_points_multifidelity_at_the_problem():
    prob = _Curves()
    with P.problem_scope(prob):
        assert mf.MAX_EPOCHS == 9 and mf.suggest is prob.suggest
        hist = mf.run_method("asha", prob, 0, 60)
    assert mf.MAX_EPOCHS == 81 and mf.suggest is not prob.suggest
    assert hist and hist[-1][0] <= 60 + 9


def test_missing_peer_is_skipped_with_a_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "VENVS", str(tmp_path))
    assert "setup.sh dehb" in P.peer_missing("dehb-resume")
    assert P.peer_missing("bohb") is None
    with pytest.raises(RuntimeError, match="setup.sh smac"):
        P.run_peer("smac-hb", _Curves(), 0, 10)


def test_report_tables_and_reach(tmp_path):
    budget = 90
    g = P.grid(budget)
    res = {}
    for m, end in (("a", 0.2), ("b", 0.4)):
        for s in range(3):
            c = np.linspace(1.0, end + 0.01 * s, len(g))
            res[P.rkey(m, "-", s)] = {"method": m, "task": "-", "seed": s, "budget": budget,
                                      "curve": list(c), "wall": 1.0, "counts": {}}
    text = P.report("lc", res, ["a", "b"], budget, str(tmp_path), "cmd")
    row_a = next(line for line in text.splitlines() if line.startswith("| a | 3 × 1"))
    assert "0.2100 ± 0.0058" in row_a  # mean and standard error of the finals
    reach = [line for line in text.splitlines() if line.startswith("| a | ")][-1]
    cells = [c.strip() for c in reach.strip("|").split("|")][1:]
    assert cells[0] == "1.00" and 0.6 < float(cells[1]) < 0.9  # a reaches b's final early
    assert (tmp_path / "mf_peers_lc.md").exists() and (tmp_path / "mf_peers_lc.png").exists()


def test_lcbench_sample_respects_the_space():
    cfgs = Y.sample(np.random.default_rng(0), 2000)
    for s in Y.SPACE:
        v = np.array([c[s["name"]] for c in cfgs])
        assert v.min() >= s["low"] and v.max() <= s["high"]
    nl = np.array([c["num_layers"] for c in cfgs])
    assert set(nl) == {1, 2, 3, 4, 5} and abs(np.mean(nl == 5) - 0.2) < 0.04


@pytest.mark.skipif(Y.available() is not None, reason=str(Y.available()))
def test_lcbench_curves_noise_and_truth():
    prob = Y.LCBench("3945", 0)
    p = Y.sample(np.random.default_rng(1), 1)[0]
    c = prob.curve(p)
    assert c.shape == (52,) and np.all((c >= 0) & (c <= 1))
    a = [prob.run(p, 0).step() for _ in range(1)]
    tr, tr2 = prob.run(p, 0), prob.run(p, 1)
    obs = np.array([tr.step() for _ in range(52)])
    assert obs[0] == a[0] and obs[0] != tr2.step()  # a stream per training
    assert 0.003 < np.std(obs - c) < 0.03
    assert prob.true_value(p) == pytest.approx(float(c[-1])) and not math.isnan(c[-1])


def test_random_row_trains_every_trial_to_the_end():
    # A study's default pruner is the median rule: the "random, no stopping" row must not use it.
    prob = _CurvesNoisy()
    with P.problem_scope(prob):
        hist = mf.run_method("random", prob, 0, 90)
    assert [h[0] for h in hist] == [9 * i for i in range(1, 11)]


class _CurvesNoisy(_Curves):
    """Curves the median rule would cut: later configurations start worse."""

    def curve(self, p):
        e = np.arange(1, self.max_epochs + 1)
        return 5.0 / e + p["x"]
