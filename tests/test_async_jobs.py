"""``async def`` jobs on the workers that are not asyncio: each runs the coroutine to
completion (as RQ 2.12 does), and enqueue refuses what gives no result."""

from __future__ import annotations

import asyncio

import fakeredis
import pytest
import redis

from minirq import JobStatus, Queue, SimpleWorker, Worker, WorkerPool
from minirq.base_worker import BaseWorker
from minirq.exceptions import InvalidFunctionError
from tests import async_fixtures

WORKER_KINDS = ["fork", "simple", "pool"]


def make_worker(kind: str, queue: Queue, connection: redis.Redis) -> BaseWorker:
    if kind == "fork":
        return Worker([queue], connection=connection)
    if kind == "simple":
        return SimpleWorker([queue], connection=connection)
    return WorkerPool([queue], connection=connection, size=2)


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_every_worker_runs_an_async_function_to_completion(
    kind: str, connection: redis.Redis, queue: Queue
) -> None:
    added = queue.enqueue(async_fixtures.async_add, 2, 3)
    method = queue.enqueue(async_fixtures.AsyncAdder(10).plus, 5)
    wrapped = queue.enqueue(async_fixtures.returns_awaitable, 41)
    current = queue.enqueue(async_fixtures.async_current_job_id)
    failing = queue.enqueue(async_fixtures.async_fail, "no luck")
    with_callback = queue.enqueue(
        async_fixtures.async_add, 1, 1, on_success=async_fixtures.record_success
    )
    make_worker(kind, queue, connection).work(burst=True)
    assert added.get_status() == JobStatus.FINISHED
    assert added.return_value() == 5
    assert method.return_value() == 15
    assert wrapped.return_value() == 42
    assert current.return_value() == current.id
    assert failing.get_status() == JobStatus.FAILED
    failing.refresh()
    assert "ValueError: no luck" in (failing.exc_info or "")
    assert connection.get(f"test:async-success:{with_callback.id}") == b"2"


@pytest.mark.parametrize("kind", WORKER_KINDS)
def test_an_async_job_past_its_timeout_fails_on_every_worker(
    kind: str, connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(async_fixtures.async_sleep, 30, job_timeout=1)
    make_worker(kind, queue, connection).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    job.refresh()
    assert "JobTimeoutException" in (job.exc_info or "")


def test_sync_mode_runs_an_async_function() -> None:
    queue = Queue(is_async=False, connection=fakeredis.FakeRedis())
    assert queue.enqueue(async_fixtures.async_add, 20, 22).return_value() == 42
    assert queue.enqueue(async_fixtures.returns_awaitable, 1).return_value() == 2
    job = queue.enqueue(async_fixtures.async_current_job_id)
    assert job.return_value() == job.id
    failed = queue.enqueue(async_fixtures.async_fail, "sync boom")
    assert failed.get_status() == JobStatus.FAILED
    assert "ValueError: sync boom" in (failed.exc_info or "")


def test_sync_mode_inside_a_running_event_loop_does_not_reenter_it() -> None:
    queue = Queue(is_async=False, connection=fakeredis.FakeRedis())

    async def from_async_code() -> int:
        return int(queue.enqueue(async_fixtures.async_add, 1, 2).return_value())

    assert asyncio.run(from_async_code()) == 3


def test_enqueue_refuses_a_coroutine_object_and_writes_nothing(
    connection: redis.Redis, queue: Queue
) -> None:
    coroutine = async_fixtures.async_add(1, 2)
    try:
        with pytest.raises(InvalidFunctionError, match="enqueue the function itself"):
            queue.enqueue(coroutine)  # type: ignore[arg-type]
    finally:
        coroutine.close()
    assert connection.keys("*") == []


def test_enqueue_refuses_generator_functions(connection: redis.Redis, queue: Queue) -> None:
    for func in (async_fixtures.async_generator, async_fixtures.generator):
        with pytest.raises(InvalidFunctionError, match="generator function"):
            queue.enqueue(func)
    assert connection.keys("*") == []


def test_enqueue_still_refuses_a_nested_async_function(
    connection: redis.Redis, queue: Queue
) -> None:
    async def nested() -> None:
        return None

    with pytest.raises(InvalidFunctionError, match="inside another function"):
        queue.enqueue(nested)
    assert connection.keys("*") == []
