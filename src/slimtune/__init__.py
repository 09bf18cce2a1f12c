"""slimtune: find small models with good hyperparameters.

The public API follows Optuna's names so that existing objectives run unchanged::

    import slimtune as st
    study = st.create_study(direction="minimize", storage="sqlite:///study.db")
    study.optimize(objective, n_trials=100)
"""

from __future__ import annotations

import importlib as _importlib

from slimtune import (
    distributions,
    exceptions,
    fidelity,
    logging,
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

__all__ = [
    "__version__",
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
    "logging",
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

# As in Optuna: one INFO line per finished trial on stderr unless told otherwise.
logging.get_logger("slimtune")


# Optuna's modules that pull in heavier code (plotly, scikit-learn, the GP), imported on
# first use so that ``import slimtune`` stays light.
_LAZY_MODULES = ("artifacts", "importance", "integration", "terminator", "visualization")


def __getattr__(name: str) -> object:
    if name in _LAZY_MODULES:
        return _importlib.import_module(f"slimtune.{name}")
    raise AttributeError(f"module 'slimtune' has no attribute {name!r}")
