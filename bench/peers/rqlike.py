"""minirq and RQ share their public API (``Queue.enqueue``, ``enqueue_many``, ``Worker``,
``SimpleWorker``, ``WorkerPool``), so one module drives both; ``minirq_bench`` and
``rq_bench`` name the library and its set-ups.

Run as ``python -m peers.rqlike LIB KIND`` it is one worker process of that kind: built,
it waits at the set-up's barrier, then works until SIGTERM, logging at WARNING (both
libraries log every job at INFO).
"""

from __future__ import annotations

import argparse
import importlib
from types import ModuleType
from typing import Any

import redis

from peers.base import QUEUE_NAME, Setup, barrier, mark, python, redis_url

LOG_LEVEL = "WARNING"
BATCH = 1000  # jobs per enqueue_many call when filling a queue


class Producer:
    bulk: str | None = "Queue.enqueue_many"

    def __init__(self, lib: ModuleType, url: str) -> None:
        self.conn = redis.Redis.from_url(url)
        self.queue = lib.Queue(QUEUE_NAME, connection=self.conn)

    def send(self) -> None:
        self.queue.enqueue(mark)

    def send_many(self, n: int) -> None:
        for start in range(0, n, BATCH):
            count = min(BATCH, n - start)
            self.queue.enqueue_many([self.queue.prepare_data(mark) for _ in range(count)])

    def close(self) -> None:
        self.conn.close()


def setups(lib: str) -> dict[str, Setup]:
    """The set-ups of the benchmark, each a process (or two) of ``python -m peers.rqlike``."""

    def worker(kind: str) -> list[str]:
        return python("-m", "peers.rqlike", lib, kind)

    return {
        "pool": Setup(worker("pool"), 2, "pid" if lib == "minirq" else "ppid", barrier=True),
        "two_simple": Setup(worker("simple"), 2, instances=2, barrier=True),
        "fork": Setup(worker("fork"), 1, "ppid", barrier=True),
        "simple": Setup(worker("simple"), 1, barrier=True),
    }


def build_worker(lib: ModuleType, kind: str, conn: redis.Redis) -> Any:
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    if kind == "fork":
        return lib.Worker([queue], connection=conn)
    if kind == "simple":
        return lib.SimpleWorker([queue], connection=conn)
    if lib.__name__ == "minirq":
        return lib.WorkerPool([queue], connection=conn, size=2)
    from rq.worker_pool import WorkerPool

    return WorkerPool([queue], connection=conn, num_workers=2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lib", choices=["minirq", "rq"])
    parser.add_argument("kind", choices=["fork", "simple", "pool"])
    options = parser.parse_args()
    lib = importlib.import_module(options.lib)
    worker = build_worker(lib, options.kind, redis.Redis.from_url(redis_url()))
    barrier()
    if options.kind == "pool" and options.lib == "rq":
        worker.start(burst=False, logging_level=LOG_LEVEL)
    else:
        worker.work(burst=False, logging_level=LOG_LEVEL)


if __name__ == "__main__":
    main()
