"""Unique jobs: a second enqueue of a live job id is refused, also under a race."""

from __future__ import annotations

import threading

import pytest
import redis

from minirq import DuplicateJobError, InvalidJobError, JobStatus, Queue, SimpleWorker
from minirq.exceptions import MinirqError
from tests.fixtures import add, say_hello


def test_duplicate_of_a_queued_job_is_refused_and_nothing_changes(
    connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(add, 1, 2, job_id="report-42", unique=True)
    before = connection.hgetall(job.key)
    with pytest.raises(DuplicateJobError, match="report-42 is already queued") as info:
        queue.enqueue(add, 5, 6, job_id="report-42", unique=True)
    assert isinstance(info.value, MinirqError)
    assert queue.job_ids == ["report-42"]
    assert connection.hgetall(job.key) == before


def test_a_job_that_ended_may_be_enqueued_again(connection: redis.Redis, queue: Queue) -> None:
    queue.enqueue(add, 1, 2, job_id="nightly", unique=True)
    SimpleWorker([queue], connection=connection).work(burst=True)
    again = queue.enqueue(add, 3, 4, job_id="nightly", unique=True)
    assert again.get_status() == JobStatus.QUEUED
    assert again.args == (3, 4)
    assert queue.job_ids == ["nightly"]


def test_deferred_and_running_jobs_count_as_live(connection: redis.Redis, queue: Queue) -> None:
    parent = queue.enqueue(add, 1, 2)
    queue.enqueue(say_hello, job_id="after", unique=True, depends_on=parent)
    with pytest.raises(DuplicateJobError, match="deferred"):
        queue.enqueue(say_hello, job_id="after", unique=True)
    connection.hset(parent.key, "status", "started")
    with pytest.raises(DuplicateJobError, match="started"):
        queue.enqueue(say_hello, job_id=parent.id, unique=True)


def test_unique_needs_a_job_id_and_a_bool(connection: redis.Redis, queue: Queue) -> None:
    with pytest.raises(InvalidJobError, match="needs a job_id"):
        queue.enqueue(add, 1, 2, unique=True)
    with pytest.raises(InvalidJobError, match="True or False"):
        queue.enqueue(add, 1, 2, job_id="x", unique="yes")
    assert connection.keys("*") == []


def test_enqueue_call_and_enqueue_many(connection: redis.Redis, queue: Queue) -> None:
    queue.enqueue_call(add, args=(1, 2), job_id="a", unique=True)
    with pytest.raises(DuplicateJobError, match="a"):
        queue.enqueue_call(add, args=(1, 2), job_id="a", unique=True)
    with pytest.raises(DuplicateJobError, match="job a is already queued in queue 'default'"):
        queue.enqueue_many(
            [
                Queue.prepare_data(add, (1, 1), job_id="a", unique=True),
                Queue.prepare_data(add, (2, 2), job_id="b", unique=True),
            ]
        )
    # All or nothing: b was not written either.
    assert queue.job_ids == ["a"]
    assert not connection.exists(queue.keys.job("b"))


def test_race_two_enqueues_of_a_unique_job_at_once(connection: redis.Redis) -> None:
    for round_ in range(20):
        job_id = f"race-{round_}"
        barrier = threading.Barrier(4)
        outcomes: list[str] = []

        def enqueue(
            job_id: str = job_id,
            barrier: threading.Barrier = barrier,
            outcomes: list[str] = outcomes,
        ) -> None:
            client = redis.Redis(connection_pool=connection.connection_pool)
            q = Queue("default", connection=client)
            barrier.wait()
            try:
                q.enqueue(add, 1, 2, job_id=job_id, unique=True)
                outcomes.append("ok")
            except DuplicateJobError:
                outcomes.append("duplicate")

        threads = [threading.Thread(target=enqueue) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["duplicate", "duplicate", "duplicate", "ok"]
    assert Queue("default", connection=connection).count == 20


def test_unique_with_enqueue_at_and_enqueue_in(connection: redis.Redis, queue: Queue) -> None:
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(hours=1)
    job = queue.enqueue_at(later, add, 1, 2, job_id="sched", unique=True)
    assert job.get_status() == JobStatus.SCHEDULED
    with pytest.raises(DuplicateJobError, match="sched is already scheduled"):
        queue.enqueue_in(timedelta(minutes=5), add, 1, 2, job_id="sched", unique=True)
    with pytest.raises(DuplicateJobError, match="already scheduled"):
        queue.enqueue(add, 1, 2, job_id="sched", unique=True)
    assert queue.scheduled_job_registry.get_job_ids() == ["sched"]
    queue.enqueue(add, 1, 2, job_id="live", unique=True)
    with pytest.raises(DuplicateJobError, match="live is already queued"):
        queue.enqueue_at(later, add, 1, 2, job_id="live", unique=True)


def test_depends_on_is_refused_with_scheduling(connection: redis.Redis, queue: Queue) -> None:
    from datetime import timedelta

    parent = queue.enqueue(add, 1, 2)
    with pytest.raises(InvalidJobError, match="depends_on cannot be combined"):
        queue.enqueue_in(timedelta(seconds=5), add, 1, 2, depends_on=parent)
    assert queue.scheduled_job_registry.count == 0


def test_enqueue_job_and_schedule_job_take_unique(connection: redis.Redis, queue: Queue) -> None:
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(hours=1)
    for write in (
        lambda job, **kw: queue.enqueue_job(job, **kw),
        lambda job, **kw: queue.schedule_job(job, later, **kw),
    ):
        with pytest.raises(InvalidJobError, match="needs a job_id"):
            write(queue.create_job(add, (1, 2)), unique=True)
        with pytest.raises(InvalidJobError, match="True or False"):
            write(queue.create_job(add, (1, 2), job_id="x"), unique="yes")
    assert connection.keys("*") == []
    first = queue.schedule_job(queue.create_job(add, (1, 2), job_id="s"), later, unique=True)
    assert first.get_status() == JobStatus.SCHEDULED
    due = queue.scheduled_job_registry.get_scheduled_time("s")
    assert abs((due - later).total_seconds()) < 0.002
    with pytest.raises(DuplicateJobError, match="s is already scheduled"):
        queue.schedule_job(queue.create_job(add, (1, 2), job_id="s"), later, unique=True)
    queue.enqueue_job(queue.create_job(add, (1, 2), job_id="q"), unique=True)
    with pytest.raises(DuplicateJobError, match="q is already queued"):
        queue.enqueue_job(queue.create_job(add, (1, 2), job_id="q"), unique=True)
    assert queue.job_ids == ["q"]
