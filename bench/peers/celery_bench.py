"""Celery 5.7 with Redis as broker and as result backend (results kept, the default TTL).

Workers are Celery's own command, ``celery -A peers.celery_bench worker``, with the prefork
pool and its defaults otherwise (prefetch multiplier 4, acks early, mingle and gossip on).
The bulk figure is ``group(...).apply_async()``.
"""

from __future__ import annotations

from celery import Celery, group

from peers.base import QUEUE_NAME, Setup, console_script, mark, redis_url

app = Celery("bench", broker=redis_url(), backend=redis_url())
app.conf.task_default_queue = QUEUE_NAME


@app.task
def noop() -> None:
    mark()


def _worker(*options: str) -> list[str]:
    return console_script(
        "celery", "-A", "peers.celery_bench", "worker", "--loglevel", "WARNING", *options
    )


SETUPS = {
    "prefork": Setup(_worker("--pool", "prefork", "--concurrency", "2"), 2),
    # The worker's defaults: prefork with one child per core (2 on the benchmark machine).
    "default": Setup(_worker(), 1),
}


class Producer:
    bulk: str | None = "group(...).apply_async()"

    def send(self) -> None:
        noop.delay()

    def send_many(self, n: int) -> None:
        group(noop.s() for _ in range(n)).apply_async()

    def close(self) -> None:
        app.close()


def producer(url: str) -> Producer:
    return Producer()
