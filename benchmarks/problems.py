"""Benchmark problems: a synthetic suite with known optima and a Bayesmark-style suite of
scikit-learn models on the datasets bundled with scikit-learn.

Every problem is *minimised*. Its search space is a slimtune declarative space dict (the
format of :meth:`slimtune.Space.from_dict`, ``when:`` conditions included), so that
:meth:`Problem.objective` runs unchanged with a slimtune trial *and* an Optuna trial (same
``suggest_*`` API), and other libraries (Hyperopt, SMAC) get a converted copy of it.

Add a problem with :func:`register_problem` (or by putting a :class:`Problem` into
``PROBLEMS``); the runner finds it by name.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Problem", "PROBLEMS", "register_problem", "get_problem", "problems_in_suite"]


@dataclass
class Problem:
    """One benchmark problem (minimised).

    ``evaluate(params)`` takes the *active* parameters (a dict of external values) and
    returns the loss. ``optimum`` is the known minimum (None for the sklearn suite, whose
    reference is the best value any method found). ``n_trials`` is the budget. ``argmin``
    (optional) is a point where ``evaluate`` reaches ``optimum``, used by the tests.
    """

    name: str
    suite: str  # "synthetic" | "sklearn" (others may add suites, e.g. "multifidelity")
    space: dict[str, Any]
    evaluate: Callable[[dict[str, Any]], float]
    optimum: float | None
    n_trials: int
    argmin: dict[str, Any] | None = None
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @functools.cached_property
    def space_obj(self) -> Any:
        from slimtune.space import Space

        return Space.from_dict(self.space)

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Sample the (active) parameters through ``trial.suggest_*``."""
        return self.space_obj.suggest(trial)

    def objective(self, trial: Any) -> float:
        """``evaluate(space.suggest(trial))``: works for slimtune and Optuna trials."""
        return float(self.evaluate(self.suggest(trial)))

    def __call__(self, trial: Any) -> float:
        return self.objective(trial)


PROBLEMS: dict[str, Problem] = {}


def register_problem(problem: Problem) -> Problem:
    if problem.name in PROBLEMS:
        raise ValueError(f"problem {problem.name!r} is registered twice.")
    PROBLEMS[problem.name] = problem
    return problem


def get_problem(name: str) -> Problem:
    try:
        return PROBLEMS[name]
    except KeyError:
        raise KeyError(f"unknown problem {name!r}; known: {sorted(PROBLEMS)}") from None


def problems_in_suite(suite: str) -> list[Problem]:
    return [p for p in PROBLEMS.values() if p.suite == suite]


def _box(d: int, low: float, high: float) -> dict[str, Any]:
    return {f"x{i}": {"type": "float", "low": low, "high": high} for i in range(d)}


def _vec(params: Mapping[str, Any], d: int) -> np.ndarray:
    return np.array([float(params[f"x{i}"]) for i in range(d)])


# ======================================================================================
# Synthetic suite: classic test functions
# ======================================================================================


def branin(p: Mapping[str, Any]) -> float:
    x1, x2 = float(p["x0"]), float(p["x1"])
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


def six_hump_camel(p: Mapping[str, Any]) -> float:
    x, y = float(p["x0"]), float(p["x1"])
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


_H6_A = np.array(
    [
        [10, 3, 17, 3.5, 1.7, 8],
        [0.05, 10, 17, 0.1, 8, 14],
        [3, 3.5, 1.7, 10, 17, 8],
        [17, 8, 0.05, 10, 0.1, 14],
    ]
)
_H6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ]
)
_H6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_H6_ARGMIN = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]


def hartmann6(p: Mapping[str, Any]) -> float:
    x = _vec(p, 6)
    return float(-np.sum(_H6_ALPHA * np.exp(-np.sum(_H6_A * (x - _H6_P) ** 2, axis=1))))


def levy(p: Mapping[str, Any], d: int = 5) -> float:
    x = _vec(p, d)
    w = 1 + (x - 1) / 4
    t1 = math.sin(math.pi * w[0]) ** 2
    t2 = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    t3 = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(t1 + t2 + t3)


def ackley(p: Mapping[str, Any], d: int = 5) -> float:
    x = _vec(p, d)
    return float(
        -20 * math.exp(-0.2 * math.sqrt(np.mean(x**2)))
        - math.exp(np.mean(np.cos(2 * math.pi * x)))
        + 20
        + math.e
    )


def rosenbrock(p: Mapping[str, Any], d: int = 4) -> float:
    x = _vec(p, d)
    return float(np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


_ST_XMIN = -2.903534027771178


def styblinski_tang(p: Mapping[str, Any], d: int = 4) -> float:
    x = _vec(p, d)
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


_ST_OPT_1D = 0.5 * (_ST_XMIN**4 - 16 * _ST_XMIN**2 + 5 * _ST_XMIN)

# ======================================================================================
# Synthetic suite: training-like, mixed, conditional
# ======================================================================================


def training_like(p: Mapping[str, Any]) -> float:
    """A validation-loss-like surface over log-scaled hyperparameters.

    The best learning rate grows with the square root of the batch size (linear-scaling
    folklore); too high a learning rate "diverges" (a steep wall); weight decay and dropout
    have a broad optimum; very large batches cost a little. Minimum 0.1 at lr=3e-3,
    weight_decay=1e-4, batch_size=128, dropout=0.2, warmup=2 epochs.
    """
    lr, wd = float(p["lr"]), float(p["weight_decay"])
    bs, dropout, warmup = int(p["batch_size"]), float(p["dropout"]), int(p["warmup_epochs"])
    u = math.log10(lr) - (math.log10(3e-3) + 0.5 * math.log10(bs / 128))
    loss = 0.1 + 0.08 * u**2
    if u > 0.5:  # divergence wall (softened by warmup)
        loss += (2.0 / (1 + 0.5 * warmup)) * (u - 0.5) ** 2
    loss += 0.02 * (math.log10(wd) + 4) ** 2 / (1 + 0.1 * (math.log10(wd) + 4) ** 2)
    loss += 0.3 * (dropout - 0.2) ** 2
    loss += 0.01 * math.log2(bs / 128) ** 2
    loss += 0.004 * (warmup - 2) ** 2
    return loss


_MIX_SHIFT = {"a": -2.0, "b": 0.0, "c": 2.5, "d": 4.0}
_MIX_OFF1 = {"a": 0.6, "b": 0.3, "c": 0.0, "d": 0.9}
_MIX_CENTER = {"relu": 4, "tanh": -6, "gelu": 0}
_MIX_OFF2 = {"relu": 0.2, "tanh": 0.5, "gelu": 0.0}


def mixed_int_cat(p: Mapping[str, Any]) -> float:
    """Float x, int n, log-int k and two categoricals that move the optimum of the numbers.

    Minimum 0 at kind='c', x=2.5, act='gelu', n=0, k=32.
    """
    kind, act = p["kind"], p["act"]
    x, n, k = float(p["x"]), int(p["n"]), int(p["k"])
    return (
        (x - _MIX_SHIFT[kind]) ** 2
        + _MIX_OFF1[kind]
        + 0.05 * (n - _MIX_CENTER[act]) ** 2
        + _MIX_OFF2[act]
        + 0.1 * (math.log2(k) - 5) ** 2
    )


def jenatton(p: Mapping[str, Any]) -> float:
    """The tree-structured function of Jenatton et al. (2017), minimum 0.1.

    x1 picks a subtree; x2 / x3 pick a leaf, each leaf with its own numeric parameter;
    r8 / r9 are shared within a subtree.
    """
    if int(p["x1"]) == 0:
        if int(p["x2"]) == 0:
            return float(p["x4"]) ** 2 + 0.1 + float(p["r8"])
        return float(p["x5"]) ** 2 + 0.2 + float(p["r8"])
    if int(p["x3"]) == 0:
        return float(p["x6"]) ** 2 + 0.3 + float(p["r9"])
    return float(p["x7"]) ** 2 + 0.4 + float(p["r9"])


def model_choice(p: Mapping[str, Any]) -> float:
    """A synthetic "which model, with which hyperparameters" loss; minimum 0.05 (mlp).

    svm (2 params, best 0.12), forest (3 params, best 0.08), mlp (4 params, best 0.05).
    """
    m = p["model"]
    if m == "svm":
        a = math.log10(float(p["svm_C"])) - 1
        b = math.log10(float(p["svm_gamma"])) + 2
        return 0.12 + 0.02 * (a * a + b * b + a * b)
    if m == "forest":
        return (
            0.08
            + 0.01 * (math.log2(int(p["rf_n_estimators"]) / 200)) ** 2
            + 0.002 * (int(p["rf_max_depth"]) - 12) ** 2
            + 0.3 * (float(p["rf_max_features"]) - 0.4) ** 2
        )
    assert m == "mlp", m
    act = {"relu": 0.0, "tanh": 0.03}[p["mlp_activation"]]
    return (
        0.05
        + 0.04 * (math.log10(float(p["mlp_lr"])) + 3) ** 2
        + 0.01 * (math.log2(int(p["mlp_hidden"])) - 7) ** 2
        + 0.02 * (int(p["mlp_layers"]) - 3) ** 2
        + act
    )


def _register_synthetic() -> None:
    S = "synthetic"
    register_problem(
        Problem(
            "branin",
            S,
            {
                "x0": {"type": "float", "low": -5, "high": 10},
                "x1": {"type": "float", "low": 0, "high": 15},
            },
            branin,
            0.397887357729738,
            60,
            {"x0": math.pi, "x1": 2.275},
            "Branin (2-d, three global minima)",
            ("continuous",),
        )
    )
    register_problem(
        Problem(
            "camel6",
            S,
            {
                "x0": {"type": "float", "low": -3, "high": 3},
                "x1": {"type": "float", "low": -2, "high": 2},
            },
            six_hump_camel,
            -1.031628453489877,
            60,
            {"x0": 0.08984201368301331, "x1": -0.7126564032704135},
            "Six-hump camel (2-d)",
            ("continuous",),
        )
    )
    register_problem(
        Problem(
            "hartmann6",
            S,
            _box(6, 0, 1),
            hartmann6,
            -3.322368011391339,
            100,
            {f"x{i}": v for i, v in enumerate(_H6_ARGMIN)},
            "Hartmann (6-d)",
            ("continuous",),
        )
    )
    register_problem(
        Problem(
            "levy5",
            S,
            _box(5, -10, 10),
            functools.partial(levy, d=5),
            0.0,
            100,
            {f"x{i}": 1.0 for i in range(5)},
            "Levy (5-d)",
            ("continuous",),
        )
    )
    register_problem(
        Problem(
            "ackley5",
            S,
            _box(5, -32.768, 32.768),
            functools.partial(ackley, d=5),
            0.0,
            100,
            {f"x{i}": 0.0 for i in range(5)},
            "Ackley (5-d)",
            ("continuous",),
        )
    )
    register_problem(
        Problem(
            "rosenbrock4",
            S,
            _box(4, -5, 10),
            functools.partial(rosenbrock, d=4),
            0.0,
            100,
            {f"x{i}": 1.0 for i in range(4)},
            "Rosenbrock (4-d)",
            ("continuous",),
        )
    )
    register_problem(
        Problem(
            "styblinski4",
            S,
            _box(4, -5, 5),
            functools.partial(styblinski_tang, d=4),
            4 * _ST_OPT_1D,
            100,
            {f"x{i}": _ST_XMIN for i in range(4)},
            "Styblinski-Tang (4-d)",
            ("continuous",),
        )
    )
    register_problem(
        Problem(
            "training",
            S,
            {
                "lr": {"type": "float", "low": 1e-5, "high": 1.0, "log": True},
                "weight_decay": {"type": "float", "low": 1e-7, "high": 1e-1, "log": True},
                "batch_size": {"type": "int", "low": 16, "high": 1024, "log": True},
                "dropout": {"type": "float", "low": 0.0, "high": 0.8},
                "warmup_epochs": {"type": "int", "low": 0, "high": 10},
            },
            training_like,
            0.1,
            80,
            {
                "lr": 3e-3,
                "weight_decay": 1e-4,
                "batch_size": 128,
                "dropout": 0.2,
                "warmup_epochs": 2,
            },
            "Training-like loss over log-scaled lr / weight decay / batch size",
            ("log", "mixed"),
        )
    )
    register_problem(
        Problem(
            "mixed",
            S,
            {
                "kind": {"type": "categorical", "choices": ["a", "b", "c", "d"]},
                "act": {"type": "categorical", "choices": ["relu", "tanh", "gelu"]},
                "x": {"type": "float", "low": -5, "high": 5},
                "n": {"type": "int", "low": -10, "high": 10},
                "k": {"type": "int", "low": 1, "high": 256, "log": True},
            },
            mixed_int_cat,
            0.0,
            100,
            {"kind": "c", "act": "gelu", "x": 2.5, "n": 0, "k": 32},
            "Mixed int / log-int / categorical with interactions",
            ("mixed",),
        )
    )
    register_problem(
        Problem(
            "jenatton",
            S,
            {
                "x1": {"type": "categorical", "choices": [0, 1]},
                "x2": {"type": "categorical", "choices": [0, 1], "when": {"x1": 0}},
                "x3": {"type": "categorical", "choices": [0, 1], "when": {"x1": 1}},
                "x4": {"type": "float", "low": -1, "high": 1, "when": {"x2": 0}},
                "x5": {"type": "float", "low": -1, "high": 1, "when": {"x2": 1}},
                "x6": {"type": "float", "low": -1, "high": 1, "when": {"x3": 0}},
                "x7": {"type": "float", "low": -1, "high": 1, "when": {"x3": 1}},
                "r8": {"type": "float", "low": 0, "high": 1, "when": {"x1": 0}},
                "r9": {"type": "float", "low": 0, "high": 1, "when": {"x1": 1}},
            },
            jenatton,
            0.1,
            80,
            {"x1": 0, "x2": 0, "x4": 0.0, "r8": 0.0},
            "Tree-structured function of Jenatton et al. (2017)",
            ("conditional",),
        )
    )
    register_problem(
        Problem(
            "model_choice",
            S,
            {
                "model": {"type": "categorical", "choices": ["svm", "forest", "mlp"]},
                "svm_C": {
                    "type": "float",
                    "low": 1e-3,
                    "high": 1e3,
                    "log": True,
                    "when": {"model": "svm"},
                },
                "svm_gamma": {
                    "type": "float",
                    "low": 1e-5,
                    "high": 10,
                    "log": True,
                    "when": {"model": "svm"},
                },
                "rf_n_estimators": {
                    "type": "int",
                    "low": 10,
                    "high": 1000,
                    "log": True,
                    "when": {"model": "forest"},
                },
                "rf_max_depth": {"type": "int", "low": 1, "high": 32, "when": {"model": "forest"}},
                "rf_max_features": {
                    "type": "float",
                    "low": 0.05,
                    "high": 1.0,
                    "when": {"model": "forest"},
                },
                "mlp_lr": {
                    "type": "float",
                    "low": 1e-5,
                    "high": 1e-1,
                    "log": True,
                    "when": {"model": "mlp"},
                },
                "mlp_hidden": {
                    "type": "int",
                    "low": 8,
                    "high": 1024,
                    "log": True,
                    "when": {"model": "mlp"},
                },
                "mlp_layers": {"type": "int", "low": 1, "high": 6, "when": {"model": "mlp"}},
                "mlp_activation": {
                    "type": "categorical",
                    "choices": ["relu", "tanh"],
                    "when": {"model": "mlp"},
                },
            },
            model_choice,
            0.05,
            120,
            {
                "model": "mlp",
                "mlp_lr": 1e-3,
                "mlp_hidden": 128,
                "mlp_layers": 3,
                "mlp_activation": "relu",
            },
            "Model choice (svm / forest / mlp branches, each with its own parameters)",
            ("conditional", "mixed"),
        )
    )


# ======================================================================================
# Scikit-learn suite (Bayesmark-style): 3-fold CV, 64 evaluations
# ======================================================================================

SKLEARN_BUDGET = 64


@functools.cache
def _dataset(name: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """(X, y, is_classification), features standardised once (as Bayesmark does)."""
    from sklearn import datasets
    from sklearn.preprocessing import StandardScaler

    loader = {
        "breast": datasets.load_breast_cancer,
        "wine": datasets.load_wine,
        "digits": datasets.load_digits,
        "diabetes": datasets.load_diabetes,
        "iris": datasets.load_iris,
    }[name]
    X, y = loader(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, y, name != "diabetes"


def _make_model(model: str, p: Mapping[str, Any], clf: bool) -> Any:
    from sklearn import linear_model, neighbors, svm, tree
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    if model == "svm":
        kw = {"C": p["C"], "gamma": p["gamma"], "tol": p["tol"]}
        return svm.SVC(**kw) if clf else svm.SVR(**kw, epsilon=p.get("epsilon", 0.1))
    if model in ("dt", "rf"):
        kw = {
            "max_depth": int(p["max_depth"]),
            "min_samples_split": float(p["min_samples_split"]),
            "min_samples_leaf": float(p["min_samples_leaf"]),
            "min_weight_fraction_leaf": float(p["min_weight_fraction_leaf"]),
            "max_features": float(p["max_features"]),
            "min_impurity_decrease": float(p["min_impurity_decrease"]),
            "random_state": 0,
        }
        if model == "dt":
            return tree.DecisionTreeClassifier(**kw) if clf else tree.DecisionTreeRegressor(**kw)
        kw.update(n_estimators=10, n_jobs=1)
        return RandomForestClassifier(**kw) if clf else RandomForestRegressor(**kw)
    if model == "knn":
        kw = {"n_neighbors": int(p["n_neighbors"]), "p": int(p["p"]), "weights": p["weights"]}
        return neighbors.KNeighborsClassifier(**kw) if clf else neighbors.KNeighborsRegressor(**kw)
    if model == "logreg":
        return linear_model.LogisticRegression(
            C=p["C"],
            intercept_scaling=p["intercept_scaling"],
            penalty=p["penalty"],
            solver="liblinear",
            tol=p["tol"],
            random_state=0,  # liblinear shuffles; without a seed the CV error is not repeatable
        )
    if model == "lasso":
        return linear_model.Lasso(
            alpha=p["alpha"], fit_intercept=p["fit_intercept"], tol=p["tol"], max_iter=2000
        )
    if model == "ridge":
        return linear_model.Ridge(alpha=p["alpha"], fit_intercept=p["fit_intercept"], tol=p["tol"])
    raise ValueError(f"unknown model {model!r}")


def sklearn_cv_loss(model: str, dataset: str, params: Mapping[str, Any]) -> float:
    """3-fold CV loss: classification error (1 - accuracy) or 1 - R^2 (regression)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

    X, y, clf = _dataset(dataset)
    est = _make_model(model, params, clf)
    cv = (StratifiedKFold if clf else KFold)(n_splits=3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        scores = cross_val_score(est, X, y, cv=cv, scoring="accuracy" if clf else "r2")
    return float(1.0 - np.mean(scores))


_TREE_SPACE = {
    "max_depth": {"type": "int", "low": 1, "high": 15},
    "min_samples_split": {"type": "float", "low": 0.01, "high": 0.99, "log": True},
    "min_samples_leaf": {"type": "float", "low": 0.01, "high": 0.49, "log": True},
    "min_weight_fraction_leaf": {"type": "float", "low": 0.01, "high": 0.49, "log": True},
    "max_features": {"type": "float", "low": 0.01, "high": 1.0, "log": True},
    "min_impurity_decrease": {"type": "float", "low": 0.0, "high": 0.5},
}

SKLEARN_SPACES: dict[str, dict[str, Any]] = {
    "svm": {
        "C": {"type": "float", "low": 1e-2, "high": 1e3, "log": True},
        "gamma": {"type": "float", "low": 1e-5, "high": 1e0, "log": True},
        "tol": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    },
    "dt": _TREE_SPACE,
    "rf": _TREE_SPACE,
    "knn": {
        "n_neighbors": {"type": "int", "low": 1, "high": 25},
        "p": {"type": "int", "low": 1, "high": 4},
        "weights": {"type": "categorical", "choices": ["uniform", "distance"]},
    },
    "logreg": {
        "C": {"type": "float", "low": 1e-4, "high": 1e3, "log": True},
        "intercept_scaling": {"type": "float", "low": 0.1, "high": 100, "log": True},
        "penalty": {"type": "categorical", "choices": ["l1", "l2"]},
        "tol": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    },
    "lasso": {
        "alpha": {"type": "float", "low": 1e-5, "high": 1e1, "log": True},
        "fit_intercept": {"type": "categorical", "choices": [True, False]},
        "tol": {"type": "float", "low": 1e-5, "high": 1e-1, "log": True},
    },
}

# A representative subset of model x dataset pairs, kept cheap enough that the whole suite
# (5 optimizers x 3 seeds x 64 evaluations) runs in well under 15 minutes on 2 cores.
SKLEARN_PAIRS: list[tuple[str, str]] = [
    ("svm", "breast"),
    ("svm", "digits"),
    ("dt", "wine"),
    ("dt", "digits"),
    ("rf", "breast"),
    ("rf", "wine"),
    ("knn", "breast"),
    ("logreg", "breast"),
    ("lasso", "diabetes"),
    ("rf", "diabetes"),
]


def _register_sklearn() -> None:
    for model, data in SKLEARN_PAIRS:
        register_problem(
            Problem(
                f"{model}-{data}",
                "sklearn",
                dict(SKLEARN_SPACES[model]),
                functools.partial(sklearn_cv_loss, model, data),
                None,
                SKLEARN_BUDGET,
                description=f"{model} on {data}, 3-fold CV "
                + ("error" if data != "diabetes" else "1 - R^2"),
                tags=("sklearn", model, data),
            )
        )


_register_synthetic()
_register_sklearn()
