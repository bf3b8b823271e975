"""Limits under several worker processes: ``.venv/bin/python bench/limits.py``.

Starts a private redis-server and ``--workers`` ``minirq worker --burst`` processes
(by default each a prefork pool of 4 horses, so that the workers could run 16 jobs at
once without the limit), then:

1. concurrency: ``--jobs`` jobs under ``Limit("api", concurrency=5)``, each holding its
   slot for ``--hold`` seconds. This process samples the number of running jobs every
   10 ms (a counter the jobs increment when they start and decrement when they end); the
   jobs also record the count each of them saw when it started.
2. rate: ``--rate-jobs`` instant jobs under ``Limit("mail", rate="50/s")``; the start
   time the fetch step wrote for each job (Redis's clock) gives the most starts in any
   one-second window.

Prints both figures, the jobs per second and the machine's load. Run by hand; takes
about 10 seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

from minirq import Limit, Queue

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import envs  # noqa: E402
from limits_jobs import PEAKS, RUNNING, STARTS, hold  # noqa: E402

SAMPLE_S = 0.010


WORKER_ARGS = {
    "pool": ["--pool", "4"],
    "simple": ["--worker-class", "simple"],
    "fork": ["--worker-class", "fork"],
}


def start_workers(url: str, args: argparse.Namespace, queue: str) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(BENCH), str(BENCH.parent)])}
    command = [
        sys.executable, "-m", "minirq", "worker", "--url", url, "--burst", "--no-scheduler",
        *WORKER_ARGS[args.worker], "--logging-level", "warning", queue,
    ]  # fmt: skip
    return [subprocess.Popen(command, env=env) for _ in range(args.workers)]


def start_span_s(connection: redis.Redis) -> float:
    """Seconds from the first start to the last (Redis's clock): worker start-up left out."""
    starts = [int(s) for s in connection.lrange(STARTS, 0, -1)]
    return (max(starts) - min(starts)) / 1000


def wait_all(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        if worker.wait(300) != 0:
            raise SystemExit(f"a worker exited with {worker.returncode}")


def concurrency_run(connection: redis.Redis, url: str, args: argparse.Namespace) -> None:
    queue = Queue("limited", connection=connection)
    limit = Limit("api", concurrency=5)
    for _ in range(args.jobs):
        queue.enqueue(hold, args.hold, limit=limit)
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(int(connection.get(RUNNING) or 0))
            time.sleep(SAMPLE_S)

    sampler = threading.Thread(target=sample)
    sampler.start()
    wait_all(start_workers(url, args, "limited"))
    done.set()
    sampler.join()
    peaks = [int(p) for p in connection.lrange(PEAKS, 0, -1)]
    shortest_s = (args.jobs / 5 - 1) * args.hold
    print(f"concurrency=5, {args.workers} {args.worker} workers, {args.jobs} jobs of {args.hold}s:")
    print(f"  {len(samples)} samples every {SAMPLE_S * 1000:.0f} ms: at most {max(samples)} ran")
    print(f"  counts the jobs saw as they started: at most {max(peaks)} ({len(peaks)} jobs)")
    span_s = start_span_s(connection)
    print(f"  first to last start: {span_s:.2f} s (5 slots: >= {shortest_s:.2f} s)")


def rate_run(connection: redis.Redis, url: str, args: argparse.Namespace) -> None:
    queue = Queue("rated", connection=connection)
    limit = Limit("mail", rate="50/s")
    for _ in range(args.rate_jobs):
        queue.enqueue(hold, 0, limit=limit)
    wait_all(start_workers(url, args, "rated"))
    starts = sorted(int(s) for s in connection.lrange(STARTS, 0, -1))
    most = max(sum(1 for t in starts if s <= t < s + 1000) for s in starts)
    print(f'rate="50/s", {args.workers} {args.worker} workers, {args.rate_jobs} instant jobs:')
    print(f"  most starts in any one-second window (Redis's clock): {most}")
    print(f"  first to last start: {start_span_s(connection):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--worker", choices=sorted(WORKER_ARGS), default="pool")
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--hold", type=float, default=0.05)
    parser.add_argument("--rate-jobs", type=int, default=200)
    args = parser.parse_args()
    server = envs.RedisServer()
    try:
        connection = redis.Redis.from_url(server.url)
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        concurrency_run(connection, server.url, args)
        connection.flushall()
        rate_run(connection, server.url, args)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
