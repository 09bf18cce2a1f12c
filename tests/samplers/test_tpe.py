"""Tests of the TPE sampler (slimtune.samplers.tpe)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import slimtune as st
from slimtune.multiobjective import hypervolume
from slimtune.samplers import MOTPESampler, RandomSampler, TPESampler
from slimtune.samplers.tpe import (
    Observations,
    TrialCollector,
    default_gamma,
    default_weights,
    split_observations,
)
from slimtune.samplers.tpe.parzen import Geometry, ParzenEstimator, PriorModel
from slimtune.space import Prior, Space, SpaceEncoder


def sphere(trial: st.Trial) -> float:
    return sum((trial.suggest_float(f"x{i}", -5, 5) - 1.0) ** 2 for i in range(4))


def run(sampler, objective, n, directions=None) -> st.Study:
    if directions:
        study = st.create_study(directions=directions, sampler=sampler)
    else:
        study = st.create_study(sampler=sampler)
    study.optimize(objective, n_trials=n)
    return study


# --- basics -------------------------------------------------------------------------------


def test_lazy_exports() -> None:
    assert st.samplers.TPESampler is TPESampler
    assert issubclass(st.samplers.MOTPESampler, TPESampler)


def test_beats_random_on_sphere() -> None:
    tpe = [run(TPESampler(seed=s), sphere, 80).best_value for s in range(3)]
    rnd = [run(RandomSampler(seed=s), sphere, 80).best_value for s in range(3)]
    # Random search reaches ~2-4 here; TPE well under 1.
    assert np.mean(tpe) < 0.4 * np.mean(rnd)


def test_univariate_mode_beats_random() -> None:
    tpe = [run(TPESampler(seed=s, multivariate=False), sphere, 80).best_value for s in range(3)]
    rnd = [run(RandomSampler(seed=s), sphere, 80).best_value for s in range(3)]
    assert np.mean(tpe) < 0.6 * np.mean(rnd)


def test_reproducible_with_seed() -> None:
    a = run(TPESampler(seed=7), sphere, 25)
    b = run(TPESampler(seed=7), sphere, 25)
    c = run(TPESampler(seed=8), sphere, 25)
    pa = [t.params for t in a.trials]
    assert pa == [t.params for t in b.trials]
    assert pa != [t.params for t in c.trials]


def test_grid_values_are_exact() -> None:
    def obj(trial: st.Trial) -> float:
        a = trial.suggest_int("a", 1, 9, step=2)
        b = trial.suggest_int("b", 1, 1000, log=True)
        c = trial.suggest_float("c", 0.0, 1.0, step=0.25)
        d = trial.suggest_categorical("d", ["x", "y", None])
        return abs(a - 5) + abs(math.log(b / 30)) + abs(c - 0.5) + (d != "y")

    study = run(TPESampler(seed=0, n_startup_trials=5), obj, 40)
    for t in study.trials:
        assert t.params["a"] in (1, 3, 5, 7, 9)
        assert isinstance(t.params["b"], int) and 1 <= t.params["b"] <= 1000
        assert t.params["c"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert t.params["d"] in ("x", "y", None)
    assert study.best_value < 1.0


def test_validation_messages() -> None:
    with pytest.raises(ValueError, match="n_startup_trials"):
        TPESampler(n_startup_trials=-1)
    with pytest.raises(ValueError, match="n_ei_candidates"):
        TPESampler(n_ei_candidates=0)
    with pytest.raises(ValueError, match="bandwidth"):
        TPESampler(bandwidth="silverman")
    with pytest.raises(ValueError, match="prior_weight"):
        TPESampler(prior_weight=0.0)
    with pytest.raises(TypeError, match="gamma"):
        TPESampler(gamma=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="priors"):
        TPESampler(priors=[1, 2])
    with pytest.raises(ValueError, match="marginal_weight"):
        TPESampler(marginal_weight=-1.0)


def test_default_gamma_and_weights() -> None:
    assert default_gamma(10) == 2 and default_gamma(100) == 15 and default_gamma(10_000) == 25
    w = default_weights(100)
    assert len(w) == 100 and w[-25:].min() == 1.0 and np.all(np.diff(w) >= 0) and w[0] < 0.05


# --- the Parzen estimator ------------------------------------------------------------------


def _geom(space: dict) -> Geometry:
    return Geometry(SpaceEncoder(space))


def test_parzen_densities_normalise() -> None:
    """The mixture is a density on continuous dims and a pmf on discrete/categorical ones."""
    space = {
        "a": st.FloatDistribution(0, 1),
        "b": st.IntDistribution(1, 5),
        "c": st.CategoricalDistribution(["p", "q", "r"]),
    }
    geom = _geom(space)
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.random(6), rng.integers(0, 5, 6) / 5 + 0.1, rng.integers(0, 3, 6)])
    A = np.ones_like(X, dtype=bool)
    A[2, 0] = False  # one conditional entry
    est = ParzenEstimator(geom, X, A, np.ones(6), PriorModel.flat(geom), 1.0)
    grid = (np.arange(2000) + 0.5) / 2000
    b_pts = (np.arange(5) + 0.5) / 5
    G = np.array(np.meshgrid(grid, b_pts, [0, 1, 2], indexing="ij")).reshape(3, -1).T
    M = np.ones_like(G, dtype=bool)
    total = np.exp(est.log_pdf(G, M)).sum() / 2000
    assert total == pytest.approx(1.0, rel=1e-3)


@pytest.mark.parametrize(
    "dist",
    [
        st.FloatDistribution(0, 1),
        st.IntDistribution(1, 7),
        st.CategoricalDistribution(list("pqrs")),
    ],
)
def test_per_dim_marginals_equal_the_joint_in_one_dimension(dist) -> None:
    """The marginal score (used with ``marginal_weight``) is the joint density in 1-d."""
    geom = _geom({"a": dist})
    rng = np.random.default_rng(1)
    est = ParzenEstimator(geom, np.zeros((0, 1)), np.zeros((0, 1), bool), np.zeros(0),
                          PriorModel.flat(geom), 1.0)
    X, _ = est.sample(rng, 12)
    est = ParzenEstimator(geom, X, np.ones_like(X, bool), rng.random(12) + 0.1,
                          PriorModel.flat(geom), 1.0, bandwidth="neighbor", min_bandwidth=0.01)
    C, _ = est.sample(rng, 30)
    M = np.ones_like(C, dtype=bool)
    np.testing.assert_allclose(est.log_pdf_per_dim(C)[:, 0], est.log_pdf(C, M), atol=1e-5)


def test_marginal_weight_enters_the_score(monkeypatch) -> None:
    calls = []
    orig = ParzenEstimator.log_pdf_per_dim

    def spy(self, X):
        calls.append(len(X))
        return orig(self, X)

    monkeypatch.setattr(ParzenEstimator, "log_pdf_per_dim", spy)
    run(TPESampler(seed=0, marginal_weight=0.0), sphere, 15)
    assert calls == []
    a = run(TPESampler(seed=0), sphere, 15)  # default 0.5
    assert len(calls) == 2 * 5  # l and g for each of the 5 model-based suggestions
    b = run(TPESampler(seed=0, marginal_weight=0.0), sphere, 15)
    assert [t.params for t in a.trials][:10] == [t.params for t in b.trials][:10]
    assert [t.params for t in a.trials] != [t.params for t in b.trials]


def test_parzen_inactive_dims_are_neutral() -> None:
    """An observation without a parameter gives every value of it the same density."""
    space = {"a": st.FloatDistribution(0, 1), "b": st.FloatDistribution(0, 1)}
    geom = _geom(space)
    X = np.array([[0.2, 0.0]])
    A = np.array([[True, False]])
    est = ParzenEstimator(geom, X, A, np.ones(1), PriorModel.flat(geom), 1e-9)
    cands = np.array([[0.2, 0.1], [0.2, 0.9]])
    lp = est.log_pdf(cands, np.ones_like(cands, dtype=bool))
    assert lp[0] == pytest.approx(lp[1])
    # ... and a candidate that will not use `b` is compared on `a` only.
    m = np.array([[True, False]])
    assert est.log_pdf(cands[:1], m)[0] > est.log_pdf(np.array([[0.8, 0.1]]), m)[0]


# --- conditional spaces --------------------------------------------------------------------


def branches(trial: st.Trial) -> float:
    model = trial.suggest_categorical("model", ["svm", "forest", "mlp"])
    if model == "svm":
        c = trial.suggest_float("svm_c", 1e-3, 1e3, log=True)
        return 0.3 + 0.05 * abs(math.log10(c) - 1.0)
    if model == "forest":
        depth = trial.suggest_int("depth", 1, 32)
        feat = trial.suggest_float("max_features", 0.05, 1.0)
        return abs(depth - 20) / 32 + abs(feat - 0.3)
    lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
    width = trial.suggest_int("width", 8, 512, log=True)
    return 0.5 + abs(math.log10(lr) + 3) / 4 + abs(math.log2(width) - 6) / 6


def test_conditional_space_is_sampled_jointly(monkeypatch) -> None:
    """After startup no known parameter falls back to independent sampling."""
    sampler = TPESampler(seed=0, n_startup_trials=10)
    calls: list[tuple[int, str]] = []
    orig = sampler.sample_independent

    def spy(study, trial, name, dist):
        calls.append((trial.number, name))
        return orig(study, trial, name, dist)

    monkeypatch.setattr(sampler, "sample_independent", spy)
    study = run(sampler, branches, 40)
    seen: set[str] = set()
    late = []
    for t in study.trials:
        if t.number >= 10:
            late += [(t.number, n) for n in t.params if n in seen]
        seen |= set(t.params)
    assert late, "the study should reuse known parameters"
    assert not (set(late) & set(calls))


def test_conditional_beats_random() -> None:
    tpe = [run(TPESampler(seed=s), branches, 60).best_value for s in range(3)]
    rnd = [run(RandomSampler(seed=s), branches, 60).best_value for s in range(3)]
    assert np.mean(tpe) < np.mean(rnd) - 0.01
    assert np.mean(tpe) < 0.32


# --- priors --------------------------------------------------------------------------------


def lr_objective(trial: st.Trial) -> float:
    lr = trial.suggest_float("lr", 1e-6, 1.0, log=True)
    opt = trial.suggest_categorical("opt", ["sgd", "adam", "rmsprop"])
    return (math.log10(lr) + 3) ** 2 + (0.0 if opt == "adam" else 1.0)


def test_prior_shapes_startup_samples() -> None:
    sampler = TPESampler(
        seed=0,
        n_startup_trials=20,
        priors={"lr": Prior(center=1e-3, width=0.05), "opt": {"weights": [0.0, 1.0, 0.0]}},
    )
    study = run(sampler, lr_objective, 20)
    lrs = np.log10([t.params["lr"] for t in study.trials])
    assert np.all(np.abs(lrs + 3) < 1.5)  # width 0.05 of 6 decades: sigma 0.3 decades
    assert {t.params["opt"] for t in study.trials} == {"adam"}


def test_prior_from_declarative_space_and_helps() -> None:
    space = Space.from_yaml(
        """
lr: {type: float, low: 1.0e-6, high: 1.0, log: true, prior: {center: 1.0e-3, width: 0.1}}
opt: {type: categorical, choices: [sgd, adam, rmsprop], prior: {weights: [1, 4, 1]}}
"""
    )
    with_prior = [run(TPESampler(seed=s, priors=space), lr_objective, 25).best_value
                  for s in range(3)]
    without = [run(TPESampler(seed=s), lr_objective, 25).best_value for s in range(3)]
    assert np.mean(with_prior) < np.mean(without)
    assert np.mean(with_prior) < 0.05


def test_prior_fades_when_wrong() -> None:
    """A misleading prior is overridden by the data."""
    sampler = TPESampler(seed=0, priors={"lr": Prior(center=3e-6, width=0.1)})
    study = run(sampler, lr_objective, 80)
    assert study.best_value < 0.3


def test_prior_validation() -> None:
    sampler = TPESampler(seed=0, n_startup_trials=2, priors={"lr": Prior(center=5.0)})
    study = st.create_study(sampler=sampler)
    with pytest.raises(ValueError, match="outside"):
        study.ask().suggest_float("lr", 1e-6, 1.0, log=True)


# --- parallel ------------------------------------------------------------------------------


def _spread(constant_liar: bool, seed: int) -> float:
    study = st.create_study(sampler=TPESampler(seed=seed, constant_liar=constant_liar))
    study.optimize(sphere, n_trials=30)
    pending = []
    for _ in range(8):
        t = study.ask()
        pending.append([t.suggest_float(f"x{i}", -5, 5) for i in range(4)])
    P = np.array(pending)
    D = np.sqrt(((P[:, None] - P[None]) ** 2).sum(-1))
    return float(D[np.triu_indices(8, 1)].min())


def test_constant_liar_spreads_parallel_workers() -> None:
    liar = [_spread(True, s) for s in range(3)]
    plain = [_spread(False, s) for s in range(3)]
    assert min(liar) > 0.3  # no near-duplicates among 8 pending trials
    assert np.mean(liar) > 1.5 * np.mean(plain)


def test_running_trials_are_bad_observations() -> None:
    study = st.create_study(sampler=TPESampler(seed=0))
    study.optimize(sphere, n_trials=12)
    study.ask().suggest_float("x0", -5, 5)
    trials = study.get_trials(deepcopy=False)
    obs = study.sampler.collector.collect(study, trials)
    below, _, n = split_observations(obs, study.sampler.gamma)
    assert n == 12
    running = obs.tier == np.inf
    assert running.sum() == 1 and not below[running].any()


# --- pruned trials, constraints ------------------------------------------------------------


def test_pruned_ranked_after_complete_by_step_then_value() -> None:
    study = st.create_study(sampler=TPESampler(seed=0, gamma=lambda n: n))
    for v in (3.0, 1.0):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        study.tell(t, v)
    for step, v in ((5, 0.1), (5, 0.5), (2, 0.0)):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        t.report(v, step)
        study.tell(t, state=st.TrialState.PRUNED)
    sampler = study.sampler
    obs = sampler.collector.collect(study, study.get_trials(deepcopy=False))
    order = np.lexsort((obs.losses[:, 0], obs.tier))
    assert [obs.trials[i].number for i in order] == [1, 0, 2, 3, 4]
    below = split_observations(obs, lambda n: 3).good
    assert [t.number for t, b in zip(obs.trials, below) if b] == [0, 1, 2]


def constrained(trial: st.Trial) -> float:
    x = trial.suggest_float("x", -10, 3.5)
    y = trial.suggest_float("y", -10, 10)
    trial.set_constraints([3.0 - x])  # feasible only for x >= 3
    return x * x + y * y


def test_constraints_make_progress_from_infeasible_history() -> None:
    def feasible_share(sampler) -> float:
        study = run(sampler, constrained, 50)
        late = study.trials[20:]
        return np.mean([t.constraints[0] <= 0 for t in late])

    tpe = np.mean([feasible_share(TPESampler(seed=s)) for s in range(2)])
    rnd = np.mean([feasible_share(RandomSampler(seed=s)) for s in range(2)])
    assert rnd < 0.1
    assert tpe > 0.25  # random: ~0.04 (x >= 3 is 3.7 % of the range)


def test_feasible_trials_preferred() -> None:
    study = st.create_study(sampler=TPESampler(seed=0, gamma=lambda n: 1))
    for x, c in ((0.0, 1.0), (5.0, -1.0)):
        t = study.ask()
        t.suggest_float("x", -10, 10)
        t.set_constraints([c])
        study.tell(t, x)
    obs = study.sampler.collector.collect(study, study.get_trials(deepcopy=False))
    below = split_observations(obs, study.sampler.gamma).good
    assert below.tolist() == [False, True]


def test_constraints_func_is_stored() -> None:
    sampler = TPESampler(seed=0, constraints_func=lambda t: [t.params["x"] - 1.0])
    study = st.create_study(sampler=sampler)
    study.optimize(lambda t: t.suggest_float("x", 0, 2), n_trials=3)
    for t in study.trials:
        assert t.constraints == [pytest.approx(t.params["x"] - 1.0)]


# --- several objectives --------------------------------------------------------------------


def two_objectives(trial: st.Trial) -> tuple[float, float]:
    x = [trial.suggest_float(f"x{i}", 0, 1) for i in range(3)]
    g = 1 + 9 * (x[1] + x[2]) / 2  # ZDT1-like
    f1 = x[0]
    return f1, g * (1 - math.sqrt(f1 / g))


def test_motpe_beats_random_hypervolume() -> None:
    def hv(sampler) -> float:
        study = run(sampler, two_objectives, 60, directions=["minimize", "minimize"])
        L = np.array([t.values for t in study.best_trials])
        return hypervolume(L, np.array([1.1, 11.0]))

    tpe = np.mean([hv(MOTPESampler(seed=s)) for s in range(2)])
    rnd = np.mean([hv(RandomSampler(seed=s)) for s in range(2)])
    assert tpe > rnd + 0.2


def test_mo_split_uses_rank_then_hypervolume_contribution() -> None:
    L = np.array([[0.0, 1.0], [0.5, 0.5], [0.51, 0.51], [1.0, 0.0], [0.9, 0.9], [0.3, 0.71]])
    dummy = [None] * len(L)
    obs = Observations(dummy, L, np.zeros(len(L)), np.zeros(len(L)))  # type: ignore[arg-type]
    below, _, n = split_observations(obs, lambda n: 3)
    # The front is {0, 1, 3, 5}; with the reference point at 1.1 (max + 10 % of the range)
    # the corner point 0 adds the least hypervolume (0.3 * 0.1), so it is left out.
    assert n == 6 and below.tolist() == [False, True, False, True, False, True]


def test_maximize_direction() -> None:
    study = st.create_study(direction="maximize", sampler=TPESampler(seed=0))
    study.optimize(lambda t: -sphere(t), n_trials=60)
    assert study.best_value > -1.5


# --- the collector (BOHB plugs in here) ----------------------------------------------------


def test_collector_is_replaceable() -> None:
    class Flipped:
        def __init__(self) -> None:
            self.inner = TrialCollector()

        def collect(self, study, trials):
            obs = self.inner.collect(study, trials)
            return obs._replace(losses=-obs.losses)  # pretend we maximise

    study = run(TPESampler(seed=0, collector=Flipped()), lambda t: t.suggest_float("x", 0, 1), 40)
    xs = [t.params["x"] for t in study.trials[20:]]
    assert np.mean(xs) > 0.7


def test_collector_must_have_collect() -> None:
    with pytest.raises(TypeError, match="collector"):
        TPESampler(collector=object())  # type: ignore[arg-type]
    assert isinstance(TPESampler().collector, TrialCollector)


def test_default_collector_reads_only_what_it_is_given() -> None:
    """The collector's output depends on the trials passed in, not on earlier calls."""
    study = run(TPESampler(seed=0), sphere, 15)
    trials = study.get_trials(deepcopy=False)
    warm = TPESampler(seed=0).collector
    warm.collect(study, trials[:10])  # fill its memo with a shorter history
    a, b = warm.collect(study, trials), TrialCollector().collect(study, trials)
    assert [t.number for t in a.trials] == [t.number for t in b.trials]
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.tier, b.tier)
    assert a.stable == 15 and b.stable == 15  # all finished: a stable prefix


# --- the pure steps -------------------------------------------------------------------------


def test_split_is_pure_and_deterministic() -> None:
    rng = np.random.default_rng(0)
    L = rng.random((30, 1))
    L[5] = L[6] = L[7]  # a tie somewhere
    tier = np.zeros(30)
    tier[20:25] = 1.5  # pruned
    tier[25:] = np.inf  # running
    viol = np.where(np.arange(30) % 7 == 0, 0.3, 0.0)
    obs = Observations([None] * 30, L, tier, viol)  # type: ignore[arg-type]
    copies = [L.copy(), tier.copy(), viol.copy()]
    a = split_observations(obs, default_gamma)
    b = split_observations(obs, default_gamma)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    for before, now in zip(copies, (L, tier, viol)):
        np.testing.assert_array_equal(before, now)  # inputs untouched
    assert a.n_finished == 25 and a.good.sum() == default_gamma(25)
    assert not a.good[25:].any()  # running trials are never good
    assert not a.good[viol > 0].any()  # feasible ones rank first
    # Several objectives: the same again.
    obs2 = Observations([None] * 30, rng.random((30, 2)), tier, viol)  # type: ignore[arg-type]
    c, d = split_observations(obs2, default_gamma), split_observations(obs2, default_gamma)
    np.testing.assert_array_equal(c.good, d.good)
    np.testing.assert_array_equal(c.order, d.order)


def test_steps_compose_to_the_proposal() -> None:
    """fit -> sample -> score -> pick, called by hand, give the sampler's own proposal."""
    from slimtune.samplers.tpe import steps

    study = run(TPESampler(seed=3), sphere, 20)
    sampler = TPESampler(seed=11)
    trial = study.ask()
    space = sampler.infer_relative_search_space(study, trial.freeze())
    params, obs = sampler.propose(study, trial.freeze(), space)
    assert obs is not None and len(obs.trials) == 20

    rng = np.random.default_rng(11)
    geom = Geometry(SpaceEncoder(space))
    X, A = SpaceEncoder(space).encode([t.internal_params for t in obs.trials])
    split = steps.split_observations(obs, default_gamma)
    prior_l, strength = steps.prior_models({}, geom, space)
    kernel = steps.KernelSettings(1.0, "neighbor", 0.2, True, 0.05, None)
    l_est, g_est = steps.fit_estimators(
        geom, X, A, obs, split, prior_l, kernel, weights=default_weights,
        gamma=default_gamma, branch_weight=0.5, max_observations=1000, rng=rng,
    )
    cand = steps.sample_candidates(l_est, rng, 24, X, A)
    score = steps.score_candidates(cand, l_est, g_est, marginal_weight=0.5, X=X, A=A)
    assert score.shape == (24,)
    best = geom.encoder.decode_external(steps.pick_best(cand, score))
    assert best == params


def test_relative_space_carries_its_read_of_the_study() -> None:
    """infer passes its read of the study to sample_relative inside the space it returns;
    a plain dict space makes sample_relative read the study itself, with the same result."""
    from slimtune.samplers.tpe.sampler import RelativeSpace

    study = run(TPESampler(seed=3), sphere, 20)
    snap = study.ask().freeze()
    a, b = TPESampler(seed=5), TPESampler(seed=5)
    space = a.infer_relative_search_space(study, snap)
    assert isinstance(space, RelativeSpace) and space.history.trial_number == snap.number
    assert len(space.history.trials()) == 20
    assert a.sample_relative(study, snap, space) == b.sample_relative(study, snap, dict(space))


def _no_memo(cls):
    """A sampler class whose pure memos are emptied before every read of the study."""
    from slimtune.samplers.tpe.memo import EncodingMemo, SpacePrefix

    class NoMemo(cls):
        def _read(self, study, trial):
            self._history = SpacePrefix()
            self._encoding = EncodingMemo()
            if isinstance(self.collector, TrialCollector):
                self.collector = TrialCollector(self.constant_liar)
            return super()._read(study, trial)

    return NoMemo


def _mixed_pruned(trial: st.Trial) -> float:
    k = trial.suggest_categorical("k", ["a", "b"])
    x = trial.suggest_float("x", -2, 2)
    y = x * x + (trial.suggest_int("n", 1, 5) if k == "a" else 0.5)
    if trial.number % 5 == 3:
        trial.report(y + 1.0, 2)
        raise st.TrialPruned()
    return y


def test_memos_change_no_result() -> None:
    """Same trials with every memo emptied before each call (memos are pure)."""
    def trials(sampler) -> list:
        study = st.create_study(sampler=sampler)
        study.optimize(_mixed_pruned, n_trials=25)
        pending = [study.ask() for _ in range(3)]  # running trials: constant liar
        for t in pending:
            t.suggest_categorical("k", ["a", "b"])
            t.suggest_float("x", -2, 2)
        study.optimize(_mixed_pruned, n_trials=10)
        return [(t.number, t.state, t.params) for t in study.trials]

    kw = dict(seed=4, max_observations=10)
    assert trials(TPESampler(**kw)) == trials(_no_memo(TPESampler)(**kw))


def test_sampler_reused_on_another_study_ignores_the_first() -> None:
    """Memos are keyed by the study: a second study (own storage, same trial ids) gets the
    same trials as with a fresh sampler."""
    rng = np.random.default_rng(0)
    dists = {f"x{i}": st.FloatDistribution(-5, 5) for i in range(4)}
    history = []
    for _ in range(30):
        p = {k: float(rng.uniform(-5, 5)) for k in dists}
        history.append(_frozen(p, dists, sum((v - 1.0) ** 2 for v in p.values())))

    def second(sampler) -> list:
        study = st.create_study(sampler=sampler)
        for t in history:
            study.add_trial(t)
        study.optimize(sphere, n_trials=5)
        return [t.params for t in study.trials[30:]]

    used = TPESampler(seed=0)
    run(used, sphere, 20)  # 20 finished trials with trial ids 0..19 in another storage
    used.reseed_rng(5)
    assert second(used) == second(TPESampler(seed=5))


# --- speed, roughly (timings belong to benchmarks/; this only checks no blow-up) ------------


def test_many_trials_uses_cached_encoding() -> None:
    sampler = TPESampler(seed=0, n_startup_trials=10)
    study = st.create_study(sampler=sampler)
    rng = np.random.default_rng(0)
    dists = {f"x{i}": st.FloatDistribution(0, 1) for i in range(6)}
    for _ in range(400):
        p = {k: float(rng.random()) for k in dists}
        study.add_trial(_frozen(p, dists, sum(p.values())))
    t = study.ask()
    for k in dists:
        t.suggest_float(k, 0, 1)
    assert sampler.collector._memo.n_obs == 400
    X_first = sampler._encoding._pre_X
    assert len(X_first) == 400
    study.tell(t, 1.0)
    t2 = study.ask()
    t2.suggest_float("x0", 0, 1)
    X_next = sampler._encoding._pre_X
    assert len(X_next) == 401 and np.array_equal(X_next[:400], X_first)  # only one new row


def _frozen(params, dists, value):
    return st.FrozenTrial(
        number=0, state=st.TrialState.COMPLETE, values=[value], datetime_start=None,
        datetime_complete=None, params=params, distributions=dists, user_attrs={},
        system_attrs={}, intermediate_values={}, trial_id=0,
    )


def test_sqlite_storage_and_resume(tmp_path) -> None:
    """Trials read back from SQL (new objects each time) feed the cache the same way."""
    url = f"sqlite:///{tmp_path / 'tpe.db'}"
    study = st.create_study(storage=url, study_name="tpe", sampler=TPESampler(seed=0))
    study.optimize(sphere, n_trials=15)
    again = st.load_study(study_name="tpe", storage=url)
    again.sampler = TPESampler(seed=1)
    again.optimize(sphere, n_trials=10)
    assert len(again.trials) == 25
    assert again.best_value < min(t.value for t in again.trials[:10])


def test_g_cap_keeps_newest_and_weights() -> None:
    from slimtune.samplers.tpe.sampler import _subsample

    rng = np.random.default_rng(0)
    idx = np.arange(5000)
    w = default_weights(5000)
    keep, kw = _subsample(rng, idx, w, 1000)
    assert len(keep) <= 1000 and np.all(np.diff(keep) > 0)
    assert set(idx[-500:]) <= set(keep)  # the newest half is always kept
    assert kw.sum() == pytest.approx(w.sum())  # the old ones keep their total weight


def test_tie_across_the_cut_is_not_good() -> None:
    """A plateau of equal losses straddling the cut gives no direction: none of it is good."""
    L = np.array([[0.5], [0.9], [0.9], [0.9], [0.9], [0.2]])
    obs = Observations([None] * 6, L, np.zeros(6), np.zeros(6))  # type: ignore[arg-type]
    below = split_observations(obs, lambda n: 3).good
    assert below.tolist() == [True, False, False, False, False, True]
    L2 = np.array([[0.5], [0.9], [0.7], [0.9], [0.9], [0.2]])
    obs2 = Observations([None] * 6, L2, np.zeros(6), np.zeros(6))  # type: ignore[arg-type]
    below2 = split_observations(obs2, lambda n: 3).good
    assert below2.tolist() == [True, False, True, False, False, True]


def test_small_grid_is_not_resampled() -> None:
    """In an all-discrete space, known configurations are not proposed again."""

    def grid(trial: st.Trial) -> float:
        a = trial.suggest_int("a", 0, 4)
        b = trial.suggest_categorical("b", ["p", "q", "r"])
        return abs(a - 2) + (b != "q")

    study = run(TPESampler(seed=0, n_startup_trials=5), grid, 15)
    configs = [(t.params["a"], t.params["b"]) for t in study.trials[5:]]
    assert len(set(configs)) == len(configs)
    assert study.best_value == 0.0


# --- hypervolume weights and log-scaled objectives (multi-objective) -----------------------


def test_log_scaled_keeps_order_and_handles_both_directions() -> None:
    from slimtune.samplers.tpe.steps import log_scaled

    # objective 0 maximised (loss = -value), objective 1 minimised; last row is running
    L = np.array([[-0.9, 1e3], [-0.5, 1e5], [-0.99, 1e4], [np.inf, np.inf]])
    out = log_scaled(L, [False, True], np.array([-1.0, 1.0]))
    assert out[:, 0].tolist() == L[:, 0].tolist()
    assert out[:3, 1] == pytest.approx(np.log([1e3, 1e5, 1e4]))
    assert np.isinf(out[3]).all()
    both = log_scaled(L, [True, True], np.array([-1.0, 1.0]))
    assert both[:3, 0] == pytest.approx(-np.log([0.9, 0.5, 0.99]))
    for j in range(2):  # monotone: the order of every objective is kept
        assert np.argsort(both[:3, j]).tolist() == np.argsort(L[:3, j]).tolist()
    assert np.isfinite(log_scaled(np.array([[0.0]]), [True], np.array([1.0]))).all()


def test_hypervolume_weights_favour_the_points_that_shape_the_front() -> None:
    from slimtune.samplers.tpe.steps import hypervolume_weights

    L = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.9, 0.9], [0.2, 0.2]])
    viol = np.array([0.0, 0.0, 0.0, 0.0, 1.0])  # the last one is infeasible
    obs = Observations([None] * 5, L, np.zeros(5), viol)  # type: ignore[arg-type]
    good = np.array([True, True, True, True, True])
    w = hypervolume_weights(obs, good)
    assert w.max() == pytest.approx(1.0)
    assert w[1] == pytest.approx(1.0)  # the knee adds the most hypervolume
    assert 0 < w[0] < 1 and 0 < w[2] < 1
    assert w[3] < 1e-9 and w[4] < 1e-9  # dominated / infeasible: next to nothing


def test_log_scale_changes_which_front_points_are_good() -> None:
    # A front in (error, MACs) where MACs span three decades: on the raw scale the big
    # models add the most hypervolume; on a log scale the small ones count as much.
    macs = np.array([1e3, 2e3, 4e3, 1e5, 3e5, 1e6])
    err = np.array([0.30, 0.20, 0.15, 0.05, 0.03, 0.02])
    directions = ["maximize", "minimize"]
    study = st.create_study(directions=directions)
    for e, m in zip(err, macs):
        t = study.ask()
        t.suggest_float("x", 0, 1)
        study.tell(t, [1 - e, m])
    raw = TPESampler(seed=0, gamma=lambda n: 3)
    logs = TPESampler(seed=0, gamma=lambda n: 3, objective_scales=["linear", "log"])
    trials = study.get_trials(deepcopy=False)
    obs = raw.collector.collect(study, trials)
    good_raw = split_observations(obs, raw.gamma).good
    good_log = split_observations(obs._replace(losses=logs._scaled(study, obs.losses)),
                                  logs.gamma).good
    small = macs < 1e4
    assert good_raw[small].sum() < good_log[small].sum()


def test_new_mo_options_are_seeded_and_checked() -> None:
    def params(seed: int) -> list[dict]:
        s = TPESampler(seed=seed, n_startup_trials=5, good_weights="hypervolume",
                       objective_scales=["linear", "log"], branch_weight=0.0)
        study = run(s, lambda t: (t.suggest_float("x", 0, 1), 10 ** (3 * t.suggest_float(
            "y", 0, 1))), 15, directions=["maximize", "minimize"])
        return [t.params for t in study.trials]

    assert params(3) == params(3)
    with pytest.raises(ValueError, match="good_weights"):
        TPESampler(good_weights="contribution")
    with pytest.raises(ValueError, match="objective_scales"):
        TPESampler(objective_scales=["linear", "ln"])
    s = TPESampler(seed=0, n_startup_trials=2, objective_scales=["log"])
    study = st.create_study(directions=["minimize", "minimize"], sampler=s)
    with pytest.raises(ValueError, match="one 'linear' or 'log' per objective"):
        study.optimize(lambda t: (t.suggest_float("x", 1, 2), 1.0), n_trials=4, catch=())
