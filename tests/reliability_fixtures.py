"""Job functions and process helpers for the reliability and chaos tests.

The job functions are module-level so that `minirq worker` subprocesses can import them.
Each job that the tests count writes a file per run, outside Redis, so that executions are
counted independently of what Redis says.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import redis

from minirq import get_current_job
from minirq.keys import Keys

# `minirq worker` arguments for each kind of worker the process tests run.
WORKER_KIND_ARGS = {
    "fork": ["--worker-class", "fork"],
    "simple": ["--worker-class", "simple"],
    # One horse, so that the pool takes no second job while the first runs.
    "pool": ["--pool", "1"],
}


def record_run(folder: str, key: str, seconds: float = 0.0) -> str:
    """Write one file per execution (job id, pid, start time), then sleep ``seconds``."""
    job = get_current_job()
    started_ns = time.time_ns()
    record = {"key": key, "job_id": job.id if job else None, "pid": os.getpid()}
    path = Path(folder) / f"{key}.{os.getpid()}.{started_ns}.run"
    path.write_text(json.dumps({**record, "started_ns": started_ns}))
    if seconds:
        time.sleep(seconds)
    return key


def pid_then_sleep(folder: str, seconds: float) -> str:
    """Write this process's pid to ``folder/pid``, sleep, then write ``folder/done``."""
    _write_atomically(Path(folder) / "pid", str(os.getpid()))
    time.sleep(seconds)
    _write_atomically(Path(folder) / "done", str(os.getpid()))
    return "slept"


def _write_atomically(path: Path, text: str) -> None:
    """Readers polling for ``path`` never see it empty."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(text)
    partial.rename(path)


def runs(folder: Path, key: str | None = None) -> list[dict[str, object]]:
    """The run records ``record_run`` wrote, optionally only those of ``key``."""
    pattern = f"{key}.*.run" if key else "*.run"
    return [json.loads(p.read_text()) for p in folder.glob(pattern)]


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting to be reaped counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def wait_until(predicate: Callable[[], object], timeout_s: float, what: str) -> None:
    """Poll ``predicate`` until true; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


class WorkerProcess:
    """A real `python -m minirq worker` subprocess with its log in a file."""

    def __init__(
        self,
        args: Sequence[str],
        env: dict[str, str],
        log_path: Path,
        command: Sequence[str] | None = None,
    ) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        base = list(command) if command else [sys.executable, "-m", "minirq"]
        # SIGABRT then dumps every thread's stack into the log (see wait()).
        env = {**env, "PYTHONFAULTHANDLER": "1"}
        self.process = subprocess.Popen(
            [*base, "worker", *args], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text()

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout_s: float) -> int:
        """The worker's exit code; a worker still running after ``timeout_s`` fails the
        test with where each of its threads stood (and the end of its log)."""
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            raise AssertionError(
                f"worker {self.pid} still running after {timeout_s} s; its log ends:\n"
                + self.log()[-6000:]
            ) from None

    def stop(self) -> None:
        """Kill the worker if it still runs and close its log."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self._log.close()


def wait_registered(connection: redis.Redis, name: str, timeout_s: float = 15) -> None:
    wait_until(
        lambda: connection.sismember(Keys().workers, name),
        timeout_s,
        f"worker {name} to register",
    )


class Booby:
    """Unpickling this object creates a file: what a pickle payload planted in Redis can do."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return Path.touch, (Path(self.path),)


def sigkill_first_run(folder: str) -> str:
    """SIGKILL this process on the first run (marked by a file); return on the next."""
    marker = Path(folder) / "ran-once"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return "second run"
