"""Pruners: early stopping of unpromising trials."""

from __future__ import annotations

from slimtune.pruners.base import BasePruner, NopPruner

__all__ = ["BasePruner", "NopPruner"]
