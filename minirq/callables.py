"""Callables and ids as minirq stores them: dotted names a worker can import, and the
rules a job id follows. Pure: no Redis, no job objects."""

from __future__ import annotations

import builtins
import inspect
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .defaults import JOB_ID_MAX_LENGTH
from .exceptions import (
    ConfigurationError,
    InvalidFunctionError,
    InvalidJobError,
    JobIdTypeError,
)

_JOB_ID_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
_DOTTED_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+$")
_ARG_REPR_LIMIT = 60


def validate_job_id(job_id: Any) -> str:
    """Return ``job_id`` if it is a valid id, else raise :class:`InvalidJobError`
    (:class:`JobIdTypeError`, also a ``TypeError``, for one that is not a string)."""
    if not isinstance(job_id, str):
        raise JobIdTypeError(f"job_id must be a string, not {type(job_id).__name__}")
    if not job_id or len(job_id) > JOB_ID_MAX_LENGTH or not _JOB_ID_RE.match(job_id):
        raise InvalidJobError(
            f"invalid job_id {job_id[:200]!r}: use 1 to {JOB_ID_MAX_LENGTH} characters "
            "from A-Z a-z 0-9 _ . : -"
        )
    return job_id


def is_job_id(value: str) -> bool:
    return 0 < len(value) <= JOB_ID_MAX_LENGTH and bool(_JOB_ID_RE.match(value))


def function_name(func: Any) -> tuple[str, Any]:
    """The dotted name a worker imports to run ``func``, and the instance it is bound to.

    A string is a dotted path, or the bare name of a builtin (``"print"``).
    Raises :class:`InvalidFunctionError` for what a worker could not import: lambdas,
    nested functions, functions defined in ``__main__``, and non-callables; and for
    what gives no result: a coroutine object, a generator function. An ``async def``
    function is a job like any other.
    """
    if isinstance(func, str):
        if callable(getattr(builtins, func, None)) and not func.startswith("_"):
            return f"builtins.{func}", None  # a builtin by its bare name, as RQ takes it
        if not _DOTTED_RE.match(func):
            raise InvalidFunctionError(
                f"{func!r} is not a dotted path; write it as 'package.module.function'"
            )
        return func, None
    if inspect.isawaitable(func):
        raise InvalidFunctionError(
            f"{func!r} is an awaitable (a coroutine is what calling an async function "
            "gives), not a function; enqueue the function itself with its arguments: "
            "enqueue(fetch, url), not enqueue(fetch(url))"
        )
    if not callable(func):
        raise InvalidFunctionError(f"{func!r} is not callable")
    if inspect.isasyncgenfunction(func) or inspect.isgeneratorfunction(func):
        raise InvalidFunctionError(
            f"{getattr(func, '__qualname__', func)!r} is a generator function: calling it "
            "gives an iterator, not a result; enqueue a function that returns its result"
        )
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
    return _module_level_name(func), None


def _module_level_name(func: Any) -> str:
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
    return f"{module}.{qualname}"


def short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _ARG_REPR_LIMIT else text[: _ARG_REPR_LIMIT - 3] + "..."


def call_string(
    func_name: str, args: Iterable[Any], kwargs: Mapping[str, Any], shorten: bool = True
) -> str:
    """``func(arg, key=value)`` for display; long arguments are cut with ``shorten``."""
    show = short_repr if shorten else repr
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in kwargs.items()]
    return f"{func_name}({', '.join(parts)})"


def normalize_allowlist(modules: Iterable[str] | None) -> tuple[str, ...] | None:
    """The allowed module names, checked; ``None`` allows every module.

    Raises :class:`~minirq.exceptions.ConfigurationError` for a name that is not a dotted
    module name.
    """
    if modules is None:
        return None
    if isinstance(modules, str):
        modules = [modules]
    names = []
    for name in modules:
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$", name):
            raise ConfigurationError(
                f"allowed module {name!r} is not a module name such as 'myapp.jobs'"
            )
        names.append(name)
    return tuple(names)


def not_allowed_reason(
    func_name: str, allowed: Sequence[str] | None, what: str = "function"
) -> str | None:
    """Why a worker limited to ``allowed`` modules must not import ``func_name``, or
    ``None`` if it may. A module is allowed when it is one of the names or below one."""
    if allowed is None:
        return None
    if any(func_name.startswith(f"{module}.") for module in allowed):
        return None
    return (
        f"{what} {func_name!r} is not allowed: this worker only imports from the modules "
        f"{', '.join(allowed) or '(none)'} (allowed_modules / --allow-module)"
    )
