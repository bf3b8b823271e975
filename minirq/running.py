"""Running one fetched job and recording its outcome through the recorder; part of
:class:`~minirq.base_worker.BaseWorker`. The executors override :meth:`run`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import redis

from . import recorder, store
from .callbacks import record_callback_error, run_stopped_callback
from .commands import JOB_STOPPED
from .defaults import STATS_FLUSH_S
from .job import Job
from .outages import REDIS_ERRORS
from .outcome import Outcome
from .presence import WorkerState
from .queue import Queue
from .retry import plan_retry

logger = logging.getLogger("minirq.worker")


class RunningMixin:
    connection: redis.Redis
    keys: Any
    name: str
    state: str
    current_job: Job | None
    job_stats: Any
    total_working_time_s: float
    successful_job_count: int
    failed_job_count: int
    _pending_stats: dict[str, int]
    _last_flush: float
    _stop_job_id: str | None
    _call_redis: Any
    _record: Any
    heartbeat: Any

    def _execute_safely(self, job: Job, queue: Queue) -> None:
        """Run a job; a job whose stored data breaks the worker fails alone."""
        try:
            self.execute_job(job, queue)
            return
        except REDIS_ERRORS:
            raise
        except redis.ResponseError as exc:
            # Damaged data in Redis (a key of the wrong type): the job stays leased and
            # the reaper takes it back; the worker goes on.
            logger.error("%s: job %s could not be recorded: %s", self.name, job.id, exc)
            return
        except Exception as exc:
            logger.exception("%s: job %s broke the worker", self.name, job.id)
            problem = f"the worker could not run the job: {type(exc).__name__}: {exc}"
        self.current_job = None
        self.state = WorkerState.IDLE
        self._call_redis(lambda: self._fail_broken(job, queue, problem), "recording a failure")

    def _fail_broken(self, job: Job, queue: Queue, problem: str) -> None:
        try:
            store.runner_for(self.connection).run(
                recorder.broken_call(self.keys, job, queue.name, problem)
            )
        except redis.ResponseError as exc:
            logger.error("%s: job %s could not be failed: %s", self.name, job.id, exc)

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run one fetched job and record its outcome."""
        self.current_job = job
        self._stop_job_id = None
        self.state = WorkerState.BUSY
        started = time.monotonic()
        self._log_job_start(job, queue)
        try:
            outcome = self.run(job)
        finally:
            self.current_job = None
            self.state = WorkerState.IDLE
        elapsed_ms = int((time.monotonic() - started) * 1000)
        if outcome is None:
            self._call_redis(
                lambda: self._requeue_interrupted(job, queue), "putting an interrupted job back"
            )
            return
        self._record_outcome(job, queue, outcome, elapsed_ms)

    @staticmethod
    def _log_job_start(job: Job, queue: Queue) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "%s: job %s started: %s",
                queue.name,
                job.id,
                job.func_name,
                extra={"job_id": job.id, "func": job.func_name, "queue": queue.name},
            )

    def _record_outcome(self, job: Job, queue: Queue, outcome: Outcome, elapsed_ms: int) -> None:
        """Record a job's result or failure, count it, and flush counters when due."""
        self._pending_stats["working_ms"] += elapsed_ms
        self.total_working_time_s += elapsed_ms / 1000
        self.job_stats.observe(queue.name, elapsed_ms, outcome.ok, func=job.func_name)
        fields: dict[str, Any] = {
            "job_id": job.id,
            "func": job.func_name,
            "queue": queue.name,
            "duration_ms": elapsed_ms,
        }
        if outcome.ok:
            call = recorder.success_call(self.keys, job, queue.name, outcome)
            answer = self._call_redis(lambda: self._record(call), "recording a result")
            # With result_ttl=0 the job is deleted as it finishes; a second send of the
            # same call (its reply lost) then finds it gone, as it should.
            if not (answer == -1 and job.result_ttl == 0):
                recorder.log_not_recorded(job, "finished", answer)
            self.successful_job_count += 1
            self._pending_stats["successful"] += 1
            logger.info(
                "%s: job %s finished in %d ms: %s",
                queue.name,
                job.id,
                elapsed_ms,
                job.func_name,
                extra={**fields, "status": "finished"},
            )
        else:
            call = recorder.failure_call(
                self.keys, job, queue.name, outcome, self.retry_plan(job, outcome)
            )
            answer = self._call_redis(lambda: self._record(call), "recording a failure")
            recorder.log_not_recorded(job, "failed", answer)
            self.failed_job_count += 1
            self._pending_stats["failed"] += 1
            logger.error(
                "%s: job %s failed in %d ms: %s: %s",
                queue.name,
                job.id,
                elapsed_ms,
                job.func_name,
                _last_line(outcome.traceback),
                extra={**fields, "status": "failed"},
            )
        if outcome.callback_error or outcome.exc_type == JOB_STOPPED:
            self._after_callbacks(job, outcome)
        if time.monotonic() - self._last_flush >= STATS_FLUSH_S:
            self._call_redis(self.heartbeat, "sending a heartbeat")

    def run(self, job: Job) -> Outcome | None:
        """Run ``job``; ``None`` means it was interrupted by a shutdown and must be requeued."""
        raise NotImplementedError

    def retry_plan(self, job: Job, outcome: Outcome) -> tuple[str, int]:
        """Whether a failed job runs again: ``("", 0)`` to fail it for good, ``("now", n)``
        to requeue it with ``n`` retries left, or ``(delay_ms, n)`` to schedule it.

        Follows the job's :class:`~minirq.Retry`, or the :class:`~minirq.RetryJob` it
        raised or returned."""
        if outcome.exc_type == JOB_STOPPED:
            return "", 0
        return plan_retry(job.record, outcome.retry_job())

    def _after_callbacks(self, job: Job, outcome: Outcome) -> None:
        """Run ``on_stopped`` for a stopped job; record a failed callback on the job."""
        errors = [outcome.callback_error]
        if outcome.exc_type == JOB_STOPPED:
            errors.append(self.run_callback(lambda: run_stopped_callback(job)))
        text = "\n".join(e for e in errors if e)
        if text:
            self._call_redis(
                lambda: record_callback_error(self.connection, job, text),
                "recording a callback failure",
            )

    def run_callback(self, func: Callable[[], str | None]) -> str | None:
        """Run a callback in the worker (``on_stopped``); workers that fork run it in a
        child so that nothing delays the renewal of other jobs' leases."""
        return func()

    def _requeue_interrupted(self, job: Job, queue: Queue) -> None:
        moved = store.runner_for(self.connection).run(
            recorder.interrupted_call(self.keys, job, queue.name)
        )
        if moved:
            logger.warning(
                "%s: job %s was interrupted by shutdown; put back at the front of %s",
                self.name,
                job.id,
                queue.name,
            )


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no traceback)"
