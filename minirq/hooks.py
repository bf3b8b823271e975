"""Process hooks: code of yours that workers run around forks and jobs.

A framework that holds resources which must not cross a fork (database connections, open
sockets, thread pools) registers callables here, once, at import or app start-up::

    from minirq import hooks

    hooks.register("before_fork", close_database_connections)
    hooks.register("before_job", lambda job: reset_request_state())

The events, and where each runs:

``before_fork()``
    In the process about to fork, just before it forks a work-horse (the forking
    :class:`~minirq.Worker` once per job, ahead of the job: its next horse is forked
    while the current job runs or while it waits for work, so one more when it stops;
    :class:`~minirq.WorkerPool` once per horse it starts) or the child that runs a job's
    ``on_stopped`` callback. Close here what the child must not share. On Linux the
    forking Worker's horses are forked by its fork server (:mod:`minirq.fork_server`),
    a child the worker forks once when it starts to work: the hook runs in the worker
    before that fork, and in the server before each horse's.
``horse_start()``
    In each such child, just after the fork, before it runs any code of yours (in a
    horse forked ahead, before its job is known).
``before_job(job)`` and ``after_job(job)``
    Around each job, in whatever process runs it: the work-horse of a forking worker or
    a pool, or the worker itself for :class:`~minirq.SimpleWorker`. ``after_job`` runs
    whether the job succeeded or failed. ``Queue(is_async=False)`` runs none of them: it
    runs inside the caller (often a test holding a transaction open), whose resources
    are the caller's own.

Hooks run in the order they were registered. A hook that raises is logged with its
traceback and the others still run: a hook never fails a job or stops a worker.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any, Literal, get_args

from .exceptions import ConfigurationError

logger = logging.getLogger("minirq.hooks")

Event = Literal["before_fork", "horse_start", "before_job", "after_job"]
EVENTS: tuple[Event, ...] = get_args(Event)

_hooks: dict[str, list[Callable[..., Any]]] = {event: [] for event in EVENTS}


def _check(event: str) -> None:
    if event not in _hooks:
        raise ConfigurationError(f"unknown hook event {event!r}; choose one of {', '.join(EVENTS)}")


def register(event: Event, func: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``func`` at ``event`` from now on; returns ``func`` (usable as a decorator's
    body). Registering the same callable twice for one event runs it once.

    Raises :class:`~minirq.ConfigurationError` for an unknown event or a non-callable.
    """
    _check(event)
    if not callable(func):
        raise ConfigurationError(f"a {event} hook must be callable, not {func!r}")
    if func not in _hooks[event]:
        _hooks[event].append(func)
    return func


def unregister(event: Event, func: Callable[..., Any]) -> None:
    """Stop running ``func`` at ``event`` (nothing happens if it was not registered)."""
    _check(event)
    with contextlib.suppress(ValueError):
        _hooks[event].remove(func)


def registered(event: Event) -> tuple[Callable[..., Any], ...]:
    """The callables registered for ``event``, in the order they run."""
    _check(event)
    return tuple(_hooks[event])


def run(event: Event, *args: Any) -> None:
    """Call every hook of ``event`` with ``args``; log, and go past, any that raises."""
    for func in tuple(_hooks[event]):
        try:
            func(*args)
        except Exception:
            logger.exception("the %s hook %r raised; carrying on", event, func)


@contextlib.contextmanager
def around_job(job: Any) -> Iterator[None]:
    """Run the ``before_job`` hooks, the block, then the ``after_job`` hooks."""
    run("before_job", job)
    try:
        yield
    finally:
        run("after_job", job)


__all__ = ["EVENTS", "Event", "around_job", "register", "registered", "run", "unregister"]
