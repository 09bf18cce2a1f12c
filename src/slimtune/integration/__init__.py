"""Integrations with other libraries, under Optuna's names (``optuna.integration``).

* :class:`SlimSearchCV` (also ``OptunaSearchCV``): hyperparameter search with
  cross-validation as a scikit-learn estimator (the ``sklearn`` extra).
* :class:`PyTorchLightningPruningCallback`: prune a Lightning ``Trainer`` run (the
  ``lightning`` extra); :func:`report_and_prune` does the same in a plain PyTorch loop.
* :mod:`slimtune.integration.dask`: :class:`~slimtune.integration.dask.DaskStorage`, a
  storage that lives on a Dask scheduler (the ``dask`` extra).
* :mod:`slimtune.integration.dashboard`: optuna-dashboard over a slimtune storage (the
  ``dashboard`` extra; ``slimtune dashboard --storage URL``).

Each name is imported on first use, so ``import slimtune.integration`` needs none of the
extras, and a missing extra is a one-line ``ImportError`` that names the ``pip install``.
"""

from __future__ import annotations

import importlib
from typing import Any

from slimtune.integration.pytorch import report_and_prune

__all__ = [
    "DaskStorage",
    "OptunaSearchCV",
    "PyTorchLightningPruningCallback",
    "SlimSearchCV",
    "report_and_prune",
]

# name -> (module, attribute); the module is imported when the name is first used.
_LAZY = {
    "SlimSearchCV": ("slimtune.integration.sklearn", "SlimSearchCV"),
    "OptunaSearchCV": ("slimtune.integration.sklearn", "SlimSearchCV"),
    "PyTorchLightningPruningCallback": (
        "slimtune.integration.lightning",
        "PyTorchLightningPruningCallback",
    ),
    "DaskStorage": ("slimtune.integration.dask", "DaskStorage"),
}
_SUBMODULES = ("dask", "dashboard", "lightning", "pytorch", "sklearn")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    if name in _SUBMODULES:  # ``optuna.integration.dask.DaskStorage`` without an import
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_SUBMODULES))
