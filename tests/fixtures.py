"""Job functions for tests; module-level so that forked work-horses can import them."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import time
from pathlib import Path
from typing import Any

from minirq import Retry, get_current_job


def say_hello(name: str = "world") -> str:
    return f"Hi there, {name}!"


def add(a: int, b: int) -> int:
    return a + b


def echo(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


def div_by_zero(x: int = 1) -> float:
    return x / 0


def sleep_for(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def swallow_everything(seconds: float) -> str:
    """A job that catches Exception, which must not hide its timeout."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            time.sleep(0.05)
    return "done"


def kill_myself(sig: int = signal.SIGKILL) -> None:
    # pytest turns faulthandler on, which would print a Python stack for a deliberate
    # SIGSEGV into the test log; the test checks the worker's account of it instead.
    faulthandler.disable()
    os.kill(os.getpid(), sig)


def exit_hard(code: int = 3) -> None:
    os._exit(code)


def return_unpicklable() -> Any:
    return lambda: None


def return_big(size: int) -> bytes:
    return b"x" * size


def current_job_id() -> str | None:
    job = get_current_job()
    return job.id if job else None


def write_progress() -> str:
    job = get_current_job()
    assert job is not None
    job.meta["progress"] = 0.5
    job.save_meta()
    return "ok"


def touch(path: str, text: str = "") -> str:
    Path(path).write_text(text)
    return path


def append_line(path: str, line: str) -> None:
    with open(path, "a") as handle:
        handle.write(line + "\n")


def return_pid() -> int:
    return os.getpid()


class Calculator:
    def __init__(self, base: int) -> None:
        self.base = base

    def plus(self, value: int) -> int:
        return self.base + value


class CallableThing:
    def __call__(self, value: int) -> int:
        return value * 2


def nested_function_factory() -> Any:
    def inner() -> None:
        return None

    return inner


def describe_current_run() -> dict[str, Any]:
    """What a running job sees of itself: it must describe this run, not the previous one."""
    job = get_current_job()
    assert job is not None
    return {
        "status": str(job.get_status(refresh=False)),
        "worker": job.worker_name,
        "started_at": job.started_at,
        "attempts": job.attempts,
    }


def returns_retry() -> Any:
    """Ask for a retry in RQ's form: ``return Retry(...)``."""
    return Retry(max=2, interval=5)
