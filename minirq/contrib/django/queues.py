"""Queues configured by ``settings.MINIRQ``, and enqueueing that waits for the commit."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import redis
from django.db import transaction

from minirq.config import Settings
from minirq.defaults import DEFAULT_QUEUE_NAME
from minirq.exceptions import ConfigurationError
from minirq.job import Job
from minirq.queue import Queue, pop_job_options

from . import conf


@functools.lru_cache(maxsize=8)
def _client(url: str, cert_reqs: str | None, ca_certs: str | None) -> redis.Redis:
    # One client (and connection pool) per Redis, shared by every request of the process.
    return Settings(
        redis_url=url, redis_ssl_cert_reqs=cert_reqs, redis_ssl_ca_certs=ca_certs
    ).connect()


def get_connection() -> redis.Redis:
    """The Redis client for ``settings.MINIRQ`` (one per process and URL)."""
    settings = conf.load()
    return _client(settings.redis_url, settings.redis_ssl_cert_reqs, settings.redis_ssl_ca_certs)


def get_queue(
    name: str | None = None,
    *,
    is_async: bool | None = None,
    connection: redis.Redis | None = None,
    default_timeout: Any = None,
) -> Queue:
    """The :class:`~minirq.Queue` called ``name``, with the project's Redis, prefix and
    serializer.

    ``name`` must be one of ``MINIRQ['QUEUES']`` (a typo would feed a queue no worker
    reads); without it, ``"default"`` if configured, else the first queue. ``is_async``
    defaults to ``MINIRQ['IS_ASYNC']``.

    Raises :class:`~minirq.ConfigurationError` for an unknown queue or a bad setting.
    """
    settings = conf.load()
    if name is None:
        name = DEFAULT_QUEUE_NAME if DEFAULT_QUEUE_NAME in settings.queues else settings.queues[0]
    elif name not in settings.queues:
        raise ConfigurationError(
            f"queue {name!r} is not in {conf.SETTING}['QUEUES'] "
            f"({', '.join(settings.queues)}); no worker would take its jobs"
        )
    return Queue(
        name,
        connection=connection if connection is not None else get_connection(),
        default_timeout=default_timeout,
        is_async=conf.is_async() if is_async is None else is_async,
        serializer=conf.load_serializer(conf.raw_setting().get("SERIALIZER")),
        prefix=settings.prefix,
    )


def enqueue_on_commit(
    func: Callable[..., Any] | str,
    *args: Any,
    queue: str | Queue | None = None,
    using: str | None = None,
    **kwargs: Any,
) -> Job:
    """Enqueue ``func(*args, **kwargs)`` once the current transaction of the database
    ``using`` commits; never if it rolls back. Outside a transaction, enqueue now.

    ``queue`` is a queue name for :func:`get_queue` (default: its default) or a
    :class:`~minirq.Queue`. Job options (``job_id``, ``job_timeout``, ``meta``, ...) are
    taken from ``kwargs`` as by :meth:`Queue.enqueue`.

    The job is validated now, so a bad function or argument raises here, inside the
    view, and nothing is written. Returns the job, whose id is final but which exists in
    Redis only after the commit.
    """
    target = queue if isinstance(queue, Queue) else get_queue(queue)
    options = pop_job_options(kwargs)
    job = target.create_job(func, args, kwargs, options)
    transaction.on_commit(
        functools.partial(target.enqueue_job, job, at_front=options.at_front), using=using
    )
    return job
