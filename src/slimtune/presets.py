"""One-line multi-fidelity setups: ``st.create_study(**st.presets.bohb(seed=0))``.

Each preset returns ``{"sampler": ..., "pruner": ...}`` built to agree with each other
(the sampler's budgets are the pruner's rungs), to unpack into :func:`slimtune.create_study`.
"""

from __future__ import annotations

from typing import Any

from slimtune.multifidelity import HyperbandPruner, SuccessiveHalvingPruner
from slimtune.samplers.random import RandomSampler

__all__ = ["bohb", "hyperband", "asha", "curves"]


def bohb(
    min_resource: int = 1,
    max_resource: int = 81,
    reduction_factor: float = 3,
    seed: int | None = None,
    **sampler_kwargs: Any,
) -> dict[str, Any]:
    """BOHB: :class:`~slimtune.multifidelity.bohb.BOHBSampler` + :class:`HyperbandPruner`.

    Report the resource (e.g. the epoch, 1..``max_resource``) as ``step``; extra keyword
    arguments go to the sampler (``random_fraction``, ``min_points_in_model``, ...).

    >>> import slimtune as st
    >>> study = st.create_study(**st.presets.bohb(max_resource=27, seed=0))
    >>> type(study.sampler).__name__, type(study.pruner).__name__
    ('BOHBSampler', 'HyperbandPruner')
    """
    from slimtune.multifidelity.bohb import BOHBSampler

    pruner = HyperbandPruner(min_resource, max_resource, reduction_factor)
    sampler = BOHBSampler(budgets=pruner.budgets(), seed=seed, **sampler_kwargs)
    return {"sampler": sampler, "pruner": pruner}


def hyperband(
    min_resource: int = 1,
    max_resource: int = 81,
    reduction_factor: float = 3,
    seed: int | None = None,
) -> dict[str, Any]:
    """Hyperband with random sampling (Li et al. 2018)."""
    return {
        "sampler": RandomSampler(seed=seed),
        "pruner": HyperbandPruner(min_resource, max_resource, reduction_factor),
    }


def asha(
    min_resource: int = 1,
    max_resource: int | None = None,
    reduction_factor: float = 3,
    seed: int | None = None,
) -> dict[str, Any]:
    """Asynchronous successive halving with random sampling (Li et al. 2020)."""
    return {
        "sampler": RandomSampler(seed=seed),
        "pruner": SuccessiveHalvingPruner(
            min_resource, reduction_factor, max_resource=max_resource
        ),
    }


def curves(
    max_resource: int = 81,
    min_resource: int = 3,
    seed: int | None = None,
    alpha: float = 0.05,
    **sampler_kwargs: Any,
) -> dict[str, Any]:
    """The learning-curve model: :class:`~slimtune.multifidelity.curves.LearningCurvePruner`
    (stop a trial when its extrapolated optimistic final cannot beat the best) + TPE fitted
    on predicted finals (:class:`~slimtune.multifidelity.curves.PredictedFinalCollector`).

    Report the resource (e.g. the epoch, 1..``max_resource``) as ``step``; extra keyword
    arguments go to the :class:`~slimtune.samplers.TPESampler`.

    >>> import slimtune as st
    >>> study = st.create_study(**st.presets.curves(max_resource=27, seed=0))
    >>> type(study.sampler).__name__, type(study.pruner).__name__
    ('TPESampler', 'LearningCurvePruner')
    """
    from slimtune.multifidelity.curves import LearningCurvePruner, PredictedFinalCollector
    from slimtune.samplers.tpe import TPESampler

    pruner = LearningCurvePruner(max_resource, min_resource=min_resource, alpha=alpha)
    sampler = TPESampler(seed=seed, collector=PredictedFinalCollector(), **sampler_kwargs)
    return {"sampler": sampler, "pruner": pruner}
