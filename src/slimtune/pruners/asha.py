"""The older path of asynchronous successive halving: it lives in
:mod:`slimtune.multifidelity.successive_halving` (rungs in ``multifidelity.schedule`` and
``multifidelity.rungs``); this module re-exports it."""

from __future__ import annotations

from slimtune.multifidelity.rungs import RUNG_PREFIX, rung_key, rung_value, undecided_rung
from slimtune.multifidelity.schedule import auto_max_resource, auto_min_resource
from slimtune.multifidelity.schedule import n_brackets as n_rungs_between
from slimtune.multifidelity.successive_halving import SuccessiveHalvingPruner

__all__ = [
    "SuccessiveHalvingPruner",
    "rung_key",
    "rung_value",
    "auto_min_resource",
    "auto_max_resource",
    "RUNG_PREFIX",
    "undecided_rung",
    "n_rungs_between",
]
