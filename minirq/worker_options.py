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
from .serializers import Serializer, resolve_serializer
from .utils import import_attribute
from .worker_accessors import WorkerAccessorsMixin
from .worker_records import (
    DequeueStrategy,
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
    job_class: type[Job] | None = None
    queue_class: type[Queue] | None = None
    disable_default_exception_handler: bool = False
    work_horse_killed_handler: Callable[..., Any] | None = None


def rq_worker_options(options: Mapping[str, Any]) -> RQWorkerOptions:
    """Validate RQ's constructor keywords; raises ``TypeError`` for an unknown one (as a
    misspelt keyword argument would) and :class:`ConfigurationError` for a bad value."""
    known = {*RQWorkerOptions.__dataclass_fields__, *_ACCEPTED_WITHOUT_EFFECT}
    unknown = sorted(set(options) - known)
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) for a worker: {', '.join(unknown)}")
    ttl = options.get("worker_ttl")
    ttl = options.get("default_worker_ttl") if ttl is None else ttl
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


def handler_list(value: Any) -> list[Any]:
    """``exception_handlers`` as a list: one function or dotted path, or a list of them."""
    if value is None:
        return []
    if callable(value) or isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise ConfigurationError(
        f"exception_handlers must be a function, a dotted path or a list of them, not {value!r}"
    )


def _class_option(value: Any, base: type[Any], what: str) -> Any:
    if value is None:
        return None
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


class WorkerOptionsMixin(WorkerAccessorsMixin):
    """Setting a worker up from its queues and RQ's options, and the order of its
    fetches; RQ's accessors come from :class:`WorkerAccessorsMixin`."""

    #: The dequeue strategy of ``work()`` when it is given none.
    default_dequeue_strategy = DequeueStrategy.DEFAULT
    #: The classes a worker builds jobs and queues (from names) with.
    job_class: type[Job] = Job
    queue_class: type[Queue] = Queue
    worker_ttl_s: int
    heartbeat_interval_s: float
    lease_s: float
    key: str

    connection: redis.Redis
    keys: Any
    name: str
    queues: list[Queue]
    serializer: Any
    dequeue_strategy: DequeueStrategy
    listens_on_all: bool
    default_result_ttl: int | None
    disable_default_exception_handler: bool
    work_horse_killed_handler: Callable[..., Any] | None
    state: str
    successful_job_count: int
    failed_job_count: int
    birth_date: Any
    last_heartbeat: Any
    _order: list[str]

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
        # A subclass may name its classes as class attributes, as in RQ.
        self.job_class = rq.job_class or type(self).job_class
        self.queue_class = rq.queue_class or type(self).queue_class
        self.default_result_ttl = rq.default_result_ttl
        self.disable_default_exception_handler = rq.disable_default_exception_handler
        self.work_horse_killed_handler = rq.work_horse_killed_handler
        self.serializer = resolve_serializer(serializer)
        given = [queues] if isinstance(queues, Queue | str) else list(queues or [])
        self.connection = shared_connection(given, connection)
        self.queues = build_queues(given, self.connection, serializer, prefix, self.queue_class)
        self.listens_on_all = not self.queues
        self.keys = self.queues[0].keys if self.queues else Keys(prefix)
        self.dequeue_strategy = DequeueStrategy.DEFAULT
        self._order = []
        return rq

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


__all__ = [
    "RQWorkerOptions",
    "WorkerOptionsMixin",
    "all_queues",
    "build_queues",
    "handler_list",
    "parse_dequeue_strategy",
    "rq_worker_options",
    "shared_connection",
]
