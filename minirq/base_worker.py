"""What every worker shares: the loop, fetching with a lease, recording outcomes,
heartbeats that renew leases, housekeeping, and riding out Redis outages.

The executors differ only in :meth:`BaseWorker.run`: ``Worker`` forks a work-horse per
job, ``SimpleWorker`` runs jobs in its own process, ``WorkerPool`` keeps horses alive.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any, TypeVar

import redis

from . import recorder, store
from .callables import is_job_id, normalize_allowlist
from .callbacks import (
    ExceptionHandler,
    install_exception_handlers,
    record_callback_error,
    resolve_exception_handlers,
    run_stopped_callback,
)
from .commands import JOB_STOPPED, CommandListener
from .connection import resolve_connection
from .control import ControlMixin
from .defaults import (
    DEFAULT_LEASE_S,
    DEFAULT_MAX_ORPHANINGS,
    DEFAULT_MAX_RESULT_BYTES,
    DEFAULT_SHUTDOWN_TIMEOUT_S,
    MAX_RECONNECT_DELAY_S,
    STATS_FLUSH_S,
)
from .exceptions import ConfigurationError
from .job import Job, new_token
from .outcome import Outcome
from .presence import PresenceMixin, WorkerInfo, live_workers
from .queue import Queue
from .registry import REGISTRY_CLASSES
from .retry import plan_retry
from .scheduler import Scheduler
from .scheduler_process import SchedulerProcess
from .serializers import Serializer
from .stats import JobStatsRecorder
from .store import Call, calls
from .store.record import text_or_none

logger = logging.getLogger("minirq.worker")

# What a worker treats as Redis being unreachable, for the worker variants built on it.
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
_T = TypeVar("_T")
Fetched = tuple[Job, Queue]


class WorkerState:
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    SUSPENDED = "suspended"


class BaseWorker(PresenceMixin, ControlMixin):
    """What every worker shares: fetching, leases, heartbeats, recording outcomes.

    ``allowed_modules`` limits the jobs (and callbacks) this worker runs to functions in
    those modules or below them; any other job fails with a reason saying it is not
    allowed, and its function is never imported. ``None`` allows every module.
    """

    def __init__(
        self,
        queues: Queue | str | Iterable[Queue | str],
        connection: redis.Redis | None = None,
        name: str | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
        max_orphanings: int = DEFAULT_MAX_ORPHANINGS,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        exception_handlers: Iterable[ExceptionHandler | str] | None = None,
        allowed_modules: Iterable[str] | None = None,
    ) -> None:
        self.connection = resolve_connection(connection)
        if isinstance(queues, Queue | str):
            queues = [queues]
        self.queues: list[Queue] = [
            q
            if isinstance(q, Queue)
            else Queue(q, connection=self.connection, serializer=serializer, prefix=prefix)
            for q in queues
        ]
        if not self.queues:
            raise ConfigurationError("a worker needs at least one queue")
        self.keys = self.queues[0].keys
        if lease_s <= 0:
            raise ConfigurationError("lease_s must be more than zero")
        self.lease_s = float(lease_s)
        self.heartbeat_interval_s = self.lease_s / 3
        self.worker_ttl_s = int(self.lease_s + 5)
        self.shutdown_timeout_s = shutdown_timeout_s
        self.max_orphanings = max_orphanings
        self.max_result_bytes = max_result_bytes
        self.allowed_modules = normalize_allowlist(allowed_modules)
        self.hostname = socket.gethostname()
        self.pid = os.getpid()
        self.name = name or f"{self.hostname}:{self.pid}:{uuid.uuid4().hex[:4]}"
        self.key = self.keys.worker(self.name)
        self.state = WorkerState.STARTING
        self.current_job: Job | None = None
        self.successful_job_count = 0
        self.failed_job_count = 0
        self.total_working_time_s = 0.0
        self._pending_stats = {"successful": 0, "failed": 0, "working_ms": 0}
        self.job_stats = JobStatsRecorder()
        self._last_flush = 0.0
        self._next_heartbeat = 0.0
        self._next_housekeeping = 0.0
        self._stop_requested_at: float | None = None
        self._force_stop = False
        self._pubsub: Any = None
        # The loop sets _fetch_next while a job runs when it will want another one: the
        # next fetch then rides in the round trip that records the outcome, and its reply
        # waits in _prefetched (a 1-tuple; (None,) means the queues were empty).
        self._fetch_next = False
        self._prefetched: tuple[Fetched | None] | None = None
        # The run token of the fetch under way: kept until a reply comes back, so that a
        # fetch sent again after a lost reply answers the job the first one took.
        self._fetch_token: str | None = None
        self._reported_keys: set[str] = set()
        self._redis_down_since: float | None = None
        self.exception_handlers = resolve_exception_handlers(exception_handlers)
        self._commands = CommandListener(self.connection, self.keys, self.name)
        self._next_command_poll = 0.0
        self._stop_job_id: str | None = None
        self._paused_names: set[str] = set()
        self._suspended = False
        self._next_pause_refresh = 0.0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    @property
    def queue_names(self) -> list[str]:
        return [q.name for q in self.queues]

    @classmethod
    def all(
        cls, connection: redis.Redis | None = None, prefix: str | None = None
    ) -> list[WorkerInfo]:
        """Every live worker; records of workers that died are dropped."""
        return live_workers(connection, prefix)

    # -- the main loop -----------------------------------------------------------------

    def work(
        self,
        burst: bool = False,
        max_jobs: int | None = None,
        logging_level: str | int | None = None,
        with_scheduler: bool = False,
    ) -> bool:
        """Take and run jobs until stopped; returns whether any job ran.

        With ``burst``, stop once every queue is empty. With ``max_jobs``, stop after that
        many jobs. With ``with_scheduler``, also run a :class:`~minirq.Scheduler` (in a
        child process; with ``burst``, one pass first). SIGTERM or SIGINT stop fetching
        and let the current job finish within the shutdown timeout; a second signal stops
        at once. Either way a job that was cut short goes back to the front of its queue.
        """
        if logging_level is not None:
            logging.getLogger("minirq").setLevel(logging_level)
        self._install_signal_handlers()
        self._call_redis(self.register_birth, "registering the worker")
        self._call_redis(self.check_redis_settings, "reading the Redis settings")
        install_exception_handlers(self.exception_handlers)
        jobs_done = 0
        scheduler = self._start_scheduler(burst) if with_scheduler else None
        try:
            while not self.stop_requested:
                if scheduler is not None:
                    scheduler.ensure_running()
                if max_jobs is not None and jobs_done >= max_jobs:
                    logger.info("%s: ran %d jobs, stopping", self.name, jobs_done)
                    break
                try:
                    fetched = self._next_job(burst)
                except REDIS_ERRORS:
                    # Told to stop while Redis is away: nothing is held, so just go.
                    if not self.stop_requested:
                        raise
                    break
                if fetched is None:
                    if burst:
                        break
                    continue
                self._fetch_next = max_jobs is None or jobs_done + 1 < max_jobs
                try:
                    self._execute_safely(*fetched)
                finally:
                    self._fetch_next = False
                jobs_done += 1
        finally:
            self._requeue_prefetched()
            self._commands.close()
            install_exception_handlers([])
            if scheduler is not None:
                scheduler.stop()
            self.register_death()
        return jobs_done > 0

    def _next_job(self, burst: bool) -> Fetched | None:
        self._maybe_housekeep()
        self._poll_features()
        fetched = self._take_prefetched()
        if fetched is None and not burst:
            self._call_redis(self._wait_for_work, "waiting for work", until_stop=True)
        return fetched

    def _start_scheduler(self, burst: bool) -> SchedulerProcess | None:
        if burst:
            Scheduler(self.connection, prefix=self.keys.prefix, name=f"{self.name}:scheduler").run(
                burst=True
            )
            return None
        return SchedulerProcess(self.connection, self.keys.prefix, self.name).start()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested_at is not None

    def request_stop(self, force: bool = False) -> None:
        """Stop after the current job (or at once with ``force``)."""
        if self._stop_requested_at is None:
            self._stop_requested_at = time.monotonic()
        if force:
            self._force_stop = True

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, self._on_stop_signal)
        signal.signal(signal.SIGINT, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._stop_requested_at is None:
            logger.warning(
                "%s: %s received; stopping after the current job (up to %s s)",
                self.name,
                name,
                self.shutdown_timeout_s,
            )
            self.request_stop()
        else:
            logger.warning("%s: second %s received; stopping now", self.name, name)
            self.request_stop(force=True)
            self._on_forced_stop()

    def _on_forced_stop(self) -> None:
        """Hook for a worker that must interrupt its running job itself."""

    def _shutdown_due(self) -> bool:
        """Whether the running job must be cut short because the worker is stopping."""
        if self._stop_requested_at is None:
            return False
        elapsed = time.monotonic() - self._stop_requested_at
        return self._force_stop or elapsed >= self.shutdown_timeout_s

    # -- fetching ----------------------------------------------------------------------

    def _fetch(self) -> Fetched | None:
        """Take the next job to run; a job whose stored data is broken fails right here."""
        while True:
            fetched = self._fetch_one()
            if fetched is None or not self._failed_as_broken(*fetched):
                return fetched

    def _failed_as_broken(self, job: Job, queue: Queue) -> bool:
        """Fail ``job`` if it cannot (or may not) be run; returns whether it did."""
        problem = recorder.broken_job_reason(job, self.allowed_modules)
        if problem is None:
            return False
        logger.error("%s: job %s failed: %s", queue.name, job.id, problem)
        self._fail_broken(job, queue, problem)
        return True

    def _fetch_one(self) -> Fetched | None:
        queues = self._fetchable_queues()
        if not queues:
            return None
        return self._fetched(
            store.runner_for(self.connection).run(self._fetch_call(queues)), queues
        )

    def _fetch_call(self, queues: list[Queue]) -> Call[calls.Fetched]:
        """The fetch call for ``queues``, under the token of the fetch under way."""
        if self._fetch_token is None:
            self._fetch_token = new_token()
        return calls.fetch(
            self.keys,
            queues=[q.name for q in queues],
            lease_ms=int(self.lease_s * 1000),
            worker=self.name,
            run_token=self._fetch_token,
        )

    def _fetched(self, reply: calls.Fetched, queues: list[Queue]) -> Fetched | None:
        """The job a fetch call took from ``queues``, if any."""
        self._fetch_token = None
        for dropped_id in reply.dropped:
            text = text_or_none(dropped_id)
            if text is not None and is_job_id(text):
                logger.warning(
                    "job %s was queued but its data is gone (expired or deleted); skipped", text
                )
            else:
                logger.warning("%r was queued but is not a job id; skipped", dropped_id)
        self._report_broken_keys(reply.broken_keys)
        if not reply.index:
            return None
        queue = queues[reply.index - 1]
        # The lease is renewed in the started registry of the job's origin, so a hash that
        # lost its origin field must still name the queue it came from.
        reply.fields.setdefault(b"origin", queue.name.encode())
        job = Job.from_fields(
            text_or_none(reply.job_id) or "",
            reply.fields,
            self.connection,
            queue.serializer,
            self.keys.prefix,
        )
        return job, queue

    def _report_broken_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key not in self._reported_keys:
                self._reported_keys.add(key)
                logger.error("%s: %s is not of the type minirq expects; skipped", self.name, key)

    def _take_prefetched(self) -> Fetched | None:
        """The job fetched along with the last outcome, else one fetched now."""
        if self._prefetched is not None:
            (fetched,), self._prefetched = self._prefetched, None
            if fetched is None or not self._call_redis(
                lambda: self._failed_as_broken(*fetched), "recording a failure"
            ):
                return fetched
        return self._call_redis(self._fetch, "fetching a job", until_stop=True)

    def _requeue_prefetched(self) -> None:
        """Put a job fetched for a next round that will not come back at the front."""
        if self._prefetched is None:
            return
        (fetched,), self._prefetched = self._prefetched, None
        if fetched is not None:
            job, queue = fetched
            try:
                self._call_redis(
                    lambda: self._requeue_interrupted(job, queue), "putting a fetched job back"
                )
            except REDIS_ERRORS:
                logger.error(
                    "%s: job %s stays leased; the reaper will recover it", self.name, job.id
                )

    def _record(self, call: Call[int]) -> int:
        """Send the call that records an outcome, and the next fetch in the same round
        trip when the loop wants another job (two atomic steps, one round trip)."""
        runner = store.runner_for(self.connection)
        queues = self._fetchable_queues() if self._fetch_next else []
        if not queues or self.stop_requested or self._prefetched is not None:
            return runner.run(call)
        recorded, fetched = runner.run_many([call, self._fetch_call(queues)])
        if not isinstance(fetched, Exception):
            taken = self._fetched(fetched, queues)
            # Only a job taken is kept: "the queues were empty" may be stale if Redis had
            # forgotten the recording script and ran it again after the fetch.
            if taken is not None:
                self._prefetched = (taken,)
        if isinstance(recorded, Exception):
            raise recorded
        return int(recorded)

    # -- running -----------------------------------------------------------------------

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

    # -- housekeeping and outages ------------------------------------------------------

    def _try_heartbeat(self) -> None:
        try:
            self.heartbeat()
        except REDIS_ERRORS as exc:
            # The horse keeps running; the result is written once Redis is back.
            self._redis_failed("renewing the lease of the running job", exc)
            self._next_heartbeat = time.monotonic() + 1.0
        else:
            self._redis_ok()

    def _maybe_housekeep(self) -> None:
        self._maybe_heartbeat()
        if time.monotonic() < self._next_housekeeping:
            return
        # Spread housekeeping of many workers over time.
        self._next_housekeeping = time.monotonic() + self.heartbeat_interval_s * (
            0.75 + random.random() / 2
        )
        self._call_redis(self.housekeep, "cleaning registries", until_stop=True)

    def housekeep(self) -> None:
        """Drop expired registry entries and recover jobs whose worker died."""
        for queue in self.queues:
            for kind in ("finished", "failed", "canceled"):
                REGISTRY_CLASSES[kind](queue=queue).cleanup()
        store.reap_expired_leases(self.connection, self.keys, self.max_orphanings)

    def _reap_while_busy(self) -> None:
        """Recover dead workers' jobs even when no worker is idle; never raises."""
        self._next_housekeeping = time.monotonic() + self.heartbeat_interval_s
        try:
            store.reap_expired_leases(self.connection, self.keys, self.max_orphanings)
        except REDIS_ERRORS as exc:
            self._redis_failed("recovering jobs of dead workers", exc)
        except redis.ResponseError as exc:
            logger.error("%s: recovering jobs of dead workers failed: %s", self.name, exc)
        else:
            self._redis_ok()

    def _redis_failed(self, doing: str, exc: Exception) -> None:
        """Note that Redis is unreachable; logs only when it was reachable before."""
        if self._redis_down_since is None:
            self._redis_down_since = time.monotonic()
            logger.error("%s: Redis unreachable while %s (%s); retrying", self.name, doing, exc)

    def _redis_ok(self) -> None:
        """Note that Redis answered; logs only when it was unreachable before."""
        if self._redis_down_since is not None:
            logger.warning(
                "%s: Redis is back after %.1f s",
                self.name,
                time.monotonic() - self._redis_down_since,
            )
            self._redis_down_since = None

    def _call_redis(self, func: Callable[[], _T], doing: str, until_stop: bool = False) -> _T:
        """Call ``func``, retrying with back-off while Redis is unreachable.

        Logs once when Redis goes away and once when it comes back. Gives up, re-raising
        the connection error, when a forced stop is requested, or with ``until_stop`` when
        any stop is requested. Wrong credentials are not retried. Every call made this way
        is safe to repeat: the scripts recognise a second run of the same step.
        """
        delay = 0.1
        while True:
            try:
                result = func()
            except redis.AuthenticationError:
                raise
            except REDIS_ERRORS as exc:
                if self._force_stop or (until_stop and self.stop_requested):
                    raise
                self._redis_failed(doing, exc)
                self._close_pubsub()
                time.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT_DELAY_S)
                continue
            self._redis_ok()
            return result


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no traceback)"
