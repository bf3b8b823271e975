"""Job functions named as in RQ 2.12's docs, for the tests of its documented usages of
jobs, queues and results; module-level so that workers import them. None of them
touches the network: ``count_words_at_url`` counts the words of the URL itself."""

from __future__ import annotations

import socket
import time
from typing import Any

from minirq import get_current_job


def count_words_at_url(url: str) -> int:
    return len(url.replace("/", " ").replace(".", " ").split())


def say_hello(name: str = "Stranger") -> str:
    return f"Hello {name}!"


def say_nothing() -> None:
    return None


def div_by_zero(x: int = 1) -> float:
    return x / 0


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def add(x: int, y: int) -> int:
    job = get_current_job()
    assert job is not None
    job.meta["handled_by"] = socket.gethostname()
    job.save_meta()
    return x + y


def echo_description_and_ttl(url: str, description: str, ttl: int) -> list[Any]:
    return [url, description, ttl]


def sleep_then_return(seconds: float, value: Any) -> Any:
    time.sleep(seconds)
    return value


def report_success(job: Any, connection: Any, result: Any, *args: Any, **kwargs: Any) -> None:
    connection.rpush("rq-docs:callbacks", f"success {job.id} {result}")


def report_failure(job: Any, connection: Any, type: Any, value: Any, traceback: Any) -> None:
    connection.rpush("rq-docs:callbacks", f"failure {job.id} {type.__name__}")


def report_stopped(job: Any, connection: Any) -> None:
    connection.rpush("rq-docs:callbacks", f"stopped {job.id}")


def add_numbers(x: int, y: int) -> int:
    """Decorated with ``@job`` by the decorator's doc test."""
    return x + y
