"""Groups: jobs enqueued together and followed together.

``Group.create(connection).enqueue_many(queue, [Queue.prepare_data(...), ...])`` writes all
the jobs, and the group's record of them, in one MULTI transaction: either every job is
enqueued and in the group, or none. A group is a SET of job ids; each job records its
``group_id``. Ids of jobs that expired are dropped by :meth:`Group.cleanup`, and a group
with no jobs left disappears.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from typing import Any

import redis

from . import store
from .callables import validate_job_id
from .connection import resolve_connection
from .exceptions import InvalidJobError, NoSuchGroupError
from .job import Job, JobStatus
from .keys import Keys
from .queue import EnqueueData, Queue
from .store.record import text_or_none

# A group is "pending" while any job may still run.
_PENDING = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


def _status(value: bytes | None) -> JobStatus | None:
    text = text_or_none(value)
    try:
        return JobStatus(text) if text else None
    except ValueError:
        return None


class Group:
    """A named set of jobs. Get one with :meth:`create` or :meth:`fetch`."""

    def __init__(
        self, name: str, connection: redis.Redis | None = None, prefix: str | None = None
    ) -> None:
        try:
            self.name = validate_job_id(name)
        except InvalidJobError as exc:
            raise InvalidJobError(str(exc).replace("job_id", "group name")) from None
        self.connection = resolve_connection(connection)
        self.keys = Keys(prefix)
        self.key = self.keys.group(self.name)

    def __repr__(self) -> str:
        return f"<Group {self.name}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Group) and (other.name, other.keys.prefix) == (
            self.name,
            self.keys.prefix,
        )

    def __hash__(self) -> int:
        return hash((self.name, self.keys.prefix))

    @classmethod
    def create(
        cls,
        connection: redis.Redis | None = None,
        name: str | None = None,
        prefix: str | None = None,
    ) -> Group:
        """A new group (named at random unless ``name``); written with its first jobs."""
        return cls(name or uuid.uuid4().hex, connection=connection, prefix=prefix)

    @classmethod
    def fetch(
        cls, name: str, connection: redis.Redis | None = None, prefix: str | None = None
    ) -> Group:
        """The group ``name``; raises :class:`NoSuchGroupError` (a :class:`NoSuchJobError`)
        if it has no jobs left."""
        group = cls(name, connection=connection, prefix=prefix)
        if not group.connection.exists(group.key):
            raise NoSuchGroupError(f"no group named {name!r}")
        return group

    @classmethod
    def all(cls, connection: redis.Redis | None = None, prefix: str | None = None) -> list[Group]:
        """Every group that still has jobs."""
        connection = resolve_connection(connection)
        keys = Keys(prefix)
        groups = []
        for member in store.jobs.names(connection.smembers(keys.groups)):
            try:
                group = cls(member, connection=connection, prefix=prefix)
            except InvalidJobError:
                continue
            if group.cleanup():
                groups.append(group)
        return groups

    def enqueue_many(self, queue: Queue | str, job_datas: Iterable[EnqueueData]) -> list[Job]:
        """Validate and enqueue the jobs of ``job_datas`` on ``queue`` into this group.

        One transaction: all jobs and the group record are written, or nothing (a job
        refused at validation, or :class:`DuplicateJobError` when a live job has the id
        of one of them).
        """
        if isinstance(queue, str):
            queue = Queue(queue, connection=self.connection, prefix=self.keys.prefix)
        if queue.keys.prefix != self.keys.prefix:
            raise InvalidJobError("a group and its queue must use the same key prefix")
        jobs = []
        for data in job_datas:
            job = queue.create_job(data.func, data.args, data.kwargs, data.options)
            job.record.group_id = self.name
            jobs.append((job, data.options.at_front))
        if not jobs:
            return []
        if not queue.is_async:
            return [queue.enqueue_job(job, at_front) for job, at_front in jobs]
        ids = [job.id for job, _ in jobs]

        def record_group(pipe: Any) -> None:
            pipe.sadd(self.key, *ids)
            pipe.sadd(self.keys.groups, self.name)

        queue.write_all(jobs, record_group)
        return [job for job, _ in jobs]

    def get_job_ids(self) -> list[str]:
        return sorted(store.jobs.ids(self.connection.smembers(self.key)))

    def get_jobs(self, serializer: Any = None) -> list[Job]:
        """The group's jobs that still exist."""
        jobs = Job.fetch_many(self.get_job_ids(), self.connection, serializer, self.keys.prefix)
        return [job for job in jobs if job is not None]

    def get_statuses(self) -> dict[str, JobStatus | None]:
        """Each job id with its status (``None`` once the job has expired or was deleted)."""
        ids = self.get_job_ids()
        with self.connection.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hget(self.keys.job(job_id), "status")
            values = pipe.execute()
        return {job_id: _status(v) for job_id, v in zip(ids, values, strict=True)}

    def get_status(self) -> str:
        """``"pending"`` while a job may still run, ``"finished"`` when every job finished,
        ``"failed"`` when all ended and at least one failed, was stopped or canceled.
        Jobs that expired are not counted."""
        counts = Counter(s for s in self.get_statuses().values() if s is not None)
        if any(status in _PENDING for status in counts):
            return "pending"
        if set(counts) <= {JobStatus.FINISHED}:
            return "finished"
        return "failed"

    def cleanup(self) -> int:
        """Drop the ids of jobs that no longer exist; returns how many jobs remain."""
        gone = [job_id for job_id, status in self.get_statuses().items() if status is None]
        with self.connection.pipeline(transaction=True) as pipe:
            if gone:
                pipe.srem(self.key, *gone)
            pipe.scard(self.key)
            remaining = int(pipe.execute()[-1])
        if remaining == 0:
            self.connection.srem(self.keys.groups, self.name)
        return remaining

    def delete(self, delete_jobs: bool = False) -> None:
        """Forget the group; with ``delete_jobs``, delete its jobs too."""
        if delete_jobs:
            for job in self.get_jobs():
                job.delete()
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.delete(self.key)
            pipe.srem(self.keys.groups, self.name)
            pipe.execute()
