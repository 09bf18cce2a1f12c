"""slimtune: find small models with good hyperparameters.

The public API follows Optuna's names so that existing objectives run unchanged::

    import slimtune as st
    study = st.create_study(direction="minimize", storage="sqlite:///study.db")
    study.optimize(objective, n_trials=100)
"""

from __future__ import annotations

import importlib as _importlib
import logging as _logging
from typing import Any as _Any

from slimtune import (
    distributions,
    exceptions,
    fidelity,
    multiobjective,
    presets,
    pruners,
    samplers,
    search_space,
    storage,
    storages,
    study,
    trial,
    version,
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
from slimtune.trial import (
    FixedTrial,
    FrozenTrial,
    Trial,
    TrialPruned,
    TrialState,
    create_trial,
)
from slimtune.version import __version__

# The executor of optimize(n_jobs > 1) registers itself with the trial engine.
from slimtune.parallel import local as _local  # noqa: E402,F401  isort: skip

# Optuna's module names that pull in heavier code, imported on first access.
_LAZY_MODULES = ("artifacts", "terminator")


def __getattr__(name: str) -> _Any:
    if name in _LAZY_MODULES:
        return _importlib.import_module(f"slimtune.{name}")
    raise AttributeError(f"module 'slimtune' has no attribute {name!r}")

__all__ = [
    "__version__",
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
    "artifacts",
    "copy_study",
    "create_study",
    "create_trial",
    "delete_study",
    "distributions",
    "exceptions",
    "fidelity",
    "get_all_study_names",
    "get_all_study_summaries",
    "load_study",
    "multiobjective",
    "presets",
    "pruners",
    "samplers",
    "search_space",
    "storage",
    "storages",
    "study",
    "terminator",
    "trial",
    "version",
]

_logging.getLogger("slimtune").addHandler(_logging.NullHandler())
