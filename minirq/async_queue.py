"""Enqueueing from asyncio code (FastAPI, aiohttp): :class:`AsyncQueue` on ``redis.asyncio``.

An ``AsyncQueue`` validates and builds each job exactly as :class:`~minirq.Queue` does
(it asks a ``Queue`` of the same name, prefix and serializer to, without any I/O) and
sends the same Lua steps through :class:`~minirq.store.async_runner.AsyncRunner`; no
method blocks the event loop. The jobs it returns are :class:`AsyncJob`: what was
written, with async reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import redis
import redis.asyncio

from .async_job import AsyncJob, sync_twin
from .connection import redis_url_from_env
from .job import Job
from .options import (
    EnqueueData,
    JobOptions,
    duplicate_error,
    explicit_call,
    pop_job_options,
    prepare_data,
)
from .queue import Queue, apply_enqueue_reply, refuse_repeated_ids
from .serializers import Serializer
from .store import Call
from .store.async_runner import async_runner_for
from .store.calls import EnqueueReply
from .utils import delay_ms, due_ms_at

__all__ = ["AsyncJob", "AsyncQueue"]


class AsyncQueue:
    """A named queue for asyncio producers; ``await q.enqueue(f, *args, **kwargs)``.

    ``connection`` is a ``redis.asyncio.Redis`` (default: one for ``REDIS_URL``). Job
    options, their validation and the errors raised are those of :class:`Queue`; a job
    refused raises before anything is written. There is no ``is_async=False`` mode: run
    such tests with :class:`Queue`.
    """

    def __init__(
        self,
        name: str = "default",
        connection: redis.asyncio.Redis | None = None,
        default_timeout: Any = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
    ) -> None:
        self.connection = (
            connection
            if connection is not None
            else redis.asyncio.Redis.from_url(redis_url_from_env())
        )
        # Builds and validates jobs as Queue does; its sync client is never used here.
        self.queue = Queue(
            name,
            connection=sync_twin(self.connection),
            default_timeout=default_timeout,
            serializer=serializer,
            prefix=prefix,
        )
        self.name = self.queue.name
        self.keys = self.queue.keys
        self.serializer = self.queue.serializer
        self._runner = async_runner_for(self.connection)

    def __repr__(self) -> str:
        return f"<AsyncQueue {self.name}>"

    prepare_data = staticmethod(prepare_data)

    async def count(self) -> int:
        """How many jobs wait in the queue."""
        return int(await self.connection.llen(self.keys.queue(self.name)))

    async def enqueue(self, f: Callable[..., Any] | str, *args: Any, **kwargs: Any) -> AsyncJob:
        """Enqueue ``f(*args, **kwargs)``; job options, and RQ's ``args=``/``kwargs=``
        form, as :meth:`Queue.enqueue` takes them.

        Raises :class:`InvalidJobError` (or a subclass) for bad input and
        :class:`DuplicateJobError` when a live job has the ``job_id``; nothing is written.
        """
        options = pop_job_options(kwargs)
        args, kwargs = explicit_call(args, kwargs)
        return await self._enqueue(self.queue.create_job(f, args, kwargs, options), options)

    async def enqueue_call(
        self,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None = None,
        kwargs: dict[str, Any] | None = None,
        **options: Any,
    ) -> AsyncJob:
        """Enqueue ``func`` with explicit ``args`` and ``kwargs``; ``options`` are the
        keyword arguments of :meth:`Queue.enqueue_call` (``timeout``, ``job_id``, ...)."""
        data = prepare_data(func, args, kwargs, **options)
        job = self.queue.create_job(data.func, data.args, data.kwargs, data.options)
        return await self._enqueue(job, data.options)

    async def _enqueue(self, job: Job, options: JobOptions) -> AsyncJob:
        call = self.queue.enqueue_call_of(job, options.at_front)
        job.id_chosen = True  # from this send on, the id may name this job's own hash
        apply_enqueue_reply(job, await self._runner.run(call))
        return AsyncJob(job, self.connection)

    async def enqueue_many(self, job_datas: Iterable[EnqueueData]) -> list[AsyncJob]:
        """Enqueue many jobs (built by :meth:`prepare_data`) in one step: all, or none.

        Every job is validated first; if any is refused, or a live job has the id of one
        of them (:class:`DuplicateJobError`), nothing is written.
        """
        built = [
            (self.queue.create_job(d.func, d.args, d.kwargs, d.options), d.options.at_front)
            for d in job_datas
        ]
        jobs = [job for job, _ in built]
        refuse_repeated_ids(jobs)
        if not jobs:
            return []
        batch = [self.queue.batched_enqueue_of(job, at_front) for job, at_front in built]
        replies = await self._runner.enqueue_batch(self.keys, self.queue.name, batch)
        refused = [(job.id, r) for job, r in zip(jobs, replies, strict=True) if r.refused]
        if refused:
            raise duplicate_error([i for i, _ in refused], [r for _, r in refused])
        for job, reply in zip(jobs, replies, strict=True):
            apply_enqueue_reply(job, reply)
        return [AsyncJob(job, self.connection) for job in jobs]

    async def enqueue_at(
        self, datetime: Any, f: Callable[..., Any] | str, *args: Any, **kwargs: Any
    ) -> AsyncJob:
        """Enqueue ``f(*args, **kwargs)`` to run at ``datetime``, as
        :meth:`Queue.enqueue_at` does (never before it, on Redis's clock)."""
        due = due_ms_at(datetime)
        options = pop_job_options(kwargs)
        args, kwargs = explicit_call(args, kwargs)
        job = self.queue.create_job(f, args, kwargs, options)
        return await self._schedule(self.queue.schedule_call(job, due, options.at_front), job)

    async def enqueue_in(
        self, time_delta: Any, f: Callable[..., Any] | str, *args: Any, **kwargs: Any
    ) -> AsyncJob:
        """Enqueue ``f(*args, **kwargs)`` to run after ``time_delta`` (a timedelta or
        seconds, on Redis's clock), as :meth:`Queue.enqueue_in` does."""
        delay = delay_ms(time_delta, "time_delta")
        options = pop_job_options(kwargs)
        args, kwargs = explicit_call(args, kwargs)
        job = self.queue.create_job(f, args, kwargs, options)
        call = self.queue.schedule_call(job, None, options.at_front, delay_ms=delay)
        return await self._schedule(call, job)

    async def _schedule(self, call: Call[EnqueueReply], job: Job) -> AsyncJob:
        job.id_chosen = True  # from this send on, the id may name this job's own hash
        reply = await self._runner.run(call)
        if reply.refused:
            raise duplicate_error([job.id], [reply])
        return AsyncJob(job, self.connection)

    async def fetch_job(self, job_id: str) -> AsyncJob | None:
        """The job with that id if it belongs to this queue, else ``None``."""
        job = await AsyncJob.fetch(job_id, self.connection, self.serializer, self.keys.prefix)
        if job is None or job.origin != self.name:
            return None
        return job
