"""The sampler contract: what every sampler of slimtune must do, one suite for all of them.

To add a sampler: give it a factory ``seed -> sampler`` in ``SAMPLERS`` below (its default
settings, only the seed set), say how many complete trials its startup phase takes in
``STARTUP`` (0 for samplers without a model), and, for a model-based sampler, how to tell
that its model proposed a trial in ``model_proposals``. Every test of this file then runs
against it. A new sampler must:

* return values inside the distribution asked for, of its type: floats (log or stepped: on
  the grid), ints (log: positive; stepped: on the grid), and exactly one of the choices of a
  categorical, by type (``True`` is not ``1``, ``1`` is not ``1.0``, ``None`` is a choice);
* work in conditional spaces (only the active branch's parameters are stored) and dynamic
  ones (a range changes between trials, a parameter appears late), past its startup phase;
* be reproducible: the same seed gives the same trials, another seed other trials;
* accept RUNNING trials (several asked before any is told) and FAIL / PRUNED trials in the
  history, and several objectives;
* leave enqueued trials (``study.enqueue_trial``) as they were enqueued.

Every run uses ``catch=()`` so that an exception inside a sampler fails the test instead of
becoming a FAIL trial, and a model-based sampler must not log warnings (e.g. a model that
failed and fell back to random points).

A model-based sampler must also beat random search on a simple function, with a fixed seed
and a margin, in its own test file: tpe ``test_tpe.py::test_beats_random_on_sphere``, motpe
``test_tpe.py::test_motpe_beats_random_hypervolume``, gp
``test_gp.py::test_beats_random_search_on_a_sphere``, auto
``test_auto.py::test_beats_random_search``, bohb
``test_bohb.py::test_bohb_beats_hyperband_with_random_sampling`` (same pruner, random
proposals); qmc: ``test_samplers_basic.py::test_qmc_covers_better_than_random``; cmaes
``test_cmaes.py::test_beats_random_on_sphere``; nsga2
``test_nsga2.py::test_front_beats_random_hypervolume``; partial_fixed: TPE's test (it
delegates). GridSampler and BruteForceSampler need a space given in advance or a finite
one, so they cannot run these generic objectives; their exactly-once tests are in
``test_grid.py``.
"""

from __future__ import annotations

import logging
import math
import pickle
from collections.abc import Callable

import pytest

import slimtune as st
from slimtune import keys
from slimtune.samplers import (
    AutoSampler,
    BOHBSampler,
    CmaEsSampler,
    GPSampler,
    MOTPESampler,
    NSGAIISampler,
    PartialFixedSampler,
    QMCSampler,
    RandomSampler,
    TPESampler,
)

SAMPLERS: dict[str, Callable[[int], st.samplers.BaseSampler]] = {
    "random": lambda seed: RandomSampler(seed=seed),
    "qmc": lambda seed: QMCSampler(seed=seed),
    "tpe": lambda seed: TPESampler(seed=seed),
    "motpe": lambda seed: MOTPESampler(seed=seed),
    "gp": lambda seed: GPSampler(seed=seed),
    "auto": lambda seed: AutoSampler(seed=seed),
    "bohb": lambda seed: BOHBSampler(budgets=[1, 3, 9], seed=seed),
    # Categoricals go to the independent sampler, as in Optuna; its warning about that is
    # the documented default, and the tests here allow no warnings, so it is off.
    "cmaes": lambda seed: CmaEsSampler(seed=seed, warn_independent_sampling=False),
    # A generation of 10 rather than the default 50 keeps these runs short.
    "nsga2": lambda seed: NSGAIISampler(seed=seed, population_size=10),
    # "x" is fixed wherever an objective below uses it; TPE samples the rest.
    "partial_fixed": lambda seed: PartialFixedSampler({"x": 0.75}, TPESampler(seed=seed)),
}
# Complete trials before the model proposes (BOHB: the number of parameters + 2, at most
# 9 in these tests; NSGA-II: its first generation).
STARTUP = {"random": 0, "qmc": 0, "tpe": 10, "motpe": 10, "gp": 10, "auto": 10, "bohb": 9,
           "cmaes": 1, "nsga2": 10, "partial_fixed": 10}
MODEL_BASED = [name for name in SAMPLERS if name not in ("random", "qmc")]
# Samplers that support one objective only, as in Optuna; for several they raise a
# ValueError that names the samplers that do (test_several_objectives checks it).
SINGLE_OBJECTIVE = {"cmaes"}

COMPLETE, FAIL, PRUNED = st.TrialState.COMPLETE, st.TrialState.FAIL, st.TrialState.PRUNED

pytestmark = pytest.mark.parametrize("name", list(SAMPLERS))


class Deliberate(Exception):
    """Raised by objectives on purpose (the only exception the studies here catch)."""


def make_study(name: str, seed: int = 0, **kw) -> st.Study:
    sampler = SAMPLERS[name](seed)
    study = st.create_study(sampler=sampler, **kw)
    if name in ("tpe", "motpe", "partial_fixed"):
        # The documented seam: the observation collector, called whenever the model is fitted.
        study._n_fits = 0  # type: ignore[attr-defined]
        tpe = sampler.base_sampler if name == "partial_fixed" else sampler
        inner = tpe.collector

        class Counting:
            def collect(self, study_, trials):
                obs = inner.collect(study_, trials)
                if len(obs.trials):
                    study._n_fits += 1  # type: ignore[attr-defined]
                return obs

        tpe.collector = Counting()
    return study


def model_proposals(name: str, study: st.Study) -> int:
    """How many trials of ``study`` the sampler's model proposed (0 without a model)."""
    trials = study.get_trials()
    if name in ("gp", "auto"):  # the GP (Auto's delegate in these small studies)
        return sum(keys.GP_PROPOSAL in t.system_attrs for t in trials)
    if name == "bohb":
        return sum(t.system_attrs.get(keys.BOHB_BUDGET) is not None for t in trials)
    if name in ("tpe", "motpe", "partial_fixed"):
        return study._n_fits  # type: ignore[attr-defined]
    if name == "cmaes":
        return sum(keys.CMA_GENERATION in t.system_attrs for t in trials)
    if name == "nsga2":
        return sum(keys.NSGA2_PARENTS in t.system_attrs for t in trials)
    return 0


def run(study: st.Study, objective, n: int, caplog, catch=()) -> None:
    with caplog.at_level(logging.WARNING, logger="slimtune"):
        caplog.clear()
        study.optimize(objective, n_trials=n, catch=catch)
    # A trial that failed on purpose is logged ("Trial 3 failed with parameters: ... error:
    # Deliberate ..."); nothing else may be.
    noise = [r.getMessage() for r in caplog.records if "error: Deliberate" not in r.getMessage()
             and "the objective returned" not in r.getMessage()]
    assert noise == [], noise


def assert_model_used(name: str, study: st.Study, at_least: int = 3) -> None:
    if name in MODEL_BASED:
        n = model_proposals(name, study)
        assert n >= at_least, f"{name}: the model proposed {n} trials only"


def on_grid(x: float, low: float, step: float) -> bool:
    k = (x - low) / step
    return abs(k - round(k)) < 1e-9


def same_choice(value, choices) -> bool:
    return any(type(value) is type(c) and value == c for c in choices)


# --- values -----------------------------------------------------------------------------

CHOICES = (None, True, 1, 2.5, "x")


def mixed_objective(seen: list[dict]):
    def objective(trial: st.Trial) -> float:
        p = {
            "f": trial.suggest_float("f", -2.5, 3.5),
            "lf": trial.suggest_float("lf", 1e-4, 10.0, log=True),
            "sf": trial.suggest_float("sf", -1.0, 1.0, step=0.25),
            "i": trial.suggest_int("i", -3, 7),
            "li": trial.suggest_int("li", 1, 1000, log=True),
            "si": trial.suggest_int("si", 1, 13, step=3),
            "c": trial.suggest_categorical("c", CHOICES),
        }
        seen.append(p)
        cat_cost = [i for i, c in enumerate(CHOICES) if same_choice(p["c"], [c])][0]
        return (
            (p["f"] - 1) ** 2
            + math.log10(p["lf"]) ** 2
            + p["sf"] ** 2
            + (p["i"] - 2) ** 2
            + math.log(p["li"])
            + p["si"] / 4
            + cat_cost
        )

    return objective


def test_values_within_bounds_and_of_their_type(name, caplog):
    seen: list[dict] = []
    study = make_study(name, seed=3)
    run(study, mixed_objective(seen), STARTUP[name] + 12, caplog)
    trials = study.get_trials()
    assert [t.state for t in trials] == [COMPLETE] * len(trials)
    assert [t.params for t in trials] == seen  # what the objective saw is what is stored
    for p in seen:
        for k in ("f", "lf", "sf"):
            assert type(p[k]) is float, (k, p[k])
        for k in ("i", "li", "si"):
            assert type(p[k]) is int, (k, p[k])
        assert -2.5 <= p["f"] <= 3.5
        assert 1e-4 <= p["lf"] <= 10.0
        assert -1.0 <= p["sf"] <= 1.0 and on_grid(p["sf"], -1.0, 0.25)
        assert -3 <= p["i"] <= 7
        assert 1 <= p["li"] <= 1000
        assert 1 <= p["si"] <= 13 and (p["si"] - 1) % 3 == 0
        assert same_choice(p["c"], CHOICES), p["c"]
    # Not stuck on one value.
    for k in p:
        assert len({repr(q[k]) for q in seen}) > 1, k
    assert_model_used(name, study)


def test_categorical_of_mixed_types_returns_a_choice_by_type(name, caplog):
    choices = (None, False, True, 0, 1, 1.0, 2.5, "1", "a")
    seen = []

    def objective(trial: st.Trial) -> float:
        c = trial.suggest_categorical("c", choices)
        x = trial.suggest_float("x", 0.0, 1.0)
        seen.append(c)
        idx = [i for i, ch in enumerate(choices) if type(ch) is type(c) and ch == c]
        assert len(idx) == 1, c
        return abs(idx[0] - 4) + x

    study = make_study(name, seed=5)
    run(study, objective, STARTUP[name] + 15, caplog)
    for c, t in zip(seen, study.get_trials()):
        assert same_choice(c, choices)
        assert type(t.params["c"]) is type(c) and t.params["c"] == c
    assert len({(type(c).__name__, c) for c in seen}) >= 3
    assert_model_used(name, study)


# --- conditional and dynamic spaces ----------------------------------------------------------


def conditional_objective(trial: st.Trial) -> float:
    kind = trial.suggest_categorical("kind", ["lin", "quad", "const"])
    if kind == "lin":
        a = trial.suggest_float("a", -1.0, 1.0)
        return abs(a) + 0.5
    if kind == "quad":
        b = trial.suggest_float("b", -2.0, 2.0)
        c = trial.suggest_int("c", 0, 4)
        if c >= 2:
            d = trial.suggest_float("d", 1e-3, 1.0, log=True)
            return b * b + c + d
        return b * b + c
    return 1.0


EXPECTED_KEYS = {"lin": {"kind", "a"}, "const": {"kind"}}


def test_conditional_only_active_parameters(name, caplog):
    study = make_study(name, seed=1)
    run(study, conditional_objective, STARTUP[name] + 20, caplog)
    trials = study.get_trials()
    assert all(t.state == COMPLETE for t in trials)
    kinds = set()
    for t in trials:
        kind = t.params["kind"]
        kinds.add(kind)
        if kind == "quad":
            want = {"kind", "b", "c"} | ({"d"} if t.params["c"] >= 2 else set())
        else:
            want = EXPECTED_KEYS[kind]
        assert set(t.params) == want, t.params
        assert set(t.distributions) == want
        if "a" in t.params:
            assert -1.0 <= t.params["a"] <= 1.0
        if "d" in t.params:
            assert 1e-3 <= t.params["d"] <= 1.0
    assert kinds == {"lin", "quad", "const"}
    assert_model_used(name, study)


def test_dynamic_space(name, caplog):
    n_first = STARTUP[name] + 4

    def objective(trial: st.Trial) -> float:
        early = trial.number < n_first
        lo, hi = (0.0, 1.0) if early else (0.5, 3.0)
        x = trial.suggest_float("x", lo, hi)
        k = trial.suggest_int("k", 0, 3) if early else trial.suggest_int("k", 2, 9)
        y = 0.0 if early else trial.suggest_float("late", -1.0, 1.0)
        return (x - 1.2) ** 2 + (k - 4) ** 2 + y * y

    study = make_study(name, seed=2)
    run(study, objective, n_first + 12, caplog)
    for t in study.get_trials():
        assert t.state == COMPLETE
        if t.number < n_first:
            assert set(t.params) == {"x", "k"}
            assert 0.0 <= t.params["x"] <= 1.0 and 0 <= t.params["k"] <= 3
        else:
            assert set(t.params) == {"x", "k", "late"}
            assert 0.5 <= t.params["x"] <= 3.0 and 2 <= t.params["k"] <= 9
            assert -1.0 <= t.params["late"] <= 1.0
    late = [t.params["late"] for t in study.get_trials() if "late" in t.params]
    assert len(set(late)) > 1
    assert_model_used(name, study, at_least=1)


# --- reproducibility ------------------------------------------------------------------------


def test_same_seed_same_trials_other_seed_other_trials(name, caplog):
    def trials_of(seed: int) -> list[tuple]:
        study = make_study(name, seed=seed)
        run(study, conditional_objective, STARTUP[name] + 6, caplog)
        return [(t.params, t.values) for t in study.get_trials()]

    a = trials_of(11)
    assert trials_of(11) == a
    assert trials_of(12) != a


def test_same_trials_whatever_the_storage(name, tmp_path, caplog):
    """A sampler reads the study only through its public API: SQLite gives the same trials
    as memory (pruned trials with intermediate values included)."""

    def objective(trial: st.Trial) -> float:
        value = conditional_objective(trial)
        for step in (1, 3, 9):
            trial.report(value + 1.0 / step, step)
        if trial.number % 4 == 3:
            raise st.TrialPruned()
        return value

    def trials_of(storage) -> list[tuple]:
        study = make_study(name, seed=13, storage=storage)
        run(study, objective, STARTUP[name] + 6, caplog)
        return [(t.number, t.state, t.params, t.values) for t in study.get_trials()]

    assert trials_of(f"sqlite:///{tmp_path / 'study.db'}") == trials_of(None)


def test_pickles_and_reseeds(name, caplog):
    """Worker processes get a pickled copy of the sampler and a new random stream."""
    study = st.create_study(sampler=SAMPLERS[name](9))
    run(study, conditional_objective, STARTUP[name] + 2, caplog)
    clone = pickle.loads(pickle.dumps(study.sampler))
    assert type(clone) is type(study.sampler)
    clone.reseed_rng(123)
    other = st.create_study(storage=study._storage, study_name=study.study_name,
                            load_if_exists=True, sampler=clone)
    run(other, conditional_objective, 3, caplog)
    assert all(t.state == COMPLETE for t in study.get_trials())
    assert len(study.get_trials()) == STARTUP[name] + 5


# --- histories with running, failed and pruned trials ---------------------------------------


def test_pending_trials(name, caplog):
    def suggest(trial: st.Trial) -> tuple:
        return (
            trial.suggest_float("x", -3.0, 3.0),
            trial.suggest_int("n", 1, 64, log=True),
            trial.suggest_categorical("c", ["a", "b", "c"]),
        )

    def objective(trial: st.Trial) -> float:
        x, n, c = suggest(trial)
        return x * x + math.log(n) + (c == "b")

    study = make_study(name, seed=4)
    # At the start: several trials asked before any is told.
    first = [study.ask() for _ in range(3)]
    for t in first:
        suggest(t)
    for t in first:
        study.tell(t, objective(t))
    run(study, objective, STARTUP[name] + 5, caplog)
    # Past the startup phase: four RUNNING trials at once.
    pending = [study.ask() for _ in range(4)]
    proposals = [suggest(t) for t in pending]
    assert len(set(proposals)) > 1, proposals
    if name in MODEL_BASED:
        # Constant liar / fantasies: a model proposes different points to running trials.
        assert len(set(proposals)) >= 3, proposals
    running = study.get_trials(states=(st.TrialState.RUNNING,))
    assert [t.number for t in running] == [t.number for t in pending]
    for t in pending:
        study.tell(t, objective(t))
    run(study, objective, 3, caplog)
    assert all(t.state == COMPLETE for t in study.get_trials())
    assert_model_used(name, study, at_least=1)


def test_failed_and_pruned_trials_in_history(name, caplog):
    def objective(trial: st.Trial) -> float:
        r = trial.number % 5
        if r == 1 and trial.number < 10:
            raise Deliberate("before any suggestion")
        x = trial.suggest_float("x", -2.0, 2.0)
        y = trial.suggest_int("y", 0, 5)
        value = (x - 0.5) ** 2 + (y - 2) ** 2
        if r == 1:
            raise Deliberate("after the suggestions")
        if r == 2:
            return float("nan")  # stored as FAIL with the reason
        for step in (1, 3, 9):
            trial.report(value + 1.0 / step, step)
            if r == 3 and step == 3:
                raise st.TrialPruned()
        if r == 4 and trial.number % 2:
            raise st.TrialPruned()  # pruned after its last report
        return value

    study = make_study(name, seed=6)
    run(study, objective, 2 * STARTUP[name] + 20, caplog, catch=(Deliberate,))
    states = [t.state for t in study.get_trials()]
    assert {COMPLETE, FAIL, PRUNED} <= set(states)
    assert states.count(COMPLETE) > STARTUP[name]
    for t in study.get_trials(states=(FAIL,)):
        assert t.system_attrs.get(keys.FAIL_REASON)
    # Keeps working after that history.
    before = len(states)
    run(study, lambda t: t.suggest_float("x", -2.0, 2.0) ** 2, 3, caplog)
    assert len(study.get_trials()) == before + 3
    assert all(-2.0 <= t.params["x"] <= 2.0 for t in study.get_trials() if "x" in t.params)
    assert_model_used(name, study, at_least=1)


# --- several objectives -----------------------------------------------------------------------


def test_several_objectives(name, caplog):
    # Every sampler supports them: Random and QMC ignore the values, TPE/MOTPE rank by
    # non-domination and hypervolume contribution, the GP (and Auto's GP) uses log EHVI,
    # BOHB ranks its per-budget observations like TPE.
    def objective(trial: st.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_float("y", 0.0, 1.0)
        c = trial.suggest_categorical("c", ["p", "q"])
        values = [x + (c == "q"), 1.0 - x * x + y]
        trial.report([v + 0.5 for v in values], 1)
        if trial.number % 5 == 4:
            raise st.TrialPruned()
        return values

    study = make_study(name, seed=7, directions=["minimize", "maximize"])
    if name in SINGLE_OBJECTIVE:
        with pytest.raises(ValueError, match="one objective.*NSGAIISampler"):
            study.optimize(objective, n_trials=STARTUP[name] + 3, catch=())
        return
    run(study, objective, STARTUP[name] + 15, caplog)
    trials = study.get_trials()
    assert all(t.state in (COMPLETE, PRUNED) and len(t.values) == 2 for t in trials)
    assert PRUNED in {t.state for t in trials}
    assert study.best_trials
    assert_model_used(name, study)


# --- enqueued trials -------------------------------------------------------------------------


def test_enqueued_trials_are_respected(name, caplog):
    def objective(trial: st.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        i = trial.suggest_int("i", 0, 10)
        c = trial.suggest_categorical("c", ["a", "b", None])
        return x + i + (c == "a")

    study = make_study(name, seed=8)
    study.enqueue_trial({"x": 0.25, "i": 3, "c": None}, user_attrs={"src": "queue"})
    study.enqueue_trial({"x": 0.75})  # the other parameters are sampled
    run(study, objective, STARTUP[name] + 3, caplog)
    n = len(study.get_trials())
    study.enqueue_trial({"x": 0.125, "i": 10, "c": "b"})  # past the startup phase
    run(study, objective, 2, caplog)
    trials = study.get_trials()
    assert trials[0].params == {"x": 0.25, "i": 3, "c": None}
    assert trials[0].user_attrs == {"src": "queue"}
    assert trials[1].params["x"] == 0.75
    assert 0 <= trials[1].params["i"] <= 10 and trials[1].params["c"] in ("a", "b", None)
    assert trials[n].params == {"x": 0.125, "i": 10, "c": "b"}
    assert all(t.state == COMPLETE for t in trials)
    assert len(trials) == n + 2
