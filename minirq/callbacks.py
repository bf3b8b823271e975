"""Job callbacks (``on_success``, ``on_failure``, ``on_stopped``) and worker exception handlers.

Where they run: ``on_success`` and ``on_failure`` run in the work-horse right after the job,
before it reports its outcome, as in RQ: the job object they get says ``finished`` (or
``failed``), while Redis still says ``started`` until the outcome is recorded just after.
``on_stopped`` runs in the worker (the parent) once the stopped job is recorded, since its
horse was killed. Exception handlers run in the work-horse after ``on_failure``, with the
real exception. A callback or handler that raises or times out is logged and its traceback
is stored on the job (``callback_exc``); the job keeps its own outcome and the worker goes on.
"""

from __future__ import annotations

import inspect
import json
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any

from . import store
from .callables import function_name
from .defaults import DEFAULT_CALLBACK_TIMEOUT_S
from .exceptions import ConfigurationError, InvalidFunctionError, ShutdownRequested
from .process import job_timeout
from .utils import import_attribute, parse_duration

if TYPE_CHECKING:
    import redis

    from .job import Job
    from .store.record import JobRecord

logger = logging.getLogger("minirq.callbacks")

CALLBACK_KINDS = ("on_success", "on_failure", "on_stopped")

ExceptionHandler = Callable[
    ["Job", type[BaseException] | None, BaseException | None, TracebackType | None], Any
]


@dataclass(frozen=True, init=False)
class Callback:
    """A module-level function to call when a job ends, with its own ``timeout`` (seconds).

    Raises :class:`InvalidFunctionError` for what a worker could not import (lambdas,
    nested functions, ``__main__`` functions) and for what is not a function (methods,
    class methods, classes, callable objects), and :class:`ConfigurationError` for a bad
    timeout.
    """

    func_name: str
    timeout_s: int

    def __init__(self, func: Callable[..., Any] | str, timeout: Any = None) -> None:
        name, instance = function_name(func)
        if instance is not None or not (
            isinstance(func, str) or inspect.isfunction(func) or inspect.isbuiltin(func)
        ):
            raise InvalidFunctionError(
                f"callback {func!r} must be a module-level function (or its dotted path), "
                "not a method, a class or a callable object"
            )
        timeout_s = parse_duration(
            DEFAULT_CALLBACK_TIMEOUT_S if timeout is None else timeout,
            "callback timeout",
            allow_zero=False,
        )
        object.__setattr__(self, "func_name", name)
        object.__setattr__(self, "timeout_s", timeout_s)

    @property
    def func(self) -> Callable[..., Any]:
        return import_attribute(self.func_name)  # type: ignore[no-any-return]


def to_callback(value: Any) -> Callback | None:
    """A :class:`Callback` for a callable, a dotted path, a ``Callback`` or ``None``."""
    if value is None or isinstance(value, Callback):
        return value
    return Callback(value)


def set_callbacks(record: JobRecord, callbacks: dict[str, Any]) -> None:
    """Record the given ``on_*`` callbacks on a job being built."""
    for kind, value in callbacks.items():
        callback = to_callback(value)
        if callback is not None:
            text = json.dumps({"func": callback.func_name, "timeout": callback.timeout_s})
            setattr(record, kind, text)


def stored_callback(record: JobRecord, kind: str) -> tuple[str, int] | None:
    """The function name and timeout of the job's ``kind`` callback, as stored, without
    importing anything; ``None`` if it has none. Raises ``ValueError`` if unreadable."""
    text = getattr(record, kind)
    if not text:
        return None
    try:
        data = json.loads(text)
        name, timeout = data["func"], data["timeout"]
    except (ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"the {kind} field of the job is not a callback record") from exc
    if not isinstance(name, str) or isinstance(timeout, bool) or not isinstance(timeout, int):
        raise ValueError(f"the {kind} field of the job is not a callback record")
    return name, timeout


def job_callback(job: Job, kind: str) -> Callback | None:
    """The job's ``kind`` callback, or ``None``."""
    stored = stored_callback(job.record, kind)
    if stored is None:
        return None
    return Callback(stored[0], timeout=stored[1])


def _run(job: Job, kind: str, args: tuple[Any, ...]) -> str | None:
    """Run a callback of the job; returns the traceback text if it failed."""
    try:
        callback = job_callback(job, kind)
        if callback is None:
            return None
        with job_timeout(callback.timeout_s):
            callback.func(*args)
    except ShutdownRequested:
        raise
    except BaseException:
        text = f"{kind} callback of job {job.id} failed:\n{traceback.format_exc()}"
        logger.error("%s", text)
        return text
    return None


def run_success_callback(job: Job, value: Any) -> str | None:
    """``on_success(job, connection, result)``; returns the traceback text if it failed."""
    return _run(job, "on_success", (job, job.connection, value))


def run_failure_callback(
    job: Job,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    tb: TracebackType | None,
) -> str | None:
    """``on_failure(job, connection, type, value, traceback)``; returns the failure text."""
    return _run(job, "on_failure", (job, job.connection, exc_type, exc_value, tb))


def run_stopped_callback(job: Job) -> str | None:
    """``on_stopped(job, connection)``; returns the traceback text if it failed."""
    return _run(job, "on_stopped", (job, job.connection))


# -- exception handlers ---------------------------------------------------------------

_exception_handlers: list[ExceptionHandler] = []


def resolve_exception_handlers(
    handlers: Iterable[ExceptionHandler | str] | None,
) -> list[ExceptionHandler]:
    """Callables for handlers given as callables or dotted paths.

    Raises :class:`ConfigurationError` naming a handler that cannot be imported or called.
    """
    resolved: list[ExceptionHandler] = []
    for handler in handlers or ():
        if isinstance(handler, str):
            try:
                handler = import_attribute(handler)
            except Exception as exc:
                raise ConfigurationError(
                    f"cannot import exception handler {handler!r}: {type(exc).__name__}: {exc}"
                ) from exc
        if not callable(handler):
            raise ConfigurationError(f"exception handler {handler!r} is not callable")
        resolved.append(handler)
    return resolved


def install_exception_handlers(handlers: Iterable[ExceptionHandler]) -> None:
    """Make ``handlers`` the ones this process and the work-horses it forks run."""
    _exception_handlers[:] = list(handlers)


def run_exception_handlers(
    job: Job,
    exc_type: type[BaseException] | None,
    exc_value: BaseException | None,
    tb: TracebackType | None,
) -> str | None:
    """Call the installed handlers in order until one returns ``False`` (as in RQ).

    A handler that raises is logged and the chain goes on; returns the failures' text.
    """
    failures = []
    for handler in _exception_handlers:
        try:
            if handler(job, exc_type, exc_value, tb) is False:
                break
        except Exception:
            name = getattr(handler, "__qualname__", repr(handler))
            text = f"exception handler {name} failed on job {job.id}:\n{traceback.format_exc()}"
            logger.error("%s", text)
            failures.append(text)
    return "\n".join(failures) or None


def record_callback_error(connection: redis.Redis, job: Job, text: str) -> None:
    """Store a failed callback's traceback on the job, if the job still exists."""
    store.jobs.record_callback_error(connection, job.keys, job.id, text)


def horse_callback_allowance_s(job: Job) -> int:
    """Extra seconds the work-horse may need past the job's timeout to run its callbacks."""
    allowance = 0
    for kind in ("on_success", "on_failure"):
        try:
            stored = stored_callback(job.record, kind)
        except ValueError:
            stored = None
        if stored is not None:
            allowance = max(allowance, stored[1])
    return allowance
