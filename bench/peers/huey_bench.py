"""huey 3.5 with its Redis storage (``RedisHuey``, blocking ``BRPOP``, results kept).

The consumer is huey's own command, ``huey_consumer peers.huey_bench.huey``, with ``-q``
(WARNING; at INFO huey logs every task). huey has no bulk enqueue: ``task.map()`` is a loop
of single enqueues, so the bulk figure is left out.
"""

from __future__ import annotations

from huey import RedisHuey

from peers.base import QUEUE_NAME, Setup, console_script, mark, redis_url

huey = RedisHuey(QUEUE_NAME, url=redis_url())


@huey.task()
def noop() -> None:
    mark()


def _consumer(*options: str) -> list[str]:
    return console_script("huey_consumer", "peers.huey_bench.huey", "-q", *options)


SETUPS = {
    # huey's documented way to use several cores: worker processes.
    "processes": Setup(_consumer("-w", "2", "-k", "process"), 2),
    # The consumer's defaults: one worker thread.
    "default": Setup(_consumer(), 1),
}


class Producer:
    bulk: str | None = None

    def send(self) -> None:
        noop()

    def send_many(self, n: int) -> None:
        for _ in range(n):
            noop()

    def close(self) -> None:
        huey.storage.pool.disconnect()


def producer(url: str) -> Producer:
    return Producer()
