"""How a job is shown: JSON-ready dicts of text, never the job's live objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from minirq import Job
from minirq.exceptions import DeserializationError

# The longest repr of one value shown in full on the job page.
FULL_REPR_LIMIT = 20_000


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, as every timestamp the dashboard sends."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ms_of(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def shorten(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[: limit - 1] + "…", True


def safe_repr(value: Any, limit: int = FULL_REPR_LIMIT) -> str:
    try:
        text = repr(value)
    except Exception as exc:
        text = f"<repr failed: {type(exc).__name__}>"
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit} more characters)"
    return text


def exception_type(traceback_text: str | None) -> str:
    """The exception's class name from the last line of a traceback."""
    for line in reversed((traceback_text or "").strip().splitlines()):
        line = line.strip()
        if line:
            head = line.split(":", 1)[0].strip()
            return head if head and " " not in head else "(unknown)"
    return "(unknown)"


def duration_s(job: Job, now: int) -> float | None:
    started = ms_of(job.started_at)
    if started is None:
        return None
    ended = ms_of(job.ended_at)
    if ended is None:
        return (now - started) / 1000 if job.status == "started" else None
    return max(ended - started, 0) / 1000


def job_summary(job: Job, now: int) -> dict[str, Any]:
    """One row of a job list."""
    call, _ = shorten(job.get_call_string(shorten=True), 200)
    meta = _meta(job)
    return {
        "id": job.id,
        "call": call,
        "status": job.status.value if job.status else None,
        "origin": job.origin,
        "enqueued_at": iso(job.enqueued_at),
        "started_at": iso(job.started_at),
        "ended_at": iso(job.ended_at),
        "duration_s": duration_s(job, now),
        "worker": job.worker_name,
        "progress": _progress(meta),
    }


def _meta(job: Job) -> dict[str, Any] | None:
    try:
        return job.meta
    except DeserializationError:
        return None


def _progress(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """The progress a job reported with ``job.set_progress``: a 0..1 fraction in its meta."""
    if not meta or "progress" not in meta:
        return None
    value = meta.get("progress")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    message = meta.get("progress_message")
    return {
        "percent": max(0.0, min(100.0, float(value) * 100)),
        "message": shorten(str(message), 500)[0] if message is not None else None,
    }


def job_detail(job: Job, now: int) -> dict[str, Any]:
    """Everything the job page shows; values are reprs, never raw objects."""
    detail = job_summary(job, now)
    try:
        args: list[str] | None = [safe_repr(a) for a in job.args]
        kwargs: dict[str, str] | None = {k: safe_repr(v) for k, v in job.kwargs.items()}
        call_error = None
    except DeserializationError as exc:
        args, kwargs, call_error = None, None, str(exc)
    meta = _meta(job)
    try:
        result: str | None = (
            safe_repr(job.return_value(refresh=False)) if job.status == "finished" else None
        )
    except DeserializationError as exc:
        result = f"<cannot decode the result: {exc}>"
    detail.update(
        func_name=job.func_name,
        description=job.description,
        args=args,
        kwargs=kwargs,
        call_error=call_error,
        created_at=iso(job.created_at),
        timeout_s=job.timeout,
        retries_left=job.retries_left,
        attempts=job.attempts,
        orphaned_count=job.orphaned_count,
        depends_on=job.dependency_ids,
        meta=None if meta is None else {str(k): safe_repr(v) for k, v in meta.items()},
        meta_error=None if meta is not None else "the meta cannot be decoded",
        result=result,
        exc_info=job.exc_info,
        exception_type=exception_type(job.exc_info) if job.exc_info else None,
    )
    return detail
