"""Studies the figure tests share (module scope: built once), and their Optuna twins."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import slimtune as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: `benchmarks`


def _objective(trial):
    x = trial.suggest_float("x", -5, 5)
    trial.suggest_float("lr", 1e-4, 1, log=True)
    n = trial.suggest_int("n", 1, 8)
    c = trial.suggest_categorical("c", ["a", "b"])
    for step in range(3):
        trial.report(x * x + step, step)
    return x * x + n + (c == "a")


def _two(trial):
    x = trial.suggest_float("x", 0, 1)
    y = trial.suggest_float("y", 0, 1)
    trial.set_constraints([x - 0.7])
    return x, (1 - x) + y


@pytest.fixture(scope="module")
def single():
    st.logging.set_verbosity(st.logging.WARNING)
    s = st.create_study(sampler=st.samplers.RandomSampler(seed=0), study_name="single")
    s.optimize(_objective, n_trials=25)
    st.logging.set_verbosity(st.logging.INFO)
    return s


@pytest.fixture(scope="module")
def multi():
    st.logging.set_verbosity(st.logging.WARNING)
    s = st.create_study(
        directions=["minimize", "minimize"],
        sampler=st.samplers.RandomSampler(seed=0),
        study_name="multi",
    )
    s.optimize(_two, n_trials=25)
    st.logging.set_verbosity(st.logging.INFO)
    return s


@pytest.fixture(scope="module")
def optuna_mod():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna


@pytest.fixture(scope="module")
def twin(single, optuna_mod):
    from benchmarks.importance import to_optuna_study

    return to_optuna_study(single)


@pytest.fixture(scope="module")
def twin_multi(multi, optuna_mod):
    from benchmarks.importance import to_optuna_study

    return to_optuna_study(multi)
