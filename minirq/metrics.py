"""Prometheus metrics for a minirq deployment (needs the ``dashboard`` extra).

Everything is read from Redis when scraped, so any process (the dashboard's
``GET /metrics``, or your own exporter) reports the same numbers:

- ``minirq_queue_jobs{queue,state}``: jobs per queue in each state (``queued``, ``started``,
  ``finished``, ``failed``, ``scheduled``, ``deferred``, ``canceled``);
- ``minirq_jobs_processed_total{queue}`` and ``minirq_jobs_failed_total{queue}``: jobs that
  ended, and those that failed, since the Redis data began;
- ``minirq_job_duration_seconds{queue}``: a histogram of how long jobs ran;
- ``minirq_workers_alive``: live workers (their record is refreshed by heartbeats);
- ``minirq_queue_oldest_job_age_seconds{queue}``: how long the job next in line has waited
  (0 for an empty queue).

Reading costs three pipelined round trips however many queues there are.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from .keys import REGISTRY_KINDS, Keys
from .registry import REGISTRY_CLASSES
from .stats import counter_value, display_text, live_worker_count, read_job_stats
from .utils import now_ms

CONTENT_TYPE = CONTENT_TYPE_LATEST


class MinirqCollector(Collector):
    """A Prometheus collector reading minirq's state from Redis at each scrape."""

    def __init__(self, connection: redis.Redis, prefix: str | None = None) -> None:
        self.connection = connection
        self.keys = Keys(prefix)

    def collect(self) -> Iterator[Metric]:
        keys, connection = self.keys, self.connection
        names = sorted(display_text(n) for n in connection.smembers(keys.queues))
        now = now_ms()
        with connection.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.llen(keys.queue(name))
                pipe.lindex(keys.queue(name), 0)
                for kind in REGISTRY_KINDS:
                    if REGISTRY_CLASSES[kind].expires:
                        # Entries past their expiry are gone for readers, though not yet removed.
                        pipe.zcount(keys.registry(kind, name), now, "+inf")
                    else:
                        pipe.zcard(keys.registry(kind, name))
            replies = pipe.execute(raise_on_error=False)
        width = 2 + len(REGISTRY_KINDS)
        rows = {name: replies[i * width : (i + 1) * width] for i, name in enumerate(names)}
        heads = {n: display_text(row[1]) for n, row in rows.items() if isinstance(row[1], bytes)}
        with connection.pipeline(transaction=False) as pipe:
            for job_id in heads.values():
                pipe.hget(keys.job(job_id or ""), "enqueued_ms")
            enqueued = dict(zip(heads, pipe.execute(raise_on_error=False), strict=True))

        depth = GaugeMetricFamily(
            "minirq_queue_jobs", "Jobs per queue and state.", labels=["queue", "state"]
        )
        age = GaugeMetricFamily(
            "minirq_queue_oldest_job_age_seconds",
            "How long the job next in line has waited (0 when the queue is empty).",
            labels=["queue"],
        )
        for name, row in rows.items():
            depth.add_metric([name, "queued"], counter_value(row[0], 0))
            for kind, count in zip(REGISTRY_KINDS, row[2:], strict=True):
                depth.add_metric([name, kind], counter_value(count, 0))
            enqueued_ms = enqueued.get(name)
            waited_s = max(0.0, (now - counter_value(enqueued_ms, now)) / 1000)
            age.add_metric([name], waited_s)
        yield depth
        yield age

        processed = CounterMetricFamily(
            "minirq_jobs_processed", "Jobs that ended (finished or failed).", labels=["queue"]
        )
        failed = CounterMetricFamily("minirq_jobs_failed", "Jobs that failed.", labels=["queue"])
        duration = HistogramMetricFamily(
            "minirq_job_duration_seconds", "How long jobs ran.", labels=["queue"]
        )
        for name, totals in read_job_stats(connection, keys, names).items():
            processed.add_metric([name], totals.processed)
            failed.add_metric([name], totals.failed)
            duration.add_metric(
                [name],
                [("+Inf" if b == float("inf") else f"{b:g}", n) for b, n in totals.buckets],
                totals.duration_sum_s,
            )
        yield processed
        yield failed
        yield duration

        workers = GaugeMetricFamily("minirq_workers_alive", "Live workers.")
        workers.add_metric([], live_worker_count(connection, keys))
        yield workers


def metrics_text(connection: redis.Redis, prefix: str | None = None) -> bytes:
    """The metrics in Prometheus' text format; serve it with :data:`CONTENT_TYPE`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MinirqCollector(connection, prefix))
    return generate_latest(registry)


__all__ = ["CONTENT_TYPE", "MinirqCollector", "metrics_text"]
