"""The registry of every trial and study system-attribute key slimtune stores.

System attributes are how the layers leave facts on a trial for each other (a failure
reason, the budget a model was fitted on, a rung decision). Every key is declared here and
nowhere else, so that a newcomer can see at a glance what a stored trial may carry, and two
modules can never pick the same name for different things.
"""

from __future__ import annotations

__all__ = [
    "FIXED_PARAMS",
    "FAIL_REASON",
    "CONSTRAINTS",
    "CONSTRAINT_NAMES",
    "CV_SCORES",
    "ARTIFACT_PREFIX",
    "artifact_key",
    "RETRIED_FROM",
    "RETRY_COUNT",
    "FIDELITY_BUDGET",
    "METRIC_NAMES",
    "BOHB_BUDGET",
    "LC_FINAL",
    "GP_PROPOSAL",
    "EXECUTOR_TASK",
    "GRID_ID",
    "GRID_SEARCH_SPACE",
    "CMA_GENERATION",
    "CMA_RESTART",
    "CMA_SPACE",
    "CMA_PROPOSAL",
    "NSGA2_GENERATION",
    "NSGA2_PARENTS",
    "RUNG_PREFIX",
    "rung_key",
    "CHECKPOINT",
    "CHECKPOINT_STEP",
    "PAUSED_AT",
    "RESUMED_FROM",
    "RESUME_ROOT",
    "RESUME_STEP",
    "RESUME_KEY",
    "RESUME_RUNG",
    "checkpoint_key",
    "ALL_KEYS",
]

# --- trial system attributes ------------------------------------------------------------
#: dict of parameter values an enqueued (WAITING) trial must use.
FIXED_PARAMS = "fixed_params"
#: str: why a trial is FAIL (the exception, the bad value, the stale heartbeat).
FAIL_REASON = "fail_reason"
#: list of floats from ``trial.set_constraints``; <= 0 is satisfied.
CONSTRAINTS = "constraints"
#: list of str: the names of the constraints set by ``trial.set_constraint(key, value)``,
#: in the order of ``CONSTRAINTS``.
CONSTRAINT_NAMES = "constraints:names"
#: int: the number of the first trial of a retried configuration.
RETRIED_FROM = "retried_from"
#: int: how often this configuration has been retried after a worker died.
RETRY_COUNT = "retry_count"
#: float or None: the budget BOHB fitted the model of this trial on (None: random).
BOHB_BUDGET = "bohb:budget"
#: list of floats: the final values a ``LearningCurvePruner`` predicted for a trial it pruned.
LC_FINAL = "lc:final"
#: list of floats: the GP's proposal in the unit cube (for fantasies of running trials).
GP_PROPOSAL = "gp:proposal"
#: str: the executor task that ran this trial (the Dask task key, one task per trial), so
#: that a task rerun after its worker was lost fails that trial instead of running another.
EXECUTOR_TASK = "executor:task"
#: int: the index of the grid point a ``GridSampler`` trial evaluates.
GRID_ID = "grid_id"
#: dict of lists: the grid of that ``GridSampler`` (so that two grids never mix).
GRID_SEARCH_SPACE = "search_space"
#: int: the CMA-ES generation a ``CmaEsSampler`` trial was sampled in.
CMA_GENERATION = "cma:generation"
#: int: how many times CMA-ES had restarted (IPOP/BIPOP) when the trial was sampled.
CMA_RESTART = "cma:restart"
#: str: a digest of the search space the CMA-ES of that trial ran on.
CMA_SPACE = "cma:space"
#: list of floats: the CMA-ES proposal in the unit cube (for inactive parameters).
CMA_PROPOSAL = "cma:proposal"
#: int: the NSGA-II generation of a ``NSGAIISampler`` trial.
NSGA2_GENERATION = "nsga2:generation"
#: list of ints: the trial numbers of the parents of a ``NSGAIISampler`` child.
NSGA2_PARENTS = "nsga2:parents"
#: prefix of the keys of successive-halving rung decisions, see :func:`rung_key`.
RUNG_PREFIX = "sh:rung@"
#: str: the key of the trial's latest checkpoint in its checkpoint store
#: (``trial.save_checkpoint``); the state itself is a file, never in the study storage.
CHECKPOINT = "ckpt:key"
#: int: the step that checkpoint was saved at.
CHECKPOINT_STEP = "ckpt:step"
#: float: the rung at which promotion-type successive halving paused this trial.
PAUSED_AT = "promo:paused_at"
#: int: the number of the paused trial this one continues (promotion-type ASHA).
RESUMED_FROM = "promo:resumed_from"
#: int: the number of the first trial of a chain of resumed trials (its Hyperband bracket).
RESUME_ROOT = "promo:root"
#: int: the step this trial resumes from (its parent's checkpoint step; 0 = from scratch).
RESUME_STEP = "promo:resume_step"
#: str: the checkpoint key this trial resumes from (its parent's).
RESUME_KEY = "promo:resume_key"
#: float: the rung the parent was paused at and promoted from (decided: not decided again).
RESUME_RUNG = "promo:resume_rung"

#: list of floats: a trial's k-fold scores (``terminator.report_cross_validation_scores``).
CV_SCORES = "terminator:cv_scores"

# --- trial and study system attributes -------------------------------------------------
#: prefix of the keys of artifact records (``slimtune.artifacts``), see :func:`artifact_key`;
#: the value is a dict (artifact_id, filename, mimetype, encoding).
ARTIFACT_PREFIX = "artifacts:"

# --- study system attributes ------------------------------------------------------------
#: dict: the fidelity (budget) a study was run with, see :mod:`slimtune.fidelity`.
FIDELITY_BUDGET = "fidelity:budget"
#: list of str: the name of each objective, see ``Study.set_metric_names`` (Optuna's key).
METRIC_NAMES = "study:metric_names"

ALL_KEYS = (
    FIXED_PARAMS,
    FAIL_REASON,
    CONSTRAINTS,
    CONSTRAINT_NAMES,
    CV_SCORES,
    RETRIED_FROM,
    RETRY_COUNT,
    BOHB_BUDGET,
    LC_FINAL,
    GP_PROPOSAL,
    EXECUTOR_TASK,
    GRID_ID,
    GRID_SEARCH_SPACE,
    CMA_GENERATION,
    CMA_RESTART,
    CMA_SPACE,
    CMA_PROPOSAL,
    NSGA2_GENERATION,
    NSGA2_PARENTS,
    CHECKPOINT,
    CHECKPOINT_STEP,
    PAUSED_AT,
    RESUMED_FROM,
    RESUME_ROOT,
    RESUME_STEP,
    RESUME_KEY,
    RESUME_RUNG,
    FIDELITY_BUDGET,
    METRIC_NAMES,
)


def rung_key(resource: float) -> str:
    """The key under which a trial's value at a successive-halving rung is stored."""
    r = float(resource)
    return f"{RUNG_PREFIX}{int(r) if r.is_integer() else r:g}"


def artifact_key(artifact_id: str) -> str:
    """The system-attribute key under which an artifact's record is stored."""
    return f"{ARTIFACT_PREFIX}{artifact_id}"


def checkpoint_key(study_name: str, number: int, study_id: int | None = None) -> str:
    """The checkpoint-store key of trial ``number`` of a study: ``"<name>-<hash>/trial_<n>"``
    (the name made safe for a file name; the hash, of the name and the study's id, keeps
    apart names that map alike and a study re-created under the same name)."""
    import hashlib
    import re

    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", study_name)[:60]
    digest = hashlib.sha1(f"{study_name}\0{study_id}".encode()).hexdigest()[:8]
    return f"{safe}-{digest}/trial_{number}"
