"""Running totals of finished jobs per queue: processed, failed, and a duration histogram.

Workers count in memory as jobs end and add the counts to Redis in their next heartbeat
(one pipelined ``HINCRBY`` per changed field), so recording costs a job nothing but a dict
update. The totals only grow, which is what Prometheus counters and histograms expect.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import redis

from .defaults import JOB_DURATION_BUCKETS_S
from .keys import Keys
from .utils import decode

PROCESSED = "processed"
FAILED = "failed"
DURATION_SUM_MS = "duration_sum_ms"


_BOUNDS_S = (*JOB_DURATION_BUCKETS_S, float("inf"))


def _field(bound_s: float) -> str:
    return "le:+Inf" if bound_s == float("inf") else f"le:{bound_s:g}"


def bucket_field(duration_ms: float) -> str:
    """The hash field of the smallest bucket holding ``duration_ms``."""
    seconds = duration_ms / 1000
    return next(_field(bound) for bound in _BOUNDS_S if seconds <= bound)


class JobStatsRecorder:
    """Counts kept by a worker between heartbeats; safe to use from two threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, Counter[str]] = {}

    def observe(self, queue_name: str, duration_ms: int, ok: bool) -> None:
        """Count one job of ``queue_name`` that ended after ``duration_ms``."""
        with self._lock:
            counts = self._pending.setdefault(queue_name, Counter())
            counts[PROCESSED] += 1
            if not ok:
                counts[FAILED] += 1
            counts[DURATION_SUM_MS] += duration_ms
            counts[bucket_field(duration_ms)] += 1

    @contextlib.contextmanager
    def flush_into(self, pipe: Any, keys: Keys) -> Iterator[None]:
        """Queue the pending counts on ``pipe``; if the block raises (the pipeline did not
        reach Redis), keep them for the next try."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for queue_name, counts in pending.items():
            for name, value in counts.items():
                pipe.hincrby(keys.job_stats(queue_name), name, value)
        try:
            yield
        except BaseException:
            with self._lock:
                for queue_name, counts in pending.items():
                    self._pending.setdefault(queue_name, Counter()).update(counts)
            raise


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
        records = pipe.execute()
    result = {}
    for name, record in zip(names, records, strict=True):
        fields = {decode(k) or "": int(v) for k, v in record.items()}
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


__all__ = ["JobStatsRecorder", "QueueJobStats", "bucket_field", "read_job_stats"]
