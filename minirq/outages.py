"""Riding out Redis outages: retry with back-off, one log line when Redis goes and one
when it is back; part of :class:`~minirq.base_worker.BaseWorker`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis

from .utils import FIRST_RECONNECT_DELAY_S, back_off

logger = logging.getLogger("minirq.worker")

# What a worker treats as Redis being unreachable, for the worker variants built on it.
REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
_T = TypeVar("_T")


class OutageMixin:
    @property
    def stop_requested(self) -> bool:
        raise NotImplementedError

    name: str
    _force_stop: bool
    _redis_down_since: float | None
    _next_heartbeat: float
    heartbeat: Any
    _close_pubsub: Any

    def _try_heartbeat(self) -> None:
        try:
            self.heartbeat()
        except REDIS_ERRORS as exc:
            # The horse keeps running; the result is written once Redis is back.
            self._redis_failed("renewing the lease of the running job", exc)
            self._next_heartbeat = time.monotonic() + 1.0
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
        delay = FIRST_RECONNECT_DELAY_S
        while True:
            try:
                result = func()
            except redis.AuthenticationError:
                raise
            except REDIS_ERRORS as exc:
                if self._giving_up(until_stop):
                    raise
                self._redis_failed(doing, exc)
                self._close_pubsub()
                delay = back_off(delay, lambda: self._giving_up(until_stop))
                continue
            self._redis_ok()
            return result

    def _giving_up(self, until_stop: bool) -> bool:
        return self._force_stop or (until_stop and self.stop_requested)
