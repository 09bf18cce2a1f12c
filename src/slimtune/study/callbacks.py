"""Callbacks for ``Study.optimize``: stop a study once it holds enough trials."""

from __future__ import annotations

from collections.abc import Container
from typing import TYPE_CHECKING

from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study.study import Study

__all__ = ["MaxTrialsCallback"]


class MaxTrialsCallback:
    """Stop the study once it holds ``n_trials`` trials in ``states`` (Optuna's callback).

    ``states`` defaults to ``(TrialState.COMPLETE,)``, as in Optuna; ``None`` counts trials
    in every state. The count is the whole study's, from storage, so every process running
    the study stops on it. It is checked after each trial ends, so workers whose trials
    were running at that moment finish them: for an exact total across workers use the
    executors' ``n_trials`` (see docs/parallel.md).
    """

    def __init__(
        self, n_trials: int, states: Container[TrialState] | None = (TrialState.COMPLETE,)
    ) -> None:
        if isinstance(n_trials, bool) or not isinstance(n_trials, int):
            raise TypeError(f"n_trials must be an int, got {n_trials!r}.")
        self._n_trials = n_trials
        self._states = states

    def __call__(self, study: Study, trial: FrozenTrial) -> None:
        """Call ``study.stop()`` when the study has ``n_trials`` trials in ``states``."""
        if len(study.get_trials(deepcopy=False, states=self._states)) >= self._n_trials:
            study.stop()
