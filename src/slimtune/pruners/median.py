"""The older path of median/percentile stopping: it lives in
:mod:`slimtune.multifidelity.median`; this module re-exports it."""

from __future__ import annotations

from slimtune.multifidelity.median import MedianPruner, PercentilePruner

__all__ = ["PercentilePruner", "MedianPruner"]
