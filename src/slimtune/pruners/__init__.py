"""Pruners: early stopping of unpromising trials.

``MedianPruner`` / ``PercentilePruner`` (median stopping rule), ``SuccessiveHalvingPruner``
(asynchronous successive halving, ASHA; MO-ASHA for several objectives), ``HyperbandPruner``
(brackets of ASHA) and ``NopPruner`` (the default). All decisions are computed from the
storage, so they hold with parallel workers and a shared SQL database.
"""

from __future__ import annotations

from slimtune.pruners.asha import SuccessiveHalvingPruner
from slimtune.pruners.base import BasePruner, NopPruner
from slimtune.pruners.hyperband import HyperbandPruner
from slimtune.pruners.median import MedianPruner, PercentilePruner

__all__ = [
    "BasePruner",
    "HyperbandPruner",
    "MedianPruner",
    "NopPruner",
    "PercentilePruner",
    "SuccessiveHalvingPruner",
]
