"""Studies: :mod:`slimtune.study.study` (Study, create/load/delete/copy) and
:mod:`slimtune.study.engine` (the life of one trial, shared by every executor)."""

from __future__ import annotations

from slimtune.storage.base import StudySummary
from slimtune.study.callbacks import MaxTrialsCallback
from slimtune.study.study import (
    Study,
    StudyDirection,
    copy_study,
    create_study,
    delete_study,
    get_all_study_names,
    get_all_study_summaries,
    load_study,
)

__all__ = [
    "MaxTrialsCallback",
    "StudySummary",
    "Study",
    "StudyDirection",
    "create_study",
    "load_study",
    "delete_study",
    "get_all_study_names",
    "get_all_study_summaries",
    "copy_study",
]
