"""Smoke tests of the benchmark harness (fast: problems, conversions, a tiny runner run)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: `benchmarks`

from benchmarks.optimizers import (  # noqa: E402
    OPTIMIZERS,
    PROBE,
    RunResult,
    Unavailable,
    parse_spec,
    register,
    run_optimizer,
)
from benchmarks.problems import PROBLEMS, problems_in_suite  # noqa: E402
from benchmarks.run import _split_specs, main, score_run  # noqa: E402
from slimtune import FixedTrial, Space  # noqa: E402


def test_synthetic_suite_is_complete():
    synth = problems_in_suite("synthetic")
    assert len(synth) >= 10
    for p in synth:
        assert 60 <= p.n_trials <= 150, p.name
        assert p.optimum is not None and p.argmin is not None, p.name
    tags = {t for p in synth for t in p.tags}
    assert {"conditional", "mixed", "log"} <= tags
    assert len(problems_in_suite("sklearn")) >= 5


@pytest.mark.parametrize("name", [n for n, p in PROBLEMS.items() if p.argmin is not None])
def test_problem_reaches_its_optimum_at_the_argmin(name):
    p = PROBLEMS[name]
    v = p.objective(FixedTrial(p.argmin))
    assert v == pytest.approx(p.optimum, abs=1e-5)


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_space_parses_and_random_points_are_not_below_the_optimum(name):
    p = PROBLEMS[name]
    space = Space.from_dict(p.space)
    assert Space.from_dict(space.to_dict()).to_dict() == space.to_dict()
    if p.suite != "synthetic":
        return
    import slimtune as st

    study = st.create_study(sampler=st.samplers.RandomSampler(seed=0))
    study.optimize(p.objective, n_trials=30)
    assert study.best_value >= p.optimum - 1e-9


def test_sklearn_problem_evaluates():
    pytest.importorskip("sklearn")
    p = PROBLEMS["lasso-diabetes"]
    v = p.evaluate({"alpha": 0.01, "fit_intercept": True, "tol": 1e-4})
    assert 0.0 < v < 1.0  # 1 - R^2 of a sensible lasso


def test_hyperopt_conversion_keeps_conditions():
    pytest.importorskip("hyperopt")
    from hyperopt.pyll import stochastic

    from benchmarks.optimizers import hyperopt_space

    for name in ("jenatton", "model_choice", "mixed", "training"):
        p = PROBLEMS[name]
        space, decode = hyperopt_space(p.space)
        sp = Space.from_dict(p.space)
        import numpy as np

        rng = np.random.default_rng(0)
        for _ in range(30):
            params = decode(stochastic.sample(space, rng=rng))
            sp.validate(params)  # every active parameter present and in range
            assert params == sp.active_params(params)
            assert math.isfinite(p.evaluate(params))


def test_parse_spec_and_split():
    assert parse_spec("slimtune-tpe") == ("slimtune-tpe", {})
    assert parse_spec("slimtune-tpe[gamma=0.2, multivariate=False, mode='x']") == (
        "slimtune-tpe",
        {"gamma": 0.2, "multivariate": False, "mode": "x"},
    )
    assert _split_specs("a,b[x=1,y=2], c") == ["a", "b[x=1,y=2]", "c"]
    with pytest.raises(ValueError):
        parse_spec("a[1]")


def test_scores():
    p = PROBLEMS["branin"]
    base = {"mean_best": 2.0}
    assert score_run(p, p.optimum, base, p.optimum) == pytest.approx(100)
    assert score_run(p, 2.0, base, p.optimum) == pytest.approx(0)
    assert score_run(p, 4.0, base, p.optimum) < 0
    sk = PROBLEMS["lasso-diabetes"]
    base = {"median_value": 1.0}
    assert score_run(sk, 0.5, base, 0.5) == pytest.approx(100)
    assert score_run(sk, 1.0, base, 0.5) == pytest.approx(0)
    assert score_run(sk, 5.0, base, 0.5) == pytest.approx(0.0)  # clipped


def test_run_result_timing_and_round_trip():
    res = run_optimizer("slimtune-random", PROBE, seed=0, n_trials=5)
    assert len(res.values) == len(res.suggest_s) == len(res.eval_s) == 5
    assert all(s >= 0 for s in res.suggest_s)
    back = RunResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back.best == res.best


def test_unavailable_optimizer_is_reported(tmp_path):
    @register("_test-unavailable")
    def _run(problem, seed, n_trials, **opts):
        raise Unavailable("not here")

    try:
        out = tmp_path / "u.md"
        rc = main(
            [
                "--problems",
                "branin",
                "--optimizers",
                "slimtune-random,_test-unavailable",
                "--seeds",
                "1",
                "--jobs",
                "1",
                "--n-trials",
                "3",
                "--out",
                str(out),
                "--cache-dir",
                str(tmp_path / "cache"),
                "-q",
            ]
        )
        assert rc == 0
        assert "`_test-unavailable` unavailable: not here" in out.read_text()
    finally:
        del OPTIMIZERS["_test-unavailable"]


def test_runner_writes_tables(tmp_path):
    pytest.importorskip("optuna")
    out = tmp_path / "bench" / "smoke.md"
    rc = main(
        [
            "--suite",
            "synthetic",
            "--problems",
            "branin,jenatton",
            "--optimizers",
            "slimtune-random,optuna-tpe",
            "--seeds",
            "1",
            "--jobs",
            "2",
            "--n-trials",
            "5",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
            "-q",
        ]
    )
    assert rc == 0
    md = out.read_text()
    assert "## Summary (normalized score)" in md
    assert "| slimtune-random |" in md and "| optuna-tpe |" in md
    assert "### branin" in md and "### jenatton" in md
    raw = json.loads(out.with_suffix(".json").read_text())
    assert len(raw["results"]) == 4
    assert all(len(r["values"]) == 5 for r in raw["results"])
    assert (tmp_path / "cache" / "random_baseline.json").exists()


def test_speed_smoke():
    pytest.importorskip("optuna")
    from benchmarks.speed import time_per_suggestion, time_per_trial

    for fw in ("slimtune", "optuna"):
        assert time_per_trial(fw, "memory", 5) > 0
        r = time_per_suggestion(fw, "random", n=10, k=2)
        assert r["mean"] > 0
