"""The one loop every worker runs (:meth:`BaseWorker.work`), and housekeeping.

The roles it drives each have their module: presence (registration, heartbeats that
renew leases, counters), control (commands, pause, suspension, waking up), the fetcher
(a job under a lease), running (run one job, record it through the recorder) and
outages (riding out Redis going away). The workers differ only in their executor, the
``_start_executor`` ... ``_interrupt_all`` methods below, with a ``capacity``:
``Worker`` forks a work-horse per job and ``SimpleWorker`` runs it in-process (capacity
1, through ``run``), ``WorkerPool`` keeps N horses alive (capacity N).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import sys
import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import redis

from . import store
from .callables import normalize_allowlist
from .callbacks import ExceptionHandler, install_exception_handlers, resolve_exception_handlers
from .commands import CommandListener
from .control import ControlMixin
from .defaults import (
    DEFAULT_LEASE_S,
    DEFAULT_MAX_ORPHANINGS,
    DEFAULT_MAX_RESULT_BYTES,
    DEFAULT_SHUTDOWN_TIMEOUT_S,
    VERSION,
)
from .exceptions import ConfigurationError
from .fetcher import Fetched, FetcherMixin
from .job import Job
from .logs import setup_logging
from .outages import REDIS_ERRORS, OutageMixin
from .presence import PresenceMixin, WorkerState
from .queue import Queue
from .registry import REGISTRY_CLASSES
from .running import RunningMixin
from .scheduler import Scheduler
from .scheduler_process import SchedulerProcess
from .serializers import Serializer
from .stats import JobStatsRecorder
from .worker_options import WorkerOptionsMixin, handler_list, parse_dequeue_strategy
from .worker_records import DequeueStrategy

logger = logging.getLogger("minirq.worker")


class BaseWorker(
    FetcherMixin, RunningMixin, OutageMixin, PresenceMixin, ControlMixin, WorkerOptionsMixin
):
    """What every worker shares: fetching, leases, heartbeats, recording outcomes.

    ``allowed_modules`` limits the jobs (and callbacks) this worker runs to functions in
    those modules or below them; any other job fails with a reason saying it is not
    allowed, and its function is never imported. ``None`` allows every module.
    """

    def __init__(
        self,
        queues: Queue | str | Iterable[Queue | str] | None = None,
        connection: redis.Redis | None = None,
        name: str | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        *,
        lease_s: float = DEFAULT_LEASE_S,
        shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S,
        max_orphanings: int = DEFAULT_MAX_ORPHANINGS,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        exception_handlers: ExceptionHandler | str | Iterable[ExceptionHandler | str] | None = None,
        allowed_modules: Iterable[str] | None = None,
        **rq_options: Any,
    ) -> None:
        """``rq_options`` are RQ's: ``default_result_ttl`` (for jobs enqueued without a
        ``result_ttl``), ``worker_ttl`` (seconds the worker's record outlives its last
        heartbeat), ``job_class``, ``queue_class`` and ``disable_default_exception_handler``
        (see :mod:`minirq.worker_options`)."""
        # Longer than most functions: it only sets up the state every role of the worker
        # shares, one attribute per line.
        if isinstance(connection, str) and name is None:
            connection, name = None, connection  # RQ's order: Worker(queues, name)
        rq = self._set_up_queues(queues, connection, serializer, prefix, rq_options)
        if lease_s <= 0:
            raise ConfigurationError("lease_s must be more than zero")
        self.lease_s = float(lease_s)
        self.worker_ttl_s = rq.worker_ttl or int(self.lease_s + 5)
        # Often enough to renew leases, and the worker's record before it expires.
        self.heartbeat_interval_s = min(self.lease_s, self.worker_ttl_s) / 3
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
        self.birth_date: datetime | None = None
        self.death_date: datetime | None = None
        self.last_heartbeat: datetime | None = None
        self.version, self.python_version = VERSION, sys.version
        self._pending_stats = {"successful": 0, "failed": 0, "working_ms": 0}
        self.job_stats = JobStatsRecorder()
        self._last_flush = 0.0
        self._next_heartbeat = 0.0
        self._next_housekeeping = 0.0
        self._stop_requested_at: float | None = None
        self._force_stop = False
        self._pubsub: Any = None
        # The loop sets _fetch_ahead while a job runs when it will want another one: the
        # next fetch then rides in the round trip that records the outcome, and its reply
        # waits in _fetched_ahead (a 1-tuple; (None,) means the queues were empty).
        self._fetch_ahead = False
        self._fetched_ahead: tuple[Fetched | None] | None = None
        # The run token of the fetch under way: kept until a reply comes back, so that a
        # fetch sent again after a lost reply answers the job the first one took.
        self._fetch_token: str | None = None
        self._fetch_tokens: list[str] | None = None
        self._reported_keys: set[str] = set()
        self._redis_down_since: float | None = None
        self.exception_handlers = resolve_exception_handlers(handler_list(exception_handlers))
        self._commands = CommandListener(self.connection, self.keys, self.name)
        self._next_command_poll = 0.0
        self._stop_job_id: str | None = None
        self._paused_names: set[str] = set()
        self._suspended = False
        self._next_pause_refresh = 0.0

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    # -- the main loop -----------------------------------------------------------------

    def work(
        self,
        burst: bool = False,
        max_jobs: int | None = None,
        logging_level: str | int | None = None,
        with_scheduler: bool = False,
        *,
        max_idle_time: float | None = None,
        dequeue_strategy: DequeueStrategy | str | None = None,
        date_format: str | None = None,
        log_format: str | None = None,
    ) -> bool:
        """Take and run jobs until stopped; returns whether any job ran.

        With ``burst``, stop once every queue is empty (and no job runs). With
        ``max_jobs``, stop after that many jobs; with ``max_idle_time``, once no job has
        run for that many seconds. With ``with_scheduler``, also run a
        :class:`~minirq.Scheduler` (in a child process; with ``burst``, one pass first).
        ``dequeue_strategy`` is ``default`` (strict priority), ``round_robin`` or
        ``random``. ``log_format`` (``text``, ``json`` or a :mod:`logging` format) and
        ``date_format`` send log lines to stderr. SIGTERM or SIGINT stop fetching and let
        running jobs finish within the shutdown timeout; a second signal stops at once.
        Either way a job that was cut short goes back to the front of its queue.

        The one loop of every worker: what differs is the executor (see
        :meth:`_submit`), which runs up to :attr:`capacity` jobs at a time.
        """
        self.dequeue_strategy = parse_dequeue_strategy(
            dequeue_strategy or self.default_dequeue_strategy
        )
        if max_idle_time is not None and not max_idle_time > 0:
            raise ConfigurationError(f"max_idle_time must be more than 0, not {max_idle_time!r}")
        if log_format is not None or date_format is not None:
            setup_logging(str(logging_level or "INFO"), log_format or "text", None, date_format)
        if logging_level is not None:
            logging.getLogger("minirq").setLevel(logging_level)
        self._install_signal_handlers()
        # A worker object may work() again: pauses and suspension are read afresh.
        self._next_pause_refresh = 0.0
        if not self._start_up():
            return False
        install_exception_handlers(self.exception_handlers)
        taken = 0
        scheduler = self._start_scheduler(burst) if with_scheduler else None
        try:
            self._start_executor()
            idle_since = time.monotonic()
            while self._turn(taken, max_jobs, scheduler):
                new = self._take_jobs(taken, max_jobs)
                taken += new
                busy = self._executor_busy()
                if new or busy:
                    idle_since = time.monotonic()
                if burst and not new and not busy and self._limit_wait_until is None:
                    if not self._requeued_orphans():
                        break
                    continue
                if max_idle_time is not None and time.monotonic() - idle_since >= max_idle_time:
                    logger.info("%s: idle for %g s, stopping", self.name, max_idle_time)
                    break
                if not new or busy:
                    self._wait_for_event_fetching_ahead(taken, max_jobs)
        finally:
            self._put_back_fetched_ahead()
            self._commands.close()
            install_exception_handlers([])
            if scheduler is not None:
                scheduler.stop()
            self._stop_executor()
            self.register_death()
        return taken > 0

    def _turn(self, taken: int, max_jobs: int | None, scheduler: SchedulerProcess | None) -> bool:
        """The chores at the top of each turn of the loop; whether the loop goes on."""
        if scheduler is not None and not self.stop_requested:
            scheduler.ensure_running()
        if not self._may_take(taken, max_jobs) and not self._executor_busy():
            if max_jobs is not None and taken >= max_jobs:
                logger.info("%s: ran %d jobs, stopping", self.name, taken)
            return False
        try:
            self._between_jobs()
            self._maybe_housekeep()
            self._poll_control()
        except REDIS_ERRORS:
            # Told to stop while Redis is away: running jobs are still supervised; with
            # none, nothing is held, so just go.
            if not self.stop_requested:
                raise
            if not self._executor_busy():
                return False
        if self._executor_busy() and self._shutdown_due():
            self._interrupt_all()
            return False
        return True

    def _take_jobs(self, taken: int, max_jobs: int | None) -> int:
        """Fetch jobs for the executor's free slots (at most its capacity per turn) and
        hand them over; returns how many."""
        new = 0
        while self._may_take(taken + new, max_jobs):
            left = self.capacity if max_jobs is None else max_jobs - taken - new
            want = min(self._free_slots(), self.capacity - new, left)
            if want < 1:
                break
            try:
                batch = self._jobs_ahead_or_now(want)
            except REDIS_ERRORS:
                if not self.stop_requested:
                    raise
                break
            for position, fetched in enumerate(batch):
                new += 1
                self._fetch_ahead = self._may_take(taken + new, max_jobs) and self.fetches_ahead
                self._hand_over(fetched, batch[position + 1 :])
            if len(batch) < want:
                break
        return new

    def _may_take(self, taken: int, max_jobs: int | None) -> bool:
        return not self.stop_requested and (max_jobs is None or taken < max_jobs)

    def _wait_for_event_fetching_ahead(self, taken: int, max_jobs: int | None) -> None:
        """Wait; an outcome recorded meanwhile brings the next job in the same round trip."""
        may_take = self._may_take(taken, max_jobs)
        self._fetch_ahead = self.fetches_ahead and may_take
        try:
            self._wait_for_event(watch_queues=may_take)
        finally:
            self._fetch_ahead = False

    # -- the executor: how jobs run. This default runs one job at a time, to its end, in
    # _submit; the pool overrides all of it; an executor with concurrency N (asyncio)
    # would too, with capacity N, leaving the loop above as it is.

    #: Jobs the executor can run at once.
    capacity = 1
    #: Whether the next fetch rides with the recording of an outcome.
    fetches_ahead = True

    def _start_executor(self) -> None:
        """Set up what runs jobs (the pool forks its horses here)."""

    def _stop_executor(self) -> None:
        """Tear it down; a job still running is put back at the front of its queue."""

    def _free_slots(self) -> int:
        return 1

    def _executor_busy(self) -> bool:
        """Whether jobs handed over are still running (never, between turns, here)."""
        return False

    def _submit(self, job: Job, queue: Queue) -> None:
        """Run ``job`` and record its outcome; an executor with capacity above one
        starts it and records the outcome when :meth:`_wait_for_event` sees it end."""
        self._execute_safely(job, queue)

    def _wait_for_event(self, watch_queues: bool) -> None:
        """Block until something needs the loop: an enqueue (when ``watch_queues``), a
        running job ending, a stop request, or a deadline (heartbeat, housekeeping)."""
        if not watch_queues:
            return
        try:
            self._call_redis(self._wait_for_work, "waiting for work", until_stop=True)
        except REDIS_ERRORS:
            if not self.stop_requested:
                raise

    def _interrupt_all(self) -> None:
        """Past the shutdown timeout: stop running jobs and put them back (the job run
        in :meth:`_submit` is supervised there)."""

    def _start_up(self) -> bool:
        """Register the worker, waiting for Redis; ``False`` when told to stop first
        (nothing is held then, so the worker just goes)."""
        self._commands.start()
        try:
            self._call_redis(self.register_birth, "registering the worker", until_stop=True)
            self._call_redis(
                self.check_redis_settings, "reading the Redis settings", until_stop=True
            )
        except REDIS_ERRORS:
            if not self.stop_requested:
                raise
            logger.info("%s: stopped before Redis was reachable", self.name)
            return False
        return True

    def _between_jobs(self) -> None:
        """Hook run on every turn of the loop, at least once a second while idle."""

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

    # -- housekeeping and outages ------------------------------------------------------

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
        own = [queue.name for queue in self.queues]
        store.reap_expired_leases(self.connection, self.keys, self.max_orphanings, also=own)

    def _requeued_orphans(self) -> bool:
        """A burst worker's last look before it stops: jobs whose worker died and whose
        lease has run out go back to their queues, so that "until the queues are empty"
        counts them. Whether any went back; never raises."""
        try:
            requeued, _ = store.reap_expired_leases(self.connection, self.keys, self.max_orphanings)
        except (*REDIS_ERRORS, redis.ResponseError) as exc:
            logger.error("%s: recovering jobs of dead workers failed: %s", self.name, exc)
            return False
        return bool(requeued)

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
