"""The older path of BOHB: it lives in :mod:`slimtune.multifidelity.bohb`; this module
re-exports it (a package rather than ``bohb.py``, so that git follows the moved file)."""

from __future__ import annotations

from slimtune.multifidelity.bohb import BOHBSampler, bohb_gamma

__all__ = ["BOHBSampler", "bohb_gamma"]
