"""The trial engine: the life of one trial, the same for every executor.

``Study.optimize`` (one process), the local worker processes (``n_jobs > 1``) and the Dask
tasks all run trials through :func:`run_trials` / :func:`run_trial`, so a trial is asked,
run, checked, told, beaten for and failed in exactly one way:

1. Reap: RUNNING trials of the study whose heartbeat went stale (their worker died) are
   failed with the reason and handed to the storage's ``failed_trial_callback``.
2. Ask: the oldest enqueued trial, else a new one; the heartbeat starts.
3. Run the objective. What it returns is checked (:func:`check_values`).
4. Failure policy:
   * NaN, +-inf, None, a non-number or the wrong number of values: FAIL with the reason
     in ``system_attrs["fail_reason"]``; the study goes on.
   * ``TrialPruned``: PRUNED (with its last intermediate value).
   * An exception: FAIL with the exception text. Exceptions in ``catch`` (default: every
     ``Exception``) are logged and the study goes on; any other (``catch=()`` is Optuna's
     default) is re-raised *after* the trial is stored. ``KeyboardInterrupt`` always stops,
     after the trial is stored.
   * Fail fast: with the default ``catch``, when the study's first :data:`FAIL_FAST_TRIALS`
     finished trials all failed with the same exception (type and message) and none has
     succeeded, that exception is raised with a note saying so: a bug in the objective,
     not bad luck. An explicit ``catch`` (e.g. ``catch=Exception``) turns the rule off.
5. Tell: the state and values are stored; the heartbeat stops. A trial that was failed by a
   stale heartbeat while it still ran (grace period too short for a blocked process) keeps
   FAIL, and a warning says its result was dropped.
Nothing already stored is ever removed or changed by a failure.
"""

from __future__ import annotations

import gc
import logging
import math
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from slimtune import keys
from slimtune.exceptions import trial_pruned_types
from slimtune.storage.base import UpdateFinishedTrialError
from slimtune.storage.heartbeat import Heartbeat, reap_stale_trials
from slimtune.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from slimtune.study.study import Study
    from slimtune.trial import Trial

__all__ = [
    "DefaultCatch",
    "FAIL_FAST_TRIALS",
    "check_values",
    "fail_dead_trial",
    "normalize_catch",
    "reap_stale",
    "run_in_processes",
    "run_trial",
    "run_trials",
    "set_process_executor",
]

logger = logging.getLogger("slimtune")

ObjectiveFunc = Callable[["Trial"], Any]


#: The fail-fast rule: with the default ``catch``, when the study's first this-many finished
#: trials all FAILed with the same exception (type and message), the exception is raised.
FAIL_FAST_TRIALS = 3


class DefaultCatch(tuple):
    """``catch=None`` (the default): every ``Exception``, *and* the fail-fast rule.

    A tuple, so it travels to worker processes and Dask tasks with ``catch`` unchanged; an
    explicit ``catch`` (e.g. ``catch=Exception``) is the switch that turns the rule off.
    """

    def __new__(cls) -> DefaultCatch:
        return super().__new__(cls, (Exception,))

    def __reduce__(self) -> tuple[Any, ...]:
        return (DefaultCatch, ())


def normalize_catch(catch: Any) -> tuple[type[BaseException], ...]:
    """``optimize``'s ``catch``: None -> every ``Exception`` with the fail-fast rule
    (:class:`DefaultCatch`); a type or an iterable of types -> those, without the rule."""
    if catch is None or isinstance(catch, DefaultCatch):
        return DefaultCatch()
    if isinstance(catch, type) and issubclass(catch, BaseException):
        return (catch,)
    try:
        out = tuple(catch)
    except TypeError:
        raise TypeError(
            f"catch must be an exception class or a tuple of them, got {catch!r}."
        ) from None
    for c in out:
        if not (isinstance(c, type) and issubclass(c, BaseException)):
            raise TypeError(f"catch must hold exception classes, got {c!r}.")
    return out


def check_values(values: Any, n_objectives: int) -> tuple[list[float] | None, str | None]:
    """(the values as floats, None) when ``values`` is a valid result for ``n_objectives``,
    else (None, the reason the trial fails)."""
    if values is None:
        return None, "the objective returned None."
    if isinstance(values, (str, bytes)):
        return None, f"the objective returned {values!r}, not a number."
    if isinstance(values, Sequence) or (isinstance(values, np.ndarray) and values.ndim == 1):
        seq = list(values)
    else:
        seq = [values]
    if len(seq) != n_objectives:
        return None, (
            f"the objective returned {len(seq)} value(s) {seq!r}; the study has "
            f"{n_objectives} objective(s)."
        )
    out = []
    for v in seq:
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None, f"the objective returned {v!r}, which is not a number."
        if math.isnan(f):
            return None, "the objective returned NaN."
        if math.isinf(f):
            return None, f"the objective returned {f}."
        out.append(f)
    return out, None


# A process looks for dead workers' trials at most once a second (a tenth of the grace
# period when that is shorter), not before every trial: fast trials would pay a read each.
_last_reap: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()


def reap_stale(study: Study, force: bool = False) -> list[FrozenTrial]:
    """Fail (and maybe re-queue) the study's trials whose worker stopped beating: at most
    once a second per study object (a tenth of the grace period if that is shorter), so a
    dead worker's trial is FAIL within ``grace + 1`` s of its last beat while trials run."""
    grace = study.storage.grace_period
    if not study.storage.heartbeat_interval or grace is None:
        return []
    now = time.monotonic()
    last = _last_reap.get(study)
    if not force and last is not None and now - last < min(1.0, grace / 10):
        return []
    _last_reap[study] = now
    return reap_stale_trials(study, study.storage, study.study_id)


def fail_dead_trial(study: Study, trial_id: int, reason: str) -> FrozenTrial | None:
    """Fail a RUNNING trial whose worker is known to be dead (the parent saw it exit),
    without waiting for its heartbeat to go stale; hand it to ``failed_trial_callback``."""
    storage = study.storage
    if trial_id is None or trial_id < 0 or not storage.fail_trial(trial_id, reason):
        return None
    frozen = storage.get_trial(trial_id)
    logger.warning("Trial %d failed: %s", frozen.number, reason)
    cb = storage.failed_trial_callback
    if cb is not None:
        try:
            cb(study, frozen)
        except Exception:  # noqa: BLE001 - a callback error must not stop the study
            logger.exception("failed_trial_callback raised for trial %d", frozen.number)
    return frozen


def _finished(study: Study, trial_id: int) -> bool:
    try:
        return study.get_trial(trial_id).state.is_finished()
    except Exception:  # noqa: BLE001 - unknown: treat the error as the objective's
        return False


def run_trial(
    study: Study,
    func: ObjectiveFunc,
    catch: tuple[type[BaseException], ...] = (Exception,),
    on_start: Callable[[Trial], None] | None = None,
) -> FrozenTrial:
    """Run one trial of ``study`` through its whole life (see the module docstring)."""
    reap_stale(study)
    trial = study.ask()
    if on_start is not None:
        on_start(trial)
    beat = Heartbeat.start(study.storage, trial.trial_id)
    state: TrialState | None = None
    values: Any = None
    reraise: BaseException | None = None
    failed_first: str | None = None  # the caught exception's text (fail-fast rule)
    caught: BaseException | None = None
    try:
        values = func(trial)
    except trial_pruned_types():  # slimtune's TrialPruned, and Optuna's
        state = TrialState.PRUNED
        values = None
    except BaseException as e:  # noqa: BLE001 - every failure is recorded
        state = TrialState.FAIL
        values = None
        if isinstance(e, UpdateFinishedTrialError) and _finished(study, trial.trial_id):
            pass  # another process failed this trial while it ran (stale heartbeat): see below
        else:
            msg = f"{type(e).__name__}: {e}"
            try:
                trial.set_system_attr(keys.FAIL_REASON, msg)
            except Exception:  # noqa: BLE001 - the storage error must not hide the original
                logger.exception("could not store the failure reason of trial %d", trial.number)
            if not (isinstance(e, Exception) and isinstance(e, catch)):
                reraise = e
            elif isinstance(catch, DefaultCatch):
                failed_first, caught = msg, e
    finally:
        if beat is not None:
            beat.stop(trial.trial_id)
    frozen = study.tell(trial, values, state=state, skip_if_finished=True)
    if frozen.state == TrialState.FAIL:
        why = frozen.system_attrs.get(keys.FAIL_REASON, "")
        if "heartbeat" in str(why) and reraise is None:
            logger.warning(
                "Trial %d ran on after another process had failed it (%s); its result is "
                "not stored. Raise the storage's grace_period if the objective blocks this "
                "process for long.",
                frozen.number,
                why,
            )
    if reraise is None and failed_first is not None and _first_trials_failed_alike(
        study, failed_first
    ):
        exc = caught
        note = (
            f"slimtune: the first {FAIL_FAST_TRIALS} finished trials of study "
            f"{study.study_name!r} all failed with this same error, so the study stops: this "
            "is most likely a bug in the objective, not bad luck. Fix it and run again; to go "
            "on past failures like this one, pass catch=Exception (or the exception types) to "
            "optimize."
        )
        logger.error("%s (%s)", note, failed_first)
        assert exc is not None
        exc.add_note(note)
        raise exc
    if reraise is not None:
        raise reraise
    return frozen


def _first_trials_failed_alike(study: Study, reason: str) -> bool:
    """The fail-fast rule: no trial of the study ever finished other than FAIL, at least
    :data:`FAIL_FAST_TRIALS` did, and every one of them with ``reason``."""
    finished = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    if len(finished) < FAIL_FAST_TRIALS:
        return False
    return all(
        t.state == TrialState.FAIL and t.system_attrs.get(keys.FAIL_REASON) == reason
        for t in finished
    )


def run_trials(
    study: Study,
    func: ObjectiveFunc,
    catch: Iterable[type[BaseException]] | tuple[type[BaseException], ...],
    claim: Callable[[], bool],
    on_done: Callable[[FrozenTrial], None] | None = None,
    on_start: Callable[[Trial], None] | None = None,
    gc_after_trial: bool = False,
) -> int:
    """Run trials while ``claim()`` grants one more and ``study.stop()`` was not called;
    the number run. ``on_done`` sees each finished trial (callbacks, progress)."""
    catch_t = catch if isinstance(catch, DefaultCatch) else tuple(catch)
    n = 0
    while not study.stop_requested and claim():
        frozen = run_trial(study, func, catch_t, on_start=on_start)
        n += 1
        if on_done is not None:
            on_done(frozen)
        if gc_after_trial:
            gc.collect()
    return n


# ``optimize(n_jobs > 1)`` runs trials in worker processes. The executor lives in the layer
# above (slimtune.parallel.local), which registers itself here when slimtune is imported,
# so that this layer never imports the one above it.
_process_executor: Callable[..., None] | None = None


def set_process_executor(executor: Callable[..., None]) -> None:
    """Install the function that runs ``optimize(n_jobs > 1)`` (done by slimtune.parallel)."""
    global _process_executor
    _process_executor = executor


def run_in_processes(study: Study, func: ObjectiveFunc, *args: Any) -> None:
    """Run ``optimize``'s trials in worker processes, through the registered executor."""
    if _process_executor is None:  # pragma: no cover - `import slimtune` registers it
        raise RuntimeError("n_jobs > 1 needs slimtune.parallel.local; import slimtune first.")
    _process_executor(study, func, *args)
