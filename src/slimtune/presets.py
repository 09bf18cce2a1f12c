"""One-line multi-fidelity setups: ``st.create_study(**st.presets.bohb(seed=0))``.

Each preset returns ``{"sampler": ..., "pruner": ...}`` built to agree with each other
(the sampler's budgets are the pruner's rungs), to unpack into :func:`slimtune.create_study`.
"""

from __future__ import annotations

from typing import Any

from slimtune.multifidelity import (
    HyperbandPruner,
    PromotionASHAPruner,
    PromotionHyperbandPruner,
    SuccessiveHalvingPruner,
)
from slimtune.samplers.random import RandomSampler

__all__ = ["bohb", "hyperband", "asha", "curves"]


def bohb(
    min_resource: int = 1,
    max_resource: int = 81,
    reduction_factor: float = 3,
    seed: int | None = None,
    *,
    promotion: bool = False,
    checkpoints: Any = None,
    **sampler_kwargs: Any,
) -> dict[str, Any]:
    """BOHB: :class:`~slimtune.multifidelity.bohb.BOHBSampler` + :class:`HyperbandPruner`.

    Report the resource (e.g. the epoch, 1..``max_resource``) as ``step``; extra keyword
    arguments go to the sampler (``random_fraction``, ``min_points_in_model``, ...).
    ``promotion=True``: the pruner is :class:`~slimtune.multifidelity.promotion.
    PromotionHyperbandPruner` (paused trials resume from ``checkpoints``).

    >>> import slimtune as st
    >>> study = st.create_study(**st.presets.bohb(max_resource=27, seed=0))
    >>> type(study.sampler).__name__, type(study.pruner).__name__
    ('BOHBSampler', 'HyperbandPruner')
    """
    from slimtune.multifidelity.bohb import BOHBSampler

    if promotion:
        pruner: Any = PromotionHyperbandPruner(
            min_resource, max_resource, reduction_factor, checkpoints=checkpoints
        )
    else:
        _no_checkpoints(checkpoints)
        pruner = HyperbandPruner(min_resource, max_resource, reduction_factor)
    sampler = BOHBSampler(budgets=pruner.budgets(), seed=seed, **sampler_kwargs)
    return {"sampler": sampler, "pruner": pruner}


def hyperband(
    min_resource: int = 1,
    max_resource: int = 81,
    reduction_factor: float = 3,
    seed: int | None = None,
    *,
    promotion: bool = False,
    checkpoints: Any = None,
) -> dict[str, Any]:
    """Hyperband with random sampling (Li et al. 2018).

    ``promotion=True``: brackets of promotion-type ASHA
    (:class:`~slimtune.multifidelity.promotion.PromotionHyperbandPruner`): trials that are
    not promotable at a rung are paused and later resumed from their checkpoint, kept in
    ``checkpoints`` (a directory; default: a new temporary one)."""
    if promotion:
        pruner: Any = PromotionHyperbandPruner(
            min_resource, max_resource, reduction_factor, checkpoints=checkpoints
        )
    else:
        _no_checkpoints(checkpoints)
        pruner = HyperbandPruner(min_resource, max_resource, reduction_factor)
    return {"sampler": RandomSampler(seed=seed), "pruner": pruner}


def asha(
    min_resource: int = 1,
    max_resource: int | None = None,
    reduction_factor: float = 3,
    seed: int | None = None,
    *,
    promotion: bool = False,
    checkpoints: Any = None,
) -> dict[str, Any]:
    """Asynchronous successive halving with random sampling (Li et al. 2020).

    ``promotion=True``: promotion-type ASHA
    (:class:`~slimtune.multifidelity.promotion.PromotionASHAPruner`), which pauses trials
    and resumes them from their checkpoint (``checkpoints``: a directory; default: a new
    temporary one) instead of stopping them.

    >>> import slimtune as st
    >>> type(st.presets.asha(max_resource=27, promotion=True)["pruner"]).__name__
    'PromotionASHAPruner'
    """
    if promotion:
        pruner: Any = PromotionASHAPruner(
            min_resource, reduction_factor, max_resource=max_resource, checkpoints=checkpoints
        )
    else:
        _no_checkpoints(checkpoints)
        pruner = SuccessiveHalvingPruner(min_resource, reduction_factor, max_resource=max_resource)
    return {"sampler": RandomSampler(seed=seed), "pruner": pruner}


def _no_checkpoints(checkpoints: Any) -> None:
    if checkpoints is not None:
        raise ValueError(
            "checkpoints= is used only with promotion=True (trials that pause and resume); "
            "pass promotion=True or drop checkpoints=."
        )


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
