"""The older path of Hyperband: it lives in :mod:`slimtune.multifidelity.hyperband` (brackets
in ``multifidelity.schedule``); this module re-exports it."""

from __future__ import annotations

from slimtune.multifidelity.hyperband import HyperbandPruner
from slimtune.multifidelity.schedule import bracket_of, bracket_weights

__all__ = ["HyperbandPruner", "bracket_of", "bracket_weights"]
