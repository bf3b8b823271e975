"""An executor with free slots takes jobs for all of them in one round trip: one fetch step
per job, each under its own lease and run token; the worker's record never shows idle
while it holds a job; a batch sent again after a lost reply takes no job twice."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis

from minirq import JobStatus, Queue, SimpleWorker, WorkerPool
from minirq.store.record import text_or_none
from tests import fixtures
from tests.conftest import RedisServer
from tests.store_fixtures import ReplyLosingProxy, reply_losing_proxy


def _registered(queue: Queue, connection: redis.Redis) -> SimpleWorker:
    worker = SimpleWorker([queue], connection=connection)
    worker.register_birth()
    return worker


def _record(worker: SimpleWorker) -> tuple[str, str]:
    state, job = worker.connection.hmget(worker.key, ["state", "job"])
    return text_or_none(state) or "", text_or_none(job) or ""


def test_a_batch_leases_every_job_under_its_own_run_token(
    queue: Queue, connection: redis.Redis
) -> None:
    jobs = [queue.enqueue(fixtures.add, i, i) for i in range(4)]
    worker = _registered(queue, connection)
    before_ms = int(time.time() * 1000)
    taken = worker.take_jobs(3)
    assert [job.id for job, _ in taken] == [j.id for j in jobs[:3]]
    assert queue.job_ids == [jobs[3].id]
    leases = dict(connection.zrange(queue.keys.registry("started", queue.name), 0, -1,
                                    withscores=True))  # fmt: skip
    assert sorted(leases) == sorted(j.id.encode() for j in jobs[:3])
    assert all(deadline > before_ms + 20_000 for deadline in leases.values())
    tokens = [job.run_token for job, _ in taken]
    assert len(set(tokens)) == 3 and None not in tokens
    for job, _ in taken:
        stored = queue.fetch_job(job.id)
        assert stored is not None and stored.get_status() == JobStatus.STARTED
        assert stored.run_token == job.run_token and stored.worker_name == worker.name
    assert _record(worker) == ("busy", jobs[2].id)


def test_a_batch_that_finds_the_queue_short_still_shows_the_worker_busy(
    queue: Queue, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.add, 1, 1)
    worker = _registered(queue, connection)
    taken = worker.take_jobs(3)
    assert [fetched.id for fetched, _ in taken] == [job.id]
    # The later steps found the queue empty and left the record as the first wrote it.
    assert _record(worker) == ("busy", job.id)
    assert worker.take_jobs(2) == []
    assert _record(worker) == ("idle", "")


@pytest.fixture
def proxy(redis_server: RedisServer, connection: redis.Redis) -> Iterator[ReplyLosingProxy]:
    with reply_losing_proxy(redis_server.port) as losing:
        yield losing


def test_a_batch_whose_connection_dropped_takes_each_job_once(
    proxy: ReplyLosingProxy, queue: Queue, connection: redis.Redis
) -> None:
    jobs = [queue.enqueue(fixtures.add, i, i) for i in range(5)]
    through = redis.Redis(port=proxy.port, socket_timeout=5)
    try:
        worker = _registered(Queue(connection=through), through)
        warm = worker._send_fetch()  # loads the script; the job it took goes back
        assert warm is not None
        worker._requeue_interrupted(*warm)
        proxy.lose_next_reply_to(b"EVALSHA")
        taken = worker.take_jobs(3)
    finally:
        through.close()
    assert proxy.dropped == 1
    started = queue.started_job_registry.get_job_ids()
    assert sorted(started) == sorted(job.id for job, _ in taken)
    assert len(taken) == 3
    # Every job is in exactly one place: leased by this batch, or still queued.
    assert sorted(started + queue.job_ids) == sorted(j.id for j in jobs)


def test_a_pool_drains_through_batches_and_records_every_job(
    queue: Queue, connection: redis.Redis
) -> None:
    jobs = [queue.enqueue(fixtures.add, i, 1) for i in range(12)]
    WorkerPool([queue], connection=connection, size=3).work(burst=True)
    assert [job.get_status() for job in jobs] == [JobStatus.FINISHED] * 12
    assert [job.return_value() for job in jobs] == [i + 1 for i in range(12)]
    assert queue.started_job_registry.count == 0
