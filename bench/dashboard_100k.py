"""How fast the dashboard's pages answer with 100,000 queued and 100,000 failed jobs.

Run by hand (never part of the test suite)::

    .venv/bin/python bench/dashboard_100k.py            # a private redis-server
    .venv/bin/python bench/dashboard_100k.py --jobs 20000 --runs 10

It starts its own redis-server on a free port (your data is never touched), enqueues the
queued jobs with ``Queue.enqueue_many`` and writes the failed ones as the fail script leaves
them (hash with traceback + failed-registry entry) because running 100k failing jobs through
a worker would only measure the worker. Then it times each page through Flask's test client
(the server's own time, without a network) and prints the median and the 95th percentile.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from minirq import Queue
from minirq.keys import Keys
from minirq.queue import JobOptions
from minirq.stats import JobStatsRecorder
from minirq.utils import now_ms
from minirq_dashboard import create_app

BATCH = 2000
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/app/tasks.py", line 12, in charge\n'
    "    raise PaymentDeclined(card)\n"
    "tasks.PaymentDeclined: card 4242 declined\n"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(workdir: str) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", workdir],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return process, port
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def fill(connection: redis.Redis, jobs: int) -> None:
    queue = Queue("big", connection=connection)
    for start in range(0, jobs, BATCH):
        queue.enqueue_many(
            [
                Queue.prepare_data("tasks.send_email", (f"user{i}@example.com",), {"n": i})
                for i in range(start, min(start + BATCH, jobs))
            ]
        )
    failed = Queue("payments", connection=connection)
    keys = failed.keys
    expires = now_ms() + 365 * 86400 * 1000
    for start in range(0, jobs, BATCH):
        with connection.pipeline(transaction=False) as pipe:
            for i in range(start, min(start + BATCH, jobs)):
                job = failed.create_job("tasks.charge", (i, "4242"), {}, JobOptions())
                now = str(now_ms())
                fields = {
                    **job.fields,
                    "status": "failed",
                    "enqueued_ms": now,
                    "started_ms": now,
                    "ended_ms": now,
                    "worker": "bench-worker",
                    "exc": TRACEBACK,
                }
                pipe.hset(job.key, mapping=fields)  # type: ignore[arg-type]
                pipe.zadd(keys.registry("failed", "payments"), {job.id: expires + i})
            pipe.sadd(keys.queues, "payments")
            pipe.execute()


def fill_figures(connection: redis.Redis, functions: int = 20) -> None:
    """A week of per-function figures, as workers record them with their heartbeats."""
    recorder = JobStatsRecorder()
    now = now_ms()
    for step in range(7 * 24 * 6):
        ended = now - step * 600_000
        for f in range(functions):
            recorder.observe(
                "payments",
                5 + (step * f) % 900,
                ok=(step + f) % 7 != 0,
                func=f"tasks.job_{f}",
                ended_ms=ended,
            )
    with connection.pipeline(transaction=False) as pipe, recorder.flush_into(pipe, Keys()):
        pipe.execute()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="queued and failed, each")
    parser.add_argument("--runs", type=int, default=20, help="requests per page")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as workdir:
        process, port = start_redis(workdir)
        try:
            connection = redis.Redis(port=port)
            started = time.monotonic()
            fill(connection, args.jobs)
            fill_figures(connection)
            print(
                f"filled {args.jobs} queued + {args.jobs} failed jobs in "
                f"{time.monotonic() - started:.1f} s; Redis uses "
                f"{connection.info()['used_memory_human']}"
            )
            client = create_app({"MINIRQ_REDIS_URL": f"redis://127.0.0.1:{port}/0"}).test_client()
            deep = args.jobs // 100 // 2
            pages = [
                "/",
                "/api/queues",
                "/api/stats?minutes=60",
                "/queues/big?registry=queued&per_page=100",
                f"/queues/big?registry=queued&per_page=100&page={deep}",
                "/queues/big?registry=queued&per_page=100&order=asc",
                "/queues/payments?registry=failed&per_page=100",
                f"/queues/payments?registry=failed&per_page=100&page={deep}",
                "/api/queues/payments/jobs?registry=failed&per_page=100",
                "/failed",
                "/api/failed",
                "/workers",
                "/scheduled",
                "/queues/big?registry=queued&per_page=100&func=send_email",
                "/queues/payments?registry=failed&per_page=100&func=charge&status=failed",
                "/api/failed?func=charge",
                "/api/workers",
                "/functions",
                "/api/functions?window=day",
                "/api/history?window=day",
                "/api/history?window=week",
            ]
            print(f"{'page':<62} {'median ms':>10} {'p95 ms':>8}")
            for url in pages:
                client.get(url)  # warm up (script loading, connection pool)
                times = []
                for _ in range(args.runs):
                    t0 = time.perf_counter()
                    response = client.get(url)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, (url, response.status_code)
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                print(f"{url:<62} {statistics.median(times):>10.1f} {p95:>8.1f}")
            # The bulk actions, once each: they touch every job, so they take longer.
            client.get("/")
            token = client.get_cookie("minirq_csrf")
            assert token is not None
            for url in ("/api/queues/payments/requeue-failed", "/api/queues/big/empty"):
                t0 = time.perf_counter()
                response = client.post(url, headers={"X-CSRF-Token": token.value})
                took = time.perf_counter() - t0
                assert response.status_code == 200, response.data
                print(f"POST {url}: {response.get_json()['message']} in {took:.2f} s")
        finally:
            process.terminate()
            process.wait(10)


if __name__ == "__main__":
    main()
