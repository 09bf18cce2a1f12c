"""slimtune: find small models with good hyperparameters.

The public API follows Optuna's names so that existing objectives run unchanged::

    import slimtune as st
    study = st.create_study(direction="minimize", storage="sqlite:///study.db")
    study.optimize(objective, n_trials=100)
"""

from __future__ import annotations

from slimtune import (
    distributions,
    fidelity,
    logging,
    multiobjective,
    presets,
    pruners,
    samplers,
    storage,
)
from slimtune.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from slimtune.space import Prior, Space, SpaceError
from slimtune.storage import InMemoryStorage, SQLStorage
from slimtune.study import (
    Study,
    StudyDirection,
    copy_study,
    create_study,
    delete_study,
    get_all_study_names,
    get_all_study_summaries,
    load_study,
)
from slimtune.trial import FixedTrial, FrozenTrial, Trial, TrialPruned, TrialState

# The executor of optimize(n_jobs > 1) registers itself with the trial engine.
from slimtune.parallel import local as _local  # noqa: E402,F401  isort: skip

__version__ = "0.1.0"

__all__ = [
    "CategoricalDistribution",
    "FixedTrial",
    "FloatDistribution",
    "FrozenTrial",
    "InMemoryStorage",
    "IntDistribution",
    "Prior",
    "SQLStorage",
    "Space",
    "SpaceError",
    "Study",
    "StudyDirection",
    "Trial",
    "TrialPruned",
    "TrialState",
    "copy_study",
    "create_study",
    "delete_study",
    "distributions",
    "fidelity",
    "get_all_study_names",
    "get_all_study_summaries",
    "load_study",
    "logging",
    "multiobjective",
    "presets",
    "pruners",
    "samplers",
    "storage",
]

# As in Optuna: one INFO line per finished trial on stderr unless told otherwise.
logging.get_logger("slimtune")


def __getattr__(name: str) -> object:
    # ``slimtune.integration`` / ``visualization`` / ``importance`` (Optuna's modules) without
    # importing them first;
    # imported on first use so that ``import slimtune`` stays light.
    if name in ("integration", "visualization", "importance"):
        import importlib

        return importlib.import_module("slimtune.integration")
    raise AttributeError(f"module 'slimtune' has no attribute {name!r}")
