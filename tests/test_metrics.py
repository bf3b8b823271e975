"""Prometheus metrics read from Redis."""

from __future__ import annotations

import redis
from prometheus_client.parser import text_string_to_metric_families

from minirq import Queue, SimpleWorker
from minirq.metrics import metrics_text
from minirq.utils import now_ms
from tests import fixtures


def _samples(connection: redis.Redis) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics_text(connection).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_cover_depths_counters_durations_workers_and_age(
    connection: redis.Redis,
) -> None:
    mail = Queue("mail", connection=connection)
    mail.enqueue(fixtures.add, 1, 2)
    mail.enqueue(fixtures.div_by_zero)
    SimpleWorker([mail], connection=connection).work(burst=True)
    waiting = Queue("reports", connection=connection)
    old = waiting.enqueue(fixtures.say_hello)
    waiting.enqueue(fixtures.say_hello)
    # The job next in line has waited a minute.
    connection.hset(old.key, "enqueued_ms", now_ms() - 60_000)
    alive = SimpleWorker(["reports"], connection=connection)
    alive.register_birth()

    samples = _samples(connection)
    assert samples[("minirq_queue_jobs", (("queue", "mail"), ("state", "finished")))] == 1
    assert samples[("minirq_queue_jobs", (("queue", "mail"), ("state", "failed")))] == 1
    assert samples[("minirq_queue_jobs", (("queue", "mail"), ("state", "queued")))] == 0
    assert samples[("minirq_queue_jobs", (("queue", "reports"), ("state", "queued")))] == 2
    assert samples[("minirq_jobs_processed_total", (("queue", "mail"),))] == 2
    assert samples[("minirq_jobs_failed_total", (("queue", "mail"),))] == 1
    assert samples[("minirq_job_duration_seconds_count", (("queue", "mail"),))] == 2
    assert samples[("minirq_job_duration_seconds_bucket", (("le", "+Inf"), ("queue", "mail")))] == 2
    assert samples[("minirq_jobs_processed_total", (("queue", "reports"),))] == 0
    assert samples[("minirq_workers_alive", ())] == 1
    assert samples[("minirq_queue_oldest_job_age_seconds", (("queue", "reports"),))] >= 60
    assert samples[("minirq_queue_oldest_job_age_seconds", (("queue", "mail"),))] == 0


def test_expired_registry_entries_are_not_counted(connection: redis.Redis) -> None:
    queue = Queue("mail", connection=connection)
    queue.enqueue(fixtures.add, 1, 2, result_ttl=1)
    SimpleWorker([queue], connection=connection).work(burst=True)
    finished_key = queue.finished_job_registry.key
    member = connection.zrange(finished_key, 0, 0)[0]
    connection.zadd(finished_key, {member: now_ms() - 1000})
    samples = _samples(connection)
    assert samples[("minirq_queue_jobs", (("queue", "mail"), ("state", "finished")))] == 0


def test_metrics_of_an_empty_redis(connection: redis.Redis) -> None:
    samples = _samples(connection)
    assert samples == {("minirq_workers_alive", ()): 0}
