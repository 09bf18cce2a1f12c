"""Pruners: early stopping of unpromising trials.

``MedianPruner`` / ``PercentilePruner`` (median stopping rule), ``SuccessiveHalvingPruner``
(asynchronous successive halving, ASHA; MO-ASHA for several objectives), ``HyperbandPruner``
(brackets of ASHA) and ``NopPruner`` (the default). All decisions are computed from the
storage, so they hold with parallel workers and a shared SQL database.

The pruner protocol lives here (:mod:`slimtune.pruners.base`); the multi-fidelity pruners
live in :mod:`slimtune.multifidelity` and are re-exported here (the Optuna-style path).
"""

from __future__ import annotations

from slimtune.multifidelity.hyperband import HyperbandPruner
from slimtune.multifidelity.median import MedianPruner, PercentilePruner
from slimtune.multifidelity.successive_halving import SuccessiveHalvingPruner
from slimtune.pruners.base import BasePruner, NopPruner

__all__ = [
    "BasePruner",
    "HyperbandPruner",
    "MedianPruner",
    "NopPruner",
    "PercentilePruner",
    "SuccessiveHalvingPruner",
]
