"""A first design spread over the cost: the initial trials of a NAS search chosen so that
their MACs cover the feasible range evenly on a log scale.

Why: a search for a front of accuracy against MACs is decided at the small end (a model 2x
smaller adds as much hypervolume at 5k as at 500k MACs), but random configurations of a
block-and-width space pile up in the middle of the MACs range: the 12 random trials that
start a TPE rarely include a model near the smallest the space can build, and the sampler
then needs many trials to walk there. The MACs of a configuration are known before it is
trained (:func:`~slimtune.nas.profile.profile_spec` counts them exactly, on the meta device,
in milliseconds), so the first design can be spread over them for free: draw a pool of random
configurations, keep the feasible ones (within the MACs and params caps), and pick ``n``
nearest to evenly spaced targets in log10 MACs from the smallest to the largest. The recipe
parameters (optimizer, learning rate, ...) stay as drawn, at random.

Deterministic: the same space, ``n``, ``seed`` and caps give the same configurations.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

import slimtune as st
from slimtune.nas.profile import profile_spec
from slimtune.nas.space import ArchSpace

__all__ = ["cost_spread_design"]


def cost_spread_design(
    arch: ArchSpace,
    n: int,
    seed: int | None = 0,
    caps: Mapping[str, float] | None = None,
    pool: int = 256,
) -> list[dict[str, Any]]:
    """``n`` configurations (trial params, as ``study.enqueue_trial`` takes them) whose
    MACs are spread evenly over log10 MACs among ``pool`` random draws of ``arch``.

    ``caps``: ``{"max_macs": ..., "max_params": ...}``; draws over a cap are left out (the
    search would not train them). Fewer than ``n`` feasible draws: all of them."""
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}.")
    if not isinstance(pool, int) or pool < n:
        raise ValueError(f"pool must be an int >= n ({n}), got {pool!r}.")
    caps = dict(caps or {})
    draws: list[tuple[dict[str, Any], float]] = []

    def draw(trial: st.Trial) -> float:
        values = arch.suggest(trial)
        prof = profile_spec(arch.to_spec(values)).to_dict()
        macs, params = float(prof["macs"]), float(prof["params"])
        if macs <= caps.get("max_macs", math.inf) and params <= caps.get("max_params", math.inf):
            draws.append((dict(trial.params), macs))
        return macs

    scratch = st.create_study(sampler=st.samplers.RandomSampler(seed=seed))
    scratch.optimize(draw, n_trials=pool, catch=())
    if len(draws) <= n:
        return [p for p, _ in sorted(draws, key=lambda d: d[1])]
    logm = np.log10(np.maximum([m for _, m in draws], 1.0))
    targets = np.linspace(logm.min(), logm.max(), n)
    # nearest unused draw to each target, from the smallest target up (no draw twice)
    dist = np.abs(logm[None, :] - targets[:, None])
    chosen: list[int] = []
    for row in dist:
        row = row.copy()
        row[chosen] = np.inf
        chosen.append(int(np.argmin(row)))
    return [draws[i][0] for i in chosen]
