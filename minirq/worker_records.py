"""Reading workers back from Redis: ``Worker.all``, ``Worker.count``, ``find_by_key``.

Each live worker keeps a hash (written by :mod:`minirq.presence`); a :class:`WorkerInfo`
is a snapshot of one, with RQ's names (``birth_date``, ``queues``, ``state``,
``get_current_job()``, ``refresh()``). Reading never raises on bad data: a field that is
not what a worker writes reads as empty (or zero), and a worker whose name is not text is
skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import redis

from . import store
from .connection import resolve_connection
from .exceptions import NoSuchJobError
from .job import Job
from .keys import Keys
from .queue import Queue
from .store.record import int_or_none, text_or_none
from .utils import ms_to_datetime

# What a worker listening on every queue writes as its queue names.
ALL_QUEUES_MARK = "*"


class WorkerState:
    """The states a worker records (compare with :class:`WorkerStatus` as well)."""

    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    SUSPENDED = "suspended"


class WorkerStatus(StrEnum):
    """RQ's names for a worker's state; equal to the text a worker records."""

    STARTED = "started"
    SUSPENDED = "suspended"
    BUSY = "busy"
    IDLE = "idle"


class DequeueStrategy(StrEnum):
    """How a worker orders its queues before each fetch (RQ's names).

    ``default``: strict priority, in the order given. ``round_robin``: after taking a job
    from a queue, start the next fetch at the queue after it. ``random``: shuffle before
    each fetch. Every fetch still takes the first job of the first non-empty queue of that
    order, under a lease, in one step.
    """

    DEFAULT = "default"
    ROUND_ROBIN = "round_robin"
    RANDOM = "random"


class QueueNames(list[str]):
    """A list of queue names that can also be called, as RQ's ``queue_names()`` is."""

    def __call__(self) -> list[str]:
        return list(self)


@dataclass
class WorkerInfo:
    """A live worker as recorded in Redis, for ``Worker.all`` and the dashboard.

    ``queue_names`` is empty and ``listens_on_all`` true for a worker started without
    queues (it takes jobs from every queue).
    """

    name: str
    hostname: str
    pid: int
    state: str
    queue_names: QueueNames
    current_job_id: str | None
    birth: datetime | None
    last_heartbeat: datetime | None
    successful_job_count: int
    failed_job_count: int
    total_working_time: float
    listens_on_all: bool = False
    connection: redis.Redis | None = field(default=None, repr=False, compare=False)
    prefix: str | None = field(default=None, repr=False, compare=False)
    serializer: Any = field(default=None, repr=False, compare=False)

    @property
    def birth_date(self) -> datetime | None:
        return self.birth

    @property
    def key(self) -> str:
        return Keys(self.prefix).worker(self.name)

    @property
    def queues(self) -> list[Queue]:
        """The worker's queues (every known queue, for a worker listening on all)."""
        if self.listens_on_all:
            return Queue.all(self.connection, self.serializer, self.prefix)
        return [
            Queue(n, connection=self.connection, serializer=self.serializer, prefix=self.prefix)
            for n in self.queue_names
        ]

    def get_state(self) -> str:
        return self.state

    def get_current_job_id(self) -> str | None:
        return self.current_job_id

    @property
    def current_job(self) -> Job | None:
        return self.get_current_job()

    def get_current_job(self) -> Job | None:
        """The job the worker is running (``None`` when idle, or if it is gone)."""
        if self.current_job_id is None:
            return None
        try:
            return Job.fetch(
                self.current_job_id, self.connection, self.serializer, prefix=self.prefix
            )
        except NoSuchJobError:
            return None

    def refresh(self) -> None:
        """Read the worker's record again; a worker that has gone keeps its last values."""
        record = _read_record(resolve_connection(self.connection), self.key)
        if record:
            fresh = worker_info(self.name, record, self.connection, self.prefix, self.serializer)
            for name in _REFRESHED:
                setattr(self, name, getattr(fresh, name))


_REFRESHED = (
    "hostname",
    "pid",
    "state",
    "queue_names",
    "current_job_id",
    "birth",
    "last_heartbeat",
    "successful_job_count",
    "failed_job_count",
    "total_working_time",
    "listens_on_all",
)


def _read_record(connection: redis.Redis, key: str) -> dict[Any, Any]:
    try:
        record = connection.hgetall(key)
    except redis.ResponseError:
        return {}
    return record if isinstance(record, dict) else {}


def worker_info(
    name: str,
    record: dict[Any, Any],
    connection: redis.Redis | None = None,
    prefix: str | None = None,
    serializer: Any = None,
) -> WorkerInfo:
    """The :class:`WorkerInfo` of one worker hash, whatever its fields hold."""
    fields: dict[str, Any] = {}
    for key, value in record.items():
        name_text = text_or_none(key)
        if name_text is not None:
            fields[name_text] = value

    def text_of(field_name: str) -> str:
        return text_or_none(fields.get(field_name)) or ""

    def number(field_name: str) -> int:
        return int_or_none(fields.get(field_name)) or 0

    birth, beat = int_or_none(fields.get("birth")), int_or_none(fields.get("last_heartbeat"))
    queues_text = text_of("queues")
    listens_on_all = queues_text == ALL_QUEUES_MARK
    return WorkerInfo(
        name=name,
        hostname=text_of("hostname"),
        pid=number("pid"),
        state=text_of("state"),
        queue_names=QueueNames([] if listens_on_all else [q for q in queues_text.split(",") if q]),
        current_job_id=text_of("job") or None,
        birth=ms_to_datetime(birth) if birth else None,
        last_heartbeat=ms_to_datetime(beat) if beat else None,
        successful_job_count=number("successful"),
        failed_job_count=number("failed"),
        total_working_time=number("working_ms") / 1000,
        listens_on_all=listens_on_all,
        connection=connection,
        prefix=prefix,
        serializer=serializer,
    )


def live_workers(
    connection: redis.Redis | None = None,
    prefix: str | None = None,
    queue: Queue | str | None = None,
    serializer: Any = None,
) -> list[WorkerInfo]:
    """Every live worker (listening on ``queue``, if given); records of workers that died
    are dropped from the set of workers."""
    if isinstance(queue, Queue):
        connection = queue.connection if connection is None else connection
        prefix = queue.keys.prefix if prefix is None else prefix
    connection = resolve_connection(connection)
    keys = Keys(prefix)
    try:
        names = store.jobs.names(connection.smembers(keys.workers))
    except redis.ResponseError:
        return []
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.worker(name))
        records = pipe.execute(raise_on_error=False)
    workers, dead = [], []
    for name, record in zip(names, records, strict=True):
        if not isinstance(record, dict):
            continue
        if not record:
            dead.append(name)
            continue
        workers.append(worker_info(name, record, connection, keys.prefix, serializer))
    if dead:
        connection.srem(keys.workers, *dead)
    if queue is not None:
        wanted = queue.name if isinstance(queue, Queue) else queue
        workers = [w for w in workers if w.listens_on_all or wanted in w.queue_names]
    return workers


def find_worker(
    worker_key: str, connection: redis.Redis | None = None, serializer: Any = None
) -> WorkerInfo | None:
    """The worker whose record is at ``worker_key`` (``<prefix>:worker:<name>``), or
    ``None`` if it is not alive. Raises ``ValueError`` for a key that names no worker."""
    prefix, sep, name = worker_key.rpartition(":worker:")
    if not sep or not prefix or not name:
        raise ValueError(f"not a worker key: {worker_key!r} (expected <prefix>:worker:<name>)")
    connection = resolve_connection(connection)
    keys = Keys(prefix)
    record = _read_record(connection, keys.worker(name))
    if not record:
        connection.srem(keys.workers, name)
        return None
    return worker_info(name, record, connection, keys.prefix, serializer)


def count_workers(
    connection: redis.Redis | None = None,
    prefix: str | None = None,
    queue: Queue | str | None = None,
) -> int:
    """How many live workers there are (listening on ``queue``, if given)."""
    return len(live_workers(connection, prefix, queue))


def worker_queue_field(queue_names: Iterable[str], listens_on_all: bool) -> str:
    """What a worker writes as its queues: names joined by commas, or the all-queues mark."""
    return ALL_QUEUES_MARK if listens_on_all else ",".join(queue_names)


__all__ = [
    "ALL_QUEUES_MARK",
    "DequeueStrategy",
    "QueueNames",
    "WorkerInfo",
    "WorkerState",
    "WorkerStatus",
    "count_workers",
    "find_worker",
    "live_workers",
    "worker_info",
    "worker_queue_field",
]
