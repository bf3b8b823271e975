"""minirq, from this checkout: the forking Worker, SimpleWorker and the prefork pool; and
for the async figure, ``minirq worker --worker-class async --concurrency 100`` fed by
:class:`minirq.AsyncQueue`."""

from __future__ import annotations

import asyncio

import redis.asyncio

import minirq
from peers import rqlike
from peers.base import QUEUE_NAME, Setup, python, redis_url, sleep_job

ASYNC_CONCURRENCY = 100

SETUPS = {
    **rqlike.setups("minirq"),
    "async_worker": Setup(
        python(
            "-m", "minirq", "worker", QUEUE_NAME, "--worker-class", "async",
            "--concurrency", str(ASYNC_CONCURRENCY), "--no-scheduler",
            "--logging-level", "WARNING", "--url", redis_url(),
        ),
        1,
    ),
}  # fmt: skip


async def sleeper(enqueued_at: float) -> None:
    await sleep_job(enqueued_at)


def producer(url: str) -> rqlike.Producer:
    return rqlike.Producer(minirq, url)


class AsyncProducer:
    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = redis.asyncio.Redis.from_url(url)
        self.queue = minirq.AsyncQueue(QUEUE_NAME, connection=self.client)

    async def enqueue_sleeper(self, enqueued_at: float) -> None:
        await self.queue.enqueue(sleeper, enqueued_at)

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


def async_producer(url: str) -> AsyncProducer:
    return AsyncProducer(url)
