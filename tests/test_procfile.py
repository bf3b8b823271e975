"""The Procfile under honcho, a real Procfile runner, as Heroku would run it."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from minirq import Job, JobStatus, Queue, Worker
from tests import fixtures
from tests.conftest import ROOT, free_port

BIN = Path(sys.executable).parent
PASSWORD = "procfile-secret"


def _processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment holds ``marker`` (honcho, its children and
    theirs: gunicorn workers, work-horses, the scheduler)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def _wait_for(condition: Callable[[], object], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _get(url: str, auth: bool = True) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def _answers(url: str) -> bool:
    try:
        return _get(url)[0] == 200
    except OSError:
        return False


@pytest.fixture
def honcho(
    subprocess_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], int, str]]:
    if not (BIN / "honcho").exists():
        pytest.fail("honcho is not installed; it is in the dev extra (make venv)")
    marker = f"MINIRQ_PROCFILE_TEST={uuid.uuid4().hex}"
    port = free_port()
    env = {
        **subprocess_env,
        "PATH": f"{BIN}{os.pathsep}{subprocess_env['PATH']}",
        "MINIRQ_DASHBOARD_PASSWORD": PASSWORD,
        "MINIRQ_QUEUES": "high,default",
        # A short lease means a heartbeat a second, so /metrics catches up quickly.
        "MINIRQ_LEASE_S": "3",
        "MINIRQ_PROCFILE_TEST": marker.partition("=")[2],
    }
    # An empty .env so that honcho reads none from the checkout.
    (tmp_path / ".env").write_text("")
    process = subprocess.Popen(
        [str(BIN / "honcho"), "start", "--no-colour", "-f", str(ROOT / "Procfile"),
         "-d", str(ROOT), "-e", str(tmp_path / ".env"), "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield process, port, marker
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        for pid in _processes_with(marker):
            os.kill(pid, signal.SIGKILL)


def test_honcho_runs_web_and_worker_and_stops_without_losing_a_job(
    honcho: tuple[subprocess.Popen[str], int, str], connection: redis.Redis
) -> None:
    process, port, marker = honcho
    base = f"http://127.0.0.1:{port}"
    _wait_for(lambda: _answers(base + "/"), "the dashboard on $PORT")
    assert _get(base + "/", auth=False)[0] == 401  # credentials come from the environment

    high = Queue("high", connection=connection)
    job = high.enqueue(fixtures.add, 2, 3)
    _wait_for(lambda: job.get_status() == JobStatus.FINISHED, "a job enqueued from outside")
    assert Job.fetch(job.id, connection=connection).return_value() == 5
    later = Queue("default", connection=connection).enqueue_in(0.2, fixtures.say_hello, "later")
    _wait_for(lambda: later.get_status() == JobStatus.FINISHED, "the worker's scheduler")

    # Workers add their counts to Redis with their heartbeat, so they may lag a few seconds.
    processed = 'minirq_jobs_processed_total{queue="high"} 1.0'
    _wait_for(lambda: processed in _get(base + "/metrics")[1], "the job in the metrics")
    assert "minirq_workers_alive 1.0" in _get(base + "/metrics")[1]

    # SIGTERM while a job runs and others wait: the running one finishes, the rest stay.
    running = high.enqueue(fixtures.sleep_for, 1.5)
    waiting = [high.enqueue(fixtures.say_hello, str(i)) for i in range(3)]
    _wait_for(lambda: running.get_status() == JobStatus.STARTED, "the slow job to start")
    # honcho, gunicorn and its worker, minirq's worker, its scheduler and the work-horse.
    assert len(_processes_with(marker)) >= 6
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    _wait_for(lambda: not _processes_with(marker), "every process to exit", timeout_s=5)
    assert time.monotonic() - started < 30, output

    assert running.get_status() == JobStatus.FINISHED, output
    for job in waiting:
        status_now = job.get_status()
        assert status_now in (JobStatus.QUEUED, JobStatus.FINISHED), (job.id, status_now)
        assert (status_now == JobStatus.QUEUED) == (job.id in high.job_ids)
    assert high.started_job_registry.count == 0
    assert Worker.all(connection=connection) == []
    assert not _answers(base + "/")
