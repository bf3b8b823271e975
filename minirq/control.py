"""Worker control: commands (stop-job, shutdown), paused queues and suspension, and the
wake-up subscription an idle worker blocks on; part of :class:`BaseWorker`."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import redis

from . import store
from .commands import SHUTDOWN, STOP_JOB
from .defaults import IDLE_WAIT_S, PAUSE_REFRESH_S
from .keys import Keys
from .utils import close_quietly

logger = logging.getLogger("minirq.worker")

# How often a busy worker reads its command channel (stop-job, shutdown).
COMMAND_POLL_S = 0.1


class ControlMixin:
    connection: redis.Redis
    keys: Keys
    name: str
    state: str
    queues: list[Any]
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

    def request_stop(self, force: bool = False) -> None:
        raise NotImplementedError

    def running_jobs(self) -> list[Any]:
        raise NotImplementedError

    def _call_redis(self, func: Any, doing: str, until_stop: bool = False) -> Any:
        raise NotImplementedError

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
            else:
                logger.warning("%s: unknown command %r ignored", self.name, kind)

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
        defaults = store.limits.queue_limit_texts(queue_limits, [q.name for q in self.queues])
        for problem in defaults.problems.keys() - self._queue_limit_problems.keys():
            logger.error("%s: %s", self.name, defaults.problems[problem])
        self._queue_limit_texts, self._queue_limit_problems = defaults.texts, defaults.problems
        suspended = bool(suspended) and not isinstance(suspended, Exception)
        if suspended != self._suspended:
            self._suspended = suspended
            logger.warning("%s: %s", self.name, "suspended" if suspended else "resumed")
            self.state = "suspended" if suspended else "idle"

    def _fetchable_queues(self) -> list[Any]:
        if self._suspended:
            return []
        if not self._paused_names:
            return self.queues
        return [q for q in self.queues if q.name not in self._paused_names]

    def _wait_for_work(self) -> None:
        """Block until an enqueue wakes us, or until housekeeping is due."""
        if self._pubsub is None:
            self._pubsub = self.connection.pubsub(  # type: ignore[no-untyped-call]
                ignore_subscribe_messages=True
            )
            self._pubsub.subscribe(*self._wake_channels())
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

    def _wake_channels(self) -> list[str]:
        """What an idle worker listens on: an enqueue to one of its queues, and a
        concurrency slot given back (a job held back by its limit may start then)."""
        channels = [self.keys.wake_channel(q.name) for q in self.queues]
        return [*channels, self.keys.limits_wake_channel]

    def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            close_quietly(self._pubsub, "the wake-up subscription", logger)
            self._pubsub = None
