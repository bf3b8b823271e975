"""Workers and the scheduler as the dashboard shows them: read only, never pruned.

``Worker.all`` drops the names of dead workers from the set as it reads, which is a write;
the dashboard must not write on a GET, so it reads the same records here and just leaves
dead names out. Each field of a worker record is read on its own: a field that does not
decode shows as unknown and is named in the worker's ``problems``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

import redis

from minirq import Job
from minirq.stats import scheduler_status

from .data import WRONG_TYPE, Source, valid_job_id
from .present import Reader, iso_ms, ms_of, shorten, text

T = TypeVar("T")


def _field(
    fields: Mapping[str, str],
    name: str,
    parse: Callable[[str], T],
    default: T,
    problems: list[str],
) -> T:
    raw = fields.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except (TypeError, ValueError):
        problems.append(f"{name}: {shorten(raw, 40)[0]!r} is not valid")
        return default


def _decode_fields(record: Mapping[bytes, bytes]) -> tuple[dict[str, str], list[str]]:
    """The record as text, and the fields whose bytes are not UTF-8 (shown escaped)."""
    fields, problems = {}, []
    for k, v in record.items():
        name, value = text(k), text(v)
        if (isinstance(k, bytes) and name.encode() != k) or (
            isinstance(v, bytes) and value.encode() != v
        ):
            problems.append(f"{name}: not valid UTF-8")
        fields[name] = value
    return fields, problems


def read_workers(source: Source) -> list[dict[str, Any]]:
    """Every worker whose record is alive, by name; nothing is written."""
    conn, keys = source.connection, source.keys
    try:
        members = cast(Iterable[bytes], conn.smembers(keys.workers))
    except redis.ResponseError:
        return [{"name": "(the set of workers)", "problems": [WRONG_TYPE], "queues": []}]
    names = sorted(text(m) for m in members)
    with conn.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.worker(name))
        records = pipe.execute(raise_on_error=False)
    rows = []
    for name, record in zip(names, records, strict=True):
        if isinstance(record, Exception):
            rows.append(_broken_worker(name, f"record: {WRONG_TYPE}"))
        elif record:
            fields, problems = _decode_fields(record)
            row = _worker_row(name, fields)
            row["problems"] = problems + row["problems"]
            rows.append(row)
    return rows


def _broken_worker(name: str, problem: str) -> dict[str, Any]:
    return {
        "name": name,
        "hostname": "",
        "pid": None,
        "state": "broken",
        "queues": [],
        "current_job_id": None,
        "birth_ms": None,
        "heartbeat_ms": None,
        "successful": None,
        "failed": None,
        "working_s": None,
        "problems": [problem],
    }


def _worker_row(name: str, fields: Mapping[str, str]) -> dict[str, Any]:
    problems: list[str] = []
    job = fields.get("job") or None
    if job is not None and valid_job_id(job) is None:
        problems.append("job: not a valid job id")
        job = None
    return {
        "name": name,
        "hostname": fields.get("hostname", ""),
        "pid": _field(fields, "pid", int, None, problems),
        "state": fields.get("state", "") or "unknown",
        "queues": [q for q in fields.get("queues", "").split(",") if q],
        "current_job_id": job,
        "birth_ms": _field(fields, "birth", int, None, problems),
        "heartbeat_ms": _field(fields, "last_heartbeat", int, None, problems),
        "successful": _field(fields, "successful", int, 0, problems),
        "failed": _field(fields, "failed", int, 0, problems),
        "working_s": _field(fields, "working_ms", lambda v: int(v) / 1000, 0.0, problems),
        "problems": problems,
    }


def _seconds_since(now: int, ms: int | None) -> float | None:
    return None if ms is None else (now - ms) / 1000


def workers(source: Source, now: int) -> list[dict[str, Any]]:
    """Live workers with the job each runs, for how long, and their uptime."""
    rows = read_workers(source)
    job_ids = [w["current_job_id"] for w in rows if w.get("current_job_id")]
    with source.connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hgetall(source.keys.job(job_id))
        records = dict(zip(job_ids, pipe.execute(raise_on_error=False), strict=True))
    result = []
    for w in rows:
        current = None
        job_id = w.get("current_job_id")
        if job_id:
            current = _current_job(source, job_id, records.get(job_id), now)
        result.append(
            {
                "name": w["name"],
                "hostname": w.get("hostname", ""),
                "pid": w.get("pid"),
                "state": w.get("state", "unknown"),
                "queues": w.get("queues", []),
                "current_job": current,
                "birth": iso_ms(w.get("birth_ms")),
                "uptime_s": _seconds_since(now, w.get("birth_ms")),
                "heartbeat_age_s": _seconds_since(now, w.get("heartbeat_ms")),
                "successful_job_count": w.get("successful"),
                "failed_job_count": w.get("failed"),
                "total_working_time_s": w.get("working_s"),
                "problems": w.get("problems", []),
            }
        )
    return result


def _current_job(source: Source, job_id: str, record: Any, now: int) -> dict[str, Any]:
    if not isinstance(record, dict) or not record:
        return {"id": job_id, "call": None, "running_s": None}
    r = Reader(Job.from_fields(job_id, record, source.connection, source.serializer, source.prefix))
    started = r.get("started_at", lambda j: ms_of(j.started_at), None)
    call = r.get("call", lambda j: shorten(j.get_call_string(), 200)[0], None)
    return {"id": job_id, "call": call, "running_s": _seconds_since(now, started)}


def listened_queues(rows: Iterable[Mapping[str, Any]]) -> set[str]:
    return {q for w in rows for q in w.get("queues", [])}


def scheduler(source: Source, now: int) -> dict[str, Any]:
    """The active scheduler (lease holder) and its latest pass."""
    status = scheduler_status(source.connection, source.keys)
    return {
        "active": status.holder is not None,
        "holder": status.holder,
        "lease_ttl_s": None if status.lease_ttl_ms is None else status.lease_ttl_ms / 1000,
        "last_pass": iso_ms(status.last_pass_ms),
        "last_pass_age_s": _seconds_since(now, status.last_pass_ms),
        "last_pass_by": status.last_pass_by,
    }


__all__ = ["listened_queues", "read_workers", "scheduler", "workers"]
