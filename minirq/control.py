"""Worker control: stop signals (SIGTERM, SIGINT), commands (stop-job, shutdown), paused
queues and suspension, and the wake-up subscription an idle worker blocks on; part of
:class:`BaseWorker`."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping
from types import FrameType, MappingProxyType
from typing import Any

import redis

from . import store
from .commands import KILL_HORSE, SHUTDOWN, STOP_JOB
from .defaults import IDLE_WAIT_S, PAUSE_REFRESH_S
from .keys import Keys
from .utils import close_quietly
from .worker_options import all_queues

logger = logging.getLogger("minirq.worker")

# How often a busy worker reads its command channel (stop-job, shutdown).
COMMAND_POLL_S = 0.1


class ControlMixin:
    connection: redis.Redis
    keys: Keys
    name: str
    state: str
    queues: list[Any]
    listens_on_all: bool
    ordered_queues: Callable[[list[Any]], list[Any]]
    _commands: Any
    _next_command_poll: float
    _next_pause_refresh: float
    _next_housekeeping: float
    _stop_job_id: str | None
    _paused_names: set[str]
    _suspended: bool
    _pubsub: Any
    _limit_wait_until: float | None
    _queue_limit_texts: Mapping[str, str]
    #: What is wrong with the stored queue defaults, each logged once.
    _queue_limit_problems: Mapping[str, str] = MappingProxyType({})

    shutdown_timeout_s: float
    _stop_requested_at: float | None
    _force_stop: bool

    def running_jobs(self) -> list[Any]:
        raise NotImplementedError

    def _call_redis(self, func: Any, doing: str, until_stop: bool = False) -> Any:
        raise NotImplementedError

    # -- stopping: signals and the shutdown command ------------------------------------

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

    # -- commands, pause and suspension ------------------------------------------------

    def _poll_control(self) -> None:
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
            elif kind == KILL_HORSE:
                self._on_kill_horse()
            else:
                logger.warning("%s: unknown command %r ignored", self.name, kind)

    def _on_kill_horse(self) -> None:
        """Hook for a worker with one work-horse to kill (the forking worker)."""
        logger.info("%s: kill-horse command ignored: no single work-horse here", self.name)

    def _on_stop_job(self, job: Any) -> None:
        """Hook for a worker that kills the job's horse itself (the pool); the forking
        worker acts on ``_stop_job_id`` in its supervision loop."""

    def _refresh_pause_state(self) -> None:
        with self.connection.pipeline(transaction=False) as pipe:
            pipe.smembers(self.keys.paused_queues)
            pipe.exists(self.keys.suspended)
            pipe.hgetall(self.keys.queue_limits)
            paused, suspended, queue_limits = pipe.execute(raise_on_error=False)
        self._next_pause_refresh = time.monotonic() + PAUSE_REFRESH_S
        # A paused set of the wrong type pauses nothing; a member that is not text
        # names no queue of ours.
        self._paused_names = set(store.jobs.names(paused)) if isinstance(paused, set) else set()
        served = None if self.listens_on_all else [q.name for q in self.queues]
        defaults = store.limits.queue_limit_texts(queue_limits, served)
        for problem in defaults.problems.keys() - self._queue_limit_problems.keys():
            logger.error("%s: %s", self.name, defaults.problems[problem])
        self._queue_limit_texts, self._queue_limit_problems = defaults.texts, defaults.problems
        suspended = bool(suspended) and not isinstance(suspended, Exception)
        if self.listens_on_all:
            self.queues = all_queues(self)
        if suspended != self._suspended:
            self._suspended = suspended
            logger.warning("%s: %s", self.name, "suspended" if suspended else "resumed")
            self.state = "suspended" if suspended else "idle"

    def _fetchable_queues(self) -> list[Any]:
        if self._suspended:
            return []
        if not self._paused_names:
            return self.ordered_queues(self.queues)
        return self.ordered_queues([q for q in self.queues if q.name not in self._paused_names])

    def _wait_for_work(self) -> None:
        """Block until an enqueue wakes us, or until housekeeping is due."""
        if self._pubsub is None:
            self._subscribe()
            # Something may have been enqueued before the subscription took effect.
            return
        now = time.monotonic()
        wake_at = min(now + IDLE_WAIT_S, self._next_housekeeping)
        if self._limit_wait_until is not None:
            wake_at = min(wake_at, self._limit_wait_until)
        timeout = max(0.0, wake_at - now)
        try:
            message = self._pubsub.get_message(timeout=timeout)
            while message is not None:
                message = self._pubsub.get_message(timeout=0)
        except (redis.ConnectionError, redis.TimeoutError):
            self._close_pubsub()
            raise

    def _subscribe_to_wake_ups(self, pubsub: Any) -> None:
        """Subscribe to the wake-up channels of the worker's queues (of every queue, for
        a worker listening on all), and to the one of limits."""
        if self.listens_on_all:
            pubsub.psubscribe(self.keys.wake_pattern())
        else:
            pubsub.subscribe(*(self.keys.wake_channel(q.name) for q in self.queues))
        # A concurrency slot given back: a job held back by its limit may start now.
        pubsub.subscribe(self.keys.limits_wake_channel)

    def _subscribe(self) -> None:
        """Open the wake-up subscription; raises while Redis cannot be reached."""
        self._pubsub = self.connection.pubsub(  # type: ignore[no-untyped-call]
            ignore_subscribe_messages=True
        )
        self._subscribe_to_wake_ups(self._pubsub)

    def _wake_up_fd(self) -> int | None:
        """The socket of the wake-up subscription (subscribing on first use), with every
        message in it consumed, for an executor that selects on it with its own pipes;
        ``None`` while it cannot be had (then the executor looks again soon)."""
        try:
            if self._pubsub is None:
                self._subscribe()
            while self._pubsub.get_message(timeout=0) is not None:
                pass
            sock = getattr(self._pubsub.connection, "_sock", None)
            return sock.fileno() if sock is not None else None
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            logger.error("%s: wake-up subscription lost (%s)", self.name, exc)
            self._close_pubsub()
            return None

    def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            close_quietly(self._pubsub, "the wake-up subscription", logger)
            self._pubsub = None
