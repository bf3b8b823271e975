"""Queues: named lists of job ids, with the methods that create jobs."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import redis

from .callbacks import record_callback_error, run_failure_callback, run_success_callback
from .connection import resolve_connection
from .defaults import DEFAULT_JOB_TIMEOUT_S, DEFAULT_QUEUE_NAME
from .dependency import apply_enqueue_result, needs_checked_enqueue, run_checked_enqueue
from .exceptions import (
    ConfigurationError,
    DuplicateJobError,
    InvalidJobError,
    InvalidJobOperation,
)
from .features import FEATURE_OPTION_NAMES, feature_fields, pop_feature_options
from .job import Job, JobStatus
from .keys import REGISTRY_KINDS, Keys
from .registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from .retry import Repeat, Retry
from .retry import job_fields as retry_job_fields
from .scripts import scripts_for
from .serializers import Serializer, resolve_serializer
from .utils import decode, delay_ms, due_ms_at, now_ms, parse_duration

QUEUE_NAME_MAX_LENGTH = 200
_EMPTY_BATCH = 1000


@dataclass(frozen=True)
class JobOptions:
    """Options of one job, as given to ``enqueue`` (``None`` means the queue's default)."""

    job_id: str | None = None
    timeout: Any = None
    result_ttl: Any = None
    ttl: Any = None
    failure_ttl: Any = None
    description: str | None = None
    meta: Mapping[str, Any] | None = None
    at_front: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    retry: Any = None
    repeat: Any = None
    # depends_on, unique, on_success, on_failure, on_stopped (see minirq/features.py).
    features: dict[str, Any] = field(default_factory=dict)


# Keyword arguments of enqueue() that configure the job instead of being passed to it.
JOB_OPTION_NAMES = (
    "job_id",
    "job_timeout",
    "result_ttl",
    "ttl",
    "failure_ttl",
    "description",
    "meta",
    "at_front",
    "retry",
    "repeat",
    *FEATURE_OPTION_NAMES,
)


def pop_job_options(kwargs: dict[str, Any]) -> JobOptions:
    """Take the job options out of ``enqueue``'s keyword arguments."""
    return JobOptions(
        job_id=kwargs.pop("job_id", None),
        timeout=kwargs.pop("job_timeout", None),
        result_ttl=kwargs.pop("result_ttl", None),
        ttl=kwargs.pop("ttl", None),
        failure_ttl=kwargs.pop("failure_ttl", None),
        description=kwargs.pop("description", None),
        meta=kwargs.pop("meta", None),
        at_front=bool(kwargs.pop("at_front", False)),
        retry=kwargs.pop("retry", None),
        repeat=kwargs.pop("repeat", None),
        features=pop_feature_options(kwargs),
    )


class EnqueueData(NamedTuple):
    """One job for :meth:`Queue.enqueue_many`, built by :meth:`Queue.prepare_data`."""

    func: Callable[..., Any] | str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: JobOptions


def validate_queue_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"queue name must be a non-empty string, not {name!r}")
    if len(name) > QUEUE_NAME_MAX_LENGTH or any(ord(c) < 32 for c in name):
        raise ConfigurationError(
            f"invalid queue name {name[:50]!r}: at most {QUEUE_NAME_MAX_LENGTH} characters, "
            "no control characters"
        )
    return name


class Queue:
    """A named queue of jobs.

    ``Queue(is_async=False)`` runs each job in the enqueuing process at once, which is
    what a user's own tests want (with ``fakeredis.FakeRedis()`` as the connection).
    """

    def __init__(
        self,
        name: str = DEFAULT_QUEUE_NAME,
        connection: redis.Redis | None = None,
        default_timeout: Any = None,
        is_async: bool = True,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
    ) -> None:
        self.name = validate_queue_name(name)
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

    def __repr__(self) -> str:
        return f"<Queue {self.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Queue) and (other.name, other.keys.prefix) == (
            self.name,
            self.keys.prefix,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.keys.prefix))

    @classmethod
    def all(
        cls,
        connection: redis.Redis | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
    ) -> list[Queue]:
        """Every queue that has ever had a job enqueued, by name."""
        connection = resolve_connection(connection)
        names = sorted(decode(n) or "" for n in connection.smembers(Keys(prefix).queues))
        return [cls(n, connection=connection, serializer=serializer, prefix=prefix) for n in names]

    # -- contents ----------------------------------------------------------------------

    @property
    def count(self) -> int:
        return int(self.connection.llen(self.key))

    def __len__(self) -> int:
        return self.count

    def get_job_ids(self, offset: int = 0, length: int = -1) -> list[str]:
        end = -1 if length < 0 else offset + length - 1
        return [decode(i) or "" for i in self.connection.lrange(self.key, offset, end)]

    @property
    def job_ids(self) -> list[str]:
        return self.get_job_ids()

    def get_jobs(self, offset: int = 0, length: int = -1) -> list[Job]:
        jobs = Job.fetch_many(
            self.get_job_ids(offset, length), self.connection, self.serializer, self.keys.prefix
        )
        return [job for job in jobs if job is not None]

    @property
    def jobs(self) -> list[Job]:
        return self.get_jobs()

    def fetch_job(self, job_id: str) -> Job | None:
        """The job with that id if it belongs to this queue, else ``None``."""
        job = Job.fetch_many([job_id], self.connection, self.serializer, self.keys.prefix)[0]
        if job is None or job.origin != self.name:
            return None
        return job

    def empty(self) -> int:
        """Delete every queued job of this queue; returns how many were deleted."""
        total = 0
        scripts = scripts_for(self.connection)
        while True:
            deleted = int(scripts.run("empty", [self.key], [self.keys.job_prefix, _EMPTY_BATCH]))
            total += deleted
            if deleted == 0:
                return total

    def delete(self, delete_jobs: bool = True) -> None:
        """Remove the queue, its registries and (with ``delete_jobs``) its queued jobs."""
        if delete_jobs:
            self.empty()
        with self.connection.pipeline() as pipe:
            pipe.delete(self.key, *(self.keys.registry(k, self.name) for k in REGISTRY_KINDS))
            pipe.srem(self.keys.queues, self.name)
            pipe.execute()

    # -- pausing (see minirq/suspension.py) -------------------------------------------

    def pause(self) -> None:
        """Make workers skip this queue (within about a second) until :meth:`resume`."""
        from .suspension import pause_queue

        pause_queue(self.connection, self.name, self.keys.prefix)

    def resume(self) -> None:
        """Let workers take jobs from this queue again."""
        from .suspension import resume_queue

        resume_queue(self.connection, self.name, self.keys.prefix)

    @property
    def is_paused(self) -> bool:
        return bool(self.connection.sismember(self.keys.paused_queues, self.name))

    # -- registries --------------------------------------------------------------------

    @property
    def started_job_registry(self) -> StartedJobRegistry:
        return StartedJobRegistry(queue=self)

    @property
    def finished_job_registry(self) -> FinishedJobRegistry:
        return FinishedJobRegistry(queue=self)

    @property
    def failed_job_registry(self) -> FailedJobRegistry:
        return FailedJobRegistry(queue=self)

    @property
    def scheduled_job_registry(self) -> ScheduledJobRegistry:
        return ScheduledJobRegistry(queue=self)

    @property
    def deferred_job_registry(self) -> DeferredJobRegistry:
        return DeferredJobRegistry(queue=self)

    @property
    def canceled_job_registry(self) -> CanceledJobRegistry:
        return CanceledJobRegistry(queue=self)

    # -- enqueueing --------------------------------------------------------------------

    def enqueue(self, f: Callable[..., Any] | str, *args: Any, **kwargs: Any) -> Job:
        """Enqueue ``f(*args, **kwargs)`` and return its :class:`Job`.

        ``f`` is a module-level callable or a dotted path ``"package.module.function"``.
        Job options are taken from the keyword arguments: ``job_id``, ``job_timeout``,
        ``result_ttl``, ``ttl``, ``failure_ttl``, ``description``, ``meta``, ``at_front``,
        ``retry`` (a :class:`~minirq.Retry`) and ``repeat`` (a :class:`~minirq.Repeat`).
        Use :meth:`enqueue_call` to pass keyword arguments with those names to ``f``.

        Raises :class:`InvalidJobError` (or a subclass) for bad input; nothing is written.
        """
        options = pop_job_options(kwargs)
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
    ) -> Job:
        """Enqueue ``func`` with explicit ``args`` and ``kwargs``; options as in :meth:`enqueue`."""
        features = _given_features(depends_on, unique, on_success, on_failure, on_stopped)
        options = JobOptions(
            job_id=job_id,
            timeout=timeout,
            result_ttl=result_ttl,
            ttl=ttl,
            failure_ttl=failure_ttl,
            description=description,
            meta=meta,
            at_front=at_front,
            retry=retry,
            repeat=repeat,
            features=features,
        )
        return self.enqueue_job(self.create_job(func, args, kwargs, options), at_front=at_front)

    @staticmethod
    def prepare_data(
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
    ) -> EnqueueData:
        """Describe one job for :meth:`enqueue_many`."""
        return EnqueueData(
            func,
            tuple(args or ()),
            dict(kwargs or {}),
            JobOptions(
                job_id=job_id,
                timeout=timeout,
                result_ttl=result_ttl,
                ttl=ttl,
                failure_ttl=failure_ttl,
                description=description,
                meta=meta,
                at_front=at_front,
                retry=retry,
                repeat=repeat,
                features=_given_features(depends_on, unique, on_success, on_failure, on_stopped),
            ),
        )

    def enqueue_many(self, job_datas: Iterable[EnqueueData]) -> list[Job]:
        """Enqueue many jobs in one round trip.

        Every job is validated first; if any is refused, none is written. A ``unique``
        job whose id is live is the exception: it is found in Redis, so the others are
        written and :class:`DuplicateJobError` then names the duplicates.
        """
        jobs = [
            (self.create_job(d.func, d.args, d.kwargs, d.options), d.options.at_front)
            for d in job_datas
        ]
        if not self.is_async:
            return [self.enqueue_job(job, at_front) for job, at_front in jobs]
        with self.connection.pipeline(transaction=False) as pipe:
            for job, at_front in jobs:
                self._run_enqueue_script(job, at_front, pipe)
            results = pipe.execute()
        check_enqueue_results([job for job, _ in jobs], results)
        return [job for job, _ in jobs]

    def create_job(
        self,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None,
        kwargs: Mapping[str, Any] | None,
        options: JobOptions,
    ) -> Job:
        """Validate and build a job of this queue without writing it."""
        timeout = (
            self.default_timeout
            if options.timeout is None
            else parse_duration(
                options.timeout, "job_timeout", allow_unlimited=True, allow_zero=False
            )
        )
        result_ttl = (
            None
            if options.result_ttl is None
            else parse_duration(options.result_ttl, "result_ttl", allow_unlimited=True)
        )
        failure_ttl = (
            None
            if options.failure_ttl is None
            else parse_duration(options.failure_ttl, "failure_ttl", allow_unlimited=True)
        )
        ttl = (
            None
            if options.ttl is None
            else parse_duration(options.ttl, "ttl", allow_unlimited=True, allow_zero=False)
        )
        if ttl == -1:
            ttl = None
        if options.meta is not None and not isinstance(options.meta, Mapping):
            raise InvalidJobError(f"meta must be a dict, not {type(options.meta).__name__}")
        return Job.create(
            func,
            args,
            kwargs,
            connection=self.connection,
            serializer=self.serializer,
            prefix=self.keys.prefix,
            origin=self.name,
            job_id=options.job_id,
            timeout_s=timeout,
            result_ttl_s=result_ttl,
            failure_ttl_s=failure_ttl,
            ttl_s=ttl,
            description=options.description,
            meta=options.meta,
            extra_fields={
                **options.extra,
                **retry_job_fields(options.retry, options.repeat),
                **feature_fields(options.features, options.job_id),
            },
        )

    def enqueue_at(
        self, datetime: Any, f: Callable[..., Any] | str, *args: Any, **kwargs: Any
    ) -> Job:
        """Enqueue ``f(*args, **kwargs)`` to run at ``datetime``; job options as in
        :meth:`enqueue`.

        An aware datetime is honoured in its own zone; a naive one is local time, as
        ``datetime.now()`` gives. A time in the past runs as soon as a scheduler sees it.
        The job is saved with status ``scheduled`` in :attr:`scheduled_job_registry`; it
        never starts before its due time. Raises :class:`ConfigurationError` if
        ``datetime`` is not a datetime, and as :meth:`enqueue` for other bad input.
        """
        due = due_ms_at(datetime)
        options = pop_job_options(kwargs)
        return self.schedule_job(self.create_job(f, args, kwargs, options), due, options.at_front)

    def enqueue_in(
        self, time_delta: Any, f: Callable[..., Any] | str, *args: Any, **kwargs: Any
    ) -> Job:
        """Enqueue ``f(*args, **kwargs)`` to run after ``time_delta`` (a timedelta or
        seconds); as :meth:`enqueue_at` otherwise. Raises :class:`ConfigurationError` for a
        negative delay."""
        delay = delay_ms(time_delta, "time_delta")
        options = pop_job_options(kwargs)
        job = self.create_job(f, args, kwargs, options)
        return self.schedule_job(job, now_ms() + delay, options.at_front)

    def schedule_job(self, job: Job, due_ms: int, at_front: bool = False) -> Job:
        """Write a job built by :meth:`create_job` to run at ``due_ms`` (epoch ms)."""
        if "dependency_ids" in job._fields:
            raise InvalidJobError(
                "depends_on cannot be combined with enqueue_at or enqueue_in; enqueue the "
                "dependent with depends_on only, or schedule it from the parent"
            )
        if not self.is_async:
            return self.run_sync(job)
        job._fields["status"] = JobStatus.SCHEDULED.value.encode()
        if at_front:
            job._fields["at_front"] = b"1"
        flat: list[Any] = []
        for name, value in job._fields.items():
            flat += (name, value)
        scheduled = scripts_for(self.connection).run(
            "schedule",
            keys=[
                job.key,
                self.keys.registry("scheduled", self.name),
                self.keys.queues,
                self.keys.scheduler_wake,
            ],
            args=[
                job.id,
                self.name,
                due_ms,
                job.ttl or 0,
                "1" if job.replaces_existing else "0",
                *flat,
            ],
        )
        if scheduled != 1:
            apply_enqueue_result(job, [0, scheduled])
        return job

    def enqueue_job(self, job: Job, at_front: bool = False) -> Job:
        """Write a job built by :meth:`create_job` and push it onto the queue."""
        if not self.is_async:
            return self.run_sync(job)
        self._run_enqueue_script(job, at_front)
        return job

    def _run_enqueue_script(self, job: Job, at_front: bool, client: Any = None) -> Any:
        enqueued = str(now_ms()).encode()
        job._fields["status"] = JobStatus.QUEUED.value.encode()
        job._fields["enqueued_ms"] = enqueued
        flat: list[Any] = []
        for name, value in job._fields.items():
            flat += (name, value)
        if needs_checked_enqueue(job):
            return run_checked_enqueue(self, job, at_front, flat, client)
        return scripts_for(self.connection).run(
            "enqueue",
            keys=[job.key, self.key, self.keys.queues, self.keys.wake_channel(self.name)],
            args=[
                job.id,
                self.name,
                "1" if at_front else "0",
                job.ttl or 0,
                "1" if job.replaces_existing else "0",
                *flat,
            ],
            client=client,
        )

    def run_sync(self, job: Job) -> Job:
        """Run ``job`` in this process now and record its outcome (``is_async=False``).

        An exception raised by the job is recorded on it and raised again here.
        """
        started = str(now_ms()).encode()
        job._fields.update(
            status=b"started", enqueued_ms=started, started_ms=started, worker=b"sync"
        )
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.delete(job.key)
            pipe.hset(job.key, mapping=dict(job._fields))  # type: ignore[arg-type]
            pipe.sadd(self.keys.queues, self.name)
            pipe.zadd(self.keys.registry("started", self.name), {job.id: "+inf"})
            pipe.execute()
        scripts = scripts_for(self.connection)
        try:
            value = job.perform()
        except Exception as exc:
            scripts.run(
                "fail",
                keys=[
                    job.key,
                    self.keys.registry("started", self.name),
                    self.keys.registry("failed", self.name),
                    self.key,
                    self.keys.registry("scheduled", self.name),
                    self.keys.wake_channel(self.name),
                ],
                args=[
                    job.id,
                    "sync",
                    now_ms(),
                    traceback.format_exc(),
                    job.failure_ttl,
                    "",
                    0,
                    JobStatus.FAILED.value,
                    self.keys.prefix,
                ],
            )
            callback_error = run_failure_callback(job, type(exc), exc, exc.__traceback__)
            if callback_error:
                record_callback_error(self.connection, job, callback_error)
            job.refresh()
            raise
        scripts.run(
            "finish",
            keys=[
                job.key,
                self.keys.registry("started", self.name),
                self.keys.registry("finished", self.name),
            ],
            args=[
                job.id,
                "sync",
                now_ms(),
                job.result_ttl,
                job._encode(value, "the result"),
                self.keys.prefix,
            ],
        )
        callback_error = run_success_callback(job, value)
        if callback_error:
            record_callback_error(self.connection, job, callback_error)
        if job.result_ttl != 0:
            job.refresh()
        return job

    def cancel_job(self, job: Job | str, enqueue_dependents: bool = False) -> None:
        """Cancel a job that is queued, scheduled or deferred.

        Its dependents stay deferred, unless ``enqueue_dependents`` enqueues those that
        wait for nothing else (as in RQ). Raises :class:`InvalidJobOperation` if the job
        is running or done.
        """
        job_id = job.id if isinstance(job, Job) else job
        job = (
            job
            if isinstance(job, Job)
            else Job.fetch(job_id, self.connection, self.serializer, self.keys.prefix)
        )
        done = scripts_for(self.connection).run(
            "cancel",
            keys=[
                job.key,
                self.key,
                self.keys.registry("scheduled", self.name),
                self.keys.registry("deferred", self.name),
                self.keys.registry("canceled", self.name),
                self.keys.dependencies(job.id),
            ],
            args=[
                job.id,
                now_ms(),
                job.failure_ttl,
                "1" if enqueue_dependents else "0",
                self.keys.prefix,
            ],
        )
        if not done:
            raise InvalidJobOperation(
                f"job {job.id} is {job.get_status() or 'gone'}; only queued, scheduled or "
                "deferred jobs can be canceled"
            )
        job.refresh()


def _given_features(
    depends_on: Any, unique: bool, on_success: Any, on_failure: Any, on_stopped: Any
) -> dict[str, Any]:
    given = {
        "depends_on": depends_on,
        "on_success": on_success,
        "on_failure": on_failure,
        "on_stopped": on_stopped,
    }
    features = {k: v for k, v in given.items() if v is not None}
    if unique is not False:
        features["unique"] = unique
    return features


def check_enqueue_results(jobs: list[Job], results: list[Any]) -> None:
    """Apply pipelined enqueue answers to ``jobs``; raise for refused duplicates."""
    duplicates = []
    for job, result in zip(jobs, results, strict=True):
        if needs_checked_enqueue(job):
            try:
                apply_enqueue_result(job, result)
            except DuplicateJobError:
                duplicates.append(job.id)
    if duplicates:
        raise DuplicateJobError(
            f"unique=True refused job(s) {', '.join(duplicates)}: a live job has that id; "
            "the other jobs were enqueued"
        )
