"""What a worker is built from: its connection and queues, RQ's constructor options, and
the order it fetches in (the dequeue strategy); part of :class:`BaseWorker`.

A worker given no ``connection`` takes the one its queues share (so
``Worker([Queue("a", connection=r)])`` works on ``r``, as in RQ); queues on different
Redis servers are refused. A worker given no queues listens on every queue under its
prefix: the names in the set of known queues (every queue that has had a job enqueued),
in name order, read again at most once a second, so a new queue is picked up within
about a second.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

from . import store
from .connection import resolve_connection
from .exceptions import ConfigurationError
from .job import Job
from .keys import Keys
from .queue import Queue
from .serializers import Serializer
from .utils import import_attribute
from .worker_records import (
    DequeueStrategy,
    QueueNames,
    WorkerInfo,
    count_workers,
    find_worker,
    live_workers,
)

# RQ's constructor options that have no counterpart here: accepted so that RQ code runs,
# with no effect (maintenance runs every heartbeat; leases replace the monitoring
# interval; each job's start is logged with its function name, never its arguments;
# default_worker_ttl is worker_ttl's old name, read as it).
_ACCEPTED_WITHOUT_EFFECT = (
    "maintenance_interval",
    "job_monitoring_interval",
    "log_job_description",
    "prepare_for_work",
    "default_worker_ttl",
)


@dataclass(frozen=True)
class RQWorkerOptions:
    """RQ's worker constructor options, validated."""

    default_result_ttl: int | None = None
    worker_ttl: int | None = None
    job_class: type[Job] = Job
    queue_class: type[Queue] = Queue
    disable_default_exception_handler: bool = False
    work_horse_killed_handler: Callable[..., Any] | None = None


def rq_worker_options(options: Mapping[str, Any]) -> RQWorkerOptions:
    """Validate RQ's constructor keywords; raises ``TypeError`` for an unknown one (as a
    misspelt keyword argument would) and :class:`ConfigurationError` for a bad value."""
    known = {*RQWorkerOptions.__dataclass_fields__, *_ACCEPTED_WITHOUT_EFFECT}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) for a worker: {', '.join(unknown)}")
    ttl = options.get("worker_ttl") or options.get("default_worker_ttl")
    result_ttl = options.get("default_result_ttl")
    for name, value in (("worker_ttl", ttl), ("default_result_ttl", result_ttl)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ConfigurationError(f"{name} must be a whole number of seconds, not {value!r}")
    if ttl is not None and ttl < 1:
        raise ConfigurationError(f"worker_ttl must be at least 1 second, not {ttl!r}")
    if result_ttl is not None and result_ttl < -1:
        raise ConfigurationError(f"default_result_ttl must be -1 or more, not {result_ttl!r}")
    return RQWorkerOptions(
        default_result_ttl=result_ttl,
        worker_ttl=ttl,
        job_class=_class_option(options.get("job_class"), Job, "job_class"),
        queue_class=_class_option(options.get("queue_class"), Queue, "queue_class"),
        disable_default_exception_handler=bool(options.get("disable_default_exception_handler")),
        work_horse_killed_handler=_handler_option(options.get("work_horse_killed_handler")),
    )


def _handler_option(value: Any) -> Callable[..., Any] | None:
    if isinstance(value, str):
        try:
            value = import_attribute(value)
        except Exception as exc:
            raise ConfigurationError(
                f"cannot import work_horse_killed_handler {value!r}: {type(exc).__name__}: {exc}"
            ) from None
    if value is not None and not callable(value):
        raise ConfigurationError(f"work_horse_killed_handler {value!r} is not callable")
    handler: Callable[..., Any] | None = value
    return handler


def _class_option(value: Any, base: type[Any], what: str) -> Any:
    if value is None:
        return base
    if isinstance(value, str):
        try:
            value = import_attribute(value)
        except Exception as exc:
            raise ConfigurationError(
                f"cannot import {what} {value!r}: {type(exc).__name__}: {exc}"
            ) from None
    if not isinstance(value, type) or not issubclass(value, base):
        raise ConfigurationError(f"{what} must be {base.__name__} or a subclass, not {value!r}")
    return value


def _server(connection: Any) -> tuple[Any, ...] | None:
    """Which Redis server and database a client talks to (``None`` if it cannot tell)."""
    kwargs = getattr(getattr(connection, "connection_pool", None), "connection_kwargs", None)
    if not isinstance(kwargs, dict):
        return None
    return tuple(kwargs.get(k) for k in ("host", "port", "path", "db", "username"))


def shared_connection(queues: Iterable[Any], connection: redis.Redis | None) -> redis.Redis:
    """The connection a worker uses: ``connection``, else the one its queues share.

    Raises :class:`ConfigurationError` when queue objects talk to another Redis server
    or database than the worker (it would never see their jobs)."""
    given = [q for q in queues if isinstance(q, Queue)]
    chosen = connection if connection is not None else (given[0].connection if given else None)
    chosen = resolve_connection(chosen)
    for queue in given:
        if queue.connection is chosen:
            continue
        theirs, ours = _server(queue.connection), _server(chosen)
        if theirs is not None and ours is not None and theirs != ours:
            source = "the worker's connection" if connection is not None else "the first queue"
            raise ConfigurationError(
                f"queue {queue.name!r} uses another Redis ({_shown(theirs)}) than "
                f"{source} ({_shown(ours)}); a worker takes jobs from one Redis: give "
                "it queues on one server, or connection= for all of them"
            )
    return chosen


def _shown(server: tuple[Any, ...]) -> str:
    host, port, path, db, _ = server
    return f"{path or f'{host}:{port}'} db {db or 0}"


def build_queues(
    queues: Queue | str | Iterable[Queue | str] | None,
    connection: redis.Redis,
    serializer: Serializer | str | None,
    prefix: str | None,
    queue_class: type[Queue],
) -> list[Queue]:
    """Queue objects for ``queues`` (names become ``queue_class`` on ``connection``);
    queues under different prefixes are refused."""
    if queues is None:
        queues = []
    elif isinstance(queues, Queue | str):
        queues = [queues]
    built = [
        q
        if isinstance(q, Queue)
        else queue_class(q, connection=connection, serializer=serializer, prefix=prefix)
        for q in queues
    ]
    prefixes = {q.keys.prefix for q in built}
    if len(prefixes) > 1:
        raise ConfigurationError(
            f"a worker's queues must share one key prefix, not {sorted(prefixes)}"
        )
    return built


def all_queues(worker: Any) -> list[Queue]:
    """Every known queue under the worker's prefix, in name order (for a worker
    started without queues)."""
    names = sorted(store.jobs.queue_names(worker.connection, worker.keys))
    kept = {q.name: q for q in worker.queues}
    queues = []
    for name in names:
        if name in kept:
            queues.append(kept[name])
            continue
        try:
            queues.append(
                worker.queue_class(
                    name,
                    connection=worker.connection,
                    serializer=worker.serializer,
                    prefix=worker.keys.prefix,
                )
            )
        except ConfigurationError:
            continue
    return queues


def parse_dequeue_strategy(value: Any) -> DequeueStrategy:
    try:
        return DequeueStrategy(value)
    except ValueError:
        choices = ", ".join(s.value for s in DequeueStrategy)
        raise ConfigurationError(
            f"unknown dequeue strategy {value!r}; choose one of {choices}"
        ) from None


class WorkerOptionsMixin:
    """RQ's accessors and class methods on a worker, and the order of its fetches."""

    #: The dequeue strategy of ``work()`` when it is given none.
    default_dequeue_strategy = DequeueStrategy.DEFAULT

    connection: redis.Redis
    keys: Any
    name: str
    queues: list[Queue]
    serializer: Any
    dequeue_strategy: DequeueStrategy
    listens_on_all: bool
    job_class: type[Job]
    queue_class: type[Queue]
    default_result_ttl: int | None
    disable_default_exception_handler: bool
    work_horse_killed_handler: Callable[..., Any] | None
    successful_job_count: int
    failed_job_count: int
    birth_date: Any
    last_heartbeat: Any
    _order: list[str]

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

    def _set_up_queues(
        self,
        queues: Queue | str | Iterable[Queue | str] | None,
        connection: redis.Redis | None,
        serializer: Serializer | str | None,
        prefix: str | None,
        options: Mapping[str, Any],
    ) -> RQWorkerOptions:
        """Set the connection, queues and keys, and RQ's options (returned, validated)."""
        rq = rq_worker_options(options)
        self.job_class, self.queue_class = rq.job_class, rq.queue_class
        self.default_result_ttl = rq.default_result_ttl
        self.disable_default_exception_handler = rq.disable_default_exception_handler
        self.work_horse_killed_handler = rq.work_horse_killed_handler
        self.serializer = serializer
        given = [queues] if isinstance(queues, Queue | str) else list(queues or [])
        self.connection = shared_connection(given, connection)
        self.queues = build_queues(given, self.connection, serializer, prefix, self.queue_class)
        self.listens_on_all = not self.queues
        self.keys = self.queues[0].keys if self.queues else Keys(prefix)
        self.dequeue_strategy = DequeueStrategy.DEFAULT
        self._order = []
        return rq

    def _own_record(self) -> WorkerInfo | None:
        return find_worker(self.keys.worker(self.name), self.connection, self.serializer)

    def refresh(self) -> None:
        """Read this worker's counters and state back from its record in Redis."""
        record = self._own_record()
        if record is not None:
            self.successful_job_count = record.successful_job_count
            self.failed_job_count = record.failed_job_count
            self.birth_date = record.birth
            self.last_heartbeat = record.last_heartbeat

    def get_state(self) -> str:
        return str(getattr(self, "state", ""))

    def get_current_job_id(self) -> str | None:
        job = getattr(self, "current_job", None)
        return job.id if job is not None else None

    def get_current_job(self) -> Job | None:
        job: Job | None = getattr(self, "current_job", None)
        return job

    @property
    def total_working_time(self) -> float:
        """Seconds spent running jobs (this process's count)."""
        return float(getattr(self, "total_working_time_s", 0.0))

    def ordered_queues(self, queues: list[Queue]) -> list[Queue]:
        """``queues`` in the order the next fetch tries them."""
        if self.dequeue_strategy is DequeueStrategy.RANDOM:
            shuffled = list(queues)
            random.shuffle(shuffled)
            return shuffled
        if self.dequeue_strategy is DequeueStrategy.ROUND_ROBIN and self._order:
            rank = {name: i for i, name in enumerate(self._order)}
            return sorted(queues, key=lambda q: rank.get(q.name, len(rank)))
        return queues

    def took_from(self, queue: Queue) -> None:
        """After a job from ``queue``: with round robin, the next fetch starts after it."""
        if self.dequeue_strategy is not DequeueStrategy.ROUND_ROBIN:
            return
        names = [q.name for q in self.queues]
        if queue.name in names:
            i = names.index(queue.name)
            self._order = names[i + 1 :] + names[: i + 1]

    @property
    def queue_names(self) -> QueueNames:
        return QueueNames(q.name for q in self.queues)


__all__ = [
    "RQWorkerOptions",
    "WorkerOptionsMixin",
    "all_queues",
    "build_queues",
    "parse_dequeue_strategy",
    "rq_worker_options",
    "shared_connection",
]
