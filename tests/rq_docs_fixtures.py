"""Importable pieces for the tests of RQ's documented usages: custom classes, exception
handlers and jobs that leave a trace a test can read (in Redis, so that it works across
worker processes)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis
from redis import Redis

from minirq import Queue, SimpleWorker, Worker
from minirq.job import Job

TRACE_KEY = "rq-docs:trace"


def run_to_end(
    command: Sequence[str], env: Mapping[str, str], cwd: Path | str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (a burst worker, a user's script) to its end within a minute; a
    non-zero exit fails the test with what it wrote to stderr."""
    done = subprocess.run(
        list(command), cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done

_OPENED: list[Redis] = []


def set_up_environment(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point ``Redis()``-less code (``Queue("name")``) at the test server."""
    monkeypatch.setenv("REDIS_URL", redis_url)


def close_connections() -> None:
    while _OPENED:
        _OPENED.pop().close()


def opened_redis(url: str) -> Redis:
    client = Redis.from_url(url)
    _OPENED.append(client)
    return client


def _trace(entry: str) -> None:
    # The test's Redis only: never a default that could be someone's data.
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        client.rpush(TRACE_KEY, entry)
    finally:
        client.close()


def traced(connection: redis.Redis) -> list[str]:
    return [e.decode() for e in connection.lrange(TRACE_KEY, 0, -1)]


def note(label: str) -> str:
    """A job that records its label, so a test can read the order jobs ran in."""
    _trace(label)
    return label


def sleep_then_note(seconds: float, label: str) -> str:
    time.sleep(seconds)
    _trace(label)
    return label


def fail() -> None:
    raise ValueError("documented failure")


def foo_handler(job: Job, exc_type: Any, exc_value: Any, traceback: Any) -> None:
    _trace(f"foo:{job.id}:{exc_type.__name__}")


def bar_handler(job: Job, *exc_info: Any) -> None:
    _trace(f"bar:{job.id}:{exc_info[0].__name__}")


def black_hole(job: Job, *exc_info: Any) -> bool:
    _trace(f"black_hole:{job.id}")
    return False


def my_work_horse_killed_handler(job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
    _trace(f"killed:{job.id}:{retpid == 0}:{rusage is None}")


def kill_self() -> None:
    os.kill(os.getpid(), 9)


class CustomJob(Job):
    pass


class CustomQueue(Queue):
    job_class = CustomJob


class PreloadingWorker(Worker):
    """A custom worker class named by a dotted path on the command line."""

    def work(self, *args: Any, **kwargs: Any) -> bool:
        _trace("custom-worker")
        return super().work(*args, **kwargs)


class WindowsSimpleWorker(SimpleWorker):
    """testing.md's subclass (there: to replace the timeout mechanism)."""
