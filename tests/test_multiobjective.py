from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as hs
from hypothesis.extra.numpy import arrays

from slimtune.multiobjective import (
    crowding_distance,
    hypervolume,
    hypervolume_contributions,
    is_pareto_front,
    non_dominated_sort,
)


def naive_front(L):
    n = len(L)
    out = np.ones(n, dtype=bool)
    for i in range(n):
        for j in range(n):
            if np.all(L[j] <= L[i]) and np.any(L[j] < L[i]):
                out[i] = False
    return out


@given(
    arrays(
        float,
        hs.tuples(hs.integers(1, 30), hs.integers(1, 4)),
        elements=hs.integers(0, 6).map(float),
    )
)
@settings(max_examples=150, deadline=None)
def test_front_matches_naive(L):
    assert (is_pareto_front(L) == naive_front(L)).all()
    ranks = non_dominated_sort(L)
    assert (ranks == 0).sum() == naive_front(L).sum()
    # Every rank-k point is dominated by some rank-(k-1) point.
    for k in range(1, ranks.max() + 1):
        prev = L[ranks == k - 1]
        for p in L[ranks == k]:
            assert any(np.all(q <= p) and np.any(q < p) for q in prev)


def test_hypervolume_exact_2d_and_3d():
    L = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    assert hypervolume(L, np.array([4.0, 4.0])) == 3 + 2 + 1
    cube = np.array([[0.0, 0.0, 0.0]])
    assert hypervolume(cube, np.ones(3) * 2) == 8
    L3 = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], dtype=float)
    # Three overlapping boxes in [0, 2]^3: check against a Monte Carlo estimate.
    rng = np.random.default_rng(0)
    pts = rng.random((200000, 3)) * 2
    dominated = (pts[:, None, :] >= L3[None]).all(axis=2).any(axis=1)
    assert abs(hypervolume(L3, np.full(3, 2.0)) - dominated.mean() * 8) < 0.05


def test_contributions_and_crowding():
    L = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [3.5, 3.5]])
    ref = np.array([4.0, 4.0])
    c = hypervolume_contributions(L, ref)
    total = hypervolume(L, ref)
    for i in range(4):
        assert np.isclose(c[i], total - hypervolume(np.delete(L, i, 0), ref))
    c3 = hypervolume_contributions(np.c_[L, np.zeros(4)], np.r_[ref, 1.0])
    assert np.allclose(c3, c)
    d = crowding_distance(L[:3])
    assert np.isinf(d[0]) and np.isinf(d[2]) and np.isfinite(d[1])


def test_non_dominated_sort_ends_on_nan_rows():
    """Rows with NaN (e.g. pruned trials with no value) dominate nothing and are dominated by
    nothing: they take the last rank instead of looping for ever."""
    L = np.array([[1.0, 2.0], [np.nan, np.nan], [2.0, 3.0], [np.nan, np.nan]])
    assert non_dominated_sort(L).tolist() == [0, 2, 1, 2]


def test_multi_objective_tpe_asks_after_pruned_trials_without_values():
    import slimtune as st

    study = st.create_study(
        directions=["maximize", "minimize"],
        sampler=st.samplers.TPESampler(n_startup_trials=4, seed=0),
    )
    for i in range(8):
        t = study.ask()
        x = t.suggest_float("x", 0, 1)
        if i % 2:  # stopped before any report (a zero-cost proxy rung, a repeat)
            study.tell(t, state=st.TrialState.PRUNED)
        else:
            study.tell(t, [x, 100 * x])
    assert 0 <= study.ask().suggest_float("x", 0, 1) <= 1
