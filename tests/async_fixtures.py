"""Async job functions for the async tests (importable by work-horses and workers)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
from typing import Any

from minirq import get_current_job

RENDEZVOUS_TIMEOUT_S = 20.0


async def async_add(a: int, b: int) -> int:
    await asyncio.sleep(0)
    return a + b


async def async_fail(message: str = "async boom") -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


def returns_awaitable(x: int) -> Any:
    """A plain function that returns a coroutine: what it gives is awaited too."""
    return async_add(x, 1)


async def async_current_job_id() -> str | None:
    await asyncio.sleep(0.01)
    job = get_current_job()
    return job.id if job is not None else None


async def async_sleep(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds


async def async_sleep_then_touch(seconds: float, path: str) -> str:
    await asyncio.sleep(seconds)
    Path(path).touch()
    return path


async def async_touch_then_sleep(path: str, seconds: float) -> float:
    Path(path).touch()
    await asyncio.sleep(seconds)
    return seconds


async def async_thread_name() -> str:
    return threading.current_thread().name


def thread_name() -> str:
    return threading.current_thread().name


def sync_sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


class AsyncAdder:
    def __init__(self, base: int) -> None:
        self.base = base

    async def plus(self, value: int) -> int:
        await asyncio.sleep(0)
        return self.base + value


def _arrive(folder: str, parties: int, name: str) -> Path:
    place = Path(folder)
    place.mkdir(parents=True, exist_ok=True)
    (place / f"{name}.{os.getpid()}.{threading.get_ident()}").touch()
    return place


def _all_here(place: Path, parties: int) -> bool:
    return len(list(place.iterdir())) >= parties


async def rendezvous(folder: str, parties: int, name: str) -> str:
    """Wait (without blocking the loop) until ``parties`` jobs have arrived in
    ``folder``: only jobs that run at the same time all get past it."""
    place = _arrive(folder, parties, name)
    deadline = time.monotonic() + RENDEZVOUS_TIMEOUT_S
    while not _all_here(place, parties):
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(place.iterdir()))} of {parties} jobs met")
        await asyncio.sleep(0.01)
    return name


def blocking_rendezvous(folder: str, parties: int, name: str) -> str:
    """:func:`rendezvous` for a plain function: it blocks its thread while it waits."""
    place = _arrive(folder, parties, name)
    deadline = time.monotonic() + RENDEZVOUS_TIMEOUT_S
    while not _all_here(place, parties):
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(list(place.iterdir()))} of {parties} jobs met")
        time.sleep(0.01)
    return name


async def ignore_cancellation(path: str) -> str:
    """Keeps running through one cancellation (as badly written async code does)."""
    Path(path).touch()
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        await asyncio.sleep(0.2)
    return "survived"


def record_success(job: Any, connection: Any, result: Any) -> None:
    connection.set(f"test:async-success:{job.id}", repr(result))


async def async_generator() -> Any:
    yield 1


def generator() -> Any:
    yield 1


async def fail_once(key: str) -> str:
    """Fails on its first run and succeeds on the next (counted in Redis at ``key``)."""
    job = get_current_job()
    assert job is not None
    if int(job.connection.incr(key)) == 1:
        raise RuntimeError("first run fails")
    return "second run"


def record_failure(job: Any, connection: Any, *exc_info: Any) -> None:
    connection.set(f"test:async-failure:{job.id}", exc_info[0].__name__)


async def never_stop(path: str) -> None:
    """Swallows every cancellation: only giving up on it ends its run."""
    Path(path).touch()
    while True:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            continue
