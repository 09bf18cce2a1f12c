"""Pruners: early stopping of unpromising trials.

``MedianPruner`` / ``PercentilePruner`` (median stopping rule), ``SuccessiveHalvingPruner``
(asynchronous successive halving, ASHA; MO-ASHA for several objectives), ``HyperbandPruner``
(brackets of ASHA), ``PatientPruner`` (patience around another pruner), ``ThresholdPruner``
(bounds on the intermediate value), ``WilcoxonPruner`` (a paired test against the best
trial) and ``NopPruner``. The default of ``create_study`` is ``MedianPruner()``, as in
Optuna. All decisions are computed from the storage, so they hold with parallel workers and
a shared SQL database.

The pruner protocol lives here (:mod:`slimtune.pruners.base`). The pruners themselves live in
:mod:`slimtune.multifidelity` (which builds on this protocol) and are re-exported here, the
Optuna-style path, on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from slimtune.pruners.base import BasePruner, NopPruner

_LAZY = {
    "HyperbandPruner": "slimtune.multifidelity.hyperband",
    "LearningCurvePruner": "slimtune.multifidelity.curves",
    "MedianPruner": "slimtune.multifidelity.median",
    "PatientPruner": "slimtune.multifidelity.patient",
    "PercentilePruner": "slimtune.multifidelity.median",
    "PromotionASHAPruner": "slimtune.multifidelity.promotion",
    "PromotionHyperbandPruner": "slimtune.multifidelity.promotion",
    "SuccessiveHalvingPruner": "slimtune.multifidelity.successive_halving",
    "ThresholdPruner": "slimtune.multifidelity.threshold",
    "WilcoxonPruner": "slimtune.multifidelity.wilcoxon",
}

__all__ = ["BasePruner", "NopPruner", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'slimtune.pruners' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
