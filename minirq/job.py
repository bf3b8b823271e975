"""A job: one call of an importable function, stored as a Redis hash.

The hash is read and written through the record codec (:mod:`minirq.store.record`):
attributes read the decoded record, which never raises on bad bytes; a field that did
not decode is named in :attr:`Job.problem`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import redis

from . import meta_writes, store
from .awaitables import run_awaitable
from .callables import call_string, function_name, validate_job_id
from .callbacks import Callback
from .connection import resolve_connection
from .current_job import get_current_job, running_as_current
from .defaults import DEFAULT_JOB_TIMEOUT_S, DEFAULT_QUEUE_NAME
from .dependency import Dependency
from .exceptions import (
    DeserializationError,
    InvalidJobError,
    NoSuchJobError,
)
from .import_hint import import_function
from .job_attributes import (
    STATUS_REGISTRY,
    ExistsMethod,
    JobAttributesMixin,
    JobStatus,
    initial_status,
)
from .job_data import JobDataMixin, serializer_name
from .job_operations import JobOperationsMixin, new_job_id, new_token
from .keys import Keys, keys_for
from .options import JobOptions, given_lifecycle, options_record
from .retry import Repeat, Retry
from .serializers import Serializer, resolve_serializer
from .store.record import JobRecord, decode_record, encode_record
from .utils import now_ms

# Callback, Dependency, Repeat and Retry are importable from here too, as from rq.job.
__all__ = [
    "STATUS_REGISTRY",
    "UNEVALUATED",
    "Callback",
    "Dependency",
    "Job",
    "JobStatus",
    "Repeat",
    "Retry",
    "call_string",
    "cancel_job",
    "function_name",
    "get_current_job",
    "new_job_id",
    "new_token",
    "requeue_job",
    "running_as_current",
    "validate_job_id",
]


# RQ's marker for a job attribute not loaded yet. minirq decodes a job's record when it
# loads it, so no attribute of a minirq job is ever equal to it.
UNEVALUATED = object()


def cancel_job(
    job_id: str,
    connection: redis.Redis | None = None,
    serializer: Serializer | str | None = None,
    enqueue_dependents: bool = False,
    prefix: str | None = None,
) -> None:
    """Cancel the queued, scheduled or deferred job ``job_id`` (see :meth:`Job.cancel`).

    Raises :class:`NoSuchJobError` or :class:`InvalidJobOperation`."""
    Job.fetch(job_id, connection, serializer, prefix).cancel(enqueue_dependents=enqueue_dependents)


def requeue_job(
    job_id: str,
    connection: redis.Redis | None = None,
    serializer: Serializer | str | None = None,
    prefix: str | None = None,
) -> Job:
    """Put the failed, stopped or canceled job ``job_id`` back on its queue (see
    :meth:`Job.requeue`). Raises :class:`NoSuchJobError` or :class:`InvalidJobOperation`."""
    return Job.fetch(job_id, connection, serializer, prefix).requeue()


class Job(JobOperationsMixin, JobDataMixin, JobAttributesMixin):
    """One call of a function, stored in Redis.

    Get one from :meth:`Queue.enqueue` or :meth:`Job.fetch`. Attributes read the state
    loaded at fetch time; :meth:`refresh` reloads it.
    """

    def __init__(
        self,
        id: str,
        connection: redis.Redis | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        *,
        record: JobRecord | None = None,
    ) -> None:
        self.id = id
        self.connection = resolve_connection(connection)
        self.serializer = resolve_serializer(serializer)
        self.keys = keys_for(prefix)
        self.record = record if record is not None else JobRecord()
        self._decoded_call: tuple[Any, tuple[Any, ...], dict[str, Any]] | None = None
        self._meta: dict[str, Any] | None = None
        self._performed: tuple[Any] | None = None  # what perform() returned, here
        self._op_token: str | None = None
        # Whether the id may name a hash: a caller chose it, or this job was already sent
        # once (see Queue.enqueue_job); a drawn id never sent cannot.
        self.id_chosen = True
        # False for a Job.create job given no timeout: Queue.enqueue_job sets the queue's.
        self.timeout_given = True

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.func_name} {self.record.status}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def key(self) -> str:
        return self.keys.job(self.id)

    # -- creation and loading ----------------------------------------------------------

    @classmethod
    def create(
        cls,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        connection: redis.Redis | None = None,
        result_ttl: Any = None,
        ttl: Any = None,
        status: JobStatus | str | None = None,
        description: str | None = None,
        depends_on: Any = None,
        timeout: Any = None,
        id: str | None = None,
        origin: str = DEFAULT_QUEUE_NAME,
        meta: Mapping[str, Any] | None = None,
        failure_ttl: Any = None,
        serializer: Serializer | str | None = None,
        *,
        on_success: Any = None,
        on_failure: Any = None,
        on_stopped: Any = None,
        retry: Any = None,
        repeat: Any = None,
        prefix: str | None = None,
    ) -> Job:
        """Build a job in memory with RQ's arguments, validated; nothing is written until
        :meth:`save` (which stores it as ``created``, in no queue) or
        :meth:`Queue.enqueue_job`. ``timeout`` is the job's timeout (default 180 s).

        Raises :class:`InvalidJobError` (or a subclass) or :class:`ConfigurationError`
        naming the bad argument.
        """
        options = JobOptions(
            job_id=id,
            timeout=timeout,
            result_ttl=result_ttl,
            ttl=ttl,
            failure_ttl=failure_ttl,
            description=description,
            retry=retry,
            repeat=repeat,
            lifecycle=given_lifecycle(depends_on, False, on_success, on_failure, on_stopped),
        )
        record = options_record(options, DEFAULT_JOB_TIMEOUT_S)
        record.status = initial_status(status)
        job = cls.build(
            func, args, kwargs, connection=connection, serializer=serializer, prefix=prefix,
            origin=origin, job_id=id, record=record,
        )  # fmt: skip
        if meta is not None:
            record.meta = job.encode_meta(meta)
        job.timeout_given = timeout is not None
        return job

    @classmethod
    def build(
        cls,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        connection: redis.Redis | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        origin: str = DEFAULT_QUEUE_NAME,
        job_id: str | None = None,
        record: JobRecord | None = None,
    ) -> Job:
        """Build a job in memory from a function, its arguments and the options already
        set on ``record``, validating what a worker will need.

        Raises :class:`InvalidFunctionError`, :class:`InvalidJobError` or
        :class:`SerializationError`; nothing is written to Redis.
        """
        name, instance = function_name(func)
        job = cls(
            validate_job_id(job_id) if job_id is not None else new_job_id(),
            connection=connection,
            serializer=serializer,
            prefix=prefix,
            record=record,
        )
        if type(args) is not tuple:
            if isinstance(args, str | bytes | Mapping):
                raise InvalidJobError(
                    f"args must be a tuple or list of the function's arguments, not "
                    f"{type(args).__name__} (a string would be split into characters)"
                )
            args = tuple(args) if args is not None else ()
        kwargs = dict(kwargs) if kwargs is not None else {}
        if kwargs and not all(isinstance(k, str) for k in kwargs):
            raise InvalidJobError("keyword argument names must be strings")
        job.id_chosen = job_id is not None
        job.record.func = name
        job.record.data = job._encode_call(name, instance, args, kwargs)
        job.record.instance = instance is not None
        job.record.origin = origin
        job.record.created_ms = now_ms()
        job._decoded_call = (instance, args, kwargs)
        return job

    @property
    def fields(self) -> dict[str, bytes]:
        """The job's hash fields as they are written."""
        return encode_record(self.record)

    @classmethod
    def from_fields(
        cls,
        job_id: str,
        fields: Mapping[Any, Any],
        connection: redis.Redis,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
    ) -> Job:
        """A job from its stored hash fields (as ``HGETALL`` returns them). Never raises
        on bad data: see :attr:`problem`."""
        return cls(
            job_id,
            connection=connection,
            serializer=serializer,
            prefix=prefix,
            record=decode_record(fields),
        )

    def _load(self, fields: Mapping[Any, Any]) -> None:
        self.record = decode_record(fields)
        self._decoded_call = None
        self._meta = None
        self._performed = None

    def _set(self, attr: str, value: Any) -> None:
        """Change one attribute of the record held in memory."""
        setattr(self.record, attr, value)
        if attr in ("data", "instance"):
            self._decoded_call = None
        if attr == "meta":
            self._meta = None

    @classmethod
    def fetch(
        cls,
        id: str,
        connection: redis.Redis | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
    ) -> Job:
        """Load job ``id``; raises :class:`NoSuchJobError` if it does not exist."""
        job = cls(id, connection=connection, serializer=serializer, prefix=prefix)
        job.refresh()
        return job

    @classmethod
    def fetch_many(
        cls,
        ids: Iterable[str],
        connection: redis.Redis | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
    ) -> list[Job | None]:
        """Load several jobs in one round trip; missing ones come back as ``None``."""
        connection = resolve_connection(connection)
        ids = list(ids)
        results = store.jobs.load_many(connection, Keys(prefix), ids)
        return [
            cls.from_fields(job_id, fields, connection, serializer, prefix) if fields else None
            for job_id, fields in zip(ids, results, strict=True)
        ]

    exists = ExistsMethod()

    def refresh(self) -> None:
        """Reload the job from Redis; raises :class:`NoSuchJobError` if it is gone."""
        fields = store.jobs.load(self.connection, self.keys, self.id)
        if not fields:
            raise NoSuchJobError(f"no job with id {self.id!r}")
        self._load(fields)

    # -- the call ---------------------------------------------------------------------

    def _call(self) -> tuple[Any, tuple[Any, ...], dict[str, Any]]:
        if self._decoded_call is None:
            data = self.record.data
            if data is None:
                raise DeserializationError(f"job {self.id} has no stored arguments")
            try:
                payload = self.serializer.loads(data)
                if self.record.instance:
                    instance, args, kwargs = payload
                else:
                    instance, (args, kwargs) = None, payload
                self._decoded_call = (instance, tuple(args), dict(kwargs))
            except Exception as exc:
                raise DeserializationError(
                    f"cannot decode the arguments of job {self.id} with "
                    f"{serializer_name(self.serializer)}: {type(exc).__name__}: {exc}"
                ) from exc
        return self._decoded_call

    @property
    def args(self) -> tuple[Any, ...]:
        return self._call()[1]

    @property
    def kwargs(self) -> dict[str, Any]:
        return self._call()[2]

    @property
    def instance(self) -> Any:
        return self._call()[0]

    @property
    def func(self) -> Callable[..., Any]:
        """The function to run, imported by name (raises ``ImportError`` if it is gone)."""
        instance = self.instance
        if instance is not None:
            return getattr(instance, self.func_name)  # type: ignore[no-any-return]
        return import_function(self.func_name)  # type: ignore[no-any-return]

    def get_call_string(self, shorten: bool = True) -> str:
        try:
            return call_string(self.func_name, self.args, self.kwargs, shorten=shorten)
        except DeserializationError:
            return f"{self.func_name}(<arguments cannot be decoded>)"

    @property
    def description(self) -> str:
        return self.record.description or self.get_call_string()

    @description.setter
    def description(self, value: str) -> None:
        self.record.description = str(value)

    def perform(self) -> Any:
        """Run the job's function in this process and return its value; a coroutine (an
        ``async def`` function) or other awaitable it returns is run to completion."""
        with running_as_current(self):
            value = run_awaitable(self.func(*self.args, **self.kwargs))
        self._performed = (value,)
        return value

    def save_meta(self) -> None:
        """Write :attr:`meta` to Redis, where others see it at once.

        From inside the running job a Redis outage does not raise: the latest value is
        written when Redis is back (see :mod:`minirq.meta_writes`)."""
        data = self._encode(self.meta, "meta")
        self.record.meta = data
        current = get_current_job()
        if current is not None and current.id == self.id:
            # From inside the job: an outage must not fail it (see meta_writes).
            meta_writes.save_running_meta(self.connection, self.keys, self.id, data)
        else:
            store.jobs.save_field(self.connection, self.keys, self.id, "meta", data)
