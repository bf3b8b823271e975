"""A queue's settings that every worker and producer of the prefix reads from Redis:
whether it is paused, and its default limit (mixed into :class:`~minirq.Queue`)."""

from __future__ import annotations

from typing import Any

import redis

from .keys import Keys
from .limits import Limit, to_limit
from .store import limits as stored_limits
from .suspension import pause_queue, resume_queue


class QueueSettings:
    """Pausing (see :mod:`minirq.suspension`) and the default limit of a queue."""

    connection: redis.Redis
    keys: Keys
    name: str

    def pause(self) -> None:
        """Make workers skip this queue (within about a second) until :meth:`resume`."""
        pause_queue(self.connection, self.name, self.keys.prefix)

    def resume(self) -> None:
        """Let workers take jobs from this queue again."""
        resume_queue(self.connection, self.name, self.keys.prefix)

    @property
    def is_paused(self) -> bool:
        return bool(self.connection.sismember(self.keys.paused_queues, self.name))

    @property
    def limit(self) -> Limit | None:
        """The limit every job of this queue without one of its own runs under."""
        return stored_limits.queue_limit(self.connection, self.keys, self.name)

    def set_limit(self, limit: Limit | None) -> None:
        """Make ``limit`` this queue's default for every worker, from their next fetch
        (``None`` removes it). A job enqueued with ``limit=`` keeps its own.

        Raises :class:`~minirq.exceptions.ConfigurationError` if ``limit`` is not a
        :class:`~minirq.Limit`; nothing is written then."""
        checked: Any = to_limit(limit, "a queue's limit")
        stored_limits.set_queue_limit(self.connection, self.keys, self.name, checked)
