"""One measurement of one library, run by ``bench/run.py`` inside that library's venv:

    python bench/workload.py LIB FIGURE [SETUP] --url URL --n N

LIB names a module ``bench/peers/LIB_bench.py`` (its producer and worker set-ups); FIGURE is
``enqueue``, ``bulk``, ``drain``, ``latency`` or ``async``. The database is flushed first;
the result is one JSON line. Every job calls ``peers.base.mark`` (the async figure's
``peers.base.sleep_job``), so every library is timed by the same observer here, at the
moment its job ran, with no polling of Redis.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import random
import select
import signal
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import redis

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from peers.base import GO_ENV, SIGNAL_ENV, URL_ENV, Setup, send_together  # noqa: E402

START_TIMEOUT_S = 120  # Celery's and Dramatiq's workers take seconds to boot on a busy machine
JOB_TIMEOUT_S = 30
# Between a job's mark and the next enqueue, so that the worker is idle again: 5 ms plus a
# random part (seeded), so that periodic work in a worker (heartbeats, polls) is met at every
# phase rather than at one.
LATENCY_GAP_S = 0.005
LATENCY_JITTER_S = 0.020
SETTLE_S = 0.5  # after the last mark, for outcomes to be recorded before memory is read
# The async figure's producer enqueues this many jobs at once (asyncio.gather).
PRODUCER_CONCURRENCY = 20


def command_calls(conn: redis.Redis) -> int:
    """Commands Redis executed so far, including those run inside Lua scripts and
    MULTI/EXEC; INFO and CONFIG (the benchmark's own) excluded."""
    stats = conn.info("commandstats")
    return sum(
        int(v["calls"]) for k, v in stats.items() if k not in ("cmdstat_info", "cmdstat_config")
    )


def used_memory(conn: redis.Redis) -> int:
    return int(conn.info("memory")["used_memory"])


class Marks:
    """Reads the marks jobs append to the signal file or FIFO."""

    def __init__(self, path: str, identity: str = "pid") -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        # A FIFO whose last writer closed (a forking worker's horse that exited) reads as
        # at its end, which select reports as ready at once: the wait would spin, taking
        # a core from the workers it times. Holding a write end of our own keeps it
        # blocking until a mark arrives.
        self._writer = (
            os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            if stat.S_ISFIFO(os.fstat(self.fd).st_mode)
            else None
        )
        self.field = 0 if identity == "pid" else 1
        self.count = 0
        self.identities: set[bytes] = set()
        self._rest = b""

    def poll(self) -> int:
        """Read what is there; return how many marks were seen so far."""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            lines = (self._rest + chunk).split(b"\n")
            self._rest = lines.pop()
            self.count += len(lines)
            for line in lines:
                self.identities.add(line.split(b" ")[self.field])
        return self.count

    def wait(self, timeout_s: float) -> None:
        """Block until at least one more mark arrives (FIFO only)."""
        before = self.count
        deadline = time.monotonic() + timeout_s
        while self.poll() == before:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SystemExit(f"no job ran within {timeout_s} s")
            select.select([self.fd], [], [], left)

    def close(self) -> None:
        os.close(self.fd)
        if self._writer is not None:
            os.close(self._writer)


class Workers:
    """The processes of one set-up, each in its own session so that its children stop too."""

    def __init__(self, setup: Setup, url: str, signal_path: str) -> None:
        env = dict(os.environ, **setup.env)
        env[SIGNAL_ENV] = signal_path
        env[URL_ENV] = url
        env["PYTHONPATH"] = str(BENCH)
        self.setup = setup
        self.go = signal_path + ".go"
        if setup.barrier:
            env[GO_ENV] = self.go
        self.procs = [
            # Their output goes to stderr: stdout carries this process's one JSON line.
            subprocess.Popen(
                setup.argv, cwd=BENCH, env=env, start_new_session=True, stdout=sys.stderr
            )
            for _ in range(setup.instances)
        ]

    def release(self) -> None:
        """Once every process of a set-up with a barrier is built, let them all start."""
        if not self.setup.barrier:
            return
        deadline = time.monotonic() + START_TIMEOUT_S
        ready = Path(self.go + ".ready")
        while not ready.exists() or len(ready.read_text().split()) < self.setup.instances:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not get ready")
            self.check()
            time.sleep(0.002)
        Path(self.go).touch()

    def check(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise SystemExit(f"worker {proc.args!r} exited with {proc.returncode}")

    def stop(self) -> None:
        # SIGTERM to every process of the set-up, as systemd stops a service: a leader may
        # wait for children it does not signal itself (SAQ's --workers).
        for proc in self.procs:
            _signal_group(proc, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
            # A group's other members (pool children) may outlive their leader briefly.
            _signal_group(proc, signal.SIGKILL)
        for path in (self.go, self.go + ".ready"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def _signal_group(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)


# -- figures ------------------------------------------------------------------------------


def fig_enqueue(peer: ModuleType, conn: redis.Redis, url: str, n: int) -> dict[str, float]:
    producer = peer.producer(url)
    producer.send()  # connects, loads scripts, creates the queue
    before = command_calls(conn)
    start = time.perf_counter()
    for _ in range(n):
        producer.send()
    elapsed = time.perf_counter() - start
    commands = (command_calls(conn) - before) / n
    producer.close()
    return {"rate": n / elapsed, "commands": commands}


def fig_bulk(peer: ModuleType, conn: redis.Redis, url: str, n: int) -> dict[str, float]:
    producer = peer.producer(url)
    if producer.bulk is None:
        raise SystemExit(f"{peer.__name__} has no bulk enqueue")
    producer.send()
    start = time.perf_counter()
    producer.send_many(n)
    elapsed = time.perf_counter() - start
    producer.close()
    return {"rate": n / elapsed}


def fig_drain(
    peer: ModuleType, conn: redis.Redis, url: str, n: int, setup: Setup
) -> dict[str, float]:
    """Fill the queue with ``n`` jobs, start the workers, and time the jobs that ran once
    every process of the set-up had run one (so that start-up is not counted)."""
    producer = peer.producer(url)
    baseline = used_memory(conn)
    producer.send_many(n)
    producer.close()
    with tempfile.NamedTemporaryFile(prefix="minirq-bench-marks-") as signal_file:
        marks = Marks(signal_file.name, setup.identity)
        workers = Workers(setup, url, signal_file.name)
        try:
            workers.release()
            started = _all_running(marks, workers, setup.processes, n)
            t0, c0, commands0 = time.perf_counter(), marks.count, command_calls(conn)
            deadline = t0 + 600
            while marks.poll() < n:
                if time.perf_counter() > deadline:
                    raise SystemExit(f"only {marks.count} of {n} jobs ran")
                workers.check()
                time.sleep(0.002)
            elapsed = time.perf_counter() - t0
            commands = command_calls(conn) - commands0
            time.sleep(SETTLE_S)
        finally:
            workers.stop()
            marks.close()
    if not started or n - c0 < n // 4:
        raise SystemExit(f"{n} jobs are too few: {c0} ran before every process had started")
    return {
        "rate": (n - c0) / elapsed,
        "commands": commands / (n - c0),
        "bytes": (used_memory(conn) - baseline) / n,
        "timed_share": (n - c0) / n,
    }


def _all_running(marks: Marks, workers: Workers, processes: int, n: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    while len(marks.identities) < processes:
        if marks.poll() >= n:
            return False
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(marks.identities)} of {processes} processes ran a job")
        workers.check()
        time.sleep(0.001)
    return True


def fig_latency(
    peer: ModuleType, conn: redis.Redis, url: str, n: int, setup: Setup
) -> dict[str, float]:
    """One job at a time to idle workers: from before the enqueue until the job ran."""
    producer = peer.producer(url)
    folder = tempfile.mkdtemp(prefix="minirq-bench-fifo-")
    fifo = os.path.join(folder, "marks")
    os.mkfifo(fifo)
    marks = Marks(fifo)
    workers = Workers(setup, url, fifo)
    samples: list[float] = []
    jitter = random.Random(17)
    try:
        workers.release()
        producer.send()  # the first job waits for the workers to boot; it is not counted
        marks.wait(START_TIMEOUT_S)
        time.sleep(0.5)
        for _ in range(n):
            time.sleep(LATENCY_GAP_S + jitter.uniform(0, LATENCY_JITTER_S + setup.poll_s))
            start = time.perf_counter()
            producer.send()
            marks.wait(JOB_TIMEOUT_S)
            samples.append((time.perf_counter() - start) * 1000)
    finally:
        workers.stop()
        marks.close()
        os.unlink(fifo)
        os.rmdir(folder)
        producer.close()
    cuts = statistics.quantiles(samples, n=100)
    return {"p50_ms": cuts[49], "p99_ms": cuts[98]}


def fig_async(
    peer: ModuleType, conn: redis.Redis, url: str, n: int, setup: Setup
) -> dict[str, float]:
    """``n`` jobs that each sleep 0.1 s on the event loop, enqueued by the library's async
    producer ``PRODUCER_CONCURRENCY`` at a time, as fast as it goes, into its idle,
    warmed-up worker: jobs/s from the first enqueue to the last job's end, and each job's
    enqueue->start."""
    producer = peer.async_producer(url)
    with tempfile.NamedTemporaryFile(prefix="minirq-bench-async-") as signal_file:
        workers = Workers(setup, url, signal_file.name)
        try:
            workers.release()
            send_together(producer, 1)  # boots the worker; not counted
            _wait_for_ends(signal_file.name, 1, workers, START_TIMEOUT_S)
            time.sleep(0.5)
            t0 = time.time()
            for start in range(0, n, PRODUCER_CONCURRENCY):
                send_together(producer, min(PRODUCER_CONCURRENCY, n - start))
            enqueued = time.time()
            lines = _wait_for_ends(signal_file.name, n + 1, workers, 120)
        finally:
            workers.stop()
            producer.close()
    starts = [(float(a), float(b)) for kind, a, b in (_fields(x, 3) for x in lines) if kind == "S"]
    ends = [float(a) for kind, a in (_fields(x, 2) for x in lines) if kind == "E"]
    delays = [(start - enq) * 1000 for enq, start in starts if enq >= t0]
    if len(delays) != n:
        raise SystemExit(f"{len(delays)} of {n} timed jobs marked their start")
    cuts = statistics.quantiles(delays, n=100)
    return {
        "rate": n / (max(ends) - t0),
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "enqueue_rate": n / (enqueued - t0),
    }


def _fields(line: str, count: int) -> list[str]:
    parts = line.split()
    return parts if len(parts) == count else ["", *[""] * (count - 1)]


def _wait_for_ends(path: str, count: int, workers: Workers, timeout_s: float) -> list[str]:
    """The lines of the marks file once ``count`` jobs have marked their end."""
    deadline = time.monotonic() + timeout_s
    while True:
        lines = Path(path).read_text().splitlines()
        if sum(1 for line in lines if line.startswith("E ")) >= count:
            return lines
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(lines)} marks within {timeout_s} s")
        workers.check()
        time.sleep(0.01)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("lib")
    parser.add_argument("figure", choices=["enqueue", "bulk", "drain", "latency", "async"])
    parser.add_argument("setup", nargs="?", default="")
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=1000)
    options = parser.parse_args()
    os.environ[URL_ENV] = options.url  # read by the peer modules that build apps on import
    peer = importlib.import_module(f"peers.{options.lib}_bench")
    conn = redis.Redis.from_url(options.url)
    conn.flushall()
    figure: Any = globals()[f"fig_{options.figure}"]
    if options.figure in ("drain", "latency", "async"):
        result = figure(peer, conn, options.url, options.n, peer.SETUPS[options.setup])
    else:
        result = figure(peer, conn, options.url, options.n)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
