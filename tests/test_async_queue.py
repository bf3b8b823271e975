"""AsyncQueue: enqueueing from asyncio code on redis.asyncio, with Queue's validation and
the same Lua steps; a refused job writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio

from minirq import (
    AsyncJob,
    AsyncQueue,
    ConfigurationError,
    DuplicateJobError,
    InvalidFunctionError,
    InvalidJobError,
    JobStatus,
    Queue,
    SerializationError,
    SimpleWorker,
)
from minirq.results import Result
from minirq.utils import now_ms
from tests import async_fixtures, fixtures
from tests.conftest import RedisServer

T = TypeVar("T")


def run(redis_server: RedisServer, body: Callable[[AsyncQueue], Awaitable[T]]) -> T:
    """Run ``body`` with an AsyncQueue on the test server, on a fresh event loop."""

    async def main() -> T:
        client = redis.asyncio.Redis.from_url(redis_server.url)
        try:
            return await body(AsyncQueue(connection=client))
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_enqueue_writes_the_job_queue_would_write(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    async def body(q: AsyncQueue) -> AsyncJob:
        return await q.enqueue(fixtures.add, 2, 3, job_timeout=30, description="sum")

    job = run(redis_server, body)
    twin = queue.enqueue(fixtures.add, 2, 3, job_timeout=30, description="sum")
    assert isinstance(job, AsyncJob)
    assert queue.job_ids == [job.id, twin.id]
    assert set(connection.hkeys(job.job.key)) == set(connection.hkeys(twin.key))
    assert connection.hget(job.job.key, "data") == connection.hget(twin.key, "data")
    SimpleWorker([queue], connection=connection).work(burst=True)

    async def read(q: AsyncQueue) -> tuple[Any, Any]:
        fetched = await q.fetch_job(job.id)
        assert fetched is not None
        return await fetched.get_status(), await fetched.return_value()

    assert run(redis_server, read) == (JobStatus.FINISHED, 5)


def test_enqueue_call_passes_arguments_named_like_options(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    async def body(q: AsyncQueue) -> AsyncJob:
        return await q.enqueue_call(
            fixtures.echo, args=(1,), kwargs={"job_id": "mine"}, timeout=5, job_id="call-1"
        )

    job = run(redis_server, body)
    assert job.id == "call-1"
    assert job.job.timeout == 5
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert queue.fetch_job("call-1") is not None
    assert Queue(connection=connection).fetch_job("call-1").return_value() == (  # type: ignore[union-attr]
        (1,),
        {"job_id": "mine"},
    )


def test_enqueue_at_and_in_schedule_on_redis_clock(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    due = datetime.now(UTC) + timedelta(hours=1)

    async def body(q: AsyncQueue) -> tuple[AsyncJob, AsyncJob]:
        return await q.enqueue_at(due, fixtures.add, 1, 2), await q.enqueue_in(60, fixtures.add)

    at, later = run(redis_server, body)
    scheduled = dict(connection.zrange(queue.scheduled_job_registry.key, 0, -1, withscores=True))
    assert scheduled[at.id.encode()] == int(due.timestamp() * 1000)
    assert scheduled[later.id.encode()] >= now_ms() + 50_000
    assert queue.count == 0
    assert queue.fetch_job(at.id).get_status() == JobStatus.SCHEDULED  # type: ignore[union-attr]


def test_enqueue_many_writes_all_or_none(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    live = queue.enqueue(fixtures.add, 1, 1, job_id="taken")

    async def body(q: AsyncQueue) -> list[AsyncJob]:
        with pytest.raises(DuplicateJobError, match="taken"):
            await q.enqueue_many(
                [
                    q.prepare_data(fixtures.add, (1, 2), job_id="fresh"),
                    q.prepare_data(fixtures.add, (3, 4), job_id="taken"),
                ]
            )
        assert await q.count() == 1
        return await q.enqueue_many(
            [q.prepare_data(fixtures.add, (n, n), job_id=f"n{n}") for n in range(3)]
        )

    jobs = run(redis_server, body)
    assert connection.exists("minirq:job:fresh") == 0
    assert queue.job_ids == [live.id, "n0", "n1", "n2"]
    assert [j.id for j in jobs] == ["n0", "n1", "n2"]


def test_enqueue_many_over_a_key_that_is_not_a_job_writes_nothing(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    connection.set(queue.keys.job("taken"), "not a hash")

    async def body(q: AsyncQueue) -> None:
        with pytest.raises(InvalidJobError, match="is not a job hash; nothing was written"):
            await q.enqueue_many(
                [
                    q.prepare_data(fixtures.add, (1, 2), at_front=True),
                    q.prepare_data(fixtures.add, (1, 2), job_id="taken"),
                ]
            )

    run(redis_server, body)
    assert queue.count == 0
    assert connection.get(queue.keys.job("taken")) == b"not a hash"


def test_enqueue_many_queues_as_queue_enqueue_many_does(
    redis_server: RedisServer, queue: Queue
) -> None:
    parent = queue.enqueue(fixtures.add, 1, 1, job_id="parent")

    async def body(q: AsyncQueue) -> list[AsyncJob]:
        return await q.enqueue_many(
            [
                q.prepare_data(fixtures.add, (1, 2), job_id="back"),
                q.prepare_data(fixtures.add, (1, 2), job_id="front", at_front=True),
                q.prepare_data(fixtures.add, (1, 2), job_id="waits", depends_on=parent),
            ]
        )

    jobs = run(redis_server, body)
    assert queue.job_ids == ["front", "parent", "back"]
    assert [j.id for j in jobs] == ["back", "front", "waits"]
    assert queue.fetch_job("waits").get_status() == JobStatus.DEFERRED  # type: ignore[union-attr]


def test_a_live_id_is_refused(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    queue.enqueue(fixtures.add, 1, 1, job_id="once")

    async def body(q: AsyncQueue) -> None:
        with pytest.raises(DuplicateJobError):
            await q.enqueue(fixtures.add, 2, 2, job_id="once")
        with pytest.raises(DuplicateJobError):
            await q.enqueue_in(10, fixtures.add, 2, 2, job_id="once")

    run(redis_server, body)
    assert queue.job_ids == ["once"]


def _nested() -> Any:
    def inner() -> None:
        return None

    return inner


BAD_ENQUEUES: list[tuple[str, Callable[[AsyncQueue], Awaitable[Any]], type[Exception]]] = [
    ("lambda", lambda q: q.enqueue(lambda: None), InvalidFunctionError),
    ("nested function", lambda q: q.enqueue(_nested()), InvalidFunctionError),
    ("not callable", lambda q: q.enqueue(42), InvalidFunctionError),  # type: ignore[arg-type]
    ("generator", lambda q: q.enqueue(async_fixtures.async_generator), InvalidFunctionError),
    ("bad job id", lambda q: q.enqueue(fixtures.add, 1, 2, job_id="a b"), InvalidJobError),
    ("bad timeout", lambda q: q.enqueue(fixtures.add, job_timeout="soon"), ConfigurationError),
    ("negative ttl", lambda q: q.enqueue(fixtures.add, result_ttl=-5), ConfigurationError),
    ("unpicklable", lambda q: q.enqueue(fixtures.echo, lambda: 1), SerializationError),
    ("meta not a dict", lambda q: q.enqueue(fixtures.add, meta=[1]), InvalidJobError),
    ("unique without id", lambda q: q.enqueue(fixtures.add, unique=True), InvalidJobError),
    ("negative delay", lambda q: q.enqueue_in(-1, fixtures.add), ConfigurationError),
    ("not a datetime", lambda q: q.enqueue_at("tomorrow", fixtures.add), ConfigurationError),
    (
        "scheduled dependent",
        lambda q: q.enqueue_in(5, fixtures.add, depends_on="parent"),
        InvalidJobError,
    ),
    (
        "repeated ids",
        lambda q: q.enqueue_many(
            [q.prepare_data(fixtures.add, job_id="x"), q.prepare_data(fixtures.add, job_id="x")]
        ),
        InvalidJobError,
    ),
    (
        "one bad job of many",
        lambda q: q.enqueue_many(
            [q.prepare_data(fixtures.add, (1, 2)), q.prepare_data(fixtures.add, timeout=-3)]
        ),
        ConfigurationError,
    ),
    ("unknown option", lambda q: q.enqueue_call(fixtures.add, colour="red"), TypeError),
]


@pytest.mark.parametrize(("name", "bad", "error"), BAD_ENQUEUES, ids=[b[0] for b in BAD_ENQUEUES])
def test_bad_input_is_refused_with_nothing_written(
    redis_server: RedisServer,
    connection: redis.Redis,
    name: str,
    bad: Callable[[AsyncQueue], Awaitable[Any]],
    error: type[Exception],
) -> None:
    async def body(q: AsyncQueue) -> None:
        with pytest.raises(error):
            await bad(q)

    run(redis_server, body)
    assert connection.keys("*") == []


def test_a_coroutine_object_is_refused(redis_server: RedisServer, connection: redis.Redis) -> None:
    async def body(q: AsyncQueue) -> None:
        coroutine = async_fixtures.async_add(1, 2)
        try:
            with pytest.raises(InvalidFunctionError, match="enqueue the function itself"):
                await q.enqueue(coroutine)  # type: ignore[arg-type]
        finally:
            coroutine.close()

    run(redis_server, body)
    assert connection.keys("*") == []


def test_no_sync_redis_call_is_made(redis_server: RedisServer, queue: Queue) -> None:
    """The sync client the jobs carry points nowhere: every method still works."""

    async def body(q: AsyncQueue) -> list[Any]:
        q.queue.connection = redis.Redis(port=1, socket_connect_timeout=0.1)
        one = await q.enqueue(fixtures.add, 1, 2)
        many = await q.enqueue_many([q.prepare_data(fixtures.add, (3, 4))])
        later = await q.enqueue_in(30, fixtures.add)
        return [await one.get_status(), len(many), await later.get_status(), await q.count()]

    assert run(redis_server, body) == [JobStatus.QUEUED, 1, JobStatus.SCHEDULED, 2]


def test_a_forgotten_script_is_loaded_again(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    async def body(q: AsyncQueue) -> None:
        await q.enqueue(fixtures.add, 1, 2)
        await q.connection.script_flush()
        await q.enqueue(fixtures.add, 3, 4)
        await q.connection.script_flush()
        await q.enqueue_many([q.prepare_data(fixtures.add, (5, 6))])

    run(redis_server, body)
    assert queue.count == 3


def test_latest_result_wakes_when_the_outcome_is_recorded(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    async def body(q: AsyncQueue) -> list[Any]:
        ok = await q.enqueue(async_fixtures.async_add, 20, 22)
        failing = await q.enqueue(async_fixtures.async_fail, "as planned")
        assert await ok.latest_result() is None
        # An hour's timeout, cut at 30 s: only a wake-up on the outcome returns in time.
        waits = [
            asyncio.create_task(asyncio.wait_for(job.latest_result(timeout=3600), 30))
            for job in (ok, failing)
        ]
        await asyncio.sleep(0.2)  # both are waiting before the worker starts
        worker = SimpleWorker([queue], connection=connection)
        await asyncio.to_thread(worker.work, burst=True)
        succeeded, failed = await asyncio.gather(*waits)
        again = await ok.latest_result(timeout=5)
        return [succeeded, failed, again]

    succeeded, failed, again = run(redis_server, body)
    assert succeeded.type == Result.Type.SUCCESSFUL
    assert succeeded.return_value == 42
    assert failed.type == Result.Type.FAILED
    assert "ValueError: as planned" in failed.exc_string
    assert again == succeeded


def test_latest_result_gives_none_when_nothing_ends_in_time(
    redis_server: RedisServer, connection: redis.Redis
) -> None:
    async def body(q: AsyncQueue) -> Any:
        job = await q.enqueue(async_fixtures.async_add, 1, 1)
        return await job.latest_result(timeout=0.3)

    assert run(redis_server, body) is None


def test_a_dropped_connection_is_replaced_and_the_job_written_once(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    async def body(q: AsyncQueue) -> AsyncJob:
        await q.enqueue(fixtures.add, 1, 2)
        # Every other client's connection dropped, the one the queue keeps among them.
        connection.client_kill_filter(_type="normal", skipme=True)
        return await q.enqueue(fixtures.add, 3, 4, job_id="after-drop")

    job = run(redis_server, body)
    assert job.id == "after-drop"
    assert queue.job_ids.count("after-drop") == 1
    assert queue.count == 2


def test_prefix_and_serializer_are_those_of_the_queue(
    redis_server: RedisServer, connection: redis.Redis
) -> None:
    async def body(q: AsyncQueue) -> AsyncJob:
        mine = AsyncQueue("tasks", connection=q.connection, serializer="json", prefix="{app}")
        return await mine.enqueue(fixtures.add, 2, 5)

    job = run(redis_server, body)
    assert connection.exists(f"{{app}}:job:{job.id}") == 1
    assert connection.keys("minirq:*") == []
    sync_queue = Queue("tasks", connection=connection, serializer="json", prefix="{app}")
    SimpleWorker([sync_queue], connection=connection).work(burst=True)
    assert sync_queue.fetch_job(job.id).return_value() == 7  # type: ignore[union-attr]


def test_rqs_args_and_kwargs_form_is_taken_and_checked_as_queue_does(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    async def body(q: AsyncQueue) -> AsyncJob:
        with pytest.raises(InvalidJobError, match="give the function's arguments only there"):
            await q.enqueue(fixtures.echo, 1, args=(2,))
        with pytest.raises(InvalidJobError, match="args must be a tuple or list"):
            await q.enqueue_in(5, fixtures.echo, args="no")
        return await q.enqueue(fixtures.echo, args=(1, 2), kwargs={"a": 3})

    job = run(redis_server, body)
    assert queue.count == 1
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert queue.fetch_job(job.id).return_value() == ((1, 2), {"a": 3})  # type: ignore[union-attr]
