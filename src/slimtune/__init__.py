"""slimtune: find small models with good hyperparameters.

The public API follows Optuna's names so that existing objectives run unchanged::

    import slimtune as st
    study = st.create_study(direction="minimize", storage="sqlite:///study.db")
    study.optimize(objective, n_trials=100)
"""

from __future__ import annotations

import logging as _logging

from slimtune import (
    distributions,
    fidelity,
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
    MaxTrialsCallback,
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
    "MaxTrialsCallback",
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
    "multiobjective",
    "presets",
    "pruners",
    "samplers",
    "storage",
]

_logging.getLogger("slimtune").addHandler(_logging.NullHandler())
