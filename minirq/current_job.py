"""Which job this code runs in: :func:`get_current_job`. Pure: no Redis.

A context variable, so that each job an async worker runs at once (in its own task, or
thread) sees its own job.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .job import Job

_current_job: ContextVar[Job | None] = ContextVar("minirq_current_job", default=None)


def get_current_job(connection: Any = None) -> Job | None:
    """The job being run by this process (by this task, in an async worker), or
    ``None`` outside a job. ``connection`` is accepted for RQ's signature and unused."""
    return _current_job.get()


@contextlib.contextmanager
def running_as_current(job: Job) -> Iterator[None]:
    """Make ``job`` what :func:`get_current_job` returns within the block (in this
    thread or task only)."""
    token = _current_job.set(job)
    try:
        yield
    finally:
        _current_job.reset(token)
