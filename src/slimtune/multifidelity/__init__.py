"""Multi-fidelity search: early stopping, BOHB, budgets and synchronous successive halving.

Budgets and rungs are defined once, in :mod:`~slimtune.multifidelity.schedule`; everything
else reads them from there.

* ``schedule``: :class:`RungSchedule` (min/max resource, reduction factor, rungs, Hyperband
  brackets), the ``"auto"`` resources, :func:`budgets_of` (a pruner's budgets for BOHB)
* ``rungs``: a trial's value at a rung (``rung_value``, ``record_rung``, ``undecided_rung``;
  keys from :mod:`slimtune.keys`) and the best at a rung (``promotable``, ``top_k``)
* ``successive_halving``: :class:`SuccessiveHalvingPruner`, asynchronous SH (ASHA, MO-ASHA)
* ``hyperband``: :class:`HyperbandPruner`, brackets of ASHA
* ``median``: :class:`MedianPruner`, :class:`PercentilePruner`
* ``bohb``: :class:`BOHBSampler`, TPE per budget (imported on first use)
* ``curves``: :class:`LearningCurveModel` (power-law ensemble: predicted finals with
  uncertainty), :class:`LearningCurvePruner`, :class:`PredictedFinalCollector`
* ``sync_halving``: :class:`SyncSuccessiveHalving`, synchronous SH with pause and resume
* ``checkpoints``: :class:`MemoryCheckpoints`, :class:`DirectoryCheckpoints`
* ``promotion``: :class:`PromotionASHAPruner`, :class:`PromotionHyperbandPruner` (paused
  trials resume from their checkpoint), :func:`epochs_trained`
* ``budget``: :class:`Budget`, :class:`Fidelity` (resource -> epochs, data, resolution)
* ``data``: :func:`stratified_subset`, :func:`stratified_kfold`, :func:`cross_validate`

The older paths re-export these: :mod:`slimtune.pruners`, :mod:`slimtune.fidelity`,
``slimtune.samplers.BOHBSampler``.
"""

from __future__ import annotations

import importlib
from typing import Any

from slimtune.multifidelity.budget import Budget, Fidelity
from slimtune.multifidelity.checkpoints import DirectoryCheckpoints, MemoryCheckpoints
from slimtune.multifidelity.curves import (
    LearningCurveModel,
    LearningCurvePruner,
    PredictedFinalCollector,
)
from slimtune.multifidelity.data import cross_validate, stratified_kfold, stratified_subset
from slimtune.multifidelity.hyperband import HyperbandPruner
from slimtune.multifidelity.median import MedianPruner, PercentilePruner
from slimtune.multifidelity.promotion import (
    PromotionASHAPruner,
    PromotionHyperbandPruner,
    epochs_trained,
)
from slimtune.multifidelity.schedule import RungSchedule, budgets_of
from slimtune.multifidelity.successive_halving import SuccessiveHalvingPruner
from slimtune.multifidelity.sync_halving import SyncSuccessiveHalving

# BOHB builds on TPE: imported on first use, as the model-based samplers are.
_LAZY = {"BOHBSampler": "slimtune.multifidelity.bohb"}

__all__ = [
    "RungSchedule",
    "budgets_of",
    "SuccessiveHalvingPruner",
    "HyperbandPruner",
    "MedianPruner",
    "PercentilePruner",
    "PromotionASHAPruner",
    "PromotionHyperbandPruner",
    "epochs_trained",
    "SyncSuccessiveHalving",
    "LearningCurveModel",
    "LearningCurvePruner",
    "PredictedFinalCollector",
    "MemoryCheckpoints",
    "DirectoryCheckpoints",
    "Budget",
    "Fidelity",
    "stratified_subset",
    "stratified_kfold",
    "cross_validate",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'slimtune.multifidelity' has no attribute {name!r}")
