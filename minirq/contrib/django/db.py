"""Database connections that never cross a fork, reset around each job.

A psycopg (or any libpq) connection shared by two processes interleaves their messages
on one socket and corrupts both sessions. So, through :mod:`minirq.hooks`:

- before a worker forks, its own connections are closed, and the child opens its own;
- a forked horse drops (without closing: closing would end the parent's session) any
  connection it still inherited, such as one held open by a transaction in the parent;
- around each job, in whatever process runs it, connections that broke or outlived
  ``CONN_MAX_AGE`` are closed, as Django's ``close_old_connections()`` does around each
  request, so one job's broken connection never fails the next.
"""

from __future__ import annotations

from typing import Any

from django.db import connections

from minirq import hooks

# Wrappers a horse inherited: kept referenced, so that garbage collection never closes
# (and terminates) the parent's session from the child. The horse leaves by os._exit.
_inherited: list[Any] = []


def close_before_fork() -> None:
    """Close this process's connections, except those inside a transaction."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def forget_inherited() -> None:
    """In a fresh child: make every alias open a connection of its own on next use."""
    for connection in connections.all(initialized_only=True):
        _inherited.append(connection)
        del connections[connection.alias]


def around_job(job: Any) -> None:
    """Close broken and expired connections (before and after each job), as
    ``close_old_connections()`` does, except a connection inside a transaction: that one
    belongs to the code that runs the worker (a test case holding its transaction open)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


def install() -> None:
    """Register the hooks (idempotent)."""
    hooks.register("before_fork", close_before_fork)
    hooks.register("horse_start", forget_inherited)
    hooks.register("before_job", around_job)
    hooks.register("after_job", around_job)
