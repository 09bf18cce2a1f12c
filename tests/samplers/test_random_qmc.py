from __future__ import annotations

import numpy as np
import pytest

import slimtune as st
from slimtune.space import Space

COND = Space.from_dict(
    {
        "model": {"type": "categorical", "choices": ["svm", "tree"]},
        "C": {"type": "float", "low": 1e-3, "high": 1e3, "log": True, "when": {"model": "svm"}},
        "depth": {"type": "int", "low": 1, "high": 16, "when": {"model": "tree"}},
        "w": {"type": "float", "low": 0, "high": 1, "step": 0.25},
    }
)


@pytest.mark.parametrize(
    "make",
    [
        lambda: st.samplers.RandomSampler(seed=5),
        lambda: st.samplers.QMCSampler(seed=5),
        lambda: st.samplers.QMCSampler(seed=5, qmc_type="halton"),
    ],
)
def test_conditional_and_dynamic_spaces(make):
    study = st.create_study(sampler=make())
    for i in range(40):
        t = study.ask()
        p = COND.suggest(t)
        COND.validate(p)
        assert p["w"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        # Dynamic range: the bound grows with the trial number.
        hi = 1 + i // 10
        assert 0 <= t.suggest_int("k", 0, hi) <= hi
        study.tell(t, 0.0)
    models = [t.params["model"] for t in study.trials]
    assert 10 < models.count("svm") < 30


def test_qmc_covers_better_than_random():
    """Scrambled Sobol points spread more evenly: lower centred discrepancy than random."""
    from scipy.stats import qmc

    def points(sampler):
        study = st.create_study(sampler=sampler)
        study.optimize(
            lambda t: t.suggest_float("a", 0, 1) + t.suggest_float("b", 0, 1), n_trials=64
        )
        return np.array([[t.params["a"], t.params["b"]] for t in study.trials[1:]])

    d_qmc = np.mean([qmc.discrepancy(points(st.samplers.QMCSampler(seed=s))) for s in range(3)])
    d_rnd = np.mean([qmc.discrepancy(points(st.samplers.RandomSampler(seed=s))) for s in range(3)])
    assert d_qmc < 0.5 * d_rnd


def test_qmc_sequence_is_shared_by_parallel_workers_and_resume(tmp_path):
    url = f"sqlite:///{tmp_path}/q.db"
    a = st.create_study(storage=url, study_name="q", sampler=st.samplers.QMCSampler(seed=1))
    a.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    b = st.load_study(study_name="q", storage=url, sampler=st.samplers.QMCSampler(seed=1))
    b.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    ref = st.create_study(sampler=st.samplers.QMCSampler(seed=1))
    ref.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=10)
    assert [t.params for t in b.trials] == [t.params for t in ref.trials]


def test_qmc_bad_type():
    with pytest.raises(ValueError, match="qmc_type='lhs'"):
        st.samplers.QMCSampler(qmc_type="lhs")
