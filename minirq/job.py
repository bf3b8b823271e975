"""A job: one call of an importable function, stored as a Redis hash.

The hash is read and written through the record codec (:mod:`minirq.store.record`):
attributes read the decoded record, which never raises on bad bytes; a field that did
not decode is named in :attr:`Job.problem`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import redis

from . import store
from .callables import call_string, function_name, short_repr, validate_job_id
from .connection import resolve_connection
from .exceptions import (
    DeserializationError,
    InvalidJobError,
    InvalidJobOperation,
    NoSuchJobError,
    SerializationError,
)
from .import_hint import import_function
from .keys import Keys
from .retry import Retry, attempts_started, job_retry
from .serializers import Serializer, resolve_serializer
from .store import calls
from .store.record import JobRecord, decode_record, encode_record
from .utils import ms_to_datetime, now_ms

__all__ = [
    "STATUS_REGISTRY",
    "Job",
    "JobStatus",
    "call_string",
    "function_name",
    "get_current_job",
    "validate_job_id",
]


class JobStatus(StrEnum):
    QUEUED = "queued"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    SCHEDULED = "scheduled"
    DEFERRED = "deferred"
    CANCELED = "canceled"
    STOPPED = "stopped"


# The registry a job of each status lives in (queued jobs live in the queue list).
STATUS_REGISTRY = {
    JobStatus.STARTED: "started",
    JobStatus.FINISHED: "finished",
    JobStatus.FAILED: "failed",
    JobStatus.STOPPED: "failed",
    JobStatus.SCHEDULED: "scheduled",
    JobStatus.DEFERRED: "deferred",
    JobStatus.CANCELED: "canceled",
}

_current_job: Job | None = None


def get_current_job(connection: redis.Redis | None = None) -> Job | None:
    """The job being run by this process, or ``None`` outside a job."""
    return _current_job


def _set_current_job(job: Job | None) -> None:
    global _current_job
    _current_job = job


def new_token() -> str:
    """A token naming one operation or one run."""
    return uuid.uuid4().hex


class Job:
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
    ) -> None:
        self.id = id
        self.connection = resolve_connection(connection)
        self.serializer = resolve_serializer(serializer)
        self.keys = Keys(prefix)
        self.record = JobRecord()
        self._decoded_call: tuple[Any, tuple[Any, ...], dict[str, Any]] | None = None
        self._meta: dict[str, Any] | None = None
        # Names this enqueue (or this cancel, requeue): a second run of the same call
        # after a lost reply is recognised by it.
        self.op_token = new_token()

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
            validate_job_id(job_id) if job_id is not None else uuid.uuid4().hex,
            connection=connection,
            serializer=serializer,
            prefix=prefix,
        )
        args = tuple(args) if args is not None else ()
        kwargs = dict(kwargs) if kwargs is not None else {}
        if not all(isinstance(k, str) for k in kwargs):
            raise InvalidJobError("keyword argument names must be strings")
        job.record = record if record is not None else JobRecord()
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
        job = cls(job_id, connection=connection, serializer=serializer, prefix=prefix)
        job._load(fields)
        return job

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

    # -- stored attributes -------------------------------------------------------------

    @property
    def problem(self) -> str | None:
        """Which stored fields did not decode, if any (the job cannot be trusted then)."""
        return self.record.problem

    @property
    def func_name(self) -> str:
        return self.record.func

    @property
    def origin(self) -> str:
        return self.record.origin

    @property
    def status(self) -> JobStatus | None:
        value = self.record.status
        try:
            return JobStatus(value) if value else None
        except ValueError:
            return None

    def get_status(self, refresh: bool = True) -> JobStatus | None:
        """The job's status, read from Redis unless ``refresh`` is false.

        Returns ``None`` if the job no longer exists (or its status is not one minirq
        writes).
        """
        if refresh:
            value = store.jobs.load_field(self.connection, self.keys, self.id, "status")
            if value is None:
                return None
            self.record.status = store.record.text_or_none(value)
        return self.status

    @property
    def timeout(self) -> int:
        """Seconds the job may run; ``-1`` for no limit."""
        return self.record.timeout_s

    @property
    def result_ttl(self) -> int:
        return self.record.result_ttl_s

    @property
    def failure_ttl(self) -> int:
        return self.record.failure_ttl_s

    @property
    def ttl(self) -> int | None:
        return self.record.ttl_s

    @property
    def created_at(self) -> datetime | None:
        return ms_to_datetime(self.record.created_ms)

    @property
    def enqueued_at(self) -> datetime | None:
        return ms_to_datetime(self.record.enqueued_ms)

    @property
    def started_at(self) -> datetime | None:
        return ms_to_datetime(self.record.started_ms)

    @property
    def ended_at(self) -> datetime | None:
        return ms_to_datetime(self.record.ended_ms)

    @property
    def worker_name(self) -> str | None:
        return self.record.worker

    @property
    def run_token(self) -> str:
        """The token of the run holding the job's lease ("" when not started)."""
        return self.record.run_token or ""

    @property
    def exc_info(self) -> str | None:
        """The traceback text of the last failure, if any."""
        return self.record.exc

    @property
    def orphaned_count(self) -> int:
        """How many times the job lost its worker and was recovered."""
        return self.record.orphaned

    @property
    def retries_left(self) -> int | None:
        """Retries left; ``None`` for a job without a :class:`~minirq.Retry` not yet retried."""
        return self.record.retries_left

    @property
    def retry(self) -> Retry | None:
        """The :class:`~minirq.Retry` the job was enqueued with, if any."""
        return job_retry(self.record)

    @property
    def attempts(self) -> int:
        """How many times the job has been started, counting the current run."""
        return attempts_started(self.record)

    @property
    def is_queued(self) -> bool:
        return self.get_status() == JobStatus.QUEUED

    @property
    def is_started(self) -> bool:
        return self.get_status() == JobStatus.STARTED

    @property
    def is_finished(self) -> bool:
        return self.get_status() == JobStatus.FINISHED

    @property
    def is_failed(self) -> bool:
        return self.get_status() == JobStatus.FAILED

    @property
    def is_scheduled(self) -> bool:
        return self.get_status() == JobStatus.SCHEDULED

    @property
    def is_deferred(self) -> bool:
        return self.get_status() == JobStatus.DEFERRED

    @property
    def is_canceled(self) -> bool:
        return self.get_status() == JobStatus.CANCELED

    @property
    def is_stopped(self) -> bool:
        return self.get_status() == JobStatus.STOPPED

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
        """Write :attr:`meta` to Redis, where others see it at once."""
        data = self._encode(self.meta, "meta")
        self.record.meta = data
        store.jobs.save_field(self.connection, self.keys, self.id, "meta", data)

    def get_meta(self, refresh: bool = True) -> dict[str, Any]:
        if refresh:
            self.record.meta = store.jobs.load_field(self.connection, self.keys, self.id, "meta")
            self._meta = None
        return self.meta

    # -- dependencies, progress, callbacks ----------------------------------------------

    @property
    def dependency_ids(self) -> list[str]:
        """Ids of the jobs this job depends on (``depends_on``)."""
        return list(self.record.dependency_ids)

    @property
    def allow_dependency_failures(self) -> bool:
        return self.record.allow_failure

    @property
    def dependency(self) -> Job | None:
        """The first job this job depends on, if it still exists."""
        jobs = self.fetch_dependencies()
        return jobs[0] if jobs else None

    def fetch_dependencies(self) -> list[Job]:
        """The jobs this job depends on that still exist."""
        jobs = Job.fetch_many(
            self.dependency_ids, self.connection, self.serializer, self.keys.prefix
        )
        return [job for job in jobs if job is not None]

    @property
    def dependent_ids(self) -> list[str]:
        """Ids of deferred jobs still waiting for this job."""
        members = self.connection.smembers(self.keys.dependents(self.id))
        return sorted(store.jobs.ids(members))

    def set_progress(self, fraction: float, message: str | None = None) -> None:
        """Record how far the running job is (0.0 to 1.0), visible from outside at once.

        Stored in :attr:`meta` as ``progress`` and ``progress_message``. Raises
        :class:`InvalidJobOperation` for a fraction outside 0..1 or not a number.
        """
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, int | float)
            or not 0.0 <= fraction <= 1.0
        ):
            raise InvalidJobOperation(
                f"progress must be a number from 0.0 to 1.0, not {fraction!r}"
            )
        if message is not None and not isinstance(message, str):
            raise InvalidJobOperation(f"progress message must be text, not {message!r}")
        self.meta["progress"] = float(fraction)
        if message is None:
            self.meta.pop("progress_message", None)
        else:
            self.meta["progress_message"] = message
        self.save_meta()

    @property
    def progress(self) -> tuple[float, str | None] | None:
        """``(fraction, message)`` as last saved by :meth:`set_progress`, else ``None``."""
        meta = self.get_meta()
        if "progress" not in meta:
            return None
        return float(meta["progress"]), meta.get("progress_message")

    @property
    def callback_exc(self) -> str | None:
        """The traceback of a callback or exception handler that failed on this job."""
        return self.record.callback_exc

    @property
    def group_id(self) -> str | None:
        return self.record.group_id

    # -- operations --------------------------------------------------------------------

    def requeue(self, at_front: bool = False) -> Job:
        """Put a failed, stopped or canceled job back on its queue.

        Raises :class:`InvalidJobOperation` for a job in any other state.
        """
        status = self.get_status()
        if status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            raise InvalidJobOperation(
                f"job {self.id} is {status or 'gone'}; only failed, stopped or canceled "
                "jobs can be requeued"
            )
        registry = STATUS_REGISTRY[status]
        moved = store.runner_for(self.connection).run(
            calls.requeue(
                self.keys,
                queue=self.origin,
                registry=registry,
                job_id=self.id,
                at_front=at_front,
                run_token="",
                op_token=new_token(),
            )
        )
        if not moved:
            raise InvalidJobOperation(f"job {self.id} is no longer in the {registry} registry")
        self.refresh()
        return self

    def cancel(self, enqueue_dependents: bool = False) -> None:
        """Cancel a queued, scheduled or deferred job: move it to the canceled registry.

        Its dependents stay deferred unless ``enqueue_dependents`` (as in RQ).
        Raises :class:`InvalidJobOperation` if the job is running or done.
        """
        done = store.runner_for(self.connection).run(
            calls.cancel(
                self.keys,
                queue=self.origin,
                job_id=self.id,
                ttl_s=self.failure_ttl,
                enqueue_dependents=enqueue_dependents,
                op_token=new_token(),
            )
        )
        if not done:
            raise InvalidJobOperation(
                f"job {self.id} is {self.get_status() or 'gone'}; only queued, scheduled or "
                "deferred jobs can be canceled"
            )
        self.refresh()

    def delete(self, remove_from_queue: bool = True, delete_dependents: bool = False) -> None:
        """Delete the job's hash and take its id out of its queue and every registry.

        Jobs that depend on it stay deferred (as in RQ); ``delete_dependents`` deletes
        them too, with their own dependents, in the same step.
        """
        store.jobs.delete(
            self.connection,
            self.keys,
            self.id,
            with_dependents=delete_dependents,
            remove_from_queue=remove_from_queue,
        )

    def to_dict(self) -> dict[str, Any]:
        """The job's stored fields, decoded for display (the dashboard and ``minirq info``)."""
        return {
            "id": self.id,
            "func_name": self.func_name,
            "description": self.description,
            "status": self.record.status,
            "origin": self.origin,
            "created_at": self.created_at,
            "enqueued_at": self.enqueued_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "worker_name": self.worker_name,
            "timeout": self.timeout,
            "exc_info": self.exc_info,
            "orphaned_count": self.orphaned_count,
        }


def _serializer_name(serializer: Serializer) -> str:
    return getattr(serializer, "name", type(serializer).__name__)
