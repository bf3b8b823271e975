"""SAQ 0.26 with its Redis queue: asyncio jobs, enqueued with ``Queue.enqueue``.

Workers are SAQ's own command, ``saq peers.saq_bench.settings``, with its defaults
(concurrency 10 per process, logging at WARNING); ``--workers 2`` starts two processes.
SAQ has no bulk enqueue (``Queue.map`` enqueues one by one and waits for the results).
The async figure's set-up, ``saq peers.saq_bench.async_settings``, runs one process with
concurrency 100 (the same as minirq's async worker).
"""

from __future__ import annotations

import asyncio
from typing import Any

from saq import Queue

from peers.base import QUEUE_NAME, Setup, console_script, mark, redis_url, sleep_job

ASYNC_CONCURRENCY = 100


async def noop(ctx: dict[str, Any]) -> None:
    mark()


async def sleeper(ctx: dict[str, Any], *, enqueued_at: float) -> None:
    await sleep_job(enqueued_at)


settings = {"queue": Queue.from_url(redis_url(), name=QUEUE_NAME), "functions": [noop]}
async_settings = {
    "queue": Queue.from_url(redis_url(), name=QUEUE_NAME),
    "functions": [sleeper],
    "concurrency": ASYNC_CONCURRENCY,
}

_WORKER = console_script("saq", "peers.saq_bench.settings")
SETUPS = {
    "processes": Setup([*_WORKER, "--workers", "2"], 2),
    "default": Setup(_WORKER, 1),
    "async100": Setup(console_script("saq", "peers.saq_bench.async_settings"), 1),
}


class Producer:
    bulk: str | None = None

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.queue = Queue.from_url(url, name=QUEUE_NAME)
        self.loop.run_until_complete(self.queue.connect())

    def send(self) -> None:
        self.loop.run_until_complete(self.queue.enqueue("noop"))

    def send_many(self, n: int) -> None:
        async def many() -> None:
            for _ in range(n):
                await self.queue.enqueue("noop")

        self.loop.run_until_complete(many())

    def close(self) -> None:
        self.loop.run_until_complete(self.queue.disconnect())
        self.loop.close()


def producer(url: str) -> Producer:
    return Producer(url)


class AsyncProducer(Producer):
    async def enqueue_sleeper(self, enqueued_at: float) -> None:
        await self.queue.enqueue("sleeper", enqueued_at=enqueued_at)


def async_producer(url: str) -> AsyncProducer:
    return AsyncProducer(url)
