"""Running what an ``async def`` job returns: a coroutine, or any awaitable a plain
function returns, is run to completion, as RQ 2.12 does. Pure: no Redis."""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


def is_async_callable(func: Callable[..., Any]) -> bool:
    """Whether calling ``func`` gives a coroutine: an ``async def`` function or method,
    or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - the method itself, not callable()
    )


async def _await(awaitable: Awaitable[T]) -> T:
    return await awaitable


def run_awaitable(value: Any) -> Any:
    """``value`` itself, or, if it is awaitable, what it gives once run to completion on
    an event loop of its own.

    Called where a loop already runs in this thread (``Queue(is_async=False)`` inside
    async code), the awaitable runs on a fresh loop in a helper thread that this one
    waits for, so that it never re-enters the running loop. An exception the awaitable
    raises is raised here.
    """
    if not inspect.isawaitable(value):
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_await(value))
    return _run_in_helper_thread(value)


def _run_in_helper_thread(awaitable: Awaitable[Any]) -> Any:
    outcome: list[Any] = []
    context = contextvars.copy_context()

    def run() -> None:
        try:
            outcome.append((True, context.run(asyncio.run, _await(awaitable))))
        except BaseException as exc:  # re-raised in the caller's thread
            outcome.append((False, exc))

    thread = threading.Thread(target=run, name="minirq-await", daemon=True)
    thread.start()
    thread.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value
