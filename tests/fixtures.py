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


def worker_children(wait_for: int = 0) -> int:
    """How many live processes the worker running this job has as children (this horse
    among them); with ``wait_for``, first waits (20 s at most) until there are that many."""
    deadline = time.monotonic() + 20
    while True:
        count = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError):
                state, parent = stat.read_text().rpartition(")")[2].split()[:2]
                if int(parent) == os.getppid() and state not in ("Z", "X"):
                    count += 1
        if count >= wait_for or time.monotonic() > deadline:
            return count
        time.sleep(0.01)


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


def touch_then_sleep(path: str, seconds: float) -> str:
    """Create ``path`` once running, then sleep: a test waits for the file, not a time."""
    Path(path).write_text("started")
    time.sleep(seconds)
    return path
