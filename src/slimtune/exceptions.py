"""slimtune's exceptions, under Optuna's names (``optuna.exceptions``).

Every error slimtune raises on purpose derives from :class:`SlimtuneError` (Optuna's
``OptunaError``, which is also importable under that name), so ``except OptunaError`` in
ported code catches the same things. Errors that are also a standard kind keep that base
too: :class:`DuplicatedStudyError` is a ``ValueError``, :class:`UpdateFinishedTrialError`
a ``RuntimeError``.

:func:`is_trial_pruned` is what the trial engine asks about an exception from an
objective: slimtune's :class:`TrialPruned` *and Optuna's own* (``optuna.TrialPruned``,
``optuna.exceptions.TrialPruned``) record the trial as PRUNED, so an objective that still
imports Optuna for its exception behaves the same. Optuna is never imported for this.
"""

from __future__ import annotations

import sys

__all__ = [
    "SlimtuneError",
    "OptunaError",
    "TrialPruned",
    "CLIUsageError",
    "StorageInternalError",
    "DuplicatedStudyError",
    "UpdateFinishedTrialError",
    "ExperimentalWarning",
    "is_trial_pruned",
    "trial_pruned_types",
]


class SlimtuneError(Exception):
    """Base class of slimtune's own errors (Optuna's ``OptunaError``)."""


OptunaError = SlimtuneError  # the Optuna name


class TrialPruned(SlimtuneError):
    """Raise from an objective to stop the trial early; it is stored as PRUNED."""


class CLIUsageError(SlimtuneError):
    """A command-line mistake (the CLI prints it as one line, exit code 2)."""


class StorageInternalError(SlimtuneError):
    """The storage back end failed in a way the caller cannot fix (a database error)."""


class DuplicatedStudyError(SlimtuneError, ValueError):
    """A study of that name already exists (use ``load_if_exists=True`` to reuse it)."""


class UpdateFinishedTrialError(SlimtuneError, RuntimeError):
    """A write to a trial that is already finished (Optuna's name): finished trials never
    change, which is what lets a cache keep them."""


class ExperimentalWarning(Warning):
    """The feature may change without a deprecation period."""


def trial_pruned_types() -> tuple[type[BaseException], ...]:
    """The exception classes that mean "prune this trial": slimtune's :class:`TrialPruned`,
    plus Optuna's when Optuna is already imported (it can only be raised then)."""
    mod = sys.modules.get("optuna.exceptions")
    other = getattr(mod, "TrialPruned", None) if mod is not None else None
    if isinstance(other, type) and issubclass(other, BaseException) and other is not TrialPruned:
        return (TrialPruned, other)
    return (TrialPruned,)


def is_trial_pruned(exc: BaseException) -> bool:
    """True when ``exc`` asks to prune the trial (slimtune's or Optuna's ``TrialPruned``)."""
    return isinstance(exc, trial_pruned_types())
