"""Fidelity helpers (the older path): budgets, representative data subsets, k-fold CV, and
synchronous successive halving with pause and resume.

They live in :mod:`slimtune.multifidelity` (``budget``, ``data``, ``sync_halving``,
``checkpoints``); this module re-exports them.
"""

from __future__ import annotations

from slimtune.multifidelity.budget import Budget, Fidelity
from slimtune.multifidelity.checkpoints import DirectoryCheckpoints, MemoryCheckpoints
from slimtune.multifidelity.data import cross_validate, stratified_kfold, stratified_subset
from slimtune.multifidelity.sync_halving import SyncSuccessiveHalving

__all__ = [
    "Budget",
    "Fidelity",
    "stratified_subset",
    "stratified_kfold",
    "cross_validate",
    "SyncSuccessiveHalving",
    "MemoryCheckpoints",
    "DirectoryCheckpoints",
]
