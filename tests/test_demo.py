"""`make run`'s script (examples/demo/run.sh) against the test Redis, stopped as a terminal
stops it: Ctrl+C sends SIGINT to the whole foreground process group."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import redis

from tests.conftest import ROOT

RUN_SCRIPT = ROOT / "examples" / "demo" / "run.sh"
DEMO_PREFIX = "minirq-demo"


def _wait_for(condition: Callable[[], object], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def demo(
    subprocess_env: dict[str, str], connection: redis.Redis
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    if not (ROOT / ".venv" / "bin" / "minirq").exists():
        pytest.skip("make run needs the project's .venv (make venv)")
    # Its own session and process group, as a shell gives a foreground job.
    process = subprocess.Popen(
        ["bash", str(RUN_SCRIPT)],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    yield process, lines
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
    reader.join(10)
    assert process.stdout is not None
    process.stdout.close()


def _finished_jobs(connection: redis.Redis) -> list[bytes]:
    return [
        key
        for key in connection.scan_iter(f"{DEMO_PREFIX}:job:*")
        if connection.hget(key, "status") == b"finished"
    ]


def test_ctrl_c_stops_the_demo_once_and_warmly(
    demo: tuple[subprocess.Popen[str], list[str]], connection: redis.Redis, redis_url: str
) -> None:
    process, lines = demo
    _wait_for(lambda: _finished_jobs(connection), "a finished demo job")

    # The demo keeps to its own prefix and short TTLs.
    assert all(key.startswith(DEMO_PREFIX.encode() + b":") for key in connection.keys("*"))
    for key in _finished_jobs(connection):
        assert 0 < connection.ttl(key) <= 120

    # The hint names the Redis and prefix in use.
    output = "".join(lines)
    assert f"MINIRQ_PREFIX={DEMO_PREFIX}" in output and redis_url in output

    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(30) == 0
    output = "".join(lines)
    assert "stopping after the current job" in output
    assert "second" not in output and "stopping now" not in output
