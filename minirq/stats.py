"""What workers count about finished jobs, and how readers get it back.

- Running totals per queue: processed, failed and a duration histogram (for Prometheus;
  they only grow, as counters and histograms expect).
- Per function, in time buckets of a minute, ten minutes and an hour: jobs run, failed,
  and a duration histogram from which readers take p50/p95. Finer buckets expire sooner
  (see :data:`RESOLUTIONS`), so a week of history costs 168 small hashes.

Workers count in memory as jobs end and add the counts to Redis in their next heartbeat
(``HINCRBY`` and ``EXPIRE`` on the heartbeat's own pipeline): no round trip of a job's own.

Also the scheduler's status: the active holder of the lease and its latest pass.
"""

from __future__ import annotations

import bisect
import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import redis

from .defaults import JOB_DURATION_BUCKETS_S
from .keys import Keys

PROCESSED = "processed"
FAILED = "failed"
DURATION_SUM_MS = "duration_sum_ms"


_BOUNDS_S = (*JOB_DURATION_BUCKETS_S, float("inf"))
_Tallies = dict[tuple[str, int], Counter[str | int]]


def _field(bound_s: float) -> str:
    return "le:+Inf" if bound_s == float("inf") else f"le:{bound_s:g}"


_BOUND_FIELDS = tuple(_field(bound) for bound in _BOUNDS_S)


def bucket_field(duration_ms: float) -> str:
    """The hash field of the smallest bucket holding ``duration_ms``."""
    return _BOUND_FIELDS[bisect.bisect_left(_BOUNDS_S, duration_ms / 1000)]


class JobStatsRecorder:
    """Counts kept by a worker between heartbeats; safe to use from two threads. A job
    costs a few additions: per-function tallies go by (function, minute) and are spread
    into every resolution's buckets only when flushed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, Counter[str]] = {}
        # Counts by kind (_RUN, _FAILED, _SUM) and by duration bucket index (ints).
        self._functions: _Tallies = {}

    def observe(
        self,
        queue_name: str,
        duration_ms: int,
        ok: bool,
        func: str | None = None,
        ended_ms: int | None = None,
    ) -> None:
        """Count one job of ``queue_name`` that ended after ``duration_ms``; with ``func``
        (the job's function name) also in that function's time buckets."""
        with self._lock:
            counts = self._pending.setdefault(queue_name, Counter())
            counts[PROCESSED] += 1
            if not ok:
                counts[FAILED] += 1
            counts[DURATION_SUM_MS] += duration_ms
            counts[bucket_field(duration_ms)] += 1
            if func is not None:
                ended = int(time.time() * 1000) if ended_ms is None else ended_ms
                slot = (func, ended // _SLOT_MS)
                tally = self._functions.setdefault(slot, Counter())
                tally[_RUN] += 1
                tally[_SUM] += duration_ms
                tally[_bucket_index(duration_ms)] += 1
                if not ok:
                    tally[_FAILED] += 1

    @contextlib.contextmanager
    def flush_into(self, pipe: Any, keys: Keys) -> Iterator[None]:
        """Queue the pending counts on ``pipe``; if the block raises (the pipeline did not
        reach Redis), keep them for the next try."""
        with self._lock:
            pending, self._pending = self._pending, {}
            functions, self._functions = self._functions, {}
        for queue_name, counts in pending.items():
            for name, value in counts.items():
                pipe.hincrby(keys.job_stats(queue_name), name, value)
        for (res_name, bucket), fields in _function_buckets(functions).items():
            key = keys.function_stats(res_name, bucket)
            for name, value in fields.items():
                pipe.hincrby(key, name, value)
            pipe.expire(key, _RESOLUTION_BY_NAME[res_name].ttl_s)
        try:
            yield
        except BaseException:
            with self._lock:
                for queue_name, counts in pending.items():
                    self._pending.setdefault(queue_name, Counter()).update(counts)
                for slot, tally in functions.items():
                    self._functions.setdefault(slot, Counter()).update(tally)
            raise


def _function_buckets(tallies: _Tallies) -> dict[tuple[str, int], Counter[str]]:
    """The hash fields of every resolution's buckets, from tallies by function and minute."""
    buckets: dict[tuple[str, int], Counter[str]] = {}
    for (func, slot), tally in tallies.items():
        fields: Counter[str] = Counter()
        for kind, value in tally.items():
            name = f"b{kind}" if isinstance(kind, int) else kind
            fields[f"{name}|{func}"] = value
        for res in RESOLUTIONS:
            bucket = (res.name, slot * _SLOT_MS // res.bucket_ms)
            buckets.setdefault(bucket, Counter()).update(fields)
    return buckets


@dataclass
class QueueJobStats:
    """The totals of one queue; ``buckets`` are cumulative ``(upper bound s, count)``."""

    processed: int
    failed: int
    duration_sum_s: float
    buckets: list[tuple[float, int]]


def read_job_stats(
    connection: redis.Redis, keys: Keys, queue_names: Iterable[str]
) -> dict[str, QueueJobStats]:
    """The totals of each queue, in one round trip."""
    names = list(queue_names)
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.job_stats(name))
        records = pipe.execute(raise_on_error=False)
    result = {}
    for name, record in zip(names, records, strict=True):
        items = record.items() if isinstance(record, dict) else ()
        fields = {_text(k): _int(v) for k, v in items}
        running = 0
        buckets = []
        for bound in _BOUNDS_S:
            running += fields.get(_field(bound), 0)
            buckets.append((bound, running))
        result[name] = QueueJobStats(
            processed=fields.get(PROCESSED, 0),
            failed=fields.get(FAILED, 0),
            duration_sum_s=fields.get(DURATION_SUM_MS, 0) / 1000,
            buckets=buckets,
        )
    return result


def display_text(value: bytes | str) -> str:
    """Bytes from Redis as text for display; bytes that are not UTF-8 show escaped."""
    return value if isinstance(value, str) else value.decode("utf-8", "backslashreplace")


_text = display_text


def counter_value(value: Any, default: int) -> int:
    """A stored whole number, or ``default`` for a missing or corrupt one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def live_worker_count(connection: redis.Redis, keys: Keys) -> int:
    """Workers whose record is alive (refreshed by heartbeats); reads only, never prunes."""
    names = list(cast(Iterable[bytes], connection.smembers(keys.workers)))
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.exists(keys.worker(name.decode("utf-8", "surrogateescape")))
        return sum(1 for alive in pipe.execute(raise_on_error=False) if alive == 1)


def _int(value: Any) -> int:
    """A stored counter; anything but a whole number (corrupt data) counts as 0."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# -- per-function figures ------------------------------------------------------------


class Resolution(NamedTuple):
    name: str
    bucket_ms: int
    ttl_s: int


MINUTE = Resolution("m", 60_000, 3 * 3600)
TEN_MINUTES = Resolution("t", 600_000, 26 * 3600)
HOUR = Resolution("h", 3_600_000, 8 * 86400)
RESOLUTIONS = (MINUTE, TEN_MINUTES, HOUR)
# Per-function figures are tallied by this slot between flushes; every resolution's
# bucket is a whole number of slots.
_SLOT_MS = MINUTE.bucket_ms
_RESOLUTION_BY_NAME = {r.name: r for r in RESOLUTIONS}

# Upper bounds (ms) of the duration buckets percentiles are read from: roughly 1.5x apart,
# so a percentile is exact to within its bucket.
# fmt: off
FUNCTION_BUCKETS_MS = (
    1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000,
    3000, 5000, 7000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000,
    1_800_000, 3_600_000,
)
# fmt: on
# Field names: ``<kind>|<function>``; the kind never holds "|", the function name may.
_RUN, _FAILED, _SUM = "n", "f", "s"


def _bucket_index(duration_ms: float) -> int:
    """The index of the smallest bucket holding ``duration_ms`` (the last: beyond all)."""
    return bisect.bisect_left(FUNCTION_BUCKETS_MS, duration_ms)


@dataclass
class FunctionFigures:
    """One function over a window: jobs run and failed, and duration percentiles (ms)."""

    func: str
    run: int
    failed: int
    mean_ms: float
    p50_ms: float | None
    p95_ms: float | None


def _percentile(buckets: Counter[int], total: int, fraction: float) -> float | None:
    """The duration below which ``fraction`` of the jobs ran, interpolated in its bucket."""
    if total <= 0:
        return None
    rank = fraction * total
    seen = 0
    for index in sorted(buckets):
        count = buckets[index]
        if count <= 0:
            continue
        if seen + count >= rank:
            low = FUNCTION_BUCKETS_MS[index - 1] if index > 0 else 0
            high = FUNCTION_BUCKETS_MS[min(index, len(FUNCTION_BUCKETS_MS) - 1)]
            return float(low + (high - low) * (rank - seen) / count)
        seen += count
    return float(FUNCTION_BUCKETS_MS[-1])


def _window_buckets(res: Resolution, count: int, now_ms: int) -> range:
    last = now_ms // res.bucket_ms
    return range(last - count + 1, last + 1)


def _read_buckets(
    connection: redis.Redis, keys: Keys, res: Resolution, buckets: range
) -> list[dict[str, int]]:
    """Each bucket's fields; a bucket that is missing or not a hash reads as empty."""
    with connection.pipeline(transaction=False) as pipe:
        for bucket in buckets:
            pipe.hgetall(keys.function_stats(res.name, bucket))
        records = pipe.execute(raise_on_error=False)
    return [
        {_text(k): max(0, _int(v)) for k, v in record.items()} if isinstance(record, dict) else {}
        for record in records
    ]


def function_figures(
    connection: redis.Redis, keys: Keys, window_s: int, now_ms: int | None = None
) -> list[FunctionFigures]:
    """Per function over the last ``window_s`` seconds (up to an hour in minute buckets,
    else ten-minute buckets up to a day, else hours), most run first."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    res = MINUTE if window_s <= 3600 else TEN_MINUTES if window_s <= 86400 else HOUR
    count = max(1, -(-window_s * 1000 // res.bucket_ms))
    totals: dict[str, Counter[str]] = {}
    histograms: dict[str, Counter[int]] = {}
    for fields in _read_buckets(connection, keys, res, _window_buckets(res, count, now)):
        for field, value in fields.items():
            kind, sep, func = field.partition("|")
            if not sep:
                continue
            if kind.startswith("b") and kind[1:].isdigit():
                if int(kind[1:]) <= len(FUNCTION_BUCKETS_MS):
                    histograms.setdefault(func, Counter())[int(kind[1:])] += value
            elif kind in (_RUN, _FAILED, _SUM):
                totals.setdefault(func, Counter())[kind] += value
    figures = []
    for func, t in totals.items():
        run = t[_RUN]
        hist = histograms.get(func, Counter())
        figures.append(
            FunctionFigures(
                func=func,
                run=run,
                failed=t[_FAILED],
                mean_ms=t[_SUM] / run if run else 0.0,
                p50_ms=_percentile(hist, sum(hist.values()), 0.50),
                p95_ms=_percentile(hist, sum(hist.values()), 0.95),
            )
        )
    return sorted(figures, key=lambda f: (-f.run, f.func))


def history(
    connection: redis.Redis, keys: Keys, res: Resolution, count: int, now_ms: int | None = None
) -> list[tuple[int, int, int]]:
    """``(bucket start ms, jobs run, failed)`` for the last ``count`` buckets of ``res``,
    oldest first, summed over every function."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    buckets = _window_buckets(res, count, now)
    points = []
    for bucket, fields in zip(buckets, _read_buckets(connection, keys, res, buckets), strict=True):
        run = failed = 0
        for field, value in fields.items():
            kind = field.partition("|")[0]
            if kind == _RUN:
                run += value
            elif kind == _FAILED:
                failed += value
        points.append((bucket * res.bucket_ms, run, failed))
    return points


# -- the scheduler's status -----------------------------------------------------------

SCHEDULER_PASS_TTL_S = 86400


def record_scheduler_pass(connection: Any, keys: Keys, holder: str) -> None:
    """Note that ``holder``, the active scheduler, has just made a pass."""
    connection.set(
        keys.scheduler_last_pass, f"{int(time.time() * 1000)}:{holder}", ex=SCHEDULER_PASS_TTL_S
    )


@dataclass
class SchedulerStatus:
    """Who holds the scheduler lease (None: no active scheduler) and its latest pass."""

    holder: str | None
    lease_ttl_ms: int | None
    last_pass_ms: int | None
    last_pass_by: str | None


def scheduler_status(connection: redis.Redis, keys: Keys) -> SchedulerStatus:
    """The scheduler's status in one round trip; corrupt values read as unknown."""
    with connection.pipeline(transaction=False) as pipe:
        pipe.get(keys.scheduler_lease)
        pipe.pttl(keys.scheduler_lease)
        pipe.get(keys.scheduler_last_pass)
        lease, ttl, last = pipe.execute(raise_on_error=False)
    holder = None
    if isinstance(lease, bytes | str):
        # The lease value is ``<fencing token>:<holder>``.
        holder = _text(lease).partition(":")[2] or None
    last_ms, last_by = None, None
    if isinstance(last, bytes | str):
        stamp, _, by = _text(last).partition(":")
        last_ms = _int(stamp) or None
        last_by = by or None
    return SchedulerStatus(
        holder=holder,
        lease_ttl_ms=ttl if isinstance(ttl, int) and ttl >= 0 and holder else None,
        last_pass_ms=last_ms,
        last_pass_by=last_by,
    )


__all__ = [
    "RESOLUTIONS",
    "FunctionFigures",
    "JobStatsRecorder",
    "QueueJobStats",
    "SchedulerStatus",
    "bucket_field",
    "function_figures",
    "history",
    "read_job_stats",
    "record_scheduler_pass",
    "scheduler_status",
]
