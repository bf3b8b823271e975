"""The scheduler's loop: a pass, then a sleep until the next due time (woken early by an
earlier job), riding out Redis outages; part of :class:`~minirq.scheduler.Scheduler`."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from functools import partial
from types import FrameType
from typing import Any, TypeVar

import redis

from .utils import FIRST_RECONNECT_DELAY_S, back_off, close_quietly

logger = logging.getLogger("minirq.scheduler")

_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
# The longest a scheduler waits between checks of its stop flag; no Redis call is made.
_STOP_CHECK_S = 0.5
RELEASED = b"released"
_T = TypeVar("_T")


class SchedulerLoopMixin:
    connection: redis.Redis
    keys: Any
    name: str
    _stop: bool
    _pubsub: Any
    _step_at: tuple[int, float]
    _next_lease_check: float
    step: Any
    release_lease: Any

    def run(
        self,
        burst: bool = False,
        logging_level: str | int | None = None,
        *,
        stop_signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
    ) -> None:
        """Run until stopped (one of ``stop_signals`` or :meth:`request_stop`); with
        ``burst``, make one pass and return. Releases the lease on the way out."""
        if logging_level is not None:
            logging.getLogger("minirq").setLevel(logging_level)
        if not burst and threading.current_thread() is threading.main_thread():
            for signum in stop_signals:
                signal.signal(signum, self._on_stop_signal)
        logger.info("%s: scheduler started", self.name)
        try:
            self._loop(burst)
        except _REDIS_ERRORS:
            # Told to stop while Redis is away (see _retrying): nothing to finish.
            if not self._stop:
                raise
        finally:
            self._close_pubsub()
            try:
                self.release_lease()
            except _REDIS_ERRORS:
                logger.warning("%s: Redis unreachable at exit; the lease will expire", self.name)
            logger.info("%s: scheduler stopped", self.name)

    def _loop(self, burst: bool) -> None:
        while not self._stop:
            if not burst:
                self._retrying(self._subscribe)
            wake_ms = self._retrying(self.step)
            if burst:
                break
            self._retrying(partial(self._wait_until, wake_ms))

    def request_stop(self) -> None:
        self._stop = True

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        logger.info("%s: %s received; stopping", self.name, signal.Signals(signum).name)
        self.request_stop()

    def _subscribe(self) -> None:
        if self._pubsub is None:
            pubsub = self.connection.pubsub(  # type: ignore[no-untyped-call]
                ignore_subscribe_messages=True
            )
            pubsub.subscribe(self.keys.scheduler_wake)
            self._pubsub = pubsub

    def _wait_until(self, wake_ms: int) -> None:
        """Sleep until ``wake_ms`` or until a wake-up message arrives."""
        # A retry after an outage comes here with the subscription closed.
        self._subscribe()
        step_ms, step_monotonic = self._step_at
        deadline = step_monotonic + (wake_ms - step_ms) / 1000
        while not self._stop:
            remaining_s = deadline - time.monotonic()
            if remaining_s <= 0:
                return
            message = self._pubsub.get_message(timeout=min(remaining_s, _STOP_CHECK_S))
            if message is not None:
                while message is not None:
                    if message.get("data") == RELEASED:
                        self._next_lease_check = 0.0
                    message = self._pubsub.get_message(timeout=0)
                return

    def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            close_quietly(self._pubsub, "the wake-up subscription", logger)
            self._pubsub = None

    def _retrying(self, func: Callable[[], _T]) -> _T:
        """Call ``func``, retrying with back-off while Redis is unreachable."""
        delay = FIRST_RECONNECT_DELAY_S
        failing = False
        while True:
            try:
                result = func()
            except _REDIS_ERRORS as exc:
                if self._stop:
                    raise
                if not failing:
                    logger.error("%s: Redis unreachable (%s); retrying", self.name, exc)
                    failing = True
                self._close_pubsub()
                delay = back_off(delay, lambda: self._stop)
                continue
            if failing:
                logger.warning("%s: Redis is back", self.name)
            return result
