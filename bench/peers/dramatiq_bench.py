"""Dramatiq 2.2 with its ``RedisBroker`` and default middleware (no result backend).

Workers are Dramatiq's own command, ``dramatiq peers.dramatiq_bench``, with its default of
8 threads per process. The bulk figure is ``group(...).run()``, the documented way to send
many messages at once.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from peers.base import QUEUE_NAME, Setup, console_script, mark, redis_url

# Dramatiq logs at INFO only at start and stop, never per message; WARNING like the rest.
logging.getLogger("dramatiq").setLevel(logging.WARNING)

broker = RedisBroker(url=redis_url())
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name=QUEUE_NAME)
def noop() -> None:
    mark()


def _workers(processes: int) -> list[str]:
    return console_script(
        "dramatiq", "peers.dramatiq_bench", "--processes", str(processes), "--threads", "8"
    )


SETUPS = {
    "processes": Setup(_workers(2), 2),
    # One worker process with the default 8 threads (the command's own default would start
    # one process per core).
    "default": Setup(_workers(1), 1),
}


class Producer:
    bulk: str | None = "group(...).run()"

    def send(self) -> None:
        noop.send()

    def send_many(self, n: int) -> None:
        dramatiq.group(noop.message() for _ in range(n)).run()

    def close(self) -> None:
        broker.close()


def producer(url: str) -> Producer:
    return Producer()
