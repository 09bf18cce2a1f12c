"""The pruner protocol: decide from a trial's intermediate values whether to stop it."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slimtune.study import Study
    from slimtune.trial import FrozenTrial

__all__ = ["BasePruner", "NopPruner"]


class BasePruner(abc.ABC):
    """``prune(study, trial)`` sees the running trial's snapshot and the study's trials."""

    @abc.abstractmethod
    def prune(self, study: Study, trial: FrozenTrial) -> bool: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class NopPruner(BasePruner):
    """Never prunes (pass ``pruner=NopPruner()`` to turn off the default ``MedianPruner``)."""

    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        return False
