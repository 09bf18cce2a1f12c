"""What every terminator evaluator reads from the trials (shared helpers)."""

from __future__ import annotations

from typing import Any

import numpy as np

from slimtune.trial import FrozenTrial, TrialState

__all__ = ["complete_trials", "direction_of", "losses"]


def direction_of(study_direction: Any) -> str:
    """'minimize' or 'maximize' from a string or an enum member (Optuna's or ours)."""
    s = str(getattr(study_direction, "name", study_direction)).lower()
    if s not in ("minimize", "maximize"):
        raise ValueError(f"study_direction={study_direction!r}: use 'minimize' or 'maximize'.")
    return s


def complete_trials(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    return [t for t in trials if t.state == TrialState.COMPLETE and t.values is not None]


def losses(trials: list[FrozenTrial], direction: str) -> np.ndarray:
    """Objective values as losses (smaller is better)."""
    y = np.array([t.values[0] for t in trials], dtype=float)  # type: ignore[index]
    return -y if direction == "maximize" else y
