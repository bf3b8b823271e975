"""The workloads of the benchmark, shared by minirq and RQ (their APIs match).

``bench/run.py`` runs this file once per figure, library and repetition, in the RQ
environment (which has this checkout installed too), and reads one JSON line back:

    python bench/workload.py LIB FIGURE --url URL --n N
    python bench/workload.py LIB worker KIND --url URL     (a worker waiting for "go")

LIB is ``minirq`` or ``rq``. Every figure flushes the database first.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import signal
import statistics
import subprocess
import sys
import time
from types import ModuleType
from typing import Any

import bench_jobs
import redis

HERE = os.path.dirname(os.path.abspath(__file__))
QUEUE_NAME = "bench"
LOG_LEVEL = "WARNING"  # both libraries log every job at INFO; the figures measure the queue

# Round trips and commands sent by this process and every process it forks (work-horses),
# counted in anonymous shared memory that forked children write into.
_SHARED = mmap.mmap(-1, 16)
COUNTS = memoryview(_SHARED).cast("q")


class CountingConnection(redis.Connection):
    """A connection that counts what it sends: each write is one round trip."""

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        COUNTS[0] += 1
        super().send_packed_command(command, check_health)

    def send_command(self, *args: Any, **kwargs: Any) -> None:
        COUNTS[1] += 1
        super().send_command(*args, **kwargs)

    def pack_commands(self, commands: Any) -> Any:
        commands = list(commands)
        COUNTS[1] += len(commands)
        return super().pack_commands(commands)


def connect(url: str, counting: bool = False) -> redis.Redis:
    if not counting:
        return redis.Redis.from_url(url)
    pool = redis.ConnectionPool.from_url(url, connection_class=CountingConnection)
    return redis.Redis(connection_pool=pool)


def library(name: str) -> ModuleType:
    if name == "minirq":
        import minirq

        return minirq
    import rq

    return rq


def command_calls(conn: redis.Redis) -> int:
    """Commands Redis executed so far, including those run inside Lua scripts."""
    stats = conn.info("commandstats")
    return sum(
        int(v["calls"]) for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_config")
    )


def used_memory(conn: redis.Redis) -> int:
    return int(conn.info("memory")["used_memory"])


def enqueue_noops(queue: Any, lib: ModuleType, n: int) -> None:
    """Put ``n`` no-op jobs on ``queue`` quickly (not a measured figure)."""
    for start in range(0, n, 1000):
        queue.enqueue_many(
            [queue.prepare_data(bench_jobs.noop) for _ in range(min(1000, n - start))]
        )


# -- workers ------------------------------------------------------------------------------


def build_worker(lib_name: str, kind: str, conn: redis.Redis) -> Any:
    lib = library(lib_name)
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    if kind == "fork":
        return lib.Worker([queue], connection=conn)
    if kind == "simple":
        return lib.SimpleWorker([queue], connection=conn)
    if kind == "pool":
        if lib_name == "minirq":
            from minirq.pool import WorkerPool

            return WorkerPool([queue], connection=conn, size=2)
        from rq.worker_pool import WorkerPool as RQWorkerPool

        return RQWorkerPool([queue], connection=conn, num_workers=2)
    raise SystemExit(f"unknown worker kind {kind}")


def run_worker(lib_name: str, kind: str, url: str, burst: bool, counting: bool) -> None:
    """A worker process: build, say "ready", wait for "go", then work."""
    conn = connect(url, counting)
    worker = build_worker(lib_name, kind, conn)
    print("ready", flush=True)
    sys.stdin.readline()
    COUNTS[0] = COUNTS[1] = 0
    if kind == "pool" and lib_name == "rq":
        worker.start(burst=burst, logging_level=LOG_LEVEL)
    else:
        worker.work(burst=burst, logging_level=LOG_LEVEL)
    print(json.dumps({"round_trips": COUNTS[0], "client_commands": COUNTS[1]}), flush=True)


def spawn_workers(
    lib_name: str, kind: str, url: str, count: int, burst: bool = True, counting: bool = False
) -> list[subprocess.Popen[str]]:
    args = [sys.executable, os.path.abspath(__file__), lib_name, "worker", kind, "--url", url]
    if not burst:
        args.append("--forever")
    if counting:
        args.append("--counting")
    procs = [
        subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise SystemExit(f"worker did not start: {line!r}")
    return procs


def go(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- figures ------------------------------------------------------------------------------


def fig_enqueue(lib: ModuleType, url: str, n: int) -> dict[str, float]:
    conn = connect(url)
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    queue.enqueue(bench_jobs.noop)  # loads scripts, creates the queue
    start = time.perf_counter()
    for _ in range(n):
        queue.enqueue(bench_jobs.noop)
    return {"rate": n / (time.perf_counter() - start)}


def fig_enqueue_many(lib: ModuleType, url: str, n: int) -> dict[str, float]:
    conn = connect(url)
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    queue.enqueue(bench_jobs.noop)
    start = time.perf_counter()
    queue.enqueue_many([queue.prepare_data(bench_jobs.noop) for _ in range(n)])
    return {"rate": n / (time.perf_counter() - start)}


def _processing(
    lib_name: str, lib: ModuleType, url: str, n: int, kind: str, workers: int
) -> dict[str, float]:
    conn = connect(url)
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    enqueue_noops(queue, lib, n)
    finished_key = queue.finished_job_registry.key
    procs = spawn_workers(lib_name, kind, url, workers)
    start = time.perf_counter()
    go(procs)
    deadline = start + 300
    while conn.zcard(finished_key) < n:
        if time.perf_counter() > deadline:
            raise SystemExit(f"only {conn.zcard(finished_key)} of {n} jobs finished")
        time.sleep(0.005)
    elapsed = time.perf_counter() - start
    for proc in procs:
        proc.communicate(timeout=60)
    return {"rate": n / elapsed}


def fig_fork(lib_name: str, lib: ModuleType, url: str, n: int) -> dict[str, float]:
    return _processing(lib_name, lib, url, n, "fork", 1)


def fig_simple(lib_name: str, lib: ModuleType, url: str, n: int) -> dict[str, float]:
    return _processing(lib_name, lib, url, n, "simple", 1)


def fig_pool(lib_name: str, lib: ModuleType, url: str, n: int) -> dict[str, float]:
    return _processing(lib_name, lib, url, n, "pool", 1)


def fig_two_simple(lib_name: str, lib: ModuleType, url: str, n: int) -> dict[str, float]:
    return _processing(lib_name, lib, url, n, "simple", 2)


def _latency(lib_name: str, lib: ModuleType, url: str, n: int, kind: str) -> dict[str, float]:
    """Enqueue one job at a time to an idle worker; time until it is in the finished
    registry, seen through a keyspace notification (no polling load on Redis)."""
    conn = connect(url)
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    finished_key = queue.finished_job_registry.key
    conn.config_set("notify-keyspace-events", "Kz")
    pubsub = conn.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"__keyspace@0__:{finished_key}")
    (proc,) = spawn_workers(lib_name, kind, url, 1, burst=False)
    go([proc])
    samples: list[float] = []
    try:
        # The first job warms the worker up (imports, scripts); it is not counted.
        for i in range(n + 1):
            time.sleep(0.3 if i == 0 else 0.005)
            start = time.perf_counter()
            queue.enqueue(bench_jobs.noop)
            while True:
                message = pubsub.get_message(timeout=10)
                if message is None and time.perf_counter() - start > 10:
                    raise SystemExit("a job did not finish within 10 s")
                if message is not None and message["data"] == b"zadd":
                    break
            if i:
                samples.append((time.perf_counter() - start) * 1000)
    finally:
        stop(proc)
        conn.config_set("notify-keyspace-events", "")
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": cuts[49], "p99_ms": cuts[98]}


def fig_latency_simple(lib_name: str, lib: ModuleType, url: str, n: int) -> dict[str, float]:
    return _latency(lib_name, lib, url, n, "simple")


def fig_latency_fork(lib_name: str, lib: ModuleType, url: str, n: int) -> dict[str, float]:
    return _latency(lib_name, lib, url, n, "fork")


def fig_cost_enqueue(lib: ModuleType, url: str, n: int) -> dict[str, float]:
    conn = connect(url, counting=True)
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    queue.enqueue(bench_jobs.noop)
    before = command_calls(conn)
    COUNTS[0] = COUNTS[1] = 0
    for _ in range(n):
        queue.enqueue(bench_jobs.noop)
    trips, sent = COUNTS[0], COUNTS[1]
    return {
        "commands": (command_calls(conn) - before) / n,
        "round_trips": trips / n,
        "client_commands": sent / n,
    }


def fig_cost_job(lib_name: str, lib: ModuleType, url: str, n: int) -> dict[str, float]:
    """Everything a forking worker sends to Redis for ``n`` jobs, its start and stop
    included, divided by ``n``."""
    conn = connect(url)
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    enqueue_noops(queue, lib, n)
    before = command_calls(conn)
    (proc,) = spawn_workers(lib_name, "fork", url, 1, counting=True)
    go([proc])
    out, _ = proc.communicate(timeout=300)
    counts = json.loads(out.strip().splitlines()[-1])
    return {
        "commands": (command_calls(conn) - before) / n,
        "round_trips": counts["round_trips"] / n,
        "client_commands": counts["client_commands"] / n,
    }


def fig_memory(lib: ModuleType, url: str, n: int) -> dict[str, float]:
    """Redis memory per queued job, then per finished job with its result kept."""
    conn = connect(url)
    queue = lib.Queue(QUEUE_NAME, connection=conn)
    queue.enqueue(bench_jobs.noop)
    worker = lib.SimpleWorker([queue], connection=conn)
    worker.work(burst=True, logging_level=LOG_LEVEL)
    baseline = used_memory(conn)
    enqueue_noops(queue, lib, n)
    queued = used_memory(conn)
    lib.SimpleWorker([queue], connection=conn).work(burst=True, logging_level=LOG_LEVEL)
    finished = used_memory(conn)
    return {"queued_bytes": (queued - baseline) / n, "finished_bytes": (finished - baseline) / n}


FIGURES: dict[str, Any] = {
    "enqueue": fig_enqueue,
    "enqueue_many": fig_enqueue_many,
    "fork": fig_fork,
    "simple": fig_simple,
    "pool": fig_pool,
    "two_simple": fig_two_simple,
    "latency_simple": fig_latency_simple,
    "latency_fork": fig_latency_fork,
    "cost_enqueue": fig_cost_enqueue,
    "cost_job": fig_cost_job,
    "memory": fig_memory,
}
# Figures that start worker processes need to know which library they run.
_NEEDS_LIB_NAME = {
    "fork",
    "simple",
    "pool",
    "two_simple",
    "latency_simple",
    "latency_fork",
    "cost_job",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lib", choices=["minirq", "rq"])
    parser.add_argument("figure", choices=[*FIGURES, "worker"])
    parser.add_argument("kind", nargs="?", default="")
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--forever", action="store_true")
    parser.add_argument("--counting", action="store_true")
    options = parser.parse_args()
    if options.figure == "worker":
        run_worker(options.lib, options.kind, options.url, not options.forever, options.counting)
        return
    redis.Redis.from_url(options.url).flushall()
    lib = library(options.lib)
    func = FIGURES[options.figure]
    if options.figure in _NEEDS_LIB_NAME:
        result = func(options.lib, lib, options.url, options.n)
    else:
        result = func(lib, options.url, options.n)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
