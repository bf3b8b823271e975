"""A job: one call of an importable function, stored as a Redis hash."""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

import redis

from .connection import resolve_connection
from .defaults import DEFAULT_FAILURE_TTL_S, DEFAULT_RESULT_TTL_S, JOB_ID_MAX_LENGTH
from .exceptions import (
    DeserializationError,
    InvalidFunctionError,
    InvalidJobError,
    InvalidJobOperation,
    NoSuchJobError,
    SerializationError,
)
from .import_hint import import_function
from .keys import REGISTRY_KINDS, Keys
from .scripts import scripts_for
from .serializers import Serializer, resolve_serializer
from .utils import decode, ms_to_datetime, now_ms

if TYPE_CHECKING:
    from .queue import Queue
    from .retry import Retry

_JOB_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
_ARG_REPR_LIMIT = 60


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


def validate_job_id(job_id: Any) -> str:
    """Return ``job_id`` if it is a valid id, else raise :class:`InvalidJobError`."""
    if not isinstance(job_id, str):
        raise InvalidJobError(f"job_id must be a string, not {type(job_id).__name__}")
    if not job_id or len(job_id) > JOB_ID_MAX_LENGTH or not _JOB_ID_RE.match(job_id):
        raise InvalidJobError(
            f"invalid job_id {job_id[:200]!r}: use 1 to {JOB_ID_MAX_LENGTH} characters "
            "from A-Z a-z 0-9 _ . : -"
        )
    return job_id


def function_name(func: Any) -> tuple[str, Any]:
    """The dotted name a worker imports to run ``func``, and the instance it is bound to.

    Raises :class:`InvalidFunctionError` for what a worker could not import: lambdas,
    nested functions, functions defined in ``__main__``, and non-callables.
    """
    if isinstance(func, str):
        if not re.match(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$", func):
            raise InvalidFunctionError(
                f"{func!r} is not a dotted path; write it as 'package.module.function'"
            )
        return func, None
    if not callable(func):
        raise InvalidFunctionError(f"{func!r} is not callable")
    instance = None
    if inspect.ismethod(func) and not inspect.isclass(func.__self__):
        instance = func.__self__
        if type(instance).__module__ == "__main__":
            raise InvalidFunctionError(
                f"{type(instance).__qualname__} is defined in __main__, which a worker cannot "
                "import; move the class to a module the worker can import"
            )
        return func.__name__, instance
    if not (
        inspect.isfunction(func)
        or inspect.isbuiltin(func)
        or inspect.ismethod(func)
        or inspect.isclass(func)
    ):
        return "__call__", func
    qualname = getattr(func, "__qualname__", "")
    module = getattr(func, "__module__", None)
    if getattr(func, "__name__", "") == "<lambda>":
        raise InvalidFunctionError(
            "a lambda cannot be enqueued: a worker cannot import it; define a module-level "
            "function instead"
        )
    if "<locals>" in qualname:
        raise InvalidFunctionError(
            f"{qualname} is defined inside another function, so a worker cannot import it; "
            "move it to module level"
        )
    if module is None:
        raise InvalidFunctionError(f"{func!r} has no module a worker could import it from")
    if module == "__main__":
        raise InvalidFunctionError(
            f"{qualname or func!r} is defined in __main__, which a worker cannot import; "
            "move it to a module the worker can import"
        )
    return f"{module}.{qualname}", None


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _ARG_REPR_LIMIT else text[: _ARG_REPR_LIMIT - 3] + "..."


def call_string(
    func_name: str, args: Iterable[Any], kwargs: Mapping[str, Any], shorten: bool = True
) -> str:
    """``func(arg, key=value)`` for display; long arguments are cut with ``shorten``."""
    show = _short_repr if shorten else repr
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
    return f"{func_name}({', '.join(parts)})"


_current_job: Job | None = None


def get_current_job(connection: redis.Redis | None = None) -> Job | None:
    """The job being run by this process, or ``None`` outside a job."""
    return _current_job


def _set_current_job(job: Job | None) -> None:
    global _current_job
    _current_job = job


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
        self._fields: dict[str, bytes] = {}
        self._decoded_call: tuple[Any, tuple[Any, ...], dict[str, Any]] | None = None
        self._meta: dict[str, Any] | None = None
        # A caller-chosen id may name an older job whose hash the enqueue replaces.
        self.replaces_existing = False

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.func_name} {self._get('status')}>"

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
        timeout_s: int = -1,
        result_ttl_s: int | None = None,
        failure_ttl_s: int | None = None,
        ttl_s: int | None = None,
        description: str | None = None,
        meta: Mapping[str, Any] | None = None,
        extra_fields: Mapping[str, str | bytes | int] | None = None,
    ) -> Job:
        """Build a job in memory, validating everything a worker will need.

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
        fields: dict[str, bytes] = {
            "func": name.encode(),
            "data": job._encode_call(name, instance, args, kwargs),
            "origin": origin.encode(),
            "created_ms": str(now_ms()).encode(),
            "timeout": str(timeout_s).encode(),
        }
        if instance is not None:
            fields["instance"] = b"1"
        if result_ttl_s is not None and result_ttl_s != DEFAULT_RESULT_TTL_S:
            fields["result_ttl"] = str(result_ttl_s).encode()
        if failure_ttl_s is not None and failure_ttl_s != DEFAULT_FAILURE_TTL_S:
            fields["failure_ttl"] = str(failure_ttl_s).encode()
        if ttl_s is not None:
            fields["ttl"] = str(ttl_s).encode()
        if description is not None:
            fields["description"] = str(description).encode()
        if meta:
            if not isinstance(meta, Mapping):
                raise InvalidJobError(f"meta must be a dict, not {type(meta).__name__}")
            fields["meta"] = job._encode(dict(meta), "meta")
        for field, value in (extra_fields or {}).items():
            fields[field] = value if isinstance(value, bytes) else str(value).encode()
        job._fields = fields
        job.replaces_existing = job_id is not None
        job._decoded_call = (instance, args, kwargs)
        return job

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
        candidates += [(f"argument {i} ({_short_repr(a)})", a) for i, a in enumerate(args)]
        candidates += [(f"keyword argument {k!r} ({_short_repr(v)})", v) for k, v in kwargs.items()]
        for label, value in candidates:
            try:
                self.serializer.dumps(value)
            except Exception:
                return label
        return "the arguments"

    @classmethod
    def from_fields(
        cls,
        job_id: str,
        fields: Mapping[bytes | str, bytes],
        connection: redis.Redis,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
    ) -> Job:
        """A job from its stored hash fields (as ``HGETALL`` returns them)."""
        job = cls(job_id, connection=connection, serializer=serializer, prefix=prefix)
        job._load(fields)
        return job

    def _load(self, fields: Mapping[bytes | str, bytes]) -> None:
        self._fields = {decode(k) or "": v for k, v in fields.items()}
        self._decoded_call = None
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
        keys = Keys(prefix)
        with connection.pipeline(transaction=False) as pipe:
            for job_id in ids:
                pipe.hgetall(keys.job(job_id))
            results = pipe.execute()
        return [
            cls.from_fields(job_id, fields, connection, serializer, prefix) if fields else None
            for job_id, fields in zip(ids, results, strict=True)
        ]

    def exists(self) -> bool:
        return bool(self.connection.exists(self.key))

    def refresh(self) -> None:
        """Reload the job from Redis; raises :class:`NoSuchJobError` if it is gone."""
        fields = cast(dict[bytes | str, bytes], self.connection.hgetall(self.key))
        if not fields:
            raise NoSuchJobError(f"no job with id {self.id!r}")
        self._load(fields)

    # -- stored attributes -------------------------------------------------------------

    def _hget(self, field: str) -> bytes | None:
        return cast(bytes | None, self.connection.hget(self.key, field))

    def _get(self, field: str) -> str | None:
        return decode(self._fields.get(field))

    def _get_int(self, field: str) -> int | None:
        value = self._fields.get(field)
        return int(value) if value is not None else None

    @property
    def func_name(self) -> str:
        return self._get("func") or ""

    @property
    def origin(self) -> str:
        return self._get("origin") or ""

    @property
    def status(self) -> JobStatus | None:
        value = self._get("status")
        return JobStatus(value) if value else None

    def get_status(self, refresh: bool = True) -> JobStatus | None:
        """The job's status, read from Redis unless ``refresh`` is false.

        Returns ``None`` if the job no longer exists.
        """
        if refresh:
            value = self._hget("status")
            if value is None:
                return None
            self._fields["status"] = value
        return self.status

    @property
    def timeout(self) -> int:
        """Seconds the job may run; ``-1`` for no limit."""
        value = self._get_int("timeout")
        return -1 if value is None else value

    @property
    def result_ttl(self) -> int:
        value = self._get_int("result_ttl")
        return DEFAULT_RESULT_TTL_S if value is None else value

    @property
    def failure_ttl(self) -> int:
        value = self._get_int("failure_ttl")
        return DEFAULT_FAILURE_TTL_S if value is None else value

    @property
    def ttl(self) -> int | None:
        return self._get_int("ttl")

    @property
    def created_at(self) -> datetime | None:
        return ms_to_datetime(self._get_int("created_ms"))

    @property
    def enqueued_at(self) -> datetime | None:
        return ms_to_datetime(self._get_int("enqueued_ms"))

    @property
    def started_at(self) -> datetime | None:
        return ms_to_datetime(self._get_int("started_ms"))

    @property
    def ended_at(self) -> datetime | None:
        return ms_to_datetime(self._get_int("ended_ms"))

    @property
    def worker_name(self) -> str | None:
        return self._get("worker")

    @property
    def exc_info(self) -> str | None:
        """The traceback text of the last failure, if any."""
        return self._get("exc")

    @property
    def orphaned_count(self) -> int:
        """How many times the job lost its worker and was recovered."""
        return self._get_int("orphaned") or 0

    @property
    def retries_left(self) -> int | None:
        """Retries left; ``None`` for a job without a :class:`~minirq.Retry` not yet retried."""
        return self._get_int("retries_left")

    @property
    def retry(self) -> Retry | None:
        """The :class:`~minirq.Retry` the job was enqueued with, if any."""
        from .retry import job_retry

        return job_retry(self)

    @property
    def attempts(self) -> int:
        """How many times the job has been started, counting the current run."""
        from .retry import attempts_started

        return attempts_started(self)

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
            data = self._fields.get("data")
            if data is None:
                raise DeserializationError(f"job {self.id} has no stored arguments")
            try:
                payload = self.serializer.loads(data)
                if "instance" in self._fields:
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
        return self._get("description") or self.get_call_string()

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
            data = self._hget("result")
            if data is None:
                self._fields.pop("result", None)
            else:
                self._fields["result"] = data
        data = self._fields.get("result")
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
            data = self._fields.get("meta")
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
        self._fields["meta"] = data
        self.connection.hset(self.key, "meta", data)

    def get_meta(self, refresh: bool = True) -> dict[str, Any]:
        if refresh:
            data = self._hget("meta")
            self._meta = None
            if data is None:
                self._fields.pop("meta", None)
            else:
                self._fields["meta"] = data
        return self.meta

    # -- dependencies, progress, callbacks (see dependency.py and callbacks.py) ---------

    @property
    def dependency_ids(self) -> list[str]:
        """Ids of the jobs this job depends on (``depends_on``)."""
        text = self._get("dependency_ids")
        return text.split(",") if text else []

    @property
    def allow_dependency_failures(self) -> bool:
        return self._get("allow_failure") == "1"

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
        return sorted(decode(m) or "" for m in members)

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
        return self._get("callback_exc")

    @property
    def group_id(self) -> str | None:
        return self._get("group_id")

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
        moved = scripts_for(self.connection).run(
            "requeue",
            keys=[
                self.key,
                self.keys.registry(registry, self.origin),
                self.keys.queue(self.origin),
                self.keys.wake_channel(self.origin),
            ],
            args=[self.id, now_ms(), "1" if at_front else "0", ""],
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
        from .queue import Queue

        queue = Queue(
            self.origin,
            connection=self.connection,
            serializer=self.serializer,
            prefix=self.keys.prefix,
        )
        queue.cancel_job(self, enqueue_dependents=enqueue_dependents)

    def delete(self, remove_from_queue: bool = True, delete_dependents: bool = False) -> None:
        """Delete the job's hash and take its id out of its queue and every registry.

        Jobs that depend on it stay deferred (as in RQ); ``delete_dependents`` deletes
        them too, with their own dependents, in the same transaction.
        """
        if delete_dependents:
            from .dependency import delete_with_dependents

            delete_with_dependents(self)
            return
        origin = self.origin or self._origin_from_redis()
        with self.connection.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.dependents(self.id), self.keys.dependencies(self.id))
            if origin and remove_from_queue:
                pipe.lrem(self.keys.queue(origin), 0, self.id)
                for kind in REGISTRY_KINDS:
                    pipe.zrem(self.keys.registry(kind, origin), self.id)
            pipe.delete(self.key)
            pipe.execute()

    def _origin_from_redis(self) -> str | None:
        return decode(self.connection.hget(self.key, "origin"))

    def _queue(self) -> Queue:
        from .queue import Queue

        return Queue(
            self.origin,
            connection=self.connection,
            serializer=self.serializer,
            prefix=self.keys.prefix,
        )

    def to_dict(self) -> dict[str, Any]:
        """The job's stored fields, decoded for display (the dashboard and ``minirq info``)."""
        return {
            "id": self.id,
            "func_name": self.func_name,
            "description": self.description,
            "status": self._get("status"),
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
