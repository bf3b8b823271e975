"""A lost reply never duplicates or strands a job (issue 11, item 2), and threads never
hold more connections than the pool allows (item 8)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from minirq import Job, JobStatus, Queue, SimpleWorker
from minirq.horse import Outcome
from tests import fixtures
from tests.conftest import RedisServer
from tests.store_fixtures import ReplyLosingProxy, reply_losing_proxy


@contextlib.contextmanager
def redis_stalled(url: str, seconds: float) -> Iterator[None]:
    """Redis busy in ``DEBUG SLEEP`` for ``seconds`` while the block runs."""
    other = redis.Redis.from_url(url, socket_timeout=seconds + 5)
    sleeper = threading.Thread(target=other.execute_command, args=("DEBUG", "SLEEP", seconds))
    sleeper.start()
    time.sleep(0.1)
    try:
        yield
    finally:
        sleeper.join()
        other.close()


_clients: list[redis.Redis] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _clients:
        _clients.pop().close()


@pytest.fixture
def proxy(redis_server: RedisServer, connection: redis.Redis) -> Iterator[ReplyLosingProxy]:
    with reply_losing_proxy(redis_server.port) as losing:
        yield losing


def _client(**kwargs: object) -> redis.Redis:
    client = redis.Redis(**kwargs)  # type: ignore[arg-type]
    _clients.append(client)
    return client


def _through(proxy: ReplyLosingProxy) -> redis.Redis:
    return _client(port=proxy.port, socket_timeout=5)


def _short(server: RedisServer) -> redis.Redis:
    return _client(port=server.port, socket_timeout=0.3)


def test_an_enqueue_whose_reply_timed_out_is_queued_once(
    redis_server: RedisServer, connection: redis.Redis
) -> None:
    queue = Queue(connection=_short(redis_server))
    queue.enqueue(fixtures.add, 0, 0)
    with redis_stalled(redis_server.url, 1.5), contextlib.suppress(redis.RedisError):
        queue.enqueue(fixtures.add, 1, 2, job_id="once")
    assert connection.lrange(queue.key, 0, -1).count(b"once") == 1


def test_a_fetch_whose_reply_timed_out_leases_only_the_job_it_returns(
    redis_server: RedisServer, connection: redis.Redis
) -> None:
    first, second = (Queue(connection=connection).enqueue(fixtures.add, i, 1) for i in (1, 2))
    short = _short(redis_server)
    worker = SimpleWorker([Queue(connection=short)], connection=short)
    worker._send_fetch()  # warm: scripts loaded (and the first job taken, then put back)
    connection.delete(worker.keys.registry("started", "default"))
    connection.lpush(worker.keys.queue("default"), first.id)
    with redis_stalled(redis_server.url, 1.5):
        fetched = worker._call_redis(worker.take_job, "fetching a job")
    assert fetched is not None and fetched[0].id == first.id
    assert Queue(connection=connection).job_ids == [second.id]
    assert Queue(connection=connection).started_job_registry.get_job_ids() == [first.id]


def test_an_enqueue_whose_connection_dropped_is_queued_once(
    proxy: ReplyLosingProxy, connection: redis.Redis
) -> None:
    queue = Queue(connection=_through(proxy))
    queue.enqueue(fixtures.add, 0, 0)
    proxy.lose_next_reply_to(b"EVALSHA")
    with contextlib.suppress(redis.ConnectionError):
        job = queue.enqueue(fixtures.add, 1, 2)
    assert proxy.dropped == 1
    assert connection.lrange(queue.key, 0, -1).count(job.id.encode()) == 1


def test_an_enqueue_many_whose_connection_dropped_queues_each_job_once(
    proxy: ReplyLosingProxy, connection: redis.Redis
) -> None:
    queue = Queue(connection=_through(proxy))
    queue.enqueue(fixtures.add, 0, 0)
    proxy.lose_next_reply_to(b"EVALSHA")
    jobs = queue.enqueue_many(
        [Queue.prepare_data(fixtures.add, (i, i)) for i in range(5)]
        + [Queue.prepare_data(fixtures.add, (9, 9), job_id="chosen")]
    )
    assert proxy.dropped == 1
    queued = connection.lrange(queue.key, 0, -1)
    for job in jobs:
        assert queued.count(job.id.encode()) == 1
        assert job.get_status() == JobStatus.QUEUED
    assert len(queued) == 7


def test_a_cancel_whose_reply_was_lost_reports_success(
    proxy: ReplyLosingProxy, connection: redis.Redis
) -> None:
    queue = Queue(connection=connection)
    queue.enqueue(fixtures.add, 0, 0).cancel()  # Redis knows the script: the first send runs
    job = queue.enqueue(fixtures.add, 1, 2)
    seen = Job.fetch(job.id, connection=_through(proxy))
    proxy.lose_next_reply_to(b"EVALSHA")
    seen.cancel()
    assert proxy.dropped == 1
    assert job.get_status() == JobStatus.CANCELED


def test_a_requeue_whose_reply_was_lost_reports_success(
    proxy: ReplyLosingProxy, connection: redis.Redis
) -> None:
    queue = Queue(connection=connection)
    warm, job = queue.enqueue(fixtures.div_by_zero), queue.enqueue(fixtures.div_by_zero)
    SimpleWorker([queue], connection=connection).work(burst=True)
    warm.requeue()  # Redis knows the script: the first send runs
    seen = Job.fetch(job.id, connection=_through(proxy))
    proxy.lose_next_reply_to(b"EVALSHA")
    seen.requeue()
    assert proxy.dropped == 1
    assert queue.job_ids == [warm.id, job.id]


def test_a_fetch_whose_connection_dropped_leases_only_the_job_it_returns(
    proxy: ReplyLosingProxy, connection: redis.Redis
) -> None:
    queue = Queue(connection=connection)
    first, second = queue.enqueue(fixtures.add, 1, 1), queue.enqueue(fixtures.add, 2, 2)
    proxied = _through(proxy)
    proxied.ping()
    worker = SimpleWorker([Queue(connection=proxied)], connection=proxied)
    proxy.lose_next_reply_to(b"EVALSHA")
    fetched = worker._call_redis(worker.take_job, "fetching a job")
    assert proxy.dropped == 1
    assert fetched is not None and fetched[0].id == first.id
    assert queue.job_ids == [second.id]
    assert queue.started_job_registry.get_job_ids() == [first.id]


def test_a_finish_whose_reply_was_lost_is_recorded_once_without_a_false_alarm(
    proxy: ReplyLosingProxy, connection: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue(connection=connection)
    queue.enqueue(fixtures.add, 0, 0)
    SimpleWorker([queue], connection=connection).work(burst=True)  # Redis knows the scripts
    job = queue.enqueue(fixtures.add, 1, 2)
    proxied = _through(proxy)
    worker = SimpleWorker([Queue(connection=proxied)], connection=proxied)
    fetched = worker.take_job()
    assert fetched is not None
    proxy.lose_next_reply_to(b"EVALSHA")
    with caplog.at_level("WARNING", logger="minirq"):
        worker._record_outcome(
            fetched[0], fetched[1], Outcome(True, result=queue.serializer.dumps(3)), 1
        )
    assert proxy.dropped == 1
    assert job.get_status() == JobStatus.FINISHED
    assert "not recorded" not in caplog.text


def test_a_recording_with_the_next_fetch_whose_reply_was_lost_leases_only_that_job(
    proxy: ReplyLosingProxy, connection: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue(connection=connection)
    queue.enqueue(fixtures.add, 0, 0)
    queue.enqueue(fixtures.add, 0, 0)
    SimpleWorker([queue], connection=connection).work(burst=True)  # Redis knows the scripts
    job, following, last = (queue.enqueue(fixtures.add, i, 1) for i in (1, 2, 3))
    proxied = _through(proxy)
    worker = SimpleWorker([Queue(connection=proxied)], connection=proxied)
    fetched = worker.take_job()
    assert fetched is not None and fetched[0].id == job.id
    worker._fetch_ahead = True
    proxy.lose_next_reply_to(b"EVALSHA")
    with caplog.at_level("WARNING", logger="minirq"):
        worker._record_outcome(
            fetched[0], fetched[1], Outcome(True, result=queue.serializer.dumps(2)), 1
        )
    assert proxy.dropped == 1
    assert job.get_status() == JobStatus.FINISHED
    assert "not recorded" not in caplog.text
    # The step sent again answered the job its first run leased, and leased no other.
    assert worker._fetched_ahead is not None
    ahead = worker._fetched_ahead[0]
    assert ahead is not None and ahead[0].id == following.id
    assert queue.started_job_registry.get_job_ids() == [following.id]
    assert queue.job_ids == [last.id]


# -- bounded connections (item 8) ---------------------------------------------------------


def test_200_threads_enqueueing_use_at_most_the_pools_connections(
    redis_server: RedisServer, connection: redis.Redis
) -> None:
    pool = redis.ConnectionPool.from_url(
        redis_server.url, max_connections=8, client_name="two-hundred-threads"
    )
    client = _client(connection_pool=pool)
    queue = Queue(connection=client)
    errors: list[BaseException] = []
    start = threading.Barrier(200)

    def enqueue_some() -> None:
        try:
            start.wait()
            for i in range(5):
                queue.enqueue(fixtures.add, i, 1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=enqueue_some) for _ in range(200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert queue.count == 1000
    clients = [c for c in connection.client_list() if c.get("name") == "two-hundred-threads"]
    pool.disconnect()
    assert len(clients) <= 8
