from __future__ import annotations

import redis

from minirq import JobStatus, Queue, SimpleWorker
from minirq.keys import Keys
from minirq.reaper import reap_expired_leases
from minirq.registry import clean_registries
from tests import fixtures


def _lease(queue: Queue, connection: redis.Redis, worker_name: str) -> str:
    job = queue.enqueue(fixtures.say_hello)
    worker = SimpleWorker([queue], connection=connection, name=worker_name)
    fetched = worker.take_job()
    assert fetched is not None
    # Make the lease look expired, as if the worker died long ago.
    connection.zadd(queue.started_job_registry.key, {job.id: 1})
    return job.id


def test_expired_lease_goes_back_to_front_of_queue(queue: Queue, connection: redis.Redis) -> None:
    job_id = _lease(queue, connection, "dead-worker")
    queue.enqueue(fixtures.say_hello)
    requeued, failed = reap_expired_leases(connection, Keys())
    assert requeued == [job_id] and failed == []
    assert queue.job_ids[0] == job_id
    job = queue.fetch_job(job_id)
    assert job is not None and job.orphaned_count == 1
    assert job.get_status() == JobStatus.QUEUED


def test_job_orphaned_too_often_fails_with_reason(queue: Queue, connection: redis.Redis) -> None:
    job_id = _lease(queue, connection, "host:1234:abcd")
    connection.hset(f"minirq:job:{job_id}", "orphaned", 2)
    _requeued, failed = reap_expired_leases(connection, Keys(), max_orphanings=3)
    assert failed == [job_id]
    job = queue.failed_job_registry.get_jobs()[0]
    assert "AbandonedJobError: worker host:1234:abcd stopped heartbeating" in (job.exc_info or "")


def test_live_lease_is_left_alone(queue: Queue, connection: redis.Redis) -> None:
    queue.enqueue(fixtures.say_hello)
    SimpleWorker([queue], connection=connection).take_job()
    assert reap_expired_leases(connection, Keys()) == ([], [])


def test_reaper_lock_keeps_one_scanner(queue: Queue, connection: redis.Redis) -> None:
    _lease(queue, connection, "dead")
    connection.set(Keys().reaper_lock, "someone-else", px=5000)
    assert reap_expired_leases(connection, Keys()) == ([], [])


def test_cleaning_a_queue_recovers_its_jobs_even_if_it_is_not_in_the_set_of_queues(
    queue: Queue, connection: redis.Redis
) -> None:
    for clean in (
        clean_registries,
        lambda q: SimpleWorker([q], connection=connection).clean_registries(),
    ):
        job_id = _lease(queue, connection, "dead")
        connection.srem(Keys().queues, queue.name)
        clean(queue)
        assert queue.job_ids == [job_id]
        assert queue.started_job_registry.get_job_ids() == []
        queue.empty()
