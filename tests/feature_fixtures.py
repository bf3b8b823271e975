"""Callbacks, handlers and helpers for the job-feature tests.

Module-level so that forked work-horses and `minirq worker` subprocesses can import them.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any

import redis

from minirq import Job


def record_success(job: Job, connection: redis.Redis, result: Any) -> None:
    connection.rpush(f"test:callbacks:{job.id}", json.dumps(["success", result]))


def record_failure(
    job: Job,
    connection: redis.Redis,
    exc_type: type[BaseException],
    exc_value: BaseException,
    tb: TracebackType | None,
) -> None:
    kind = "traceback" if isinstance(tb, TracebackType) else repr(tb)
    connection.rpush(
        f"test:callbacks:{job.id}",
        json.dumps(["failure", exc_type.__name__, str(exc_value), kind]),
    )


def record_stopped(job: Job, connection: redis.Redis) -> None:
    connection.rpush(f"test:callbacks:{job.id}", json.dumps(["stopped", job.get_status()]))


def broken_callback(job: Job, connection: redis.Redis, *args: Any) -> None:
    raise RuntimeError("callback broke")


def slow_callback(job: Job, connection: redis.Redis, *args: Any) -> None:
    time.sleep(30)


def handler_log(job: Job, exc_type: Any, exc_value: Any, tb: Any) -> None:
    job.connection.rpush("test:handlers", f"log:{exc_type.__name__}:{exc_value}")


def handler_stop_chain(job: Job, exc_type: Any, exc_value: Any, tb: Any) -> bool:
    job.connection.rpush("test:handlers", "stop")
    return False


def handler_never_reached(job: Job, exc_type: Any, exc_value: Any, tb: Any) -> None:
    job.connection.rpush("test:handlers", "unreachable")


def handler_broken(job: Job, exc_type: Any, exc_value: Any, tb: Any) -> None:
    raise ValueError("handler broke")


def report_progress(steps: int) -> str:
    from minirq import get_current_job

    job = get_current_job()
    assert job is not None
    for step in range(1, steps + 1):
        job.set_progress(step / steps, f"step {step} of {steps}")
    return "done"


def progress_then_wait(seconds: float) -> str:
    from minirq import get_current_job

    job = get_current_job()
    assert job is not None
    job.set_progress(0.25, "a quarter")
    time.sleep(seconds)
    return "done"


class UpperJSON:
    """A custom serializer for the --serializer test: JSON, with a marker prefix."""

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return b"U" + json.dumps(obj).encode()

    @staticmethod
    def loads(data: bytes) -> Any:
        assert data[:1] == b"U", data
        return json.loads(data[1:])


upper_json = UpperJSON()


def wait_until(predicate: Callable[[], Any], timeout_s: float = 15.0, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something true; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        time.sleep(0.02)


def start_worker(
    command: Sequence[str], env: dict[str, str], *args: str
) -> subprocess.Popen[bytes]:
    """A `minirq worker` subprocess; the caller stops it with :func:`stop_process`."""
    return subprocess.Popen(
        # A short shutdown timeout: a test's last, long job must not delay its teardown.
        [*command, "worker", "--shutdown-timeout", "1", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def stop_process(process: subprocess.Popen[bytes]) -> str:
    """Terminate (if still running) and reap a process; returns its stderr."""
    if process.poll() is None:
        process.terminate()
    try:
        _, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err.decode(errors="replace")


def record_status_on_success(job: Job, connection: redis.Redis, result: Any) -> None:
    connection.rpush(f"test:callbacks:{job.id}", json.dumps(["status", job.get_status(False)]))


def record_status_on_failure(
    job: Job,
    connection: redis.Redis,
    exc_type: type[BaseException],
    exc_value: BaseException,
    tb: TracebackType | None,
) -> None:
    connection.rpush(f"test:callbacks:{job.id}", json.dumps(["status", job.get_status(False)]))


class CallbackHolder:
    """Callables that are not functions, which a callback may not be."""

    @classmethod
    def on_class(cls, job: Job, connection: redis.Redis, result: Any) -> None:
        pass

    @staticmethod
    def on_static(job: Job, connection: redis.Redis, result: Any) -> None:
        connection.rpush(f"test:callbacks:{job.id}", json.dumps(["static", result]))
