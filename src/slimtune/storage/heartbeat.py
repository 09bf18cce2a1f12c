"""Heartbeats: how a study finds the trials whose worker died.

While a trial runs, its process records a beat in the storage every ``interval`` seconds.
A RUNNING trial whose last beat is older than ``grace`` seconds belongs to a process that
died (SIGKILL, out of memory, a lost machine): any process that opens the study, or starts
a trial in it, marks such a trial FAIL with the reason and hands it to the storage's
``failed_trial_callback`` (e.g. :class:`RetryFailedTrialCallback` to run it again).

Heartbeats are on by default for every storage that can outlive a process
(:data:`DEFAULT_INTERVAL` = 10 s, :data:`DEFAULT_GRACE` = 30 s): a dead worker's trial is
FAIL once its last beat is ``grace`` seconds old, when a process opens the study, or within
a second while any process runs trials in it (the trial engine looks at most once a
second). Turn them off with ``heartbeat_interval=None``. The cost is one short write per
running trial every ``interval`` seconds and one indexed read a second (measured in
``benchmarks/speed.py`` and ``benchmarks/heartbeat.py``).

This module holds the one copy of the logic: the beating thread and the reaping rule. A
storage only answers two questions (:meth:`BaseStorage.stale_trial_ids` and
:meth:`BaseStorage.fail_trial`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from slimtune import keys
from slimtune.trial import FrozenTrial

if TYPE_CHECKING:
    from slimtune.storage.base import BaseStorage

__all__ = [
    "DEFAULT_INTERVAL",
    "DEFAULT_GRACE",
    "Heartbeat",
    "RetryFailedTrialCallback",
    "reap_stale_trials",
    "resolve",
    "stale_reason",
]

logger = logging.getLogger("slimtune")

#: Seconds between two beats of a running trial.
DEFAULT_INTERVAL = 10.0
#: Seconds without a beat after which a RUNNING trial is taken for dead (3 missed beats).
DEFAULT_GRACE = 30.0

_DEFAULT: Any = "default"


def resolve(interval: Any, grace: Any) -> tuple[float | None, float | None]:
    """The (interval, grace) a storage runs with: defaults on; ``interval=None`` (or 0) off.

    ``grace`` defaults to three intervals (30 s with the default interval) and must be
    larger than the interval, or a live trial would be failed between two beats.
    """
    if interval is _DEFAULT:
        interval = DEFAULT_INTERVAL
    if interval is None or interval is False or interval == 0:
        return None, None
    try:
        interval = float(interval)
    except (TypeError, ValueError):
        raise TypeError(f"heartbeat_interval={interval!r}: use seconds (> 0) or None.") from None
    if not interval > 0:
        raise ValueError(f"heartbeat_interval={interval!r}: use seconds (> 0) or None (off).")
    if grace is None or grace is _DEFAULT:
        grace = 3 * interval
    grace = float(grace)
    if not grace > interval:
        raise ValueError(
            f"grace_period={grace!r} must be larger than heartbeat_interval={interval!r} "
            "(a live trial would be failed between two beats); use at least 2-3 intervals."
        )
    return interval, grace


def stale_reason(age: float, grace: float) -> str:
    """The failure reason stored on a trial whose worker stopped beating."""
    return (
        f"heartbeat stale for {age:.1f}s > grace period {grace:g}s: its worker process died "
        "(killed, out of memory, or its machine was lost)"
    )


def reap_stale_trials(
    study: Any, storage: BaseStorage, study_id: int, callback: bool = True
) -> list[FrozenTrial]:
    """Fail the study's RUNNING trials whose beat is older than the grace period.

    Each one gets a ``fail_reason``, is logged, and (with ``callback``) is handed to the
    storage's ``failed_trial_callback`` (which may re-queue it). Returns the failed trials.
    """
    grace = storage.grace_period
    if not storage.heartbeat_interval or grace is None:
        return []
    now = time.time()
    out = []
    for tid, beat in storage.stale_trial_ids(study_id, now - grace):
        if not storage.fail_trial(tid, stale_reason(now - beat, grace)):
            continue  # finished or failed by another process meanwhile
        frozen = storage.get_trial(tid)
        reason = frozen.system_attrs.get(keys.FAIL_REASON)
        logger.warning("Trial %d failed: %s", frozen.number, reason)
        out.append(frozen)
        cb = storage.failed_trial_callback if callback else None
        if cb is not None:
            try:
                cb(study, frozen)
            except Exception:  # noqa: BLE001 - a callback error must not stop the study
                logger.exception("failed_trial_callback raised for trial %d", frozen.number)
    return out


class Heartbeat:
    """Beats for the running trials of this process, from one daemon thread.

    One thread per storage and process, started with the first trial and ending one
    interval after the last, so that a beat costs nothing on the trial's path: :meth:`start`
    and :meth:`stop` only touch a dict.
    """

    _lock = threading.Lock()
    _instances: weakref.WeakKeyDictionary[Any, Heartbeat] = weakref.WeakKeyDictionary()

    def __init__(self, storage: BaseStorage, interval: float):
        self._storage = storage
        self._interval = float(interval)
        self._running: dict[int, None] = {}
        self._guard = threading.Lock()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slimtune-heartbeat", daemon=True)
        self._alive = True
        self._thread.start()

    @classmethod
    def start(cls, storage: BaseStorage, trial_id: int) -> Heartbeat | None:
        """Beat for ``trial_id`` until :meth:`stop`; None when heartbeats are off."""
        interval = storage.heartbeat_interval
        if not interval:
            return None
        with cls._lock:
            hb = cls._instances.get(storage)
            if hb is None or not (hb._alive and hb._thread.is_alive()):
                hb = cls._instances[storage] = cls(storage, interval)
            with hb._guard:
                hb._running[trial_id] = None
            return hb

    def stop(self, trial_id: int) -> None:
        """No more beats for ``trial_id`` (it finished)."""
        with self._guard:
            self._running.pop(trial_id, None)

    def _run(self) -> None:
        while not self._wake.wait(self._interval):
            with Heartbeat._lock, self._guard:
                ids = list(self._running)
                if not ids:  # idle for a whole interval: end; the next trial starts another
                    self._alive = False
                    return
            for tid in ids:
                try:
                    with _beating:  # see _before_fork
                        self._storage.record_heartbeat(tid)
                except Exception:  # noqa: BLE001 - a missed beat is not fatal
                    logger.debug("heartbeat of trial id %d failed", tid, exc_info=True)


# Held while a beat is written. A fork (worker processes) waits for the beat in flight and
# holds off new ones, so that no child starts with a database library lock (SQLite's global
# mutex, a connection pool's lock) taken by a beating thread that does not exist in it.
_beating = threading.Lock()


def _before_fork() -> None:
    _beating.acquire()


def _after_fork_in_parent() -> None:
    _beating.release()


def _after_fork_in_child() -> None:
    # The parent's beating threads do not exist in a forked child, and its locks may have
    # been held at the fork: start from scratch.
    global _beating
    _beating = threading.Lock()
    Heartbeat._lock = threading.Lock()
    Heartbeat._instances = weakref.WeakKeyDictionary()


os.register_at_fork(
    before=_before_fork,
    after_in_parent=_after_fork_in_parent,
    after_in_child=_after_fork_in_child,
)


class RetryFailedTrialCallback:
    """Re-queue a trial whose worker died, with the same parameters (Optuna's name).

    Pass it as ``SQLStorage(url, failed_trial_callback=RetryFailedTrialCallback())``.
    ``max_retry`` bounds how often one configuration is retried (None: no bound); the new
    trial records ``retried_from`` (the first trial's number) and ``retry_count``. With
    ``inherit_intermediate_values=True`` it also gets the dead trial's reports.
    """

    def __init__(self, max_retry: int | None = None, inherit_intermediate_values: bool = False):
        if max_retry is not None and (not isinstance(max_retry, int) or max_retry < 0):
            raise ValueError(f"max_retry must be a non-negative int or None, got {max_retry!r}.")
        self.max_retry = max_retry
        self.inherit_intermediate_values = inherit_intermediate_values

    def __call__(self, study: Any, trial: FrozenTrial) -> None:
        n_retries = int(trial.system_attrs.get(keys.RETRY_COUNT, 0))
        if self.max_retry is not None and n_retries >= self.max_retry:
            logger.warning(
                "Trial %d is not retried: it was retried %d time(s) already (max_retry=%d).",
                trial.number,
                n_retries,
                self.max_retry,
            )
            return
        origin = trial.system_attrs.get(keys.RETRIED_FROM, trial.number)
        study.enqueue_trial(
            dict(trial.params),
            user_attrs=dict(trial.user_attrs),
            system_attrs={keys.RETRIED_FROM: origin, keys.RETRY_COUNT: n_retries + 1},
            intermediate_values=(
                dict(trial.intermediate_values) if self.inherit_intermediate_values else None
            ),
        )
        logger.warning("Trial %d is re-queued (retry %d).", trial.number, n_retries + 1)

    @staticmethod
    def retried_trial_number(trial: FrozenTrial) -> int | None:
        """The number of the first trial of this configuration (None if not a retry)."""
        return trial.system_attrs.get(keys.RETRIED_FROM)

    @staticmethod
    def retry_history(trial: FrozenTrial) -> list[int]:
        """Numbers of the trials this one retries, oldest first (the first one only)."""
        n = trial.system_attrs.get(keys.RETRIED_FROM)
        return [] if n is None else [int(n)]
