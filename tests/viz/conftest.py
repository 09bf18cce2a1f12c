"""Small seeded studies the figure and report tests draw: one objective with log, int and
categorical parameters and learning curves; two named objectives (accuracy vs MACs spanning
decades) with a constraint; a study whose every trial failed."""

from __future__ import annotations

import math

import pytest

import slimtune as st


def _single() -> st.Study:
    study = st.create_study(direction="minimize", sampler=st.samplers.RandomSampler(seed=0))

    def obj(trial: st.Trial) -> float:
        lr = trial.suggest_float("lr", 1e-5, 1e-1, log=True)
        layers = trial.suggest_int("layers", 1, 6)
        opt = trial.suggest_categorical("optimizer", ["adam", "sgd", "rmsprop"])
        loss = (math.log10(lr) + 3) ** 2 + 0.1 * layers + (0.5 if opt == "sgd" else 0.0)
        for step in range(5):
            trial.report(loss * (1 + 1.0 / (step + 1)), step)
        return loss

    study.optimize(obj, n_trials=25)
    return study


def _two() -> st.Study:
    study = st.create_study(
        directions=["maximize", "minimize"], sampler=st.samplers.RandomSampler(seed=1)
    )
    study.set_metric_names(["accuracy", "macs"])

    def obj(trial: st.Trial) -> tuple[float, float]:
        width = trial.suggest_int("width", 4, 512, log=True)
        depth = trial.suggest_int("depth", 1, 4)
        act = trial.suggest_categorical("activation", ["relu", "gelu"])
        macs = float(width * width * depth * 50)
        acc = 1 - 0.5 / (1 + math.log10(macs)) - (0.01 if act == "relu" else 0.0)
        trial.set_constraints([macs - 2e7])  # feasible when macs <= 2e7
        return acc, macs

    study.optimize(obj, n_trials=30)
    return study


def _failed() -> st.Study:
    study = st.create_study(direction="maximize", sampler=st.samplers.RandomSampler(seed=2))

    def obj(trial: st.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if x < 0.5:
            raise RuntimeError("CUDA out of memory while allocating the activations")
        raise ValueError("shape mismatch: expected 40 features, got 32")

    study.optimize(obj, n_trials=9, catch=(Exception,))
    return study


@pytest.fixture(scope="session")
def single_study() -> st.Study:
    return _single()


@pytest.fixture(scope="session")
def two_study() -> st.Study:
    return _two()


@pytest.fixture(scope="session")
def failed_study() -> st.Study:
    return _failed()
