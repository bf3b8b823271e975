"""Job options as ``enqueue`` takes them, and queue names: validated before anything is
written."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .callbacks import CALLBACK_KINDS, set_callbacks
from .dependency import set_dependency, to_dependency
from .exceptions import ConfigurationError, DuplicateJobError, InvalidJobError
from .limits import to_limit
from .retry import Repeat, Retry, set_retry_options
from .store.calls import EnqueueReply
from .store.record import JobRecord, blank_record
from .utils import parse_duration

QUEUE_NAME_MAX_LENGTH = 200

LIFECYCLE_OPTION_NAMES = ("depends_on", "unique", *CALLBACK_KINDS)


def pop_lifecycle_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the lifecycle options out of ``kwargs`` (only those given)."""
    return {name: kwargs.pop(name) for name in LIFECYCLE_OPTION_NAMES if name in kwargs}


def set_lifecycle_options(
    record: JobRecord, options: Mapping[str, Any], job_id: str | None
) -> None:
    """Validate the lifecycle options and record them on a job being built.

    Raises :class:`InvalidJobError` (or a subclass) naming the problem.
    """
    if "unique" in options and check_unique(options["unique"], job_id is not None):
        record.unique = True
    dependency = to_dependency(options.get("depends_on"))
    if dependency is not None:
        set_dependency(record, dependency, job_id)
    set_callbacks(record, {k: options[k] for k in CALLBACK_KINDS if options.get(k) is not None})


def check_unique(unique: Any, has_job_id: bool) -> bool:
    """``unique``, validated: a bool, and ``True`` only for a job given its own id.

    Raises :class:`InvalidJobError` naming the problem.
    """
    if not isinstance(unique, bool):
        raise InvalidJobError(f"unique must be True or False, not {unique!r}")
    if unique and not has_job_id:
        raise InvalidJobError("unique=True needs a job_id: uniqueness is by id")
    return unique


@dataclass(frozen=True)
class JobOptions:
    """Options of one job, as given to ``enqueue`` (``None`` means the queue's default)."""

    job_id: str | None = None
    timeout: Any = None
    result_ttl: Any = None
    ttl: Any = None
    failure_ttl: Any = None
    description: str | None = None
    meta: Mapping[str, Any] | None = None
    at_front: bool = False
    retry: Any = None
    repeat: Any = None
    limit: Any = None
    # depends_on, unique, on_success, on_failure, on_stopped: when the job may run and
    # what follows it (see set_lifecycle_options).
    lifecycle: dict[str, Any] = field(default_factory=dict)


# Each keyword argument of ``enqueue`` that is a job option rather than the function's,
# and the JobOptions field it fills (tests/test_queue.py checks every field has one).
_OPTION_FIELDS = {
    "job_id": "job_id",
    "job_timeout": "timeout",
    "result_ttl": "result_ttl",
    "ttl": "ttl",
    "failure_ttl": "failure_ttl",
    "description": "description",
    "meta": "meta",
    "at_front": "at_front",
    "retry": "retry",
    "repeat": "repeat",
    "limit": "limit",
}
JOB_OPTION_NAMES = frozenset({*_OPTION_FIELDS, *LIFECYCLE_OPTION_NAMES})
# The options of a job enqueued without any; shared, never changed.
NO_OPTIONS = JobOptions()


def pop_job_options(kwargs: dict[str, Any]) -> JobOptions:
    """Take the job options out of ``enqueue``'s keyword arguments."""
    if not kwargs or JOB_OPTION_NAMES.isdisjoint(kwargs):
        return NO_OPTIONS
    given = {field: kwargs.pop(name) for name, field in _OPTION_FIELDS.items() if name in kwargs}
    given["at_front"] = bool(given.get("at_front", False))
    return JobOptions(**given, lifecycle=pop_lifecycle_options(kwargs))


def explicit_call(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The function's arguments from ``enqueue``'s, job options already taken out.

    As in RQ, ``enqueue(f, args=(1, 2), kwargs={"a": 1})`` calls ``f(1, 2, a=1)``; use
    :meth:`Queue.enqueue_call` to pass keyword arguments named ``args`` or ``kwargs`` to
    ``f``. Where RQ ignores other arguments given with that form, this raises
    :class:`InvalidJobError` naming them.
    """
    if "args" not in kwargs and "kwargs" not in kwargs:
        return args, kwargs
    explicit_args = kwargs.pop("args", None)
    explicit_kwargs = kwargs.pop("kwargs", None)
    if args or kwargs:
        extra = [f"{len(args)} positional argument(s)"] if args else []
        extra += [f"keyword argument {name!r}" for name in kwargs]
        raise InvalidJobError(
            f"with args= or kwargs=, give the function's arguments only there, not also "
            f"{', '.join(extra)}"
        )
    if explicit_args is None:
        explicit_args = ()
    if isinstance(explicit_args, str | bytes | Mapping) or not isinstance(explicit_args, Iterable):
        raise InvalidJobError(
            f"args must be a tuple or list, not {type(explicit_args).__name__}; to pass a "
            "keyword argument named args to the function, use enqueue_call(f, kwargs={...})"
        )
    if explicit_kwargs is None:
        explicit_kwargs = {}
    if not isinstance(explicit_kwargs, Mapping):
        raise InvalidJobError(f"kwargs must be a dict, not {type(explicit_kwargs).__name__}")
    return tuple(explicit_args), dict(explicit_kwargs)


class EnqueueData(NamedTuple):
    """One job for :meth:`Queue.enqueue_many`, built by :meth:`Queue.prepare_data`."""

    func: Callable[..., Any] | str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: JobOptions

    def __getattr__(self, name: str) -> Any:
        """RQ's fields of a prepared job, read from its options: ``job_id``, ``timeout``,
        ``on_success``, ``depends_on``, ... (``None`` when not given)."""
        if name in LIFECYCLE_OPTION_NAMES:
            return self.options.lifecycle.get(name)
        if name in JobOptions.__dataclass_fields__ and name != "lifecycle":
            return getattr(self.options, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def validate_queue_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"queue name must be a non-empty string, not {name!r}")
    if len(name) > QUEUE_NAME_MAX_LENGTH or any(ord(c) < 32 for c in name):
        raise ConfigurationError(
            f"invalid queue name {name[:50]!r}: at most {QUEUE_NAME_MAX_LENGTH} characters, "
            "no control characters"
        )
    return name


def duplicate_error(job_ids: Iterable[str], replies: Iterable[EnqueueReply]) -> DuplicateJobError:
    where = [
        f"job {job_id} is already {reply.status or 'live'} in queue {reply.queue!r}"
        for job_id, reply in zip(job_ids, replies, strict=True)
    ]
    return DuplicateJobError(
        f"{'; '.join(where)}: an id is live in one place at a time; nothing was written"
    )


def given_lifecycle(
    depends_on: Any, unique: bool, on_success: Any, on_failure: Any, on_stopped: Any
) -> dict[str, Any]:
    given = {
        "depends_on": depends_on,
        "on_success": on_success,
        "on_failure": on_failure,
        "on_stopped": on_stopped,
    }
    lifecycle = {k: v for k, v in given.items() if v is not None}
    if unique is not False:
        lifecycle["unique"] = unique
    return lifecycle


def options_record(options: JobOptions, default_timeout_s: int) -> JobRecord:
    """A job record holding ``options``, validated (durations bounded); raises
    :class:`ConfigurationError` or :class:`InvalidJobError` naming the option."""
    if options is NO_OPTIONS:
        blank = blank_record()
        blank.timeout_s = default_timeout_s
        return blank
    record = JobRecord()
    record.timeout_s = (
        default_timeout_s
        if options.timeout is None
        else parse_duration(options.timeout, "job_timeout", allow_unlimited=True, allow_zero=False)
    )
    if options.result_ttl is not None:
        record.result_ttl_s = parse_duration(options.result_ttl, "result_ttl", allow_unlimited=True)
    if options.failure_ttl is not None:
        record.failure_ttl_s = parse_duration(
            options.failure_ttl, "failure_ttl", allow_unlimited=True
        )
    if options.ttl is not None:
        ttl = parse_duration(options.ttl, "ttl", allow_unlimited=True, allow_zero=False)
        record.ttl_s = None if ttl == -1 else ttl
    if options.description is not None:
        record.description = str(options.description)
    set_retry_options(record, options.retry, options.repeat)
    record.limit = to_limit(options.limit)
    set_lifecycle_options(record, options.lifecycle, options.job_id)
    return record


def prepare_data(
    func: Callable[..., Any] | str,
    args: Iterable[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    timeout: Any = None,
    result_ttl: Any = None,
    ttl: Any = None,
    failure_ttl: Any = None,
    description: str | None = None,
    job_id: str | None = None,
    at_front: bool = False,
    meta: Mapping[str, Any] | None = None,
    retry: Retry | None = None,
    repeat: Repeat | None = None,
    depends_on: Any = None,
    unique: bool = False,
    on_success: Any = None,
    on_failure: Any = None,
    on_stopped: Any = None,
    limit: Any = None,
) -> EnqueueData:
    """Describe one job for :meth:`enqueue_many`."""
    if (
        timeout is None and result_ttl is None and ttl is None and failure_ttl is None
        and description is None and job_id is None and at_front is False and meta is None
        and retry is None and repeat is None and depends_on is None and unique is False
        and on_success is None and on_failure is None and on_stopped is None
        and limit is None
    ):  # fmt: skip
        # No option given (a bulk enqueue's usual job): the shared NO_OPTIONS, unbuilt.
        return EnqueueData(func, tuple(args or ()), dict(kwargs or {}), NO_OPTIONS)
    options = JobOptions(
        job_id=job_id,
        timeout=timeout,
        result_ttl=result_ttl,
        ttl=ttl,
        failure_ttl=failure_ttl,
        description=description,
        meta=meta,
        at_front=at_front,
        retry=retry,
        repeat=repeat,
        limit=limit,
        lifecycle=given_lifecycle(depends_on, unique, on_success, on_failure, on_stopped),
    )
    # A job without options shares NO_OPTIONS, which builds its record without checks.
    shared = NO_OPTIONS if options == NO_OPTIONS else options
    return EnqueueData(func, tuple(args or ()), dict(kwargs or {}), shared)
