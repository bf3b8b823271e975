"""A job's stored attributes, read from its decoded record (which never raises on bad
bytes); part of :class:`~minirq.job.Job`."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import redis

from . import store
from .exceptions import InvalidJobError
from .keys import Keys
from .results import Result
from .retry import Retry, attempts_started, job_repeat, job_retry, retries_done
from .serializers import Serializer
from .store.record import JobRecord, text_or_none
from .utils import ms_to_datetime


class JobStatus(StrEnum):
    CREATED = "created"
    QUEUED = "queued"
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"
    SCHEDULED = "scheduled"
    DEFERRED = "deferred"
    CANCELED = "canceled"
    STOPPED = "stopped"


# The registry a job of each status lives in (queued jobs live in the queue list).
STATUS_REGISTRY = {
    JobStatus.STARTED: "started",
    JobStatus.FINISHED: "finished",
    JobStatus.FAILED: "failed",
    JobStatus.STOPPED: "failed",
    JobStatus.SCHEDULED: "scheduled",
    JobStatus.DEFERRED: "deferred",
    JobStatus.CANCELED: "canceled",
}


def initial_status(status: JobStatus | str | None) -> str:
    """The status of a job built by ``Job.create(status=...)``: ``created`` by default."""
    if status is None:
        return JobStatus.CREATED.value
    try:
        return JobStatus(status).value
    except ValueError:
        raise InvalidJobError(
            f"unknown job status {status!r}; use one of {', '.join(JobStatus)}"
        ) from None


class JobAttributesMixin:
    id: str
    connection: redis.Redis
    keys: Keys
    record: JobRecord
    serializer: Serializer

    @property
    def description(self) -> str:
        raise NotImplementedError

    # -- stored attributes -------------------------------------------------------------

    @property
    def problem(self) -> str | None:
        """Which stored fields did not decode, if any (the job cannot be trusted then)."""
        return self.record.problem

    @property
    def func_name(self) -> str:
        return self.record.func

    @property
    def origin(self) -> str:
        return self.record.origin

    @property
    def status(self) -> JobStatus | None:
        """The status loaded; raises ``ValueError`` for a status minirq never writes
        (damaged data), so that a reader can say the record is broken."""
        self._check("status")
        value = self.record.status
        return JobStatus(value) if value else None

    def _check(self, field: str) -> None:
        """Raise ``ValueError`` naming ``field`` if it did not decode."""
        problem = self.record.problems.get(field)
        if problem is not None:
            raise ValueError(f"job {self.id}: its {field!r} field {problem}")

    def get_status(self, refresh: bool = True) -> JobStatus | None:
        """The job's status, read from Redis unless ``refresh`` is false.

        Returns ``None`` if the job no longer exists; raises ``ValueError`` for a status
        minirq never writes.
        """
        if refresh:
            value = store.jobs.load_field(self.connection, self.keys, self.id, "status")
            if value is None:
                return None
            self.record.status = text_or_none(value)
            self.record.problems.pop("status", None)
            if self.record.status is None:
                self.record.problems["status"] = "is not UTF-8 text"
        return self.status

    @property
    def timeout(self) -> int:
        """Seconds the job may run; ``-1`` for no limit."""
        return self.record.timeout_s

    @property
    def result_ttl(self) -> int:
        return self.record.result_ttl_s

    @property
    def failure_ttl(self) -> int:
        return self.record.failure_ttl_s

    @property
    def ttl(self) -> int | None:
        return self.record.ttl_s

    @property
    def created_at(self) -> datetime | None:
        self._check("created_ms")
        return ms_to_datetime(self.record.created_ms)

    @property
    def enqueued_at(self) -> datetime | None:
        self._check("enqueued_ms")
        return ms_to_datetime(self.record.enqueued_ms)

    @property
    def started_at(self) -> datetime | None:
        self._check("started_ms")
        return ms_to_datetime(self.record.started_ms)

    @property
    def ended_at(self) -> datetime | None:
        self._check("ended_ms")
        return ms_to_datetime(self.record.ended_ms)

    @property
    def worker_name(self) -> str | None:
        return self.record.worker

    @property
    def run_token(self) -> str:
        """The token of the run holding the job's lease ("" when not started)."""
        return self.record.run_token or ""

    @property
    def exc_info(self) -> str | None:
        """The traceback text of the last failure, if any."""
        return self.record.exc

    @property
    def orphaned_count(self) -> int:
        """How many times the job lost its worker and was recovered."""
        return self.record.orphaned

    @property
    def retries_left(self) -> int | None:
        """Retries left; ``None`` for a job without a :class:`~minirq.Retry` not yet retried."""
        return self.record.retries_left

    @property
    def retry(self) -> Retry | None:
        """The :class:`~minirq.Retry` the job was enqueued with, if any."""
        return job_retry(self.record)

    @property
    def attempts(self) -> int:
        """How many times the job has been started, counting the current run."""
        return attempts_started(self.record)

    @property
    def number_of_retries(self) -> int:
        """How many times the job was sent back for another attempt after a failure."""
        return retries_done(self.record)

    @property
    def retry_intervals(self) -> list[float] | None:
        """The seconds before each retry, the last repeating, as in RQ; ``None`` without a
        :class:`~minirq.Retry` (and for a backoff, whose delays are not a fixed list)."""
        retry = self.retry
        if retry is None or retry.backoff is not None:
            return None
        return list(retry.intervals)

    @property
    def repeat_intervals(self) -> list[float] | None:
        """The seconds between repeats, the last repeating; ``None`` without a
        :class:`~minirq.Repeat`."""
        repeat = job_repeat(self.record)
        return None if repeat is None else list(repeat.intervals)

    @property
    def repeats_left(self) -> int | None:
        """Repeats left of a job enqueued with a :class:`~minirq.Repeat`, else ``None``."""
        if self.record.repeats_left is not None:
            return self.record.repeats_left
        repeat = job_repeat(self.record)
        return None if repeat is None else repeat.times

    def get_ttl(self, default_ttl: int | None = None) -> int | None:
        """Seconds the job may wait in its queue before it expires (its ``ttl``), or
        ``default_ttl`` when it has none."""
        return default_ttl if self.record.ttl_s is None else self.record.ttl_s

    def get_position(self) -> int | None:
        """The job's 0-based place in its queue (0 is taken next), ``None`` when it is
        not queued."""
        position = self.connection.lpos(self.keys.queue(self.origin), self.id)
        return None if position is None else int(position)  # type: ignore[arg-type]

    # -- results -----------------------------------------------------------------------

    def latest_result(self, timeout: float = 0) -> Result | None:
        """The outcome of the job's latest run (a :class:`~minirq.results.Result`), or
        ``None`` before one; with ``timeout`` seconds, wait up to that long for it. The
        wait wakes when the outcome is recorded (no polling)."""
        return Result.fetch_latest(self, self.serializer, timeout=timeout)

    def results(self) -> list[Result]:
        """The outcomes kept for the job, newest first. minirq keeps the latest only
        (RQ keeps up to ten): a list of at most one."""
        return Result.all(self, self.serializer)

    @property
    def is_queued(self) -> bool:
        return self.get_status() == JobStatus.QUEUED

    @property
    def is_started(self) -> bool:
        return self.get_status() == JobStatus.STARTED

    @property
    def is_finished(self) -> bool:
        return self.get_status() == JobStatus.FINISHED

    @property
    def is_failed(self) -> bool:
        return self.get_status() == JobStatus.FAILED

    @property
    def is_scheduled(self) -> bool:
        return self.get_status() == JobStatus.SCHEDULED

    @property
    def is_deferred(self) -> bool:
        return self.get_status() == JobStatus.DEFERRED

    @property
    def is_canceled(self) -> bool:
        return self.get_status() == JobStatus.CANCELED

    @property
    def is_stopped(self) -> bool:
        return self.get_status() == JobStatus.STOPPED

    def to_dict(self) -> dict[str, Any]:
        """The job's stored fields, decoded for display (the dashboard and ``minirq info``)."""
        return {
            "id": self.id,
            "func_name": self.func_name,
            "description": self.description,
            "status": self.record.status,
            "origin": self.origin,
            "created_at": self.created_at,
            "enqueued_at": self.enqueued_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "worker_name": self.worker_name,
            "timeout": self.timeout,
            "exc_info": self.exc_info,
            "orphaned_count": self.orphaned_count,
        }
