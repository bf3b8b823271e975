"""Pausing queues and suspending workers.

A paused queue keeps its jobs and accepts new ones, but workers skip it; a suspension makes
every worker of the prefix stop fetching. Workers re-read both at most every
``PAUSE_REFRESH_S`` (1 s) before fetching, so a pause takes effect on every worker within
about a second (a job already running finishes).
"""

from __future__ import annotations

import redis

from . import store
from .connection import resolve_connection
from .keys import Keys


def pause_queue(connection: redis.Redis | None, name: str, prefix: str | None = None) -> None:
    """Make workers skip queue ``name`` until :func:`resume_queue`."""
    resolve_connection(connection).sadd(Keys(prefix).paused_queues, name)


def resume_queue(connection: redis.Redis | None, name: str, prefix: str | None = None) -> None:
    """Let workers take jobs from queue ``name`` again."""
    keys = Keys(prefix)
    with resolve_connection(connection).pipeline(transaction=True) as pipe:
        pipe.srem(keys.paused_queues, name)
        # Wake idle workers so that they look again at once.
        pipe.publish(keys.wake_channel(name), "1")
        pipe.execute()


def paused_queue_names(connection: redis.Redis | None, prefix: str | None = None) -> set[str]:
    """The names of the paused queues, read as the workers read them: a paused set of the
    wrong type pauses nothing, and a member that is not text names no queue."""
    try:
        members = resolve_connection(connection).smembers(Keys(prefix).paused_queues)
    except redis.ResponseError:
        return set()
    return set(store.jobs.names(members))


def suspend(
    connection: redis.Redis | None, duration_s: int | None = None, prefix: str | None = None
) -> None:
    """Make every worker stop fetching, for ``duration_s`` seconds or until :func:`resume`."""
    resolve_connection(connection).set(Keys(prefix).suspended, "1", ex=duration_s or None)


def resume(connection: redis.Redis | None, prefix: str | None = None) -> None:
    """Lift a suspension."""
    resolve_connection(connection).delete(Keys(prefix).suspended)


def is_suspended(connection: redis.Redis | None, prefix: str | None = None) -> bool:
    return bool(resolve_connection(connection).exists(Keys(prefix).suspended))
