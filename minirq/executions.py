"""A job's executions, in RQ's form: minirq runs a job at most once at a time, under a lease
held by one run token, so ``job.get_executions()`` is that run, or nothing.

``Execution.id`` is the run's token, ``created_at`` when the run started, and
``last_heartbeat`` the last heartbeat of the worker running it (a heartbeat renews the
leases of its running jobs).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import redis

from . import store
from .keys import Keys
from .utils import ms_to_datetime


class Execution:
    """One run of a job (read-only); ``job`` is the job it belongs to."""

    def __init__(
        self,
        id: str,
        job_id: str,
        connection: redis.Redis,
        worker_name: str = "",
        job: Any = None,
        created_at: datetime | None = None,
        prefix: str | None = None,
    ) -> None:
        self.id = id
        self.job_id = job_id
        self.connection = connection
        self.worker_name = worker_name
        self.job = job
        self.created_at = created_at
        self._keys = Keys(prefix)

    def __repr__(self) -> str:
        return f"Execution({self.composite_key})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Execution) and other.composite_key == self.composite_key

    def __hash__(self) -> int:
        return hash(self.composite_key)

    @property
    def composite_key(self) -> str:
        """``<job id>:<execution id>``, as in RQ."""
        return f"{self.job_id}:{self.id}"

    @property
    def last_heartbeat(self) -> datetime | None:
        """The last heartbeat of the worker running the job, if it still reports."""
        return ms_to_datetime(
            store.jobs.worker_heartbeat_ms(self.connection, self._keys, self.worker_name)
        )


__all__ = ["Execution"]
