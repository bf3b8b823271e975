"""How fast ``minirq import-rq`` moves an RQ backlog: ``python3 bench/rq_import.py``.

Starts a private redis-server, has real RQ 2.12 enqueue ``--jobs`` jobs (in
``bench/.venv-rq``, created once with RQ 2.12.0 and this checkout), then times the
``minirq import-rq`` command moving them: to another database of the server (written
here, then removed from RQ, the two-step path) and within the same database (one step).
Prints jobs per second for each, and the machine's load. Standard library only to start.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from envs import LIBRARIES, ROOT, RedisServer, ensure_venv  # noqa: E402

RQ = LIBRARIES["rq"]
ENQUEUE = """
import sys
from redis import Redis
from rq import Queue
queue = Queue("default", connection=Redis.from_url(sys.argv[1]))
total = int(sys.argv[2])
for start in range(0, total, 1000):
    end = min(total, start + 1000)
    queue.enqueue_many(
        [Queue.prepare_data("tests.rq_import_jobs.add", (i, i)) for i in range(start, end)]
    )
"""


def enqueue_with_rq(url: str, jobs: int) -> None:
    subprocess.run([str(RQ.python), "-c", ENQUEUE, url, str(jobs)], cwd=ROOT, check=True)


def timed_import(source: str, target: str) -> tuple[float, float]:
    """The command's wall time and the CPU time it used, in seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [str(RQ.python), "-m", "minirq", "import-rq", "--from", source, "-u", target]
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(command, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    print("   ", out.stdout.splitlines()[1])
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    ensure_venv(RQ)
    server = RedisServer()
    try:
        base = server.url.rsplit("/", 1)[0]
        for label, source, target in (
            ("another database (write, then remove from RQ)", f"{base}/1", f"{base}/0"),
            ("the same database (one step)", f"{base}/2", f"{base}/2"),
        ):
            enqueue_with_rq(source, args.jobs)
            print(f"{args.jobs} RQ jobs to {label}:")
            elapsed, cpu = timed_import(source, target)
            rate = args.jobs / elapsed
            print(f"    {elapsed:.2f} s, {rate:,.0f} jobs/s (the command, start to end)")
            print(f"    the command's own CPU: {cpu * 1000 / args.jobs:.2f} ms per job")
        print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
