from __future__ import annotations

import pytest
import redis

from minirq import InvalidJobOperation, Job, JobStatus, NoSuchJobError, Queue, SimpleWorker
from minirq.exceptions import DeserializationError
from tests import fixtures


def test_fetch_missing_job(connection: redis.Redis) -> None:
    with pytest.raises(NoSuchJobError, match="nope"):
        Job.fetch("nope", connection=connection)


def test_fetch_many(queue: Queue) -> None:
    a = queue.enqueue(fixtures.say_hello)
    b = queue.enqueue(fixtures.say_hello)
    jobs = Job.fetch_many([a.id, "missing", b.id], connection=queue.connection)
    assert [j.id if j else None for j in jobs] == [a.id, None, b.id]


def test_meta_round_trip(queue: Queue) -> None:
    job = queue.enqueue(fixtures.say_hello)
    job.meta["step"] = 3
    job.save_meta()
    assert Job.fetch(job.id, connection=queue.connection).meta == {"step": 3}
    assert job.get_meta() == {"step": 3}


def test_cancel_queued_job(queue: Queue) -> None:
    job = queue.enqueue(fixtures.say_hello)
    job.cancel()
    assert job.get_status() == JobStatus.CANCELED
    assert queue.count == 0
    assert job.id in queue.canceled_job_registry


def test_cancel_finished_job_is_refused(queue: Queue, simple_worker: SimpleWorker) -> None:
    job = queue.enqueue(fixtures.say_hello)
    simple_worker.work(burst=True)
    with pytest.raises(InvalidJobOperation, match="finished"):
        job.cancel()


def test_requeue_failed_job(queue: Queue, simple_worker: SimpleWorker) -> None:
    job = queue.enqueue(fixtures.div_by_zero)
    simple_worker.work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    job.requeue()
    assert job.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]
    assert job.id not in queue.failed_job_registry


def test_requeue_queued_job_is_refused(queue: Queue) -> None:
    job = queue.enqueue(fixtures.say_hello)
    with pytest.raises(InvalidJobOperation, match="queued"):
        job.requeue()


def test_delete_removes_everywhere(
    queue: Queue, connection: redis.Redis, simple_worker: SimpleWorker
) -> None:
    job = queue.enqueue(fixtures.div_by_zero)
    simple_worker.work(burst=True)
    job.delete()
    assert not connection.exists(job.key)
    assert job.id not in queue.failed_job_registry
    queued = queue.enqueue(fixtures.say_hello)
    queued.delete()
    assert queue.count == 0


def test_garbage_payload_gives_clear_error(queue: Queue, connection: redis.Redis) -> None:
    job = queue.enqueue(fixtures.say_hello)
    connection.hset(job.key, "data", b"\x00garbage")
    with pytest.raises(DeserializationError, match=job.id):
        _ = Job.fetch(job.id, connection=connection).args
    assert "cannot be decoded" in Job.fetch(job.id, connection=connection).description


def test_json_serializer(connection: redis.Redis) -> None:
    queue = Queue("json", connection=connection, serializer="json")
    job = queue.enqueue(fixtures.add, 2, 3)
    assert connection.hget(job.key, "data") == b"[[2,3],{}]"
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert Job.fetch(job.id, connection=connection, serializer="json").return_value() == 5


def test_timestamps_are_aware_utc(queue: Queue, simple_worker: SimpleWorker) -> None:
    job = queue.enqueue(fixtures.say_hello)
    simple_worker.work(burst=True)
    job.refresh()
    assert job.created_at and job.enqueued_at and job.started_at and job.ended_at
    assert job.created_at <= job.enqueued_at <= job.started_at <= job.ended_at
    assert job.ended_at.utcoffset() is not None
