"""Each example runs as its README says, against the test Redis, with real processes."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from minirq import Job, JobStatus
from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"


@contextmanager
def running(command: list[str], cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    """A background process, stopped with SIGTERM (as a platform does) when done."""
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 0, output


def test_basic_example(subprocess_env: dict[str, str], minirq_command: list[str]) -> None:
    folder = EXAMPLES / "basic"
    with running([*minirq_command, "worker"], folder, subprocess_env):
        result = subprocess.run(
            [sys.executable, "main.py"],
            cwd=folder,
            env=subprocess_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "result: 9 words" in result.stdout
    assert "status: failed" in result.stdout
    assert "ValueError: could not convert string to float: 'twelve'" in result.stdout
    assert 'File "' in result.stdout and "tasks.py" in result.stdout  # the real traceback


def test_flask_app_example(
    subprocess_env: dict[str, str],
    minirq_command: list[str],
    connection: redis.Redis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = EXAMPLES / "flask_app"
    monkeypatch.syspath_prepend(str(folder))
    from app import create_app  # type: ignore[import-not-found]

    client = create_app(connection).test_client()
    assert b"<form" in client.get("/").data
    assert client.post("/send", data={"to": "nobody", "subject": "x"}).status_code == 400
    response = client.post(
        "/send", data={"to": "ada@example.com", "subject": "Welcome", "body": "Hello Ada"}
    )
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    assert b"queued" in client.get(f"/jobs/{job_id}").data

    outbox = tmp_path / "outbox"
    env = {**subprocess_env, "OUTBOX_DIR": str(outbox)}
    result = subprocess.run(
        [*minirq_command, "worker", "emails", "--burst"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    job = Job.fetch(job_id, connection=connection)
    assert job.get_status() == JobStatus.FINISHED, job.exc_info
    assert b"finished" in client.get(f"/jobs/{job_id}").data
    (message,) = outbox.glob("*.eml")
    text = message.read_text()
    assert "To: ada@example.com" in text and "Subject: Welcome" in text and "Hello Ada" in text
