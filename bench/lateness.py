"""Scheduling lateness, minirq against RQ 2.12: ``python3 bench/lateness.py``.

For each library, with one idle worker (forking, or ``--worker simple``) and its
scheduler already running, enqueues ``--jobs`` jobs with ``enqueue_at`` due at random
times over ``--spread`` seconds, and measures each job's lateness: the time its function
started minus its due time. Prints p50, p99, max and min (a negative min is a job that
started early).

minirq runs ``minirq scheduler`` next to ``minirq worker``; RQ runs
``rq worker --with-scheduler``. Starts a private redis-server on a free port and creates
``bench/.venv-rq`` (RQ 2.12.0 and this checkout) once; both libraries run in that
environment. Needs only the standard library to start; takes about half a minute.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = BENCH / ".venv-rq"
PYTHON = VENV / "bin" / "python"
RQ_VERSION = "2.12.0"
QUEUE = "lateness"


def ensure_venv() -> None:
    """Create the RQ environment once; reinstall when this checkout's metadata changes."""
    stamp = VENV / ".stamp"
    wanted = f"rq=={RQ_VERSION} {(ROOT / 'setup.cfg').stat().st_mtime}"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    print(f"creating {VENV.relative_to(ROOT)} (rq=={RQ_VERSION} and this checkout)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(PYTHON), "-m", "pip", "install", "--quiet", f"rq=={RQ_VERSION}", "-e", str(ROOT)],
        check=True,
    )
    stamp.write_text(wanted)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throw-away redis-server on a free port."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.dir = tempfile.mkdtemp(prefix="minirq-lateness-")
        port = free_port()
        self.process = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", self.dir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def due_times_ms(jobs: int, lead_s: float, spread_s: float) -> list[int]:
    start = time.time() + lead_s
    return sorted(int((start + random.uniform(0, spread_s)) * 1000) for _ in range(jobs))


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_minirq(url: str, env: dict[str, str], args: argparse.Namespace) -> list[float]:
    import redis

    from minirq import Job, Queue, Worker
    from minirq.keys import Keys

    connection = redis.Redis.from_url(url)
    connection.flushall()
    common = ["-u", url, "--logging-level", "WARNING"]
    processes = [
        subprocess.Popen([str(PYTHON), "-m", "minirq", "scheduler", *common], env=env),
        subprocess.Popen(
            [str(PYTHON), "-m", "minirq", "worker", QUEUE, "--worker-class", args.worker, *common],
            env=env,
        ),
    ]
    try:
        wait_for(lambda: connection.exists(Keys().scheduler_lease) == 1, "the minirq scheduler")
        wait_for(lambda: len(Worker.all(connection=connection)) == 1, "the minirq worker")
        queue = Queue(QUEUE, connection=connection)
        due = {}
        for due_ms in due_times_ms(args.jobs, args.lead, args.spread):
            when = datetime.fromtimestamp(due_ms / 1000, tz=UTC)
            due[queue.enqueue_at(when, "lateness_jobs.started_at").id] = due_ms
        wait_for(
            lambda: len(queue.finished_job_registry) == args.jobs,
            "the minirq jobs",
            args.lead + args.spread + 30,
        )
        jobs = Job.fetch_many(list(due), connection=connection)
        if args.verbose:
            for j in jobs:
                assert j is not None and j.enqueued_at and j.started_at
                print(
                    f"  moved +{j.enqueued_at.timestamp() * 1000 - due[j.id]:6.1f} "
                    f"fetched +{(j.started_at - j.enqueued_at).total_seconds() * 1000:6.1f} "
                    f"ran +{j.return_value() * 1000 - j.started_at.timestamp() * 1000:6.1f}"
                )
        return [j.return_value() * 1000 - due[j.id] for j in jobs if j is not None]
    finally:
        stop(processes)


def run_rq(url: str, env: dict[str, str], args: argparse.Namespace) -> list[float]:
    import redis
    from rq import Queue, Worker
    from rq.job import Job

    connection = redis.Redis.from_url(url)
    connection.flushall()
    processes = [
        subprocess.Popen(
            [
                str(VENV / "bin" / "rq"),
                "worker",
                "--with-scheduler",
                "-w",
                "rq.worker.SimpleWorker" if args.worker == "simple" else "rq.worker.Worker",
                "-u",
                url,
                "-q",
                QUEUE,
            ],
            env=env,
        )
    ]
    try:
        wait_for(lambda: len(Worker.all(connection=connection)) == 1, "the RQ worker")
        # RQ's worker starts its scheduler after registering; give it its first tick.
        wait_for(lambda: bool(connection.keys("rq:scheduler-lock:*")), "the RQ scheduler")
        queue = Queue(QUEUE, connection=connection)
        due = {}
        for due_ms in due_times_ms(args.jobs, args.lead, args.spread):
            when = datetime.fromtimestamp(due_ms / 1000, tz=UTC)
            due[queue.enqueue_at(when, "lateness_jobs.started_at").id] = due_ms
        wait_for(
            lambda: len(queue.finished_job_registry) == args.jobs,
            "the RQ jobs",
            args.lead + args.spread + 30,
        )
        jobs = Job.fetch_many(list(due), connection=connection)
        return [j.return_value() * 1000 - due[j.id] for j in jobs if j is not None]
    finally:
        stop(processes)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": percentile(values, 0.50),
        "p99": percentile(values, 0.99),
        "max": max(values),
        "min": min(values),
    }


def inside(args: argparse.Namespace) -> None:
    server = None if args.redis_url else RedisServer()
    url = args.redis_url or (server.url if server else "")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH), str(ROOT), env.get("PYTHONPATH", "")])
    sys.path[:0] = [str(BENCH), str(ROOT)]
    try:
        import redis

        wait_for(lambda: _pings(redis.Redis.from_url(url)), "redis-server", 10)
        results: dict[str, Any] = {}
        for name, run in (("minirq", run_minirq), ("rq", run_rq)):
            print(f"{name}: {args.jobs} jobs due over {args.spread} s ...", flush=True)
            results[name] = summary(run(url, env, args))
    finally:
        if server is not None:
            server.stop()
    print()
    print(
        f"lateness = job start - due time, ms ({args.jobs} jobs over {args.spread} s, "
        f"{args.worker} worker)"
    )
    print(f"{'':8} {'p50':>9} {'p99':>9} {'max':>9} {'min':>9}")
    for name, figures in results.items():
        print(f"{name:8} " + " ".join(f"{figures[k]:9.1f}" for k in ("p50", "p99", "max", "min")))
    if args.json:
        print(json.dumps(results))


def _pings(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--spread", type=float, default=3.0, help="seconds the due times span")
    parser.add_argument("--lead", type=float, default=1.5, help="seconds before the first")
    parser.add_argument(
        "--worker",
        choices=["fork", "simple"],
        default="fork",
        help="fork: a work-horse per job (both libraries' default); simple: in-process",
    )
    parser.add_argument("--redis-url", default=None, help="use this Redis (it is flushed!)")
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument("--verbose", action="store_true", help="show where minirq's time goes")
    parser.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args)
        return
    ensure_venv()
    os.execv(str(PYTHON), [str(PYTHON), __file__, *sys.argv[1:], "--inside"])


if __name__ == "__main__":
    main()
