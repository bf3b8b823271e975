"""The cross-queue pages' data: failures, scheduled jobs and retries, cron entries, the
history chart and per-function figures. Bounded reads only, nothing written."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from typing import Any, cast

import redis

from minirq.stats import HOUR, TEN_MINUTES, function_figures, history
from minirq.store.cron_entries import StoredEntry
from minirq.utils import iso_utc

from .data import WRONG_TYPE, Source, fetch_rows, queue_counts, valid_job_id
from .present import error_of, iso, ms_of, shorten, text

MAX_STATS_MINUTES = 120
# The failed page groups only the newest failed jobs of each queue by exception type,
# so that it reads a bounded number of tracebacks however many jobs failed.
FAILED_GROUP_SAMPLE = 500
# The failed page lists this many of the newest failures across queues, with their error.
RECENT_FAILURES = 50
# The history chart: its windows, each with its bucket size and number of buckets.
HISTORY_WINDOWS = {"hour": ("minute", 60), "day": ("10 minutes", 144), "week": ("hour", 168)}
# Per-function figures: the windows offered, in seconds.
FIGURE_WINDOWS = {"hour": 3600, "day": 86400}


def _execute(pipe: Any) -> list[Any]:
    return cast(list[Any], pipe.execute(raise_on_error=False))


# -- history --------------------------------------------------------------------------


def stats(source: Source, minutes: int, now: int) -> dict[str, Any]:
    """Jobs processed and failed per minute, oldest minute first, from workers' counters."""
    last = now // 60_000
    minute_numbers = range(last - minutes + 1, last + 1)
    with source.connection.pipeline(transaction=False) as pipe:
        for minute in minute_numbers:
            pipe.hmget(source.keys.stats(minute), "processed", "failed")
        results = _execute(pipe)
    points = []
    for minute, values in zip(minute_numbers, results, strict=True):
        processed, failed = values if isinstance(values, list) else (None, None)
        points.append(
            {
                "minute": iso_utc(minute * 60_000),
                "processed": _int(processed),
                "failed": _int(failed),
            }
        )
    return {
        "minutes": minutes,
        "points": points,
        "processed": sum(p["processed"] for p in points),
        "failed": sum(p["failed"] for p in points),
    }


def _int(value: Any) -> int:
    try:
        return max(0, int(value or 0))
    except (TypeError, ValueError):
        return 0


def history_points(source: Source, window: str, now: int) -> dict[str, Any]:
    """The chart's points for ``window`` (hour, day or week), oldest first."""
    bucket_name, count = HISTORY_WINDOWS[window]
    if window == "hour":
        minute_stats = stats(source, count, now)
        points = [
            {"start": p["minute"], "processed": p["processed"], "failed": p["failed"]}
            for p in minute_stats["points"]
        ]
    else:
        res = TEN_MINUTES if window == "day" else HOUR
        points = [
            {"start": iso_utc(start), "processed": run, "failed": failed}
            for start, run, failed in history(source.connection, source.keys, res, count, now)
        ]
    return {
        "window": window,
        "bucket": bucket_name,
        "points": points,
        "processed": sum(p["processed"] for p in points),
        "failed": sum(p["failed"] for p in points),
    }


def figures(source: Source, window: str, now: int, func: str = "") -> dict[str, Any]:
    """Per function over the window: jobs run, failed, mean, p50 and p95 duration (s)."""
    rows = [
        {
            "func": f.func,
            "run": f.run,
            "failed": f.failed,
            "mean_s": f.mean_ms / 1000,
            "p50_s": None if f.p50_ms is None else f.p50_ms / 1000,
            "p95_s": None if f.p95_ms is None else f.p95_ms / 1000,
        }
        for f in function_figures(source.connection, source.keys, FIGURE_WINDOWS[window], now)
        if func.lower() in f.func.lower()
    ]
    return {"window": window, "func": func, "functions": rows}


# -- failures -------------------------------------------------------------------------


def _newest_failed(source: Source, names: Sequence[str], now: int, count: int) -> list[Any]:
    keys = source.keys
    with source.connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.zrange(
                keys.registry("failed", name),
                "+inf",
                now,
                desc=True,
                byscore=True,
                offset=0,
                num=count,
                withscores=True,
            )
        return _execute(pipe)


def failed_groups(source: Source, names: Sequence[str], now: int, func: str = "") -> dict[str, Any]:
    """Failed jobs by exception type over the newest failed jobs of each queue, and the
    newest failures across queues with their error; ``func`` keeps only the jobs whose
    function name contains it."""
    id_lists = _newest_failed(source, names, now, FAILED_GROUP_SAMPLE)
    scored = [
        (score, text(member), name)
        for name, ids in zip(names, id_lists, strict=True)
        if isinstance(ids, list)
        for member, score in ids
    ]
    with source.connection.pipeline(transaction=False) as pipe:
        for _, job_id, _ in scored:
            pipe.hmget(source.keys.job(job_id), "exc", "func")
        fields = _execute(pipe)
    groups: dict[str, dict[str, Any]] = {}
    kept = []
    for (score, job_id, name), values in zip(scored, fields, strict=True):
        exc, func_name = values if isinstance(values, list) else (None, None)
        if func and func.lower() not in text(func_name).lower():
            continue
        kept.append((score, job_id, name))
        kind = error_of(text(exc))["type"] if exc else "(unknown)"
        group = groups.setdefault(kind, {"exception": kind, "count": 0, "queues": {}, "ids": []})
        group["count"] += 1
        group["queues"][name] = group["queues"].get(name, 0) + 1
        if len(group["ids"]) < 5 and valid_job_id(job_id):
            group["ids"].append(job_id)
    newest = sorted(kept, key=lambda s: -s[0])[:RECENT_FAILURES]
    counts = queue_counts(source, names, now)
    return {
        "sample_per_queue": FAILED_GROUP_SAMPLE,
        "sampled": len(scored),
        "func": func,
        "total": sum(q["counts"]["failed"] or 0 for q in counts),
        "groups": sorted(groups.values(), key=lambda g: (-g["count"], g["exception"])),
        "recent": rows_in_order(source, [(job_id, name) for _, job_id, name in newest], now),
        "queues": [
            {"name": q["name"], "failed": q["counts"]["failed"]}
            for q in counts
            if q["counts"]["failed"]
        ],
    }


def rows_in_order(source: Source, ids: Sequence[tuple[str, str]], now: int) -> list[dict[str, Any]]:
    """List rows for ``(job id, queue)`` pairs, in their order, one round trip per queue."""
    by_queue: dict[str, list[str]] = {}
    for job_id, name in ids:
        by_queue.setdefault(name, []).append(job_id)
    rows = {}
    for name, queue_ids in by_queue.items():
        for job_id, row in zip(queue_ids, fetch_rows(source, queue_ids, name, now), strict=True):
            rows[(job_id, name)] = row
    return [rows[pair] for pair in ids]


# -- scheduled jobs, retries and cron -------------------------------------------------


def cron_entries(source: Source, now: int) -> list[dict[str, Any]]:
    """The scheduler's cron entries, soonest next run first; a broken one says why."""
    keys = source.keys
    try:
        raw_names = cast(list[bytes], source.connection.zrange(keys.cron_entries, 0, -1))
    except redis.ResponseError:
        return [_broken_cron("(the list of cron entries)", WRONG_TYPE)]
    names = [text(n) for n in raw_names]
    with source.connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.cron_entry(name))
        records = _execute(pipe)
    rows = []
    for name, raw in zip(names, records, strict=True):
        if isinstance(raw, Exception):
            rows.append(_broken_cron(name, WRONG_TYPE))
        elif raw:
            rows.append(_cron_row(name, raw, now))
    return rows


def _broken_cron(name: str, problem: str) -> dict[str, Any]:
    return {
        "name": name,
        "schedule": None,
        "timezone": None,
        "func_name": None,
        "queue": None,
        "misfire": None,
        "next_run": None,
        "next_in_s": None,
        "last_run": None,
        "last_job_id": None,
        "problem": problem,
    }


def _cron_row(name: str, raw: dict[bytes, bytes], now: int) -> dict[str, Any]:
    try:
        entry = StoredEntry.load(name, raw).public()
        next_ms = ms_of(entry.next_run)
        return {
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
            "problem": None,
        }
    except Exception as exc:
        return _broken_cron(name, f"{type(exc).__name__}: {shorten(str(exc), 200)[0]}")


def scheduled_jobs(source: Source, names: Sequence[str], limit: int, now: int) -> dict[str, Any]:
    """The next ``limit`` scheduled jobs across queues, soonest first; jobs waiting to be
    retried after a failure are listed apart from jobs scheduled on purpose."""
    keys = source.keys
    with source.connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.zrange(keys.registry("scheduled", name), 0, limit - 1, withscores=True)
            pipe.zcard(keys.registry("scheduled", name))
        results = _execute(pipe)
    entries = []
    totals = {}
    for i, name in enumerate(names):
        members, total = results[2 * i], results[2 * i + 1]
        totals[name] = total if isinstance(total, int) else 0
        if isinstance(members, list):
            entries.append([(score, text(m), name) for m, score in members])
    soonest = list(heapq.merge(*entries))[:limit]
    rows = rows_in_order(source, [(job_id, name) for _, job_id, name in soonest], now)
    for row, (score, _, name) in zip(rows, soonest, strict=True):
        due_ms = int(score)
        row.update(origin=name, due_at=iso_utc(due_ms), due_in_s=(due_ms - now) / 1000)
    return {
        "total": sum(totals.values()),
        "queues": [{"name": n, "scheduled": c} for n, c in totals.items() if c],
        "jobs": [r for r in rows if not r.get("retrying")],
        "retrying": [r for r in rows if r.get("retrying")],
        "cron": cron_entries(source, now),
    }


__all__ = ["failed_groups", "figures", "history_points", "scheduled_jobs"]
