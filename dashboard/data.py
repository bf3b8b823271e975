"""What the dashboard reads from Redis about queues and their jobs, as JSON-ready dicts.

Everything here is bounded: counts come from ``LLEN``/``ZCARD``/``ZCOUNT``, lists from
``LRANGE``/``ZRANGE`` with offsets, jobs from one pipeline per page, and a filtered list
looks at a bounded window of ids. No ``KEYS``, no scan of a whole queue or registry, so
pages stay fast with 100k jobs. Nothing here writes.

Data read from Redis is untrusted: a value that does not decode, or a key that holds the
wrong kind of value, shows as a broken item instead of failing the page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis

from minirq import Job, Queue
from minirq.display_values import DISPLAY_SERIALIZER
from minirq.exceptions import ConfigurationError, InvalidJobError
from minirq.job import validate_job_id
from minirq.keys import Keys
from minirq.queue import validate_queue_name
from minirq.registry import REGISTRY_CLASSES
from minirq.serializers import Serializer

from .present import gone_row, job_summary, text

# The states a queue's jobs can be listed in, in the order the pages show them.
REGISTRIES = ("queued", "started", "scheduled", "deferred", "finished", "failed", "canceled")
# Lists whose natural order is the order jobs will run in show oldest (soonest) first.
RUN_ORDER_FIRST = ("queued", "scheduled", "deferred")
MAX_PER_PAGE = 100
MAX_PAGE = 10**9
# A filtered list looks at this many ids of the registry, newest or oldest first.
FILTER_SCAN = 5000
WRONG_TYPE = "its Redis key holds the wrong kind of value"


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


def valid_queue_name(raw: bytes | str) -> str | None:
    name = text(raw)
    if isinstance(raw, bytes) and name.encode("utf-8", "surrogatepass") != raw:
        return None
    try:
        return validate_queue_name(name)
    except ConfigurationError:
        return None


def valid_job_id(raw: bytes | str) -> str | None:
    job_id = text(raw)
    try:
        return validate_job_id(job_id)
    except InvalidJobError:
        return None


# -- queues -----------------------------------------------------------------------------


def read_queue_names(source: Source) -> tuple[list[str], list[str]]:
    """The queue names, and the names in the set that are broken (shown escaped)."""
    try:
        raw = cast(Iterable[bytes], source.connection.smembers(source.keys.queues))
    except redis.ResponseError:
        return [], [f"the set of queue names: {WRONG_TYPE}"]
    names, broken = [], []
    for member in raw:
        name = valid_queue_name(member)
        if name is None:
            broken.append(text(member))
        else:
            names.append(name)
    return sorted(names), sorted(broken)


def queue_names(source: Source) -> list[str]:
    return read_queue_names(source)[0]


def queue_exists(source: Source, name: str) -> bool:
    try:
        return bool(source.connection.sismember(source.keys.queues, name))
    except redis.ResponseError:
        return False


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
    """Per queue, how many jobs are in each state (one pipeline for all queues); a count
    whose key holds the wrong type is ``None`` and named in the row's ``problems``."""
    keys = source.keys
    with source.connection.pipeline(transaction=False) as pipe:
        for name in names:
            _count_commands(pipe, keys, name, now)
        pipe.smembers(keys.paused_queues)
        *results, paused_raw = pipe.execute(raise_on_error=False)
    paused = {text(n) for n in paused_raw} if isinstance(paused_raw, set) else set()
    width = len(REGISTRIES)
    rows = []
    for i, name in enumerate(names):
        counts: dict[str, int | None] = {}
        problems = []
        for kind, value in zip(REGISTRIES, results[i * width : (i + 1) * width], strict=True):
            if isinstance(value, int):
                counts[kind] = value
            else:
                counts[kind] = None
                problems.append(f"{kind}: {WRONG_TYPE}")
        rows.append(
            {"name": name, "counts": counts, "paused": name in paused, "problems": problems}
        )
    return rows


def oldest_queued(source: Source, names: Sequence[str], now: int) -> dict[str, float | None]:
    """Per queue, how long the job next in line has waited (seconds; None when empty)."""
    keys = source.keys
    with source.connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.lindex(keys.queue(name), 0)
        heads = pipe.execute(raise_on_error=False)
    ids = {
        name: job_id
        for name, head in zip(names, heads, strict=True)
        if isinstance(head, bytes) and (job_id := valid_job_id(head))
    }
    with source.connection.pipeline(transaction=False) as pipe:
        for job_id in ids.values():
            pipe.hget(keys.job(job_id), "enqueued_ms")
        stamps = dict(zip(ids, pipe.execute(raise_on_error=False), strict=True))
    ages: dict[str, float | None] = {}
    for name in names:
        try:
            ages[name] = max(0.0, (now - int(stamps[name])) / 1000)
        except (KeyError, TypeError, ValueError):
            ages[name] = None
    return ages


def redis_info(source: Source) -> dict[str, Any]:
    """Server figures from ``INFO``; an ACL that denies it leaves them unavailable."""
    try:
        info: dict[str, Any] = source.connection.info()
    except redis.ResponseError as exc:
        return {
            "version": None,
            "used_memory_human": None,
            "used_memory": None,
            "connected_clients": None,
            "uptime_s": None,
            "unavailable": f"INFO is not allowed: {shorten_error(exc)}",
        }
    return {
        "version": info.get("redis_version"),
        "used_memory_human": info.get("used_memory_human"),
        "used_memory": info.get("used_memory"),
        "connected_clients": info.get("connected_clients"),
        "uptime_s": info.get("uptime_in_seconds"),
        "unavailable": None,
    }


def shorten_error(exc: Exception) -> str:
    return str(exc)[:200]


# -- job lists --------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    registry: str
    page: int
    per_page: int
    order: str
    func: str = ""
    status: str = ""

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def filtered(self) -> bool:
        return bool(self.func or self.status)


def registry_total(source: Source, queue: str, registry: str, now: int) -> int:
    keys = source.keys
    if registry == "queued":
        return int(source.connection.llen(keys.queue(queue)))
    key = keys.registry(registry, queue)
    if REGISTRY_CLASSES[registry].expires:
        return int(source.connection.zcount(key, now, "+inf"))
    return int(source.connection.zcard(key))


def id_range(
    source: Source, queue: str, registry: str, order: str, start: int, count: int, now: int
) -> list[bytes]:
    """Ids ``start`` to ``start + count`` of a registry in ``order``, one ranged command."""
    conn = source.connection
    keys = source.keys
    if registry == "queued":
        if order == "asc":
            return cast(list[bytes], conn.lrange(keys.queue(queue), start, start + count - 1))
        # Newest first: count from the tail so that deep pages stay cheap.
        raw = cast(list[bytes], conn.lrange(keys.queue(queue), -(start + count), -(start + 1)))
        raw.reverse()
        return raw
    key = keys.registry(registry, queue)
    desc = order == "desc"
    if REGISTRY_CLASSES[registry].expires:
        low, high = (now, "+inf")
        return cast(
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
    return cast(list[bytes], conn.zrange(key, start, start + count - 1, desc=desc))


def fetch_rows(
    source: Source, raw_ids: Sequence[bytes | str], origin: str, now: int
) -> list[dict[str, Any]]:
    """One list row per id, in one pipeline; a missing job is ``gone``, a broken one says
    what is broken."""
    ids = [valid_job_id(raw) for raw in raw_ids]
    with source.connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            if job_id is not None:
                pipe.hgetall(source.keys.job(job_id))
        results = iter(pipe.execute(raise_on_error=False))
    rows = []
    for raw, job_id in zip(raw_ids, ids, strict=True):
        if job_id is None:
            row = gone_row(text(raw), origin)
            row.update(status="broken", problems=["id: not a valid job id"], bad_id=True)
            rows.append(row)
            continue
        fields = next(results)
        if isinstance(fields, Exception):
            row = gone_row(job_id, origin)
            row.update(status="broken", problems=[f"record: {WRONG_TYPE}"])
        elif not fields:
            row = gone_row(job_id, origin)
        else:
            job = Job.from_fields(
                job_id, fields, source.connection, source.serializer, source.prefix
            )
            row = job_summary(job, now)
        rows.append(row)
    return rows


def _matches(page: Page, func: bytes | None, status: bytes | None) -> bool:
    if page.func and page.func.lower() not in text(func).lower():
        return False
    return not page.status or text(status) == page.status


def _filtered_ids(source: Source, queue: str, page: Page, now: int) -> tuple[list[bytes], int]:
    """The matching ids among the first :data:`FILTER_SCAN` of the registry, and how many
    ids were looked at."""
    raw = id_range(source, queue, page.registry, page.order, 0, FILTER_SCAN, now)
    with source.connection.pipeline(transaction=False) as pipe:
        for member in raw:
            pipe.hmget(source.keys.job(text(member)), "func", "status")
        fields = pipe.execute(raise_on_error=False)
    matching = [
        member
        for member, values in zip(raw, fields, strict=True)
        if isinstance(values, list) and _matches(page, *values)
    ]
    return matching, len(raw)


def list_jobs(source: Source, queue: str, page: Page, now: int) -> dict[str, Any]:
    """One page of a queue's jobs in one state, with the total for paging."""
    scanned = None
    try:
        if page.filtered:
            matching, scanned = _filtered_ids(source, queue, page, now)
            total = len(matching)
            raw = matching[page.offset : page.offset + page.per_page]
        else:
            total = registry_total(source, queue, page.registry, now)
            raw = (
                id_range(source, queue, page.registry, page.order, page.offset, page.per_page, now)
                if page.offset < total
                else []
            )
        rows, problem = fetch_rows(source, raw, queue, now), None
    except redis.ResponseError as exc:
        total, rows, problem = 0, [], f"{page.registry}: {WRONG_TYPE} ({shorten_error(exc)})"
    return {
        "queue": queue,
        "registry": page.registry,
        "page": page.page,
        "per_page": page.per_page,
        "order": page.order,
        "func": page.func,
        "status": page.status,
        "total": total,
        "pages": max(1, -(-total // page.per_page)),
        "scanned": scanned,
        "scan_limit": FILTER_SCAN if page.filtered else None,
        "problem": problem,
        "jobs": rows,
    }
