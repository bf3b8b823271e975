"""How a job is shown: JSON-ready dicts of text, never the job's live objects.

Job records are untrusted input. Every field is read on its own: a field that does not
decode (bad UTF-8, an unknown status, a timestamp that is not a number) shows as broken
and is named in the job's ``problems``, and the rest of the job still shows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from minirq import Job, JobStatus

# The longest repr of one value shown in full on the job page.
FULL_REPR_LIMIT = 20_000
# The longest exception message shown in a list row.
ERROR_MESSAGE_LIMIT = 300


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds, as every timestamp the dashboard sends."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_ms(value: int | None) -> str | None:
    if value is None:
        return None
    try:
        return iso(datetime.fromtimestamp(value / 1000, tz=UTC))
    except (OverflowError, OSError, ValueError):
        return None


def ms_of(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def text(value: bytes | str | None) -> str:
    """Bytes from Redis as text; bytes that are not UTF-8 show as ``\\xNN`` escapes."""
    if value is None:
        return ""
    return value if isinstance(value, str) else value.decode("utf-8", "backslashreplace")


def shorten(value: str, limit: int) -> tuple[str, bool]:
    """``value`` cut to ``limit`` characters, and whether it was cut."""
    if len(value) <= limit:
        return value, False
    return value[: limit - 1] + "…", True


def safe_repr(value: Any, limit: int = FULL_REPR_LIMIT) -> str:
    try:
        shown = repr(value)
    except Exception as exc:
        shown = f"<repr failed: {type(exc).__name__}>"
    if len(shown) > limit:
        shown = f"{shown[:limit]}… ({len(shown) - limit} more characters)"
    return shown


def exception_type(traceback_text: str | None) -> str:
    """The exception's class name from the last line of a traceback."""
    return error_of(traceback_text)["type"] if traceback_text else "(unknown)"


def error_of(traceback_text: str | None) -> dict[str, str]:
    """``{type, message}`` of the exception a traceback ends with."""
    for line in reversed((traceback_text or "").strip().splitlines()):
        line = line.strip()
        if line:
            head, _, message = line.partition(":")
            head = head.strip()
            if not head or " " in head:
                return {"type": "(unknown)", "message": shorten(line, ERROR_MESSAGE_LIMIT)[0]}
            return {"type": head, "message": shorten(message.strip(), ERROR_MESSAGE_LIMIT)[0]}
    return {"type": "(unknown)", "message": ""}


class Reader:
    """Reads a job's fields one at a time, noting which ones are broken."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.problems: list[str] = []

    def get(self, name: str, read: Callable[[Job], Any], default: Any) -> Any:
        try:
            return read(self.job)
        except Exception as exc:
            self.problems.append(f"{name}: {type(exc).__name__}: {shorten(str(exc), 200)[0]}")
            return default


_STATUSES = frozenset(s.value for s in JobStatus)


def _status(job: Job) -> str | None:
    raw = getattr(getattr(job, "record", None), "status", None)
    if isinstance(raw, str) and raw and raw not in _STATUSES:
        raise ValueError(f"unknown status {shorten(raw, 40)[0]!r}")
    status = job.status
    return status.value if status else None


def _duration_s(
    started: int | None, ended: int | None, status: str | None, now: int
) -> float | None:
    if started is None:
        return None
    if ended is None:
        return (now - started) / 1000 if status == "started" else None
    return max(ended - started, 0) / 1000


def record_problems(job: Job) -> dict[str, str]:
    """The fields the job-record codec could not decode, with what is wrong with each."""
    problems = getattr(getattr(job, "record", None), "problems", None)
    return {str(k): str(v) for k, v in problems.items()} if isinstance(problems, dict) else {}


def job_summary(job: Job, now: int) -> dict[str, Any]:
    """One row of a job list; a row whose record is broken says so in ``problems``."""
    r = Reader(job)
    decoded = record_problems(job)
    r.problems.extend(f"{name}: {what}" for name, what in decoded.items())
    status = "broken" if "status" in decoded else r.get("status", _status, "broken")
    enqueued = r.get("enqueued_at", lambda j: ms_of(j.enqueued_at), None)
    started = r.get("started_at", lambda j: ms_of(j.started_at), None)
    ended = r.get("ended_at", lambda j: ms_of(j.ended_at), None)
    func = r.get("func", lambda j: j.func_name, text(job.fields.get("func")))
    call = r.get("call", lambda j: shorten(j.get_call_string(shorten=True), 200)[0], None)
    r.get("arguments", lambda j: j.args and None, None)
    exc = r.get("exc", lambda j: j.exc_info, None)
    meta = r.get("meta", lambda j: j.meta, None)
    progress = _progress(meta)
    if progress is not None and status != "started":
        # A job that ended (or timed out, or lost its worker) is no longer making progress.
        progress["stale"] = True
    return {
        "id": job.id,
        "func": func,
        "call": call if call is not None else (f"{func}(…)" if func else None),
        "status": status,
        "origin": r.get("origin", lambda j: j.origin, ""),
        "enqueued_at": iso_ms(enqueued),
        "started_at": iso_ms(started),
        "ended_at": iso_ms(ended),
        "duration_s": _duration_s(started, ended, status, now),
        "worker": r.get("worker", lambda j: j.worker_name, None),
        "progress": progress,
        "error": error_of(exc) if exc else None,
        "retrying": status == "scheduled" and bool(exc),
        "problems": r.problems,
    }


def gone_row(job_id: str, origin: str) -> dict[str, Any]:
    """A row for an id listed in a queue or registry whose job record is missing."""
    return {
        "id": job_id,
        "func": None,
        "call": None,
        "status": "gone",
        "origin": origin,
        "enqueued_at": None,
        "started_at": None,
        "ended_at": None,
        "duration_s": None,
        "worker": None,
        "progress": None,
        "error": None,
        "retrying": False,
        "problems": [],
    }


def broken_detail(job_id: str, problem: str) -> dict[str, Any]:
    """The job page of a job whose record cannot be read at all."""
    detail = gone_row(job_id, "")
    detail.update(
        status="broken",
        problems=[problem],
        func_name="",
        description="",
        args=[],
        kwargs={},
        call_error=None,
        created_at=None,
        timeout_s=None,
        retries_left=None,
        attempts=None,
        orphaned_count=None,
        depends_on=[],
        meta=None,
        meta_error=None,
        result=None,
        exc_info=None,
        exception_type=None,
    )
    return detail


def _progress(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """The progress a job reported with ``job.set_progress``: a 0..1 fraction in its meta."""
    if not isinstance(meta, dict) or "progress" not in meta:
        return None
    value = meta.get("progress")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    message = meta.get("progress_message")
    return {
        "percent": max(0.0, min(100.0, float(value) * 100)),
        "message": shorten(safe_repr(message) if not isinstance(message, str) else message, 500)[0]
        if message is not None
        else None,
        "stale": False,
    }


def _call_values(job: Job) -> tuple[list[str], dict[str, str]]:
    return [safe_repr(a) for a in job.args], {str(k): safe_repr(v) for k, v in job.kwargs.items()}


def _result(job: Job) -> str | None:
    if job.status != "finished":
        return None
    return safe_repr(job.return_value(refresh=False))


def job_detail(job: Job, now: int) -> dict[str, Any]:
    """Everything the job page shows; values are reprs, never raw objects."""
    detail = job_summary(job, now)
    r = Reader(job)
    args, kwargs = r.get("arguments", _call_values, (None, None))
    call_error = r.problems[-1] if args is None else None
    meta = r.get("meta", lambda j: j.meta, None)
    detail.update(
        func_name=detail["func"],
        description=r.get("description", lambda j: j.description, detail["call"] or ""),
        args=args,
        kwargs=kwargs,
        call_error=call_error,
        created_at=iso_ms(r.get("created_at", lambda j: ms_of(j.created_at), None)),
        timeout_s=r.get("timeout", lambda j: j.timeout, None),
        retries_left=r.get("retries_left", lambda j: j.retries_left, None),
        attempts=r.get("attempts", lambda j: j.attempts, None),
        orphaned_count=r.get("orphaned", lambda j: j.orphaned_count, None),
        depends_on=r.get("dependencies", lambda j: j.dependency_ids, []),
        meta=None
        if not isinstance(meta, dict)
        else {str(k): safe_repr(v) for k, v in meta.items()},
        meta_error=None if isinstance(meta, dict) else "the meta cannot be decoded",
        result=r.get("result", _result, "<the result cannot be decoded>"),
        exc_info=r.get("exc", lambda j: j.exc_info, None),
    )
    detail["exception_type"] = exception_type(detail["exc_info"]) if detail["exc_info"] else None
    detail["problems"] = sorted(set(detail["problems"]) | set(r.problems))
    return detail
