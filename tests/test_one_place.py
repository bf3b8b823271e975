"""One id, one place (issue 11, item 5); no half-done script: validate first, bound
durations, batches all or nothing (item 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from minirq import (
    ConfigurationError,
    DuplicateJobError,
    Group,
    Job,
    JobStatus,
    Queue,
    SimpleWorker,
)
from minirq.reaper import reap_expired_leases
from tests import fixtures


@pytest.fixture
def other(connection: redis.Redis) -> Queue:
    return Queue("other", connection=connection)


def _snapshot(connection: redis.Redis) -> dict[bytes, object]:
    dump: dict[bytes, object] = {}
    for key in connection.keys("*"):
        kind = connection.type(key)
        if kind == b"hash":
            dump[key] = connection.hgetall(key)
        elif kind == b"list":
            dump[key] = connection.lrange(key, 0, -1)
        elif kind == b"zset":
            dump[key] = connection.zrange(key, 0, -1)
        elif kind == b"set":
            dump[key] = connection.smembers(key)
    return dump


# -- one id, one place -------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_live",
    [
        lambda q: q.enqueue(fixtures.add, 1, 2, job_id="x"),
        lambda q: q.enqueue_in(60, fixtures.add, 1, 2, job_id="x"),
        lambda q: q.enqueue(
            fixtures.add, 1, 2, job_id="x", depends_on=q.enqueue(fixtures.add, 0, 0)
        ),
    ],
    ids=["queued", "scheduled", "deferred"],
)
@pytest.mark.parametrize(
    "again",
    [
        lambda q: q.enqueue(fixtures.add, 3, 4, job_id="x"),
        lambda q: q.enqueue_at(datetime.now(UTC) + timedelta(hours=1), fixtures.add, job_id="x"),
        lambda q: q.enqueue_many([Queue.prepare_data(fixtures.add, (5, 6), job_id="x")]),
    ],
    ids=["enqueue", "enqueue_at", "enqueue_many"],
)
def test_a_live_id_is_refused_on_any_queue_and_nothing_is_written(
    connection: redis.Redis, queue: Queue, other: Queue, make_live: object, again: object
) -> None:
    live = make_live(queue)  # type: ignore[operator]
    status = Job.fetch("x", connection=connection).get_status()
    before = _snapshot(connection)
    with pytest.raises(DuplicateJobError, match=f"x is already {status} in queue 'default'"):
        again(other)  # type: ignore[operator]
    assert _snapshot(connection) == before
    assert live.id == "x"


def test_a_running_id_is_refused(connection: redis.Redis, queue: Queue, other: Queue) -> None:
    queue.enqueue(fixtures.add, 1, 2, job_id="x")
    assert SimpleWorker([queue], connection=connection).take_job() is not None
    with pytest.raises(DuplicateJobError, match="x is already started in queue 'default'"):
        other.enqueue(fixtures.add, 1, 2, job_id="x")
    assert other.count == 0


@pytest.mark.parametrize(
    ("end", "registry"),
    [
        (lambda job, q: SimpleWorker([q], connection=q.connection).work(burst=True), "finished"),
        (lambda job, q: job.cancel(), "canceled"),
    ],
    ids=["finished", "canceled"],
)
def test_an_ended_id_is_replaced_and_leaves_its_old_registry(
    connection: redis.Redis, queue: Queue, other: Queue, end: object, registry: str
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2, job_id="x", result_ttl=-1)
    end(job, queue)  # type: ignore[operator]
    assert "x" in getattr(queue, f"{registry}_job_registry")
    other.enqueue(fixtures.add, 3, 4, job_id="x")
    assert "x" not in getattr(queue, f"{registry}_job_registry")
    assert other.job_ids == ["x"] and queue.job_ids == []
    assert Job.fetch("x", connection=connection).origin == "other"


def test_a_failed_id_replaced_on_another_queue_leaves_the_failed_registry(
    connection: redis.Redis, queue: Queue, other: Queue
) -> None:
    queue.enqueue(fixtures.div_by_zero, job_id="x")
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert "x" in queue.failed_job_registry
    other.enqueue_in(60, fixtures.add, 1, 2, job_id="x")
    assert "x" not in queue.failed_job_registry
    assert "x" in other.scheduled_job_registry


# -- validate first, bound durations ------------------------------------------------------


@pytest.mark.parametrize(
    "enqueue",
    [
        lambda q: q.enqueue(fixtures.add, 1, 2, ttl=10**17),
        lambda q: q.enqueue(fixtures.add, 1, 2, result_ttl=10**17),
        lambda q: q.enqueue(fixtures.add, 1, 2, failure_ttl=10**12),
        lambda q: q.enqueue(fixtures.add, 1, 2, job_timeout=10**17),
        lambda q: q.enqueue_in(10**17, fixtures.add, 1, 2),
        lambda q: q.enqueue_in(timedelta(days=10**6), fixtures.add, 1, 2),
    ],
    ids=["ttl", "result_ttl", "failure_ttl", "job_timeout", "delay", "delay-timedelta"],
)
def test_durations_beyond_what_redis_can_store_are_refused_before_any_write(
    connection: redis.Redis, queue: Queue, enqueue: object
) -> None:
    with pytest.raises(ConfigurationError, match="longest"):
        enqueue(queue)  # type: ignore[operator]
    assert connection.dbsize() == 0


def test_a_corrupt_failure_ttl_does_not_make_the_reaper_drop_a_job(
    connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    assert SimpleWorker([queue], connection=connection).take_job() is not None
    connection.hset(job.key, mapping={"failure_ttl": "soon", "orphaned": "2"})
    connection.zadd(queue.keys.registry("started", queue.name), {job.id: 0})
    assert reap_expired_leases(connection, queue.keys, max_orphanings=3) == ([], [job.id])
    assert job.id in queue.failed_job_registry
    assert job.get_status() == JobStatus.FAILED


def test_a_corrupt_failure_ttl_fails_the_job_at_fetch_naming_the_field(
    connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    connection.hset(job.key, "failure_ttl", "soon")
    SimpleWorker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "'failure_ttl' field" in (job.exc_info or "")
    assert job.id in queue.failed_job_registry


# -- batches: all or nothing --------------------------------------------------------------


def test_group_enqueue_many_is_all_or_nothing(connection: redis.Redis, queue: Queue) -> None:
    queue.enqueue(fixtures.add, 0, 0, job_id="taken")
    before = _snapshot(connection)
    group = Group.create(connection)
    with pytest.raises(DuplicateJobError, match="taken is already queued"):
        group.enqueue_many(
            queue,
            [
                Queue.prepare_data(fixtures.add, (1, 1), job_id="fresh"),
                Queue.prepare_data(fixtures.add, (2, 2), job_id="taken"),
            ],
        )
    assert _snapshot(connection) == before


def test_queue_enqueue_many_is_all_or_nothing(connection: redis.Redis, queue: Queue) -> None:
    queue.enqueue(fixtures.add, 0, 0, job_id="taken", unique=True)
    before = _snapshot(connection)
    with pytest.raises(DuplicateJobError):
        queue.enqueue_many(
            [
                Queue.prepare_data(fixtures.add, (1, 1), job_id="fresh"),
                Queue.prepare_data(fixtures.add, (2, 2), job_id="taken", unique=True),
            ]
        )
    assert _snapshot(connection) == before


def test_an_id_given_twice_in_one_batch_is_refused(connection: redis.Redis, queue: Queue) -> None:
    with pytest.raises(Exception, match="more than once"):
        queue.enqueue_many([Queue.prepare_data(fixtures.add, (i, i), job_id="x") for i in (1, 2)])
    assert connection.dbsize() == 0
