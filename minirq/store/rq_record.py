"""RQ 2.x's job hash, decoded: the one place RQ's field names are spelled.

Read by ``minirq import-rq`` from RQ's Redis, which is untrusted input like any Redis
data: :func:`decode_rq_job` never raises; a field that does not decode is named in
:attr:`RQJob.problems` and the job is reported and left where it is. The stored call and
meta stay bytes here (see :mod:`minirq.rq_payload`).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .record import int_or_none, text_or_none

# RQ 2.12's JobStatus values.
RQ_STATUSES = frozenset(
    {
        "created",
        "queued",
        "finished",
        "failed",
        "started",
        "deferred",
        "scheduled",
        "stopped",
        "canceled",
    }
)
# RQ's callback fields: minirq's attribute -> (name field, timeout field).
RQ_CALLBACK_FIELDS = {
    "on_success": ("success_callback_name", "success_callback_timeout"),
    "on_failure": ("failure_callback_name", "failure_callback_timeout"),
    "on_stopped": ("stopped_callback_name", "stopped_callback_timeout"),
}
# RQ's Result.Type values that record a failure (FAILED, STOPPED).
_FAILURE_RESULT_TYPES = {"2", "3"}
# A traceback longer than this once inflated is cut.
MAX_TRACEBACK_BYTES = 1024 * 1024


@dataclass
class RQJob:
    """One RQ job hash, decoded. ``None`` stands for a field that is absent or empty."""

    job_id: str
    status: str | None = None
    origin: str = ""
    data: bytes | None = None
    meta: bytes | None = None
    # RQ's created_at exactly as stored: with the id, it tells one RQ job from another.
    created_at: str = ""
    created_ms: int | None = None
    enqueued_ms: int | None = None
    started_ms: int | None = None
    ended_ms: int | None = None
    description: str | None = None
    timeout_s: int | None = None
    result_ttl_s: int | None = None
    failure_ttl_s: int | None = None
    ttl_s: int | None = None
    retries_left: int | None = None
    number_of_retries: int | None = None
    retry_intervals: list[float] | None = None
    repeats_left: int | None = None
    repeat_intervals: list[float] | None = None
    dependency_ids: tuple[str, ...] = ()
    allow_dependency_failures: bool = False
    enqueue_at_front: bool = False
    callbacks: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    exc_info: str | None = None
    has_webhooks: bool = False
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def problem(self) -> str | None:
        """One sentence naming the fields that did not decode, or ``None``."""
        if not self.problems:
            return None
        return "; ".join(f"its {name!r} field {what}" for name, what in self.problems.items())


def _ms(text: str) -> int | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _intervals(text: str) -> list[float] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = [value]
    if not (
        isinstance(value, list)
        and value
        and all(isinstance(v, int | float) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        return None
    return [float(v) for v in value]


def _ids(text: str) -> tuple[str, ...] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return None
    return tuple(value)


def inflate_text(raw: bytes) -> str | None:
    """zlib-compressed UTF-8 text (RQ's tracebacks), cut at :data:`MAX_TRACEBACK_BYTES`;
    ``None`` if it is not that."""
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(raw, MAX_TRACEBACK_BYTES)
    except zlib.error:
        return None
    return data.decode("utf-8", errors="replace")


class _Fields:
    """RQ's hash as text fields, with the problems found while reading it."""

    def __init__(self, raw: Mapping[Any, Any], job: RQJob) -> None:
        self.job = job
        self.values: dict[str, bytes] = {}
        for name, value in raw.items():
            text_name = text_or_none(name) if isinstance(name, bytes | str) else None
            if text_name is None:
                job.problems[repr(name)[:40]] = "has a name that is not UTF-8 text"
            elif isinstance(value, bytes) and value:
                self.values[text_name] = value
            elif isinstance(value, str) and value:
                self.values[text_name] = value.encode()

    def raw(self, name: str) -> bytes | None:
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        text = text_or_none(value)
        if text is None:
            self.job.problems[name] = "is not UTF-8 text"
        return text

    def number(self, name: str) -> int | None:
        text = self.text(name)
        if text is None:
            return None
        number = int_or_none(text)
        if number is None:
            self.job.problems[name] = f"is not a whole number: {text[:40]!r}"
        return number

    def parsed(self, name: str, parse: Any, what: str) -> Any:
        text = self.text(name)
        if text is None:
            return None
        value = parse(text)
        if value is None:
            self.job.problems[name] = f"is not {what}: {text[:40]!r}"
        return value


def decode_rq_job(job_id: str, raw: Mapping[Any, Any]) -> RQJob:
    """An :class:`RQJob` from RQ's job hash as ``HGETALL`` returns it. Never raises."""
    job = RQJob(job_id)
    fields = _Fields(raw, job)
    job.status = fields.text("status")
    job.origin = fields.text("origin") or ""
    job.data = fields.raw("data")
    job.meta = fields.raw("meta")
    job.created_at = fields.text("created_at") or ""
    if job.created_at:
        job.created_ms = _ms(job.created_at)
        if job.created_ms is None:
            job.problems["created_at"] = f"is not a time: {job.created_at[:40]!r}"
    job.enqueued_ms = fields.parsed("enqueued_at", _ms, "a time")
    job.started_ms = fields.parsed("started_at", _ms, "a time")
    job.ended_ms = fields.parsed("ended_at", _ms, "a time")
    job.description = fields.text("description")
    job.timeout_s = fields.number("timeout")
    job.result_ttl_s = fields.number("result_ttl")
    job.failure_ttl_s = fields.number("failure_ttl")
    job.ttl_s = fields.number("ttl")
    job.retries_left = fields.number("retries_left")
    job.number_of_retries = fields.number("number_of_retries")
    job.retry_intervals = fields.parsed("retry_intervals", _intervals, "a list of seconds")
    job.repeats_left = fields.number("repeats_left")
    job.repeat_intervals = fields.parsed("repeat_intervals", _intervals, "a list of seconds")
    ids = fields.parsed("dependency_ids", _ids, "a JSON list of ids")
    if ids is None and "dependency_ids" not in fields.values:
        single = fields.text("dependency_id")
        ids = (single,) if single else None
    job.dependency_ids = ids or ()
    job.allow_dependency_failures = fields.number("allow_dependency_failures") == 1
    job.enqueue_at_front = fields.number("enqueue_at_front") == 1
    for attr, (name_field, timeout_field) in RQ_CALLBACK_FIELDS.items():
        name = fields.text(name_field)
        if name:
            job.callbacks[attr] = (name, fields.number(timeout_field))
    exc = fields.raw("exc_info")
    if exc is not None:
        job.exc_info = inflate_text(exc) or text_or_none(exc)
    job.has_webhooks = fields.raw("webhooks") not in (None, b"[]")
    return job


def failure_text(entries: Any) -> str | None:
    """The traceback of the newest failure in RQ's results stream (``XREVRANGE`` entries,
    newest first), or ``None``. Never raises."""
    if not isinstance(entries, list | tuple):
        return None
    for entry in entries:
        try:
            _, pairs = entry
            values = {text_or_none(k): v for k, v in dict(pairs).items()}
            if text_or_none(values.get("type")) not in _FAILURE_RESULT_TYPES:
                continue
            encoded = values.get("exc_string")
            if not isinstance(encoded, bytes):
                return None
            return inflate_text(base64.b64decode(encoded, validate=True))
        except (TypeError, ValueError, binascii.Error):
            return None
    return None


__all__ = ["RQ_STATUSES", "RQJob", "decode_rq_job", "failure_text", "inflate_text"]
