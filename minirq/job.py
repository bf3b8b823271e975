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
from .callables import call_string, function_name, short_repr, validate_job_id
from .connection import resolve_connection
from .exceptions import (
    DeserializationError,
    InvalidJobError,
    NoSuchJobError,
    SerializationError,
)
from .import_hint import import_function
from .job_attributes import STATUS_REGISTRY, JobAttributesMixin, JobStatus
from .job_operations import JobOperationsMixin, new_job_id, new_token
from .keys import Keys
from .serializers import Serializer, resolve_serializer
from .store.record import JobRecord, decode_record, encode_record
from .utils import now_ms

__all__ = [
    "STATUS_REGISTRY",
    "Job",
    "JobStatus",
    "call_string",
    "function_name",
    "get_current_job",
    "new_job_id",
    "new_token",
    "validate_job_id",
]


_current_job: Job | None = None


def get_current_job(connection: redis.Redis | None = None) -> Job | None:
    """The job being run by this process, or ``None`` outside a job."""
    return _current_job


def _set_current_job(job: Job | None) -> None:
    global _current_job
    _current_job = job


class Job(JobOperationsMixin, JobAttributesMixin):
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
        self.keys = Keys(prefix)
        self.record = record if record is not None else JobRecord()
        self._decoded_call: tuple[Any, tuple[Any, ...], dict[str, Any]] | None = None
        self._meta: dict[str, Any] | None = None
        self._op_token: str | None = None
        # Whether the id may name a hash: a caller chose it, or this job was already sent
        # once (see Queue.enqueue_job); a drawn id never sent cannot.
        self.id_chosen = True

    @property
    def op_token(self) -> str:
        """Names this job's enqueue: a second run of the same call after a lost reply is
        recognised by it. Drawn on first use (a job read back or fetched never needs one)."""
        if self._op_token is None:
            self._op_token = new_token()
        return self._op_token

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
        *,
        connection: redis.Redis | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        origin: str = "default",
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

    def encode_meta(self, meta: Mapping[str, Any]) -> bytes:
        if not isinstance(meta, Mapping):
            raise InvalidJobError(f"meta must be a dict, not {type(meta).__name__}")
        return self._encode(dict(meta), "meta")

    def _encode(self, value: Any, what: str) -> bytes:
        try:
            return self.serializer.dumps(value)
        except Exception as exc:
            raise SerializationError(
                f"{what} cannot be serialized with {_serializer_name(self.serializer)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    def _encode_call(
        self, name: str, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> bytes:
        payload: Any = [args, kwargs] if instance is None else [instance, args, kwargs]
        try:
            return self.serializer.dumps(payload)
        except Exception as exc:
            culprit = self._find_unserializable(instance, args, kwargs)
            raise SerializationError(
                f"cannot enqueue {name}: {culprit} cannot be serialized with "
                f"{_serializer_name(self.serializer)} ({type(exc).__name__}: {exc})"
            ) from exc

    def _find_unserializable(
        self, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> str:
        candidates: list[tuple[str, Any]] = []
        if instance is not None:
            candidates.append(("the bound instance", instance))
        candidates += [(f"argument {i} ({short_repr(a)})", a) for i, a in enumerate(args)]
        candidates += [(f"keyword argument {k!r} ({short_repr(v)})", v) for k, v in kwargs.items()]
        for label, value in candidates:
            try:
                self.serializer.dumps(value)
            except Exception:
                return label
        return "the arguments"

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

    def exists(self) -> bool:
        return store.jobs.exists(self.connection, self.keys, self.id)

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
                    f"{_serializer_name(self.serializer)}: {type(exc).__name__}: {exc}"
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

    def perform(self) -> Any:
        """Run the job's function in this process and return its value."""
        _set_current_job(self)
        try:
            return self.func(*self.args, **self.kwargs)
        finally:
            _set_current_job(None)

    # -- result and meta -------------------------------------------------------------

    def return_value(self, refresh: bool = True) -> Any:
        """The function's return value once the job finished, else ``None``."""
        if refresh:
            self.record.result = store.jobs.load_field(
                self.connection, self.keys, self.id, "result"
            )
        data = self.record.result
        if data is None:
            return None
        try:
            return self.serializer.loads(data)
        except Exception as exc:
            raise DeserializationError(f"cannot decode the result of job {self.id}: {exc}") from exc

    @property
    def result(self) -> Any:
        return self.return_value()

    @property
    def meta(self) -> dict[str, Any]:
        """Free-form data about the job; change it, then call :meth:`save_meta`."""
        if self._meta is None:
            data = self.record.meta
            try:
                self._meta = dict(self.serializer.loads(data)) if data else {}
            except Exception as exc:
                raise DeserializationError(
                    f"cannot decode the meta of job {self.id}: {exc}"
                ) from exc
        return self._meta

    @meta.setter
    def meta(self, value: dict[str, Any]) -> None:
        self._meta = dict(value)

    def save_meta(self) -> None:
        """Write :attr:`meta` to Redis, where others see it at once.

        From inside the running job a Redis outage does not raise: the latest value is
        written when Redis is back (see :mod:`minirq.meta_writes`)."""
        data = self._encode(self.meta, "meta")
        self.record.meta = data
        if _current_job is not None and _current_job.id == self.id:
            # From inside the job: an outage must not fail it (see meta_writes).
            meta_writes.save_running_meta(self.connection, self.keys, self.id, data)
        else:
            store.jobs.save_field(self.connection, self.keys, self.id, "meta", data)

    def get_meta(self, refresh: bool = True) -> dict[str, Any]:
        if refresh:
            self.record.meta = store.jobs.load_field(self.connection, self.keys, self.id, "meta")
            self._meta = None
        return self.meta


def _serializer_name(serializer: Serializer) -> str:
    return getattr(serializer, "name", type(serializer).__name__)
