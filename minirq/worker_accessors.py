"""RQ's accessors and class methods on a worker: ``Worker.all``, ``count``, ``all_keys``,
``find_by_key``, and on a worker ``refresh()``, ``get_state()``, ``get_current_job()``,
``queue_names()``, ``worker_ttl``, ``set_state()``; workers are equal when they have the
same record in Redis. Part of :class:`~minirq.base_worker.BaseWorker`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis

from .exceptions import NoSuchJobError
from .job import Job
from .queue import Queue
from .serializers import Serializer
from .worker_records import (
    QueueNames,
    WorkerInfo,
    count_workers,
    find_worker,
    live_workers,
    positive_ttl,
)


class WorkerAccessorsMixin:
    #: When :meth:`clean_registries` last ran (RQ's name), ``None`` before.
    last_cleaned_at: datetime | None = None

    connection: redis.Redis
    keys: Any
    key: str
    name: str
    queues: list[Queue]
    serializer: Any
    state: str
    job_class: type[Job]
    successful_job_count: int
    failed_job_count: int
    birth_date: Any
    last_heartbeat: Any
    worker_ttl_s: int
    heartbeat_interval_s: float
    lease_s: float

    def housekeep(self) -> None:
        raise NotImplementedError

    def clean_registries(self) -> None:
        """Drop expired registry entries and recover jobs whose worker died, now (a
        worker does it on its own with its heartbeats)."""
        self.housekeep()
        self.last_cleaned_at = datetime.now(UTC)

    @classmethod
    def all(
        cls,
        connection: redis.Redis | None = None,
        prefix: str | None = None,
        queue: Queue | str | None = None,
        serializer: Serializer | str | None = None,
        **_classes: Any,
    ) -> list[WorkerInfo]:
        """Every live worker (listening on ``queue``, if given); records of workers
        that died are dropped. ``job_class``/``queue_class`` are accepted for RQ code."""
        return live_workers(connection, prefix, queue, serializer)

    @classmethod
    def count(
        cls,
        connection: redis.Redis | None = None,
        queue: Queue | str | None = None,
        prefix: str | None = None,
    ) -> int:
        """How many live workers there are (listening on ``queue``, if given)."""
        return count_workers(connection, prefix, queue)

    @classmethod
    def all_keys(
        cls,
        connection: redis.Redis | None = None,
        queue: Queue | str | None = None,
        prefix: str | None = None,
    ) -> list[str]:
        return [w.key for w in live_workers(connection, prefix, queue)]

    @classmethod
    def find_by_key(
        cls,
        worker_key: str,
        connection: redis.Redis | None = None,
        serializer: Serializer | str | None = None,
        **_classes: Any,
    ) -> WorkerInfo | None:
        """The live worker whose record is ``worker_key``, or ``None``."""
        return find_worker(worker_key, connection, serializer)

    def _own_record(self) -> WorkerInfo | None:
        return find_worker(self.keys.worker(self.name), self.connection, self.serializer)

    def refresh(self) -> None:
        """Read the state, current job and counters of the worker of this name back from
        its record in Redis (another process's, when this object does not run)."""
        record = self._own_record()
        if record is not None:
            self.state = record.state
            self._recorded_job_id = record.current_job_id
            self.successful_job_count = record.successful_job_count
            self.failed_job_count = record.failed_job_count
            self.birth_date = record.birth
            self.last_heartbeat = record.last_heartbeat

    def get_state(self) -> str:
        return self.state

    def get_current_job_id(self) -> str | None:
        """The running job's id (as last read by :meth:`refresh` if this object is not
        the one running it)."""
        job = getattr(self, "current_job", None)
        return job.id if job is not None else getattr(self, "_recorded_job_id", None)

    def get_current_job(self) -> Job | None:
        job: Job | None = getattr(self, "current_job", None)
        job_id = self.get_current_job_id()
        if job is None and job_id is not None:
            try:
                job = self.job_class.fetch(
                    job_id, self.connection, self.serializer, self.keys.prefix
                )
            except NoSuchJobError:
                return None
        return job

    @property
    def total_working_time(self) -> float:
        """Seconds spent running jobs (this process's count)."""
        return float(getattr(self, "total_working_time_s", 0.0))

    @property
    def queue_names(self) -> QueueNames:
        return QueueNames(q.name for q in self.queues)

    def queue_keys(self) -> list[str]:
        return [q.key for q in self.queues]

    @property
    def worker_ttl(self) -> int:
        """Seconds the worker's record outlives its last heartbeat (RQ's name)."""
        return self.worker_ttl_s

    @worker_ttl.setter
    def worker_ttl(self, seconds: int) -> None:
        self.worker_ttl_s = positive_ttl(seconds)
        self.heartbeat_interval_s = min(self.lease_s / 3, self.worker_ttl_s / 3)

    def set_state(self, state: str) -> None:
        """Record ``state`` (a :class:`WorkerStatus`) as the worker's, here and in Redis."""
        self.state = str(state)
        self.connection.hset(self.key, "state", self.state)

    def __eq__(self, other: object) -> bool:
        # Workers are the same worker when they have the same record, as in RQ.
        key = getattr(other, "key", None)
        return isinstance(key, str) and key == self.key and hasattr(other, "queue_names")

    def __hash__(self) -> int:
        return hash(self.key)


__all__ = ["WorkerAccessorsMixin"]
