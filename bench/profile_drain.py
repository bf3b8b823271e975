"""Where a minirq executor's process spends its time per job: cProfile of one drain.

    .venv/bin/python bench/profile_drain.py simple      # one SimpleWorker
    .venv/bin/python bench/profile_drain.py pool        # WorkerPool(size=2): its parent
    .venv/bin/python bench/profile_drain.py fork        # the forking Worker's parent
    .venv/bin/python bench/profile_drain.py enqueue     # Queue.enqueue, one by one
    .venv/bin/python bench/profile_drain.py bulk        # Queue.enqueue_many, 1,000 a call
    .venv/bin/python bench/profile_drain.py cow         # Python work after a fork, timed

It starts a private redis-server on a free port, enqueues ``--jobs`` no-op jobs
(``bench_jobs.noop``) and drains them in this process (``work(burst=True)``) under
cProfile (for the pool and the forking Worker, the parent: horses are not profiled),
then prints jobs/s (slowed by the profiler), Python calls per job, the Redis commands
per job (``INFO commandstats``, inside scripts too) and the functions that take the most
time of their own, per job. The time of ``recv_into`` and ``sendall`` is the process
waiting on Redis; ``select`` and ``posix.write`` of the pool and the forking Worker are
the exchange with their horses; ``posix.fork`` the forking Worker's fork.

``cow`` (no Redis) times the same Python work (decoding a job hash and an outcome,
reading a spread of objects: what a worker's loop does between jobs) in a process of a
worker's size, right after a fork while the child still lives (as a spare horse does,
forked ahead), right after a fork whose child has exited, and with no fork: a page the
two processes share is copied on the first write to it, and reading an object in
Python writes its reference count.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import os
import pickle
import pstats
import signal
import statistics
import sys
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_jobs
from envs import RedisServer

import minirq

BATCH = 1000


def _commands(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


def _fill(queue: minirq.Queue, jobs: int) -> None:
    for start in range(0, jobs, BATCH):
        count = min(BATCH, jobs - start)
        queue.enqueue_many([queue.prepare_data(bench_jobs.noop) for _ in range(count)])


def _cow() -> None:
    from minirq.horse import Outcome
    from minirq.store.record import decode_record

    fields = {
        b"func": b"bench_jobs.noop",
        b"data": pickle.dumps(((), {})),
        b"origin": b"q",
        b"status": b"started",
        b"created_ms": b"1700000000000",
        b"started_ms": b"1700000000000",
        b"run": b"0123456789abcdef",
        b"timeout": b"180",
    }
    outcome = pickle.dumps(Outcome(True, result=b"x"))
    heap = [{"n": i, "text": str(i)} for i in range(200_000)]  # a worker-sized heap

    def work() -> float:
        started = time.perf_counter()
        for _ in range(20):
            decode_record(fields)
            pickle.loads(outcome)
        sum(item["n"] for item in heap[::50])
        return (time.perf_counter() - started) * 1e6

    def after_fork(child_lives: bool) -> float:
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            time.sleep(10)
            os._exit(0)
        gc.unfreeze()
        if not child_lives:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        took = work()
        if child_lives:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        return took

    for label, measure in (
        ("after a fork, the child alive", lambda: after_fork(True)),
        ("after a fork, the child gone", lambda: after_fork(False)),
        ("no fork", work),
    ):
        print(f"{label + ':':31} {statistics.median(measure() for _ in range(30)):8.0f} us")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["simple", "pool", "fork", "enqueue", "bulk", "cow"])
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--top", type=int, default=25)
    options = parser.parse_args()
    if options.what == "cow":
        _cow()
        return
    server = RedisServer()
    client = redis.Redis(port=server.port)
    try:
        queue = minirq.Queue("profiled", connection=client)
        queue.enqueue(bench_jobs.noop)  # scripts loaded
        if options.what in ("simple", "pool", "fork"):
            _fill(queue, options.jobs)
            worker = {
                "simple": lambda: minirq.SimpleWorker([queue], connection=client),
                "pool": lambda: minirq.WorkerPool([queue], connection=client, size=2),
                "fork": lambda: minirq.Worker([queue], connection=client),
            }[options.what]()

            def step() -> None:
                worker.work(burst=True, logging_level="WARNING")
        elif options.what == "enqueue":

            def step() -> None:
                for _ in range(options.jobs):
                    queue.enqueue(bench_jobs.noop)
        else:

            def step() -> None:
                _fill(queue, options.jobs)

        before = _commands(client)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.runcall(step)
        elapsed = time.perf_counter() - started
        commands = _commands(client) - before
    finally:
        client.close()
        server.stop()
    stats = pstats.Stats(profile)
    jobs = options.jobs
    print(f"{options.what}: {jobs} jobs, {jobs / elapsed:,.0f} jobs/s under the profiler")
    print(f"Python calls per job: {stats.total_calls / jobs:.0f}")  # type: ignore[attr-defined]
    print(f"Redis commands per job: {commands / jobs:.2f}")
    rows = sorted(
        ((own, calls, f"{Path(f).name}:{line}({name})")
         for (f, line, name), (_, calls, own, _, _) in stats.stats.items()),  # type: ignore[attr-defined]
        reverse=True,
    )  # fmt: skip
    print(f"{'us/job':>8} {'calls/job':>9}  function (own time)")
    for own, calls, name in rows[: options.top]:
        print(f"{own / jobs * 1e6:8.1f} {calls / jobs:9.1f}  {name}")


if __name__ == "__main__":
    main()
