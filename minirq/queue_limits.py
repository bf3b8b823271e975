"""A queue's default limit, kept in Redis so that every worker and producer of the
prefix sees it (mixed into :class:`~minirq.Queue`)."""

from __future__ import annotations

from typing import Any

import redis

from .keys import Keys
from .limits import Limit, to_limit
from .store import limits as stored_limits


class QueueLimits:
    """``Queue.limit`` and ``Queue.set_limit``."""

    connection: redis.Redis
    keys: Keys
    name: str

    @property
    def limit(self) -> Limit | None:
        """The limit every job of this queue without one of its own runs under."""
        return stored_limits.queue_limit(self.connection, self.keys, self.name)

    def set_limit(self, limit: Limit | None) -> None:
        """Make ``limit`` this queue's default for every worker, from their next look at
        the queues (within about a second; ``None`` removes it). A job enqueued with
        ``limit=`` keeps its own.

        Raises :class:`~minirq.exceptions.ConfigurationError` if ``limit`` is not a
        :class:`~minirq.Limit`; nothing is written then."""
        checked: Any = to_limit(limit, "a queue's limit")
        stored_limits.set_queue_limit(self.connection, self.keys, self.name, checked)
