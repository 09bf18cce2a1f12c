"""NAS test fixtures: the per-block latency tables of a test session go to a temporary
cache directory, never to the user's ``~/.cache/slimtune``."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _latency_cache(tmp_path_factory):
    old = os.environ.get("SLIMTUNE_CACHE")
    os.environ["SLIMTUNE_CACHE"] = str(tmp_path_factory.mktemp("slimtune_cache"))
    yield
    if old is None:
        os.environ.pop("SLIMTUNE_CACHE", None)
    else:
        os.environ["SLIMTUNE_CACHE"] = old
