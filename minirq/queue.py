"""Queues: named lists of job ids, with the methods that create jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis

from . import store
from .connection import resolve_connection
from .defaults import DEFAULT_JOB_TIMEOUT_S, DEFAULT_QUEUE_NAME
from .exceptions import ConfigurationError, InvalidJobError
from .job import Job, JobStatus
from .keys import Keys
from .limits import Limit
from .options import (
    QUEUE_NAME_MAX_LENGTH,
    EnqueueData,
    JobOptions,
    check_unique,
    duplicate_error,
    explicit_call,
    options_record,
    pop_job_options,
    prepare_data,
    validate_queue_name,
)
from .queue_contents import QueueContents
from .queue_limits import QueueLimits
from .queue_scheduling import QueueScheduling
from .registry import QueueRegistries, resolve_job_class, use_queue_class
from .retry import Repeat, Retry
from .serializers import Serializer, resolve_serializer
from .store import calls
from .store.calls import EnqueueReply
from .suspension import pause_queue, resume_queue
from .sync import run_sync
from .utils import parse_duration

__all__ = [
    "QUEUE_NAME_MAX_LENGTH",
    "EnqueueData",
    "JobOptions",
    "Queue",
    "pop_job_options",
    "validate_queue_name",
]


class Queue(QueueScheduling, QueueContents, QueueRegistries, QueueLimits):
    """A named queue of jobs.

    ``Queue(is_async=False)`` runs each job in the enqueuing process at once, which is
    what a user's own tests want (with ``fakeredis.FakeRedis()`` as the connection).
    """

    # RQ's name for the timeout of a job that gives none (seconds).
    DEFAULT_TIMEOUT = DEFAULT_JOB_TIMEOUT_S

    def __init__(
        self,
        name: str = DEFAULT_QUEUE_NAME,
        connection: redis.Redis | None = None,
        default_timeout: Any = None,
        is_async: bool = True,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        result_ttl: Any = None,
        job_class: type[Job] | str | None = None,
        limit: Limit | None = None,
    ) -> None:
        """``result_ttl``: seconds a finished job of this queue is kept when its enqueue
        gives none (default 500; ``-1`` keeps it, ``0`` deletes it at once).
        ``job_class``: a :class:`Job` subclass (or its dotted path) for the jobs this queue
        builds and loads, as in RQ. ``limit`` (a :class:`~minirq.Limit`) is stored as the
        queue's default for every worker (see :meth:`set_limit`); without it the stored
        default is left as it is."""
        self.name = validate_queue_name(name)
        self.job_class = resolve_job_class(job_class)
        self.connection = resolve_connection(connection)
        self.serializer = resolve_serializer(serializer)
        self.keys = Keys(prefix)
        self.key = self.keys.queue(name)
        self.default_timeout = parse_duration(
            DEFAULT_JOB_TIMEOUT_S if default_timeout is None else default_timeout,
            "default_timeout",
            allow_unlimited=True,
            allow_zero=False,
        )
        self.is_async = is_async
        self.result_ttl = (
            None
            if result_ttl is None
            else parse_duration(result_ttl, "result_ttl", allow_unlimited=True)
        )
        if limit is not None:
            self.set_limit(limit)

    def __repr__(self) -> str:
        return f"<Queue {self.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Queue) and (other.name, other.keys.prefix) == (
            self.name,
            self.keys.prefix,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.keys.prefix))

    def __lt__(self, other: Queue) -> bool:
        """Queues sort by name, as in RQ."""
        if not isinstance(other, Queue):
            return NotImplemented
        return self.name < other.name

    @classmethod
    def all(
        cls,
        connection: redis.Redis | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        job_class: type[Job] | str | None = None,
    ) -> list[Queue]:
        """Every queue that has ever had a job enqueued, by name (names that are not
        valid queue names are skipped)."""
        connection = resolve_connection(connection)
        queues = []
        for name in store.jobs.queue_names(connection, Keys(prefix)):
            try:
                queues.append(
                    cls(
                        name, connection=connection, serializer=serializer, prefix=prefix,
                        job_class=job_class,
                    )
                )  # fmt: skip
            except ConfigurationError:
                continue
        return queues

    def delete(self, delete_jobs: bool = True) -> None:
        """Remove the queue, its registries and (with ``delete_jobs``) its queued jobs."""
        if delete_jobs:
            self.empty()
        store.jobs.delete_queue(self.connection, self.keys, self.name)

    # -- pausing (see minirq/suspension.py) -------------------------------------------

    def pause(self) -> None:
        """Make workers skip this queue (within about a second) until :meth:`resume`."""
        pause_queue(self.connection, self.name, self.keys.prefix)

    def resume(self) -> None:
        """Let workers take jobs from this queue again."""
        resume_queue(self.connection, self.name, self.keys.prefix)

    @property
    def is_paused(self) -> bool:
        return bool(self.connection.sismember(self.keys.paused_queues, self.name))

    # -- enqueueing --------------------------------------------------------------------

    def enqueue(self, f: Callable[..., Any] | str, *args: Any, **kwargs: Any) -> Job:
        """Enqueue ``f(*args, **kwargs)`` and return its :class:`Job`.

        ``f`` is a module-level callable or a dotted path ``"package.module.function"``.
        Job options are taken from the keyword arguments: ``job_id``, ``job_timeout``,
        ``result_ttl``, ``ttl``, ``failure_ttl``, ``description``, ``meta``, ``at_front``,
        ``retry`` (a :class:`~minirq.Retry`), ``repeat`` (a :class:`~minirq.Repeat`) and
        ``limit`` (a :class:`~minirq.Limit`, instead of the queue's default).
        ``enqueue(f, args=(1, 2), kwargs={"a": 1})`` calls ``f(1, 2, a=1)``, as in RQ.
        Use :meth:`enqueue_call` to pass keyword arguments with those names to ``f``.

        Raises :class:`InvalidJobError` (or a subclass) for bad input, and
        :class:`DuplicateJobError` when a live job has the ``job_id``; nothing is written.
        """
        options = pop_job_options(kwargs)
        args, kwargs = explicit_call(args, kwargs)
        return self.enqueue_job(
            self.create_job(f, args, kwargs, options), at_front=options.at_front
        )

    def enqueue_call(
        self,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        timeout: Any = None,
        result_ttl: Any = None,
        ttl: Any = None,
        failure_ttl: Any = None,
        description: str | None = None,
        job_id: str | None = None,
        at_front: bool = False,
        meta: Mapping[str, Any] | None = None,
        retry: Retry | None = None,
        repeat: Repeat | None = None,
        depends_on: Any = None,
        unique: bool = False,
        on_success: Any = None,
        on_failure: Any = None,
        on_stopped: Any = None,
        pipeline: redis.client.Pipeline | None = None,
        limit: Limit | None = None,
    ) -> Job:
        """Enqueue ``func`` with explicit ``args`` and ``kwargs``; options as in :meth:`enqueue`.

        With ``pipeline`` (a redis-py pipeline of this queue's connection) the enqueue
        joins it and happens when you execute it; the job's reply is then among the
        pipeline's results, so a live job with the same id is not raised here."""
        data = self.prepare_data(
            func, args, kwargs, timeout, result_ttl, ttl, failure_ttl, description, job_id,
            at_front, meta, retry, repeat, depends_on, unique, on_success, on_failure,
            on_stopped, limit,
        )  # fmt: skip
        job = self.create_job(func, args, kwargs, data.options)
        if pipeline is not None and self.is_async:
            self._add_to_pipeline(pipeline, [(job, at_front)])
            return job
        return self.enqueue_job(job, at_front)

    prepare_data = staticmethod(prepare_data)

    def enqueue_many(
        self, job_datas: Iterable[EnqueueData], pipeline: redis.client.Pipeline | None = None
    ) -> list[Job]:
        """Enqueue many jobs in one step: all of them, or none.

        Every job is validated first; if any is refused, or a live job has the id of one
        of them (:class:`DuplicateJobError`), nothing is written. With ``pipeline``, the
        enqueues join it instead, as for :meth:`enqueue_call`.
        """
        jobs = [
            (self.create_job(d.func, d.args, d.kwargs, d.options), d.options.at_front)
            for d in job_datas
        ]
        if not self.is_async:
            return [self.enqueue_job(job, at_front) for job, at_front in jobs]
        if pipeline is not None:
            self._add_to_pipeline(pipeline, jobs)
        else:
            self.write_all(jobs)
        return [job for job, _ in jobs]

    def _add_to_pipeline(self, pipeline: Any, jobs: list[tuple[Job, bool]]) -> None:
        enqueues = [self.enqueue_call_of(job, at_front) for job, at_front in jobs]
        for job, _ in jobs:
            job.id_chosen = True
        store.runner_for(self.connection).join(pipeline, enqueues)

    def write_all(
        self, jobs: list[tuple[Job, bool]], extra: Callable[[Any], None] | None = None
    ) -> None:
        """Write ``jobs`` (each with its ``at_front``) as one transaction, with ``extra``
        adding commands to it; raises :class:`DuplicateJobError` and writes nothing when
        a live job has one of their ids."""
        ids = refuse_repeated_ids([job for job, _ in jobs])
        replies = store.jobs.write_all(
            self.connection,
            self.keys,
            ids,
            [self.enqueue_call_of(job, at_front) for job, at_front in jobs],
            extra,
        )
        refused = [(job.id, r) for (job, _), r in zip(jobs, replies, strict=True) if r.refused]
        if refused:
            raise duplicate_error([i for i, _ in refused], [r for _, r in refused])
        for (job, _), reply in zip(jobs, replies, strict=True):
            apply_enqueue_reply(job, reply)

    def create_job(
        self,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        options: JobOptions | None = None,
        **job_options: Any,
    ) -> Job:
        """Validate and build a job of this queue without writing it; write it with
        :meth:`enqueue_job`. The options are a :class:`JobOptions`, or given by name as
        for :meth:`enqueue_call` (``job_id=``, ``timeout=``, ``unique=``, ...), RQ's form."""
        if options is None:
            options = self.prepare_data(func, args, kwargs, **job_options).options
        elif job_options:
            raise InvalidJobError("give create_job either options or job options by name")
        record = options_record(options, self.default_timeout)
        if options.result_ttl is None and self.result_ttl is not None:
            record.result_ttl_s = self.result_ttl
        job = self.job_class.build(
            func,
            args,
            kwargs,
            connection=self.connection,
            serializer=self.serializer,
            prefix=self.keys.prefix,
            origin=self.name,
            job_id=options.job_id,
            record=record,
        )
        if options.meta:
            record.meta = job.encode_meta(options.meta)
        elif options.meta is not None and not isinstance(options.meta, Mapping):
            raise InvalidJobError(f"meta must be a dict, not {type(options.meta).__name__}")
        return job

    def enqueue_job(self, job: Job, at_front: bool = False, *, unique: bool = False) -> Job:
        """Write a job built by :meth:`create_job` and push it onto the queue.

        Raises :class:`DuplicateJobError`, writing nothing, when a live job has its id
        (``unique=True``, RQ's, means the same and needs a job built with a ``job_id``).
        A job made by :meth:`Job.create` without a timeout gets this queue's.
        """
        if unique is not False:
            job.record.unique = check_unique(unique, job.id_chosen)
        if not job.timeout_given:
            job.record.timeout_s = self.default_timeout
        job.record.origin = self.name  # a job belongs to the queue it is in
        if not self.is_async:
            return self.run_sync(job)
        call = self.enqueue_call_of(job, at_front)
        job.id_chosen = True  # from this send on, the id may name this job's own hash
        apply_enqueue_reply(job, store.runner_for(self.connection).run(call))
        return job

    def enqueue_call_of(self, job: Job, at_front: bool) -> store.Call[EnqueueReply]:
        """The call that writes ``job`` and pushes it onto this queue, not sent."""
        job.record.status = JobStatus.QUEUED.value
        job.record.enqueued_ms = job.record.created_ms
        return calls.enqueue(
            self.keys,
            job_id=job.id,
            queue=self.name,
            at_front=at_front,
            ttl_s=job.ttl,
            op_token=job.op_token,
            allow_failure=job.record.allow_failure,
            id_chosen=job.id_chosen,
            parent_ids=job.record.dependency_ids,
            fields=job.fields,
        )

    def run_sync(self, job: Job) -> Job:
        """Run ``job`` in this process now, record its outcome and return it
        (``is_async=False``); a job that raised comes back ``failed``, as in RQ."""
        return run_sync(job, self.name)

    def cancel_job(self, job: Job | str, enqueue_dependents: bool = False) -> None:
        """Cancel a job that is queued, scheduled or deferred.

        Its dependents stay deferred, unless ``enqueue_dependents`` enqueues those that
        wait for nothing else (as in RQ). Raises :class:`InvalidJobOperation` if the job
        is running or done.
        """
        if not isinstance(job, Job):
            job = self.job_class.fetch(job, self.connection, self.serializer, self.keys.prefix)
        job.cancel(enqueue_dependents=enqueue_dependents)


def refuse_repeated_ids(jobs: Iterable[Job]) -> list[str]:
    """The ids of ``jobs`` written together; raises :class:`InvalidJobError` if one
    comes twice."""
    ids = [job.id for job in jobs]
    if len(set(ids)) != len(ids):
        twice = sorted({i for i in ids if ids.count(i) > 1})
        raise InvalidJobError(f"job id(s) {', '.join(twice)} given more than once")
    return ids


def apply_enqueue_reply(job: Job, reply: EnqueueReply) -> None:
    """Raise :class:`DuplicateJobError` for a refused write of ``job``; else note on it
    whether it was queued or deferred."""
    if reply.refused:
        raise duplicate_error([job.id], [reply])
    if reply.code == 2:
        job.record.status = JobStatus.DEFERRED.value
        job.record.enqueued_ms = None


use_queue_class(Queue)
