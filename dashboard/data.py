"""What the dashboard reads from Redis, as plain JSON-ready dicts.

Everything here is bounded: counts come from ``LLEN``/``ZCARD``/``ZCOUNT``, lists from
``LRANGE``/``ZRANGE`` with offsets, jobs from one ``Job.fetch_many`` pipeline per page. No
``KEYS``, no scan of a whole queue or registry, so pages stay fast with 100k jobs.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis

from minirq import Job, Queue, Worker
from minirq.keys import Keys
from minirq.registry import REGISTRY_CLASSES
from minirq.scheduler import Scheduler
from minirq.display_values import DISPLAY_SERIALIZER
from minirq.serializers import Serializer
from minirq.utils import decode, iso_utc, now_ms

from .present import exception_type, iso, job_summary, ms_of, shorten

# The states a queue's jobs can be listed in, in the order the pages show them.
REGISTRIES = ("queued", "started", "scheduled", "deferred", "finished", "failed", "canceled")
MAX_PER_PAGE = 100
MAX_PAGE = 10**9
MAX_STATS_MINUTES = 120
# The failed page groups only the newest failed jobs of each queue by exception type,
# so that it reads a bounded number of tracebacks however many jobs failed.
FAILED_GROUP_SAMPLE = 500


@dataclass(frozen=True)
class Source:
    """Where the dashboard reads: one pooled client and the key prefix.

    Jobs are decoded with the display serializer only, never with the job serializer, so
    nothing written to Redis can run code in the web process.
    """

    connection: redis.Redis
    prefix: str
    serializer: Serializer = DISPLAY_SERIALIZER

    @property
    def keys(self) -> Keys:
        return Keys(self.prefix)

    def queue(self, name: str) -> Queue:
        return Queue(
            name, connection=self.connection, serializer=self.serializer, prefix=self.prefix
        )


# -- queues -----------------------------------------------------------------------------


def queue_names(source: Source) -> list[str]:
    names = source.connection.smembers(source.keys.queues)
    return sorted(decode(n) or "" for n in cast(Iterable[bytes], names))


def queue_exists(source: Source, name: str) -> bool:
    return bool(source.connection.sismember(source.keys.queues, name))


def _count_commands(pipe: Any, keys: Keys, name: str, now: int) -> None:
    pipe.llen(keys.queue(name))
    for kind in REGISTRIES[1:]:
        key = keys.registry(kind, name)
        if REGISTRY_CLASSES[kind].expires:
            # Expired entries wait for the workers' cleanup; they are not counted.
            pipe.zcount(key, now, "+inf")
        else:
            pipe.zcard(key)


def queue_counts(source: Source, names: Sequence[str], now: int) -> list[dict[str, Any]]:
    """Per queue, how many jobs are in each state (one pipeline for all queues)."""
    keys = source.keys
    with source.connection.pipeline(transaction=False) as pipe:
        for name in names:
            _count_commands(pipe, keys, name, now)
        pipe.smembers(keys.paused_queues)
        *results, paused_raw = pipe.execute()
    paused = {decode(n) for n in paused_raw}
    width = len(REGISTRIES)
    return [
        {
            "name": name,
            "counts": dict(zip(REGISTRIES, results[i * width : (i + 1) * width], strict=True)),
            "paused": name in paused,
        }
        for i, name in enumerate(names)
    ]


def redis_info(source: Source) -> dict[str, Any]:
    info: dict[str, Any] = source.connection.info()
    return {
        "version": info.get("redis_version"),
        "used_memory_human": info.get("used_memory_human"),
        "used_memory": info.get("used_memory"),
        "connected_clients": info.get("connected_clients"),
        "uptime_s": info.get("uptime_in_seconds"),
    }


# -- job lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    registry: str
    page: int
    per_page: int
    order: str

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def registry_total(source: Source, queue: str, registry: str, now: int) -> int:
    keys = source.keys
    if registry == "queued":
        return int(source.connection.llen(keys.queue(queue)))
    key = keys.registry(registry, queue)
    if REGISTRY_CLASSES[registry].expires:
        return int(source.connection.zcount(key, now, "+inf"))
    return int(source.connection.zcard(key))


def page_ids(source: Source, queue: str, page: Page, total: int, now: int) -> list[str]:
    """The ids on one page, read with one ranged command."""
    start, count = page.offset, page.per_page
    if start >= total:
        return []
    conn = source.connection
    keys = source.keys
    raw: list[bytes]
    if page.registry == "queued":
        if page.order == "asc":
            raw = cast(list[bytes], conn.lrange(keys.queue(queue), start, start + count - 1))
        else:
            # Newest first: count from the tail so that deep pages stay cheap.
            raw = cast(list[bytes], conn.lrange(keys.queue(queue), -(start + count), -(start + 1)))
            raw.reverse()
    else:
        key = keys.registry(page.registry, queue)
        desc = page.order == "desc"
        if REGISTRY_CLASSES[page.registry].expires:
            low, high = (now, "+inf")
            raw = cast(
                list[bytes],
                conn.zrange(
                    key,
                    high if desc else low,
                    low if desc else high,
                    desc=desc,
                    byscore=True,
                    offset=start,
                    num=count,
                ),
            )
        else:
            raw = cast(list[bytes], conn.zrange(key, start, start + count - 1, desc=desc))
    return [decode(i) or "" for i in raw]


def list_jobs(source: Source, queue: str, page: Page, now: int | None = None) -> dict[str, Any]:
    """One page of a queue's jobs in one state, with the total for paging."""
    now = now_ms() if now is None else now
    total = registry_total(source, queue, page.registry, now)
    ids = page_ids(source, queue, page, total, now)
    jobs = Job.fetch_many(ids, source.connection, source.serializer, source.prefix)
    rows = []
    for job_id, job in zip(ids, jobs, strict=True):
        if job is None:
            rows.append({"id": job_id, "call": None, "status": "gone", "origin": queue})
        else:
            rows.append(job_summary(job, now))
    pages = max(1, -(-total // page.per_page))
    return {
        "queue": queue,
        "registry": page.registry,
        "page": page.page,
        "per_page": page.per_page,
        "order": page.order,
        "total": total,
        "pages": pages,
        "jobs": rows,
    }


# -- workers ----------------------------------------------------------------------------


def workers(source: Source, now: int | None = None) -> list[dict[str, Any]]:
    """Live workers with the job each runs and for how long."""
    now = now_ms() if now is None else now
    infos = Worker.all(connection=source.connection, prefix=source.prefix)
    job_ids = [w.current_job_id for w in infos if w.current_job_id]
    jobs = {
        job.id: job
        for job in Job.fetch_many(job_ids, source.connection, source.serializer, source.prefix)
        if job is not None
    }
    rows = []
    for w in infos:
        job = jobs.get(w.current_job_id or "")
        started = ms_of(job.started_at) if job else None
        heartbeat = ms_of(w.last_heartbeat)
        rows.append(
            {
                "name": w.name,
                "hostname": w.hostname,
                "pid": w.pid,
                "state": w.state,
                "queues": w.queue_names,
                "current_job": None
                if not w.current_job_id
                else {
                    "id": w.current_job_id,
                    "call": shorten(job.get_call_string(), 200)[0] if job else None,
                    "running_s": (now - started) / 1000 if started else None,
                },
                "birth": iso(w.birth),
                "heartbeat_age_s": (now - heartbeat) / 1000 if heartbeat else None,
                "successful_job_count": w.successful_job_count,
                "failed_job_count": w.failed_job_count,
                "total_working_time_s": w.total_working_time,
            }
        )
    return rows


# -- stats, failed, scheduled ---------------------------------------------------------


def stats(source: Source, minutes: int, now: int | None = None) -> dict[str, Any]:
    """Jobs processed and failed per minute, oldest minute first, from workers' counters."""
    now = now_ms() if now is None else now
    last = now // 60_000
    minute_numbers = range(last - minutes + 1, last + 1)
    with source.connection.pipeline(transaction=False) as pipe:
        for minute in minute_numbers:
            pipe.hmget(source.keys.stats(minute), "processed", "failed")
        results = pipe.execute()
    points = [
        {
            "minute": iso_minute(minute),
            "processed": int(processed or 0),
            "failed": int(failed or 0),
        }
        for minute, (processed, failed) in zip(minute_numbers, results, strict=True)
    ]
    return {
        "minutes": minutes,
        "points": points,
        "processed": sum(p["processed"] for p in points),
        "failed": sum(p["failed"] for p in points),
    }


def iso_minute(minute: int) -> str:
    return iso_utc(minute * 60_000)


def failed_groups(source: Source, names: Sequence[str], now: int | None = None) -> dict[str, Any]:
    """Failed jobs by exception type, over the newest failed jobs of each queue."""
    now = now_ms() if now is None else now
    keys = source.keys
    conn = source.connection
    with conn.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.zrange(
                keys.registry("failed", name),
                "+inf",
                now,
                desc=True,
                byscore=True,
                offset=0,
                num=FAILED_GROUP_SAMPLE,
            )
        id_lists = pipe.execute()
    pairs = [
        (name, decode(i) or "") for name, ids in zip(names, id_lists, strict=True) for i in ids
    ]
    with conn.pipeline(transaction=False) as pipe:
        for _, job_id in pairs:
            pipe.hget(keys.job(job_id), "exc")
        tracebacks = pipe.execute()
    groups: dict[str, dict[str, Any]] = {}
    for (name, job_id), exc in zip(pairs, tracebacks, strict=True):
        kind = exception_type(decode(exc))
        group = groups.setdefault(kind, {"exception": kind, "count": 0, "queues": {}, "ids": []})
        group["count"] += 1
        group["queues"][name] = group["queues"].get(name, 0) + 1
        if len(group["ids"]) < 5:
            group["ids"].append(job_id)
    counts = queue_counts(source, names, now)
    return {
        "sample_per_queue": FAILED_GROUP_SAMPLE,
        "sampled": len(pairs),
        "total": sum(q["counts"]["failed"] for q in counts),
        "groups": sorted(groups.values(), key=lambda g: (-g["count"], g["exception"])),
        "queues": [
            {"name": q["name"], "failed": q["counts"]["failed"]}
            for q in counts
            if q["counts"]["failed"]
        ],
    }


def cron_entries(source: Source, now: int | None = None) -> list[dict[str, Any]]:
    """The scheduler's cron entries, soonest next run first."""
    now = now_ms() if now is None else now
    entries = Scheduler(
        source.connection, prefix=source.prefix, serializer=source.serializer
    ).entries()
    rows = []
    for entry in entries:
        next_ms = ms_of(entry.next_run)
        rows.append(
            {
                "name": entry.name,
                "schedule": entry.schedule,
                "timezone": entry.timezone,
                "func_name": entry.func_name,
                "queue": entry.queue_name,
                "misfire": entry.misfire,
                "next_run": iso(entry.next_run),
                "next_in_s": None if next_ms is None else (next_ms - now) / 1000,
                "last_run": iso(entry.last_run),
                "last_job_id": entry.last_job_id,
            }
        )
    return rows


def scheduled_jobs(
    source: Source, names: Sequence[str], limit: int, now: int | None = None
) -> dict[str, Any]:
    """The next ``limit`` scheduled jobs across queues, soonest first."""
    now = now_ms() if now is None else now
    keys = source.keys
    with source.connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.zrange(keys.registry("scheduled", name), 0, limit - 1, withscores=True)
            pipe.zcard(keys.registry("scheduled", name))
        results = pipe.execute()
    entries = []
    totals = {}
    for i, name in enumerate(names):
        totals[name] = int(results[2 * i + 1])
        entries.append([(score, decode(m) or "", name) for m, score in results[2 * i]])
    soonest = list(heapq.merge(*entries))[:limit]
    jobs = Job.fetch_many(
        [job_id for _, job_id, _ in soonest], source.connection, source.serializer, source.prefix
    )
    rows = []
    for (score, job_id, name), job in zip(soonest, jobs, strict=True):
        row: dict[str, Any] = (
            job_summary(job, now) if job else {"id": job_id, "call": None, "status": "gone"}
        )
        due_ms = int(score)
        row.update(origin=name, due_at=iso_utc(due_ms), due_in_s=(due_ms - now) / 1000)
        rows.append(row)
    return {
        "total": sum(totals.values()),
        "queues": [{"name": n, "scheduled": c} for n, c in totals.items() if c],
        "jobs": rows,
        "cron": cron_entries(source, now),
    }
