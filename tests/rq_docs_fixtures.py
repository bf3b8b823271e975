"""Importable pieces for the tests of RQ's documented usages: custom classes, exception
handlers and jobs that leave a trace a test can read (in Redis, so that it works across
worker processes)."""

from __future__ import annotations

import os
import time
from typing import Any

import redis

from minirq import Queue, SimpleWorker, Worker
from minirq.job import Job

TRACE_KEY = "rq-docs:trace"


def _trace(entry: str) -> None:
    client = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))
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
