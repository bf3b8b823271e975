"""arq 0.28: asyncio jobs, enqueued with ``ArqRedis.enqueue_job``, results kept (1 h).

Workers are arq's own command, ``arq peers.arq_bench.WorkerSettings``, one process each (arq
runs up to ``max_jobs`` = 10 jobs at a time per process), logging at WARNING through
``--custom-log-dict`` (at INFO arq logs every job). An arq worker polls its queue every
``poll_delay`` (0.5 s by default); the "tuned" set-up lowers it to 10 ms. arq has no bulk
enqueue. The async figure's set-ups raise ``max_jobs`` to 100 (the same concurrency as
minirq's async worker), with arq's default poll and with 10 ms.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings

from peers.base import Setup, console_script, mark, redis_url, sleep_job

POLL_DELAY_ENV = "BENCH_ARQ_POLL_DELAY"
MAX_JOBS_ENV = "BENCH_ARQ_MAX_JOBS"
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"arq": {"level": "WARNING", "class": "logging.StreamHandler"}},
    "loggers": {"arq": {"handlers": ["arq"], "level": "WARNING"}},
}


async def noop(ctx: dict[str, Any]) -> None:
    mark()


async def sleeper(ctx: dict[str, Any], enqueued_at: float) -> None:
    await sleep_job(enqueued_at)


class WorkerSettings:
    functions = [noop, sleeper]
    redis_settings = RedisSettings.from_dsn(redis_url())


if POLL_DELAY_ENV in os.environ:
    WorkerSettings.poll_delay = float(os.environ[POLL_DELAY_ENV])  # type: ignore[attr-defined]
if MAX_JOBS_ENV in os.environ:
    WorkerSettings.max_jobs = int(os.environ[MAX_JOBS_ENV])  # type: ignore[attr-defined]

_WORKER = console_script(
    "arq", "peers.arq_bench.WorkerSettings", "--custom-log-dict", "peers.arq_bench.LOG_CONFIG"
)
_TUNED = {POLL_DELAY_ENV: "0.01"}

SETUPS = {
    "two_workers": Setup(_WORKER, 2, instances=2, poll_s=0.5),
    "two_workers_tuned": Setup(_WORKER, 2, instances=2, env=_TUNED, poll_s=0.01),
    "default": Setup(_WORKER, 1, poll_s=0.5),
    "tuned": Setup(_WORKER, 1, env=_TUNED, poll_s=0.01),
    "async100": Setup(_WORKER, 1, env={MAX_JOBS_ENV: "100"}, poll_s=0.5),
    "async100_tuned": Setup(_WORKER, 1, env={**_TUNED, MAX_JOBS_ENV: "100"}, poll_s=0.01),
}


class Producer:
    bulk: str | None = None

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.pool = self.loop.run_until_complete(create_pool(RedisSettings.from_dsn(url)))

    def send(self) -> None:
        self.loop.run_until_complete(self.pool.enqueue_job("noop"))

    def send_many(self, n: int) -> None:
        async def many() -> None:
            for _ in range(n):
                await self.pool.enqueue_job("noop")

        self.loop.run_until_complete(many())

    def close(self) -> None:
        self.loop.run_until_complete(self.pool.aclose())
        self.loop.close()


def producer(url: str) -> Producer:
    return Producer(url)


class AsyncProducer(Producer):
    async def enqueue_sleeper(self, enqueued_at: float) -> None:
        await self.pool.enqueue_job("sleeper", enqueued_at)


def async_producer(url: str) -> AsyncProducer:
    return AsyncProducer(url)
