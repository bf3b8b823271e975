"""Results: what the latest run of a job came to, in RQ's ``Result`` form.

minirq keeps one outcome per job, on the job's own hash (the return value or the
traceback, with the time it ended), so a finished job costs a fraction of the memory of
RQ's stream of results. :meth:`Job.latest_result` reads it, and with ``timeout`` waits for
it on the job's result channel: the waiter marks the job (``wait_result.lua``), and the
step recording a run of a marked job publishes on that channel, so the wait wakes when
the outcome is written (it does not poll) and a job nobody waits for costs nothing more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

import redis

from . import store
from .exceptions import DeserializationError
from .keys import Keys
from .serializers import Serializer, resolve_serializer
from .store.record import JobRecord, decode_record
from .utils import close_quietly, ms_to_datetime, now

logger = logging.getLogger("minirq.results")


class ResultType(Enum):
    """How a run ended, with RQ's names and numbers (minirq records the first three)."""

    SUCCESSFUL = 1
    FAILED = 2
    STOPPED = 3
    RETRIED = 4
    MAX_RETRIES_EXCEEDED = 5


_STATUS_TYPES = {
    "finished": ResultType.SUCCESSFUL,
    "failed": ResultType.FAILED,
    "stopped": ResultType.STOPPED,
}


class _StoredJob(Protocol):
    id: str
    connection: redis.Redis
    keys: Keys
    serializer: Serializer


class Result:
    """The outcome of one run of a job.

    ``type`` is a :class:`ResultType` (also ``Result.Type``); ``return_value`` is what a
    successful run returned (decoded when read: :class:`DeserializationError` if it does
    not decode); ``exc_string`` the traceback of a failed or stopped one; ``created_at``
    when the run ended; ``id`` names the outcome (two reads of the same one are equal).
    """

    Type = ResultType

    def __init__(
        self,
        job_id: str,
        type: ResultType,
        connection: redis.Redis | None = None,
        id: str | None = None,
        created_at: datetime | None = None,
        return_value: Any = None,
        exc_string: str | None = None,
        worker_name: str = "",
        serializer: Serializer | str | None = None,
    ) -> None:
        self.job_id = job_id
        self.type = type
        self.connection = connection
        self.id = id
        self.created_at = created_at if created_at is not None else now()
        self.exc_string = exc_string
        self.worker_name = worker_name
        self.serializer = resolve_serializer(serializer)
        self._value = return_value
        self._data: bytes | None = None

    @classmethod
    def from_record(
        cls, job_id: str, record: JobRecord, serializer: Serializer | str | None = None
    ) -> Result | None:
        """The latest outcome a job record holds, or ``None`` if it has none yet.

        A job waiting for a retry holds the failure of its last run; a repeating one the
        success of its last run."""
        kind = _STATUS_TYPES.get(record.status or "")
        if kind is None:
            if record.exc is not None:
                kind = ResultType.FAILED
            elif record.result is not None:
                kind = ResultType.SUCCESSFUL
            else:
                return None
        result = cls(
            job_id,
            kind,
            id=f"{record.ended_ms}-0" if record.ended_ms is not None else f"{job_id}-latest",
            created_at=ms_to_datetime(record.ended_ms),
            exc_string=record.exc if kind is not ResultType.SUCCESSFUL else None,
            worker_name=record.worker or "",
            serializer=serializer,
        )
        if kind is ResultType.SUCCESSFUL:
            result._data = record.result
        return result

    @property
    def return_value(self) -> Any:
        if self._data is not None:
            try:
                self._value = self.serializer.loads(self._data)
            except Exception as exc:
                raise DeserializationError(
                    f"cannot decode the result of job {self.job_id}: {type(exc).__name__}: {exc}"
                ) from exc
            self._data = None
        return self._value

    def __repr__(self) -> str:
        return f"Result(id={self.id}, type={self.type.name})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Result) and (other.job_id, other.id) == (self.job_id, self.id)

    def __hash__(self) -> int:
        return hash((self.job_id, self.id))

    def __bool__(self) -> bool:
        return bool(self.id)

    @classmethod
    def fetch_latest(
        cls, job: _StoredJob, serializer: Serializer | str | None = None, timeout: float = 0
    ) -> Result | None:
        """The job's latest outcome; with ``timeout`` (seconds), wait up to that long for
        one when there is none yet. ``None`` if there is none (or the job is gone)."""
        serializer = job.serializer if serializer is None else serializer
        if not timeout or timeout <= 0:
            return _read(job, serializer)
        subscription = job.connection.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            subscription.subscribe(job.keys.result_channel(job.id))
            deadline = time.monotonic() + timeout
            # Marked and read in one step, after subscribing: an outcome recorded before
            # is read here, one recorded after is published and wakes get_message.
            fields = store.runner_for(job.connection).run(
                store.calls.wait_result(job.keys, job_id=job.id)
            )
            result = _result(job, fields, serializer)
            while True:
                remaining = deadline - time.monotonic()
                if result is not None or remaining <= 0:
                    return result
                subscription.get_message(timeout=remaining)
                result = _read(job, serializer)
        finally:
            close_quietly(subscription, "the result subscription", logger)

    @classmethod
    def all(cls, job: _StoredJob, serializer: Serializer | str | None = None) -> list[Result]:
        """The outcomes kept for the job, newest first: minirq keeps the latest only."""
        latest = cls.fetch_latest(job, serializer)
        return [] if latest is None else [latest]

    @classmethod
    def count(cls, job: _StoredJob) -> int:
        return len(cls.all(job))


def _read(job: _StoredJob, serializer: Serializer | str | None) -> Result | None:
    return _result(job, store.jobs.load(job.connection, job.keys, job.id), serializer)


def _result(
    job: _StoredJob, fields: Mapping[Any, Any], serializer: Serializer | str | None
) -> Result | None:
    if not fields:
        return None
    result = Result.from_record(job.id, decode_record(fields), serializer)
    if result is not None:
        result.connection = job.connection
    return result


__all__ = ["Result", "ResultType"]
