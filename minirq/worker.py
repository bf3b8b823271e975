"""Workers: take jobs from queues in priority order, run them, record what happened.

``Worker`` forks a work-horse per job; ``SimpleWorker`` runs jobs in its own process.
Both hold a lease on the running job that their heartbeat renews, so a job whose worker
dies is recovered by the reaper instead of being lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import select
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import redis

from . import hooks
from .callbacks import (
    ExceptionHandler,
    horse_callback_allowance_s,
    install_exception_handlers,
    record_callback_error,
    resolve_exception_handlers,
    run_stopped_callback,
)
from .commands import JOB_STOPPED, SHUTDOWN, STOP_JOB, CommandListener
from .connection import resolve_connection
from .defaults import (
    DEFAULT_FAILURE_TTL_S,
    DEFAULT_LEASE_S,
    DEFAULT_MAX_ORPHANINGS,
    DEFAULT_MAX_RESULT_BYTES,
    DEFAULT_SHUTDOWN_TIMEOUT_S,
    HORSE_KILL_GRACE_S,
    IDLE_WAIT_S,
    MAX_RECONNECT_DELAY_S,
    PAUSE_REFRESH_S,
    STATS_FLUSH_S,
    STATS_TTL_S,
)
from .exceptions import ConfigurationError, ShutdownRequested
from .horse import Outcome, decode_outcome, describe_exit, fork_horse, run_job
from .job import Job, JobStatus
from .keys import Keys
from .queue import Queue
from .reaper import reap_expired_leases
from .registry import REGISTRY_CLASSES
from .retry import plan_repeat, plan_retry
from .scripts import scripts_for
from .serializers import Serializer
from .stats import JobStatsRecorder
from .utils import decode, ms_to_datetime, now_ms

if TYPE_CHECKING:
    from .scheduler import SchedulerProcess

logger = logging.getLogger("minirq.worker")

# How often a busy worker reads its command channel (stop-job, shutdown).
COMMAND_POLL_S = 0.1
_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
# What a worker treats as Redis being unreachable, for the worker variants built on it.
REDIS_ERRORS = _REDIS_ERRORS
_T = TypeVar("_T")


class WorkerState:
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    SUSPENDED = "suspended"


@dataclass
class WorkerInfo:
    """A live worker as recorded in Redis, for ``Worker.all`` and the dashboard."""

    name: str
    hostname: str
    pid: int
    state: str
    queue_names: list[str]
    current_job_id: str | None
    birth: datetime | None
    last_heartbeat: datetime | None
    successful_job_count: int
    failed_job_count: int
    total_working_time: float


class BaseWorker:
    """What every worker shares: fetching, leases, heartbeats, recording outcomes."""

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
        self._prefetched: tuple[tuple[Job, Queue] | None] | None = None
        self._redis_down_since: float | None = None
        # Job features (minirq/callbacks.py, commands.py, suspension.py).
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
                    self._maybe_housekeep()
                    self._poll_features()
                    fetched = self._take_prefetched()
                    if fetched is None and not burst:
                        self._call_redis(self._wait_for_work, "waiting for work", until_stop=True)
                except _REDIS_ERRORS:
                    # Told to stop while Redis is away: nothing is held, so just go.
                    if not self.stop_requested:
                        raise
                    break
                if fetched is None:
                    if burst:
                        break
                    continue
                job, queue = fetched
                self._fetch_next = max_jobs is None or jobs_done + 1 < max_jobs
                try:
                    self._execute_safely(job, queue)
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

    def _start_scheduler(self, burst: bool) -> SchedulerProcess | None:
        from .scheduler import Scheduler, SchedulerProcess

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

    def _fetch(self) -> tuple[Job, Queue] | None:
        """Take the next job to run; a job whose stored data is broken fails right here."""
        while True:
            fetched = self._fetch_one()
            if fetched is None or not self._failed_as_broken(*fetched):
                return fetched

    def _failed_as_broken(self, job: Job, queue: Queue) -> bool:
        """Fail ``job`` if its stored data cannot be run; returns whether it did."""
        problem = broken_job_reason(job)
        if problem is None:
            return False
        logger.error("%s: job %s failed: %s", queue.name, job.id, problem)
        self._fail_broken(job, queue, problem)
        return True

    def _fetch_one(self) -> tuple[Job, Queue] | None:
        queues = self._fetchable_queues()
        if not queues:
            return None
        reply = scripts_for(self.connection).run(*self._fetch_call(queues))
        return self._fetched(reply, queues)

    def _fetch_call(self, queues: list[Queue]) -> tuple[str, list[str], list[Any]]:
        """The fetch script's name, keys and arguments, for now."""
        script_keys: list[str] = []
        for queue in queues:
            script_keys += [queue.key, self.keys.registry("started", queue.name)]
        now = now_ms()
        return (
            "fetch",
            script_keys,
            [now, now + int(self.lease_s * 1000), self.name, self.keys.job_prefix],
        )

    def _fetched(self, reply: Any, queues: list[Queue]) -> tuple[Job, Queue] | None:
        """The job a fetch script call took from ``queues``, if any."""
        index, job_id, fields, dropped = reply
        for dropped_id in dropped:
            logger.warning(
                "job %s was queued but its data is gone (expired or deleted); skipped",
                decode(dropped_id),
            )
        if not index:
            return None
        queue = queues[int(index) - 1]
        pairs = dict(zip(fields[::2], fields[1::2], strict=True))
        # The lease is renewed in the started registry of the job's origin, so a hash that
        # lost its origin field must still name the queue it came from.
        pairs.setdefault(b"origin", queue.name.encode())
        job = Job.from_fields(
            decode(job_id) or "", pairs, self.connection, queue.serializer, self.keys.prefix
        )
        return job, queue

    def _take_prefetched(self) -> tuple[Job, Queue] | None:
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
            except _REDIS_ERRORS:
                logger.error(
                    "%s: job %s stays leased; the reaper will recover it", self.name, job.id
                )

    def _run_recording_script(self, name: str, keys: list[str], args: list[Any]) -> Any:
        """Run the script that records an outcome, and the next fetch in the same round
        trip when the loop wants another job (two atomic steps, one round trip)."""
        scripts = scripts_for(self.connection)
        queues = self._fetchable_queues() if self._fetch_next else []
        if not queues or self.stop_requested or self._prefetched is not None:
            return scripts.run(name, keys, args)
        recorded, fetched = scripts.run_many([(name, keys, args), self._fetch_call(queues)])
        if not isinstance(fetched, Exception):
            taken = self._fetched(fetched, queues)
            # Only a job taken is kept. Had Redis forgotten the recording script, run_many
            # ran it again after the fetch, so "the queues were empty" may be stale: a retry
            # it requeued would be missed (a burst worker would stop with a job queued).
            if taken is not None:
                self._prefetched = (taken,)
        if isinstance(recorded, Exception):
            raise recorded
        return recorded

    def _wait_for_work(self) -> None:
        """Block until an enqueue wakes us, or until housekeeping is due."""
        if self._pubsub is None:
            self._pubsub = self.connection.pubsub(  # type: ignore[no-untyped-call]
                ignore_subscribe_messages=True
            )
            self._pubsub.subscribe(*(self.keys.wake_channel(q.name) for q in self.queues))
            # Something may have been enqueued before the subscription took effect.
            return
        timeout = max(0.0, min(IDLE_WAIT_S, self._next_housekeeping - time.monotonic()))
        try:
            message = self._pubsub.get_message(timeout=timeout)
            while message is not None:
                message = self._pubsub.get_message(timeout=0)
        except _REDIS_ERRORS:
            self._close_pubsub()
            raise

    def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:
                logger.debug("closing the wake-up subscription failed", exc_info=True)
            self._pubsub = None

    # -- running -----------------------------------------------------------------------

    def _execute_safely(self, job: Job, queue: Queue) -> None:
        """Run a job; a job whose stored data breaks the worker fails alone."""
        try:
            self.execute_job(job, queue)
            return
        except _REDIS_ERRORS:
            raise
        except Exception as exc:
            logger.exception("%s: job %s broke the worker", self.name, job.id)
            problem = f"the worker could not run the job: {type(exc).__name__}: {exc}"
        self.current_job = None
        self.state = WorkerState.IDLE
        self._call_redis(lambda: self._fail_broken(job, queue, problem), "recording a failure")

    def _fail_script_keys(self, job: Job, queue: Queue) -> list[str]:
        """The KEYS of fail.lua for ``job`` of ``queue``."""
        return [
            job.key,
            self.keys.registry("started", queue.name),
            self.keys.registry("failed", queue.name),
            queue.key,
            self.keys.registry("scheduled", queue.name),
            self.keys.wake_channel(queue.name),
        ]

    def _fail_broken(self, job: Job, queue: Queue, problem: str) -> None:
        scripts_for(self.connection).run(
            "fail",
            self._fail_script_keys(job, queue),
            [
                job.id,
                self.name,
                now_ms(),
                f"InvalidJobError: {problem}\n",
                DEFAULT_FAILURE_TTL_S,
                "",
                0,
                JobStatus.FAILED.value,
            ],
        )

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
            self._call_redis(
                lambda: self._record_success(job, queue, outcome), "recording a result"
            )
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
            self._call_redis(
                lambda: self._record_failure(job, queue, outcome), "recording a failure"
            )
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

    def _record_success(self, job: Job, queue: Queue, outcome: Outcome) -> None:
        if self._record_repeat(job, queue, outcome):
            return
        recorded = self._run_recording_script(
            "finish",
            [
                job.key,
                self.keys.registry("started", queue.name),
                self.keys.registry("finished", queue.name),
            ],
            [
                job.id,
                self.name,
                now_ms(),
                job.result_ttl,
                outcome.result or b"",
                self.keys.prefix,
            ],
        )
        if not recorded:
            logger.warning(
                "job %s finished, but its lease had passed to another worker; "
                "its result was not recorded",
                job.id,
            )

    def _record_repeat(self, job: Job, queue: Queue, outcome: Outcome) -> bool:
        """Send a successful job with a :class:`~minirq.Repeat` back for its next run."""
        now = now_ms()
        plan = plan_repeat(job, now)
        if plan is None:
            return False
        when, repeats_left = plan
        recorded = scripts_for(self.connection).run(
            "repeat",
            [
                job.key,
                self.keys.registry("started", queue.name),
                queue.key,
                self.keys.registry("scheduled", queue.name),
                self.keys.wake_channel(queue.name),
                self.keys.scheduler_wake,
            ],
            [job.id, self.name, now, outcome.result or b"", when, repeats_left],
        )
        if not recorded:
            logger.warning(
                "job %s finished, but its lease had passed to another worker; "
                "it was not repeated",
                job.id,
            )
        return True

    def _record_failure(self, job: Job, queue: Queue, outcome: Outcome) -> None:
        stopped = outcome.exc_type == JOB_STOPPED
        retry, retries_left = ("", 0) if stopped else self.retry_plan(job, outcome)
        recorded = self._run_recording_script(
            "fail",
            self._fail_script_keys(job, queue),
            [
                job.id,
                self.name,
                now_ms(),
                outcome.traceback or "",
                job.failure_ttl,
                retry,
                retries_left,
                JobStatus.STOPPED.value if stopped else JobStatus.FAILED.value,
                self.keys.prefix,
            ],
        )
        if recorded and retry not in ("", "now"):
            # The scheduler may be asleep until a later job; this retry may be due first.
            self.connection.publish(self.keys.scheduler_wake, retry)
        if not recorded:
            logger.warning(
                "job %s failed, but its lease had passed to another worker; "
                "the failure was not recorded",
                job.id,
            )

    # -- job features: commands, pause, callbacks -------------------------------------

    def _poll_features(self) -> None:
        """Read worker commands and the paused queues when due; cheap when not."""
        now = time.monotonic()
        if now >= self._next_command_poll:
            self._poll_commands()
        if now >= self._next_pause_refresh:
            self._call_redis(self._refresh_pause_state, "reading paused queues", until_stop=True)

    def _poll_commands(self) -> None:
        self._next_command_poll = time.monotonic() + COMMAND_POLL_S
        for command in self._commands.poll():
            kind = command.get("command")
            if kind == SHUTDOWN:
                logger.warning("%s: shutdown command received", self.name)
                self.request_stop()
            elif kind == STOP_JOB:
                job_id = command.get("job_id")
                running = [job for job in self.running_jobs() if job.id == job_id]
                if running:
                    logger.warning("%s: stop command received for job %s", self.name, job_id)
                    self._stop_job_id = job_id
                    self._on_stop_job(running[0])
                else:
                    logger.info("%s: job %s to stop is no longer running here", self.name, job_id)
            else:
                logger.warning("%s: unknown command %r ignored", self.name, kind)

    def _on_stop_job(self, job: Job) -> None:
        """Hook for a worker that kills the job's horse itself (the pool); the forking
        worker acts on ``_stop_job_id`` in its supervision loop."""

    def _refresh_pause_state(self) -> None:
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.smembers(self.keys.paused_queues)
            pipe.exists(self.keys.suspended)
            paused, suspended = pipe.execute()
        self._next_pause_refresh = time.monotonic() + PAUSE_REFRESH_S
        self._paused_names = {decode(n) or "" for n in paused}
        if bool(suspended) != self._suspended:
            self._suspended = bool(suspended)
            logger.warning("%s: %s", self.name, "suspended" if suspended else "resumed")
            self.state = WorkerState.SUSPENDED if suspended else WorkerState.IDLE

    def _fetchable_queues(self) -> list[Queue]:
        if self._suspended:
            return []
        if not self._paused_names:
            return self.queues
        return [q for q in self.queues if q.name not in self._paused_names]

    def _after_callbacks(self, job: Job, outcome: Outcome) -> None:
        """Run ``on_stopped`` for a stopped job; record a failed callback on the job."""
        errors = [outcome.callback_error]
        if outcome.exc_type == JOB_STOPPED:
            errors.append(run_stopped_callback(job))
        text = "\n".join(e for e in errors if e)
        if text:
            self._call_redis(
                lambda: record_callback_error(self.connection, job, text),
                "recording a callback failure",
            )

    def retry_plan(self, job: Job, outcome: Outcome) -> tuple[str, int]:
        """Whether a failed job runs again: ``("", 0)`` to fail it for good, ``("now", n)``
        to requeue it with ``n`` retries left, or ``(due_ms, n)`` to schedule it.

        Follows the job's :class:`~minirq.Retry`, or the :class:`~minirq.RetryJob` it
        raised or returned."""
        return plan_retry(job, outcome.retry_job(), now_ms())

    def _requeue_interrupted(self, job: Job, queue: Queue) -> None:
        moved = scripts_for(self.connection).run(
            "requeue",
            [
                job.key,
                self.keys.registry("started", queue.name),
                queue.key,
                self.keys.wake_channel(queue.name),
            ],
            [job.id, now_ms(), "1", self.name],
        )
        if moved:
            logger.warning(
                "%s: job %s was interrupted by shutdown; put back at the front of %s",
                self.name,
                job.id,
                queue.name,
            )

    # -- presence, heartbeats and housekeeping -----------------------------------------

    def register_birth(self) -> None:
        now = now_ms()
        with self.connection.pipeline() as pipe:
            pipe.hset(
                self.key,
                mapping={
                    "name": self.name,
                    "hostname": self.hostname,
                    "pid": self.pid,
                    "queues": ",".join(self.queue_names),
                    "birth": now,
                    "last_heartbeat": now,
                    "state": WorkerState.IDLE,
                    "job": "",
                    "successful": 0,
                    "failed": 0,
                    "working_ms": 0,
                },
            )
            pipe.expire(self.key, self.worker_ttl_s)
            pipe.sadd(self.keys.workers, self.name)
            pipe.execute()
        self.state = WorkerState.IDLE
        self._last_flush = time.monotonic()
        self._next_heartbeat = time.monotonic() + self.heartbeat_interval_s
        logger.info("%s: started on %s", self.name, ", ".join(self.queue_names))

    def register_death(self) -> None:
        self._close_pubsub()
        try:
            self.heartbeat()
            with self.connection.pipeline() as pipe:
                pipe.delete(self.key)
                pipe.srem(self.keys.workers, self.name)
                pipe.execute()
        except _REDIS_ERRORS:
            logger.warning(
                "%s: Redis unreachable at exit; the worker record will expire", self.name
            )
        logger.info("%s: stopped", self.name)

    def heartbeat(self) -> None:
        """Say we are alive, renew the running job's lease and flush counters."""
        now = now_ms()
        running = self.running_jobs()
        job = running[0] if running else None
        stats = self._pending_stats
        with self.connection.pipeline(transaction=False) as pipe, self.job_stats.flush_into(
            pipe, self.keys
        ):
            pipe.hset(
                self.key,
                mapping={
                    "last_heartbeat": now,
                    "state": self.state,
                    "job": job.id if job else "",
                },
            )
            if stats["successful"] or stats["failed"] or stats["working_ms"]:
                for field, value in stats.items():
                    if value:
                        pipe.hincrby(self.key, field, value)
                minute_key = self.keys.stats(now // 60_000)
                if stats["successful"] or stats["failed"]:
                    pipe.hincrby(minute_key, "processed", stats["successful"] + stats["failed"])
                if stats["failed"]:
                    pipe.hincrby(minute_key, "failed", stats["failed"])
                pipe.expire(minute_key, STATS_TTL_S)
            pipe.expire(self.key, self.worker_ttl_s)
            for running_job in running:
                pipe.zadd(
                    self.keys.registry("started", running_job.origin),
                    {running_job.id: now + int(self.lease_s * 1000)},
                    xx=True,
                )
            pipe.sadd(self.keys.workers, self.name)
            pipe.execute()
        self._pending_stats = {"successful": 0, "failed": 0, "working_ms": 0}
        self._last_flush = time.monotonic()
        self._next_heartbeat = self._last_flush + self.heartbeat_interval_s

    def running_jobs(self) -> list[Job]:
        """The jobs whose leases this worker's heartbeat renews."""
        return [self.current_job] if self.current_job is not None else []

    def _maybe_heartbeat(self) -> None:
        if time.monotonic() >= self._next_heartbeat:
            self._call_redis(self.heartbeat, "sending a heartbeat", until_stop=True)

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
        reap_expired_leases(self.connection, self.keys, self.max_orphanings)

    def _reap_while_busy(self) -> None:
        """Recover dead workers' jobs even when no worker is idle; never raises."""
        self._next_housekeeping = time.monotonic() + self.heartbeat_interval_s
        try:
            reap_expired_leases(self.connection, self.keys, self.max_orphanings)
        except _REDIS_ERRORS as exc:
            self._redis_failed("recovering jobs of dead workers", exc)
        else:
            self._redis_ok()

    def check_redis_settings(self) -> None:
        """Warn when Redis may evict keys, which would silently lose jobs."""
        try:
            config = self.connection.config_get("maxmemory-policy")
        except redis.ResponseError as exc:
            # Managed services often refuse CONFIG; the setting cannot be checked then.
            logger.info(
                "%s: cannot read maxmemory-policy (%s); make sure it is noeviction",
                self.name,
                exc,
            )
            return
        policy = decode(config.get("maxmemory-policy")) or ""
        if policy and policy != "noeviction":
            logger.warning(
                "%s: Redis maxmemory-policy is %r: when memory is full Redis will evict "
                "keys and jobs will be lost; set maxmemory-policy noeviction",
                self.name,
                policy,
            )

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
        any stop is requested. Wrong credentials are not retried.
        """
        delay = 0.1
        while True:
            try:
                result = func()
            except redis.AuthenticationError:
                raise
            except _REDIS_ERRORS as exc:
                if self._force_stop or (until_stop and self.stop_requested):
                    raise
                self._redis_failed(doing, exc)
                self._close_pubsub()
                time.sleep(delay)
                delay = min(delay * 2, MAX_RECONNECT_DELAY_S)
                continue
            self._redis_ok()
            return result

    # -- inspection --------------------------------------------------------------------

    @classmethod
    def all(
        cls, connection: redis.Redis | None = None, prefix: str | None = None
    ) -> list[WorkerInfo]:
        """Every live worker; records of workers that died are dropped."""
        connection = resolve_connection(connection)
        keys = Keys(prefix)
        names = sorted(decode(n) or "" for n in connection.smembers(keys.workers))
        with connection.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hgetall(keys.worker(name))
            records = pipe.execute()
        workers, dead = [], []
        for name, record in zip(names, records, strict=True):
            if not record:
                dead.append(name)
                continue
            fields = {decode(k): decode(v) or "" for k, v in record.items()}
            workers.append(
                WorkerInfo(
                    name=name,
                    hostname=fields.get("hostname", ""),
                    pid=int(fields.get("pid") or 0),
                    state=fields.get("state", ""),
                    queue_names=[q for q in fields.get("queues", "").split(",") if q],
                    current_job_id=fields.get("job") or None,
                    birth=ms_to_datetime(int(fields["birth"])) if fields.get("birth") else None,
                    last_heartbeat=ms_to_datetime(int(fields["last_heartbeat"]))
                    if fields.get("last_heartbeat")
                    else None,
                    successful_job_count=int(fields.get("successful") or 0),
                    failed_job_count=int(fields.get("failed") or 0),
                    total_working_time=int(fields.get("working_ms") or 0) / 1000,
                )
            )
        if dead:
            connection.srem(keys.workers, *dead)
        return workers


class Worker(BaseWorker):
    """Runs each job in a forked work-horse, which it supervises.

    The parent keeps the Redis connection, renews the lease while the horse runs, kills
    the horse at its timeout and records the outcome; a horse that crashes fails only
    its own job.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Horses that reported their outcome and are exiting: reaped before the next fork,
        # so that the parent records the outcome while the kernel tears the horse down.
        self._exiting_horses: list[int] = []

    def _reap_exiting_horses(self) -> None:
        while self._exiting_horses:
            os.waitpid(self._exiting_horses.pop(), 0)

    def register_death(self) -> None:
        self._reap_exiting_horses()
        super().register_death()

    def run(self, job: Job) -> Outcome | None:
        self._reap_exiting_horses()
        pid, read_fd = fork_horse(job, self.max_result_bytes)
        chunks: list[bytes] = []
        start = time.monotonic()
        grace_s = HORSE_KILL_GRACE_S + horse_callback_allowance_s(job)
        kill_at = start + job.timeout + grace_s if job.timeout > 0 else float("inf")
        killed_for_timeout = interrupted = stopped = False
        try:
            while True:
                now = time.monotonic()
                if self._shutdown_due():
                    _kill(pid)
                    interrupted = True
                    break
                if now >= kill_at:
                    _kill(pid)
                    killed_for_timeout = True
                    break
                if now >= self._next_command_poll:
                    self._poll_commands()
                if self._stop_job_id == job.id:
                    _kill(pid)
                    # The horse may have reported just before: then its outcome stands.
                    while chunk := os.read(read_fd, 1 << 20):
                        chunks.append(chunk)
                    stopped = True
                    break
                if now >= self._next_heartbeat:
                    self._try_heartbeat()
                if now >= self._next_housekeeping:
                    self._reap_while_busy()
                wait = max(0.0, min(self._next_heartbeat, kill_at, now + 0.5) - now)
                ready, _, _ = select.select([read_fd], [], [], wait)
                if ready:
                    chunk = os.read(read_fd, 1 << 20)
                    if not chunk:
                        break
                    chunks.append(chunk)
        except BaseException:
            _kill(pid)
            os.waitpid(pid, 0)
            raise
        finally:
            os.close(read_fd)
        if not (interrupted or stopped or killed_for_timeout):
            reported = decode_outcome(b"".join(chunks))
            if reported is not None:
                self._exiting_horses.append(pid)
                return reported
        _, status = os.waitpid(pid, 0)
        if interrupted:
            return None
        if stopped:
            reported = decode_outcome(b"".join(chunks))
            return reported or Outcome.failure(JOB_STOPPED, "stopped by a stop-job command")
        if killed_for_timeout:
            return Outcome.failure(
                "JobTimeoutException",
                f"job exceeded its timeout of {job.timeout} s and its work-horse was killed",
            )
        outcome = decode_outcome(b"".join(chunks))
        if outcome is None:
            return Outcome.failure("WorkHorseDied", describe_exit(status))
        return outcome

    def _try_heartbeat(self) -> None:
        try:
            self.heartbeat()
        except _REDIS_ERRORS as exc:
            # The horse keeps running; the result is written once Redis is back.
            self._redis_failed("renewing the lease of the running job", exc)
            self._next_heartbeat = time.monotonic() + 1.0
        else:
            self._redis_ok()


class SimpleWorker(BaseWorker):
    """Runs each job in the worker's own process: faster, but a crash takes the worker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running_in_process = False
        self._timed_out = False
        # One heartbeat thread for the worker's whole run renews the lease while a job
        # runs in the main thread (starting a thread per job cost more than a no-op job).
        self._beater: threading.Thread | None = None
        self._stop_beating = threading.Event()
        self._heartbeat_lock = threading.Lock()

    def register_birth(self) -> None:
        super().register_birth()
        self._stop_beating.clear()
        self._beater = threading.Thread(
            target=self._beat_while_running, name="minirq-heartbeat", daemon=True
        )
        self._beater.start()

    def register_death(self) -> None:
        if self._beater is not None:
            self._stop_beating.set()
            self._beater.join()
            self._beater = None
        super().register_death()

    def heartbeat(self) -> None:
        with self._heartbeat_lock:
            super().heartbeat()

    def run(self, job: Job) -> Outcome | None:
        self._running_in_process = True
        try:
            with hooks.around_job(job):
                return run_job(job, self.max_result_bytes)
        except ShutdownRequested:
            return None
        finally:
            self._running_in_process = False

    def _beat_while_running(self) -> None:
        timeout = 0.0
        while not self._stop_beating.wait(timeout):
            if self._running_in_process:
                if self._shutdown_due() and not self._force_stop:
                    self._interrupt_job()
                now = time.monotonic()
                if now >= self._next_heartbeat:
                    try:
                        self.heartbeat()
                    except _REDIS_ERRORS as exc:
                        self._redis_failed("renewing the lease of the running job", exc)
                        self._next_heartbeat = time.monotonic() + 1.0
                    else:
                        self._redis_ok()
                if now >= self._next_housekeeping:
                    self._reap_while_busy()
            # Wake at least twice a second to notice a shutdown timeout passing; between
            # jobs the main loop sends the heartbeats.
            timeout = min(0.5, max(0.05, self._next_heartbeat - time.monotonic()))

    def _interrupt_job(self) -> None:
        """Past the shutdown timeout: stop the job running in the main thread."""
        self._timed_out = True
        self.request_stop(force=True)
        main = threading.main_thread().ident
        if main is not None:
            # The signal interrupts even a blocking call; its handler raises in the job.
            signal.pthread_kill(main, signal.SIGTERM)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._timed_out:
            self._timed_out = False
            logger.warning(
                "%s: the shutdown timeout of %s s has passed; stopping the job",
                self.name,
                self.shutdown_timeout_s,
            )
            self._on_forced_stop()
            return
        super()._on_stop_signal(signum, frame)

    def _on_forced_stop(self) -> None:
        if self._running_in_process:
            raise ShutdownRequested()


def broken_job_reason(job: Job) -> str | None:
    """Why a fetched job's stored fields cannot be run, or ``None`` if they look whole."""
    if not job.func_name:
        return "its stored data has no function name (the 'func' field is missing)"
    for field in ("timeout", "result_ttl", "failure_ttl"):
        try:
            getattr(job, field)
        except ValueError:
            return f"its {field!r} field is not a whole number"
    return None


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _last_line(text: str | None) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no traceback)"


WORKER_CLASSES: dict[str, type[BaseWorker]] = {"fork": Worker, "simple": SimpleWorker}


def worker_class(name: str) -> type[BaseWorker]:
    try:
        return WORKER_CLASSES[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown worker class {name!r}; choose one of {sorted(WORKER_CLASSES)}"
        ) from None


__all__: Sequence[str] = [
    "BaseWorker",
    "SimpleWorker",
    "Worker",
    "WorkerInfo",
    "reap_expired_leases",
]
