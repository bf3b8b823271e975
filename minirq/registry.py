"""Registries: the per-queue sorted sets that hold jobs in every state but queued.

Each score is a time in epoch milliseconds: the lease deadline for started jobs, the due
time for scheduled jobs, the expiry for finished, failed and canceled jobs, and the time
of entry for deferred jobs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

import redis

from . import store
from .connection import resolve_connection
from .defaults import DEFAULT_QUEUE_NAME
from .exceptions import ConfigurationError, InvalidJobOperation, NoSuchJobError
from .job import Job, new_token
from .keys import Keys
from .serializers import Serializer, resolve_serializer
from .store import calls
from .utils import import_attribute, ms_to_datetime, now_ms

if TYPE_CHECKING:
    from .queue import Queue


def resolve_job_class(job_class: type[Job] | str | None) -> type[Job]:
    """A :class:`Job` subclass given as a class or a dotted path (``None``: ``Job``);
    raises :class:`ConfigurationError` for anything else."""
    if job_class is None:
        return Job
    found = import_attribute(job_class) if isinstance(job_class, str) else job_class
    if not (isinstance(found, type) and issubclass(found, Job)):
        raise ConfigurationError(f"job_class must be a subclass of minirq.Job, not {job_class!r}")
    return found


# Queue lives above this layer: queue.py hands its class here, for get_queue().
_queue_class: Callable[..., Queue] | None = None


def use_queue_class(queue_class: Callable[..., Queue]) -> None:
    """Make :meth:`BaseRegistry.get_queue` build queues of ``queue_class``."""
    global _queue_class
    _queue_class = queue_class


class BaseRegistry:
    """The jobs of one queue in one state."""

    kind: ClassVar[str]
    # Entries whose score has passed are expired jobs, removed by cleanup().
    expires: ClassVar[bool] = False

    def __init__(
        self,
        name: str = DEFAULT_QUEUE_NAME,
        connection: redis.Redis | None = None,
        queue: Queue | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        job_class: type[Job] | str | None = None,
    ) -> None:
        if queue is not None:
            name, connection = queue.name, queue.connection
            serializer, prefix = queue.serializer, queue.keys.prefix
            job_class = job_class or queue.job_class
        self.job_class = resolve_job_class(job_class)
        self.name = name
        self.connection = resolve_connection(connection)
        self.serializer = resolve_serializer(serializer)
        self.keys = Keys(prefix)
        self.key = self.keys.registry(self.kind, name)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BaseRegistry) and type(other) is type(self) and other.key == self.key
        )

    def __hash__(self) -> int:
        return hash(self.key)

    def cleanup(self, timestamp_ms: int | None = None) -> int:
        """Drop entries of jobs that have expired; returns how many were dropped."""
        if not self.expires:
            return 0
        cutoff = now_ms() if timestamp_ms is None else timestamp_ms
        try:
            return int(self.connection.zremrangebyscore(self.key, "-inf", f"({cutoff}"))
        except redis.ResponseError:
            # Not a sorted set (damaged data): there is nothing of ours to clean up.
            return 0

    @property
    def count(self) -> int:
        self.cleanup()
        try:
            return int(self.connection.zcard(self.key))
        except redis.ResponseError:
            return 0

    def __len__(self) -> int:
        return self.count

    def __contains__(self, item: object) -> bool:
        job_id = item.id if isinstance(item, Job) else item
        try:
            return self.connection.zscore(self.key, str(job_id)) is not None
        except redis.ResponseError:
            return False

    def get_job_count(self, cleanup: bool = True) -> int:
        """How many jobs the registry holds (expired entries dropped first, unless not
        ``cleanup``)."""
        if cleanup:
            self.cleanup()
        try:
            return int(self.connection.zcard(self.key))
        except redis.ResponseError:
            return 0

    def get_job_ids(
        self, start: int = 0, end: int = -1, desc: bool = False, cleanup: bool = True
    ) -> list[str]:
        """Ids by score, oldest (or soonest) first; ``desc`` for the reverse order."""
        if cleanup:
            self.cleanup()
        return store.jobs.registry_ids(self.connection, self.key, start, end, desc)

    def get_queue(self) -> Queue:
        """The queue whose jobs this registry holds."""
        if _queue_class is None:
            raise RuntimeError("import minirq.queue before calling get_queue()")
        return _queue_class(
            self.name, connection=self.connection, serializer=self.serializer,
            prefix=self.keys.prefix, job_class=self.job_class,
        )  # fmt: skip

    def get_expiration_time(self, job: Job | str) -> datetime | None:
        """When the job's entry expires (for a started job: its lease deadline); ``None``
        when it never does or is not in the registry."""
        score = self.get_score(job.id if isinstance(job, Job) else job)
        if score is None or math.isinf(score):
            return None
        return ms_to_datetime(int(score))

    def get_jobs(self, start: int = 0, end: int = -1, desc: bool = False) -> list[Job]:
        ids = self.get_job_ids(start, end, desc)
        jobs = self.job_class.fetch_many(ids, self.connection, self.serializer, self.keys.prefix)
        return [job for job in jobs if job is not None]

    def get_score(self, job_id: str) -> float | None:
        try:
            score: Any = self.connection.zscore(self.key, job_id)
        except redis.ResponseError:
            return None
        return None if score is None else float(score)

    def remove(self, job: Job | str, delete_job: bool = False) -> None:
        """Take a job out of the registry, and delete it too with ``delete_job``."""
        job_id = job.id if isinstance(job, Job) else job
        with self.connection.pipeline() as pipe:
            pipe.zrem(self.key, job_id)
            if delete_job:
                pipe.delete(self.keys.job(job_id))
            pipe.execute()

    def requeue(self, job_or_id: Job | str, at_front: bool = False) -> Job:
        """Move a job from this registry back onto its queue.

        Raises :class:`InvalidJobOperation` if the job is not in this registry.
        """
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        moved = store.runner_for(self.connection).run(
            calls.requeue(
                self.keys,
                queue=self.name,
                registry=self.kind,
                job_id=job_id,
                at_front=at_front,
                run_token="",
                op_token=new_token(),
            )
        )
        if not moved:
            raise InvalidJobOperation(f"job {job_id} is not in {self.kind} registry {self.name!r}")
        return self.job_class.fetch(job_id, self.connection, self.serializer, self.keys.prefix)

    def requeue_all(self) -> int:
        """Requeue every job of the registry; returns how many were moved."""
        count = 0
        for job_id in self.get_job_ids():
            try:
                self.requeue(job_id)
                count += 1
            except InvalidJobOperation:
                continue
        return count


class StartedJobRegistry(BaseRegistry):
    """Running jobs, each scored by its lease deadline; the reaper recovers expired ones."""

    kind = "started"


class FinishedJobRegistry(BaseRegistry):
    kind = "finished"
    expires = True


class FailedJobRegistry(BaseRegistry):
    kind = "failed"
    expires = True


class CanceledJobRegistry(BaseRegistry):
    kind = "canceled"
    expires = True


class ScheduledJobRegistry(BaseRegistry):
    """Jobs waiting for their due time (the score, in epoch milliseconds)."""

    kind = "scheduled"

    def get_scheduled_time(self, job_or_id: Job | str) -> datetime:
        """When the job is due, as an aware UTC datetime; raises :class:`NoSuchJobError`
        if it is not scheduled in this registry."""
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        score = self.get_score(job_id)
        if score is None:
            raise NoSuchJobError(f"job {job_id} is not in scheduled registry {self.name!r}")
        due = ms_to_datetime(int(score))
        assert due is not None
        return due


class DeferredJobRegistry(BaseRegistry):
    """Jobs waiting for the jobs they depend on."""

    kind = "deferred"


REGISTRY_CLASSES: dict[str, type[BaseRegistry]] = {
    cls.kind: cls
    for cls in (
        StartedJobRegistry,
        FinishedJobRegistry,
        FailedJobRegistry,
        ScheduledJobRegistry,
        DeferredJobRegistry,
        CanceledJobRegistry,
    )
}


class QueueRegistries:
    """A queue's registries, one property per job state (mixed into :class:`Queue`)."""

    @property
    def started_job_registry(self) -> StartedJobRegistry:
        return StartedJobRegistry(queue=cast("Queue", self))

    @property
    def finished_job_registry(self) -> FinishedJobRegistry:
        return FinishedJobRegistry(queue=cast("Queue", self))

    @property
    def failed_job_registry(self) -> FailedJobRegistry:
        return FailedJobRegistry(queue=cast("Queue", self))

    @property
    def scheduled_job_registry(self) -> ScheduledJobRegistry:
        return ScheduledJobRegistry(queue=cast("Queue", self))

    @property
    def deferred_job_registry(self) -> DeferredJobRegistry:
        return DeferredJobRegistry(queue=cast("Queue", self))

    @property
    def canceled_job_registry(self) -> CanceledJobRegistry:
        return CanceledJobRegistry(queue=cast("Queue", self))


def clean_registries(queue: Queue) -> None:
    """Drop the expired entries of a queue's finished, failed and canceled registries,
    and recover jobs whose lease ran out (as workers do on their own, every few seconds):
    a lost job goes back to its queue, or to failed once it was lost too often."""
    for registry in (
        queue.finished_job_registry,
        queue.failed_job_registry,
        queue.canceled_job_registry,
    ):
        registry.cleanup()
    store.reap_expired_leases(queue.connection, queue.keys, also=[queue.name])
