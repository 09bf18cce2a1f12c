"""``study.optimize(callbacks=[TerminatorCallback()])`` (Optuna's
``optuna.terminator.callback``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from slimtune.terminator.terminator import BaseTerminator, Terminator
from slimtune.trial import FrozenTrial

if TYPE_CHECKING:
    from slimtune.study import Study

__all__ = ["TerminatorCallback"]

logger = logging.getLogger("slimtune")


class TerminatorCallback:
    """``study.optimize(..., callbacks=[TerminatorCallback()])``: call ``study.stop()``
    when the terminator says so (checked after every trial)."""

    def __init__(self, terminator: BaseTerminator | None = None):
        self._terminator = terminator or Terminator()

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        if self._terminator.should_terminate(study):
            logger.info("The study is stopped by the terminator after trial %d.", trial.number)
            study.stop()
