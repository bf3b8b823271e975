"""Job functions of the RQ backlog fixture (``tests/rq_backlog/``).

Real RQ 2.12 enqueued calls of these functions; minirq workers run them after
``minirq import-rq``. This module imports nothing of RQ or minirq, so both can load it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


def add(a: int, b: int) -> int:
    return a + b


def greet(name: str, punctuation: str = ".") -> str:
    return f"hello {name}{punctuation}"


def day_of(when: datetime) -> str:
    return when.date().isoformat()


def always_fails() -> None:
    raise ValueError("this job always fails")


def noted_success(job: Any, connection: Any, result: Any) -> None:
    """An ``on_success`` callback."""


class Counter:
    """A picklable object whose bound method is enqueued."""

    def __init__(self, start: int) -> None:
        self.start = start

    def plus(self, value: int) -> int:
        return self.start + value
