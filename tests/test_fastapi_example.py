"""examples/fastapi_app as its docstring runs it: uvicorn serving the app on a free port
and an async worker, both real processes, and a job's round trip through HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

FOLDER = ROOT / "examples" / "fastapi_app"


@contextmanager
def process(
    command: list[str], env: dict[str, str], cwd: Path, clean_exits: tuple[int, ...] = (0,)
) -> Iterator[subprocess.Popen[str]]:
    """A background process, stopped with SIGTERM; it must end in one of ``clean_exits``."""
    proc = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
        assert proc.returncode in clean_exits, output


def call(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until_serving(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/docs", timeout=5).close()
            return
        except OSError:
            assert server.poll() is None, "uvicorn exited"
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)


def test_fastapi_app_round_trip(subprocess_env: dict[str, str]) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **subprocess_env,
        "PYTHONPATH": os.pathsep.join([str(FOLDER), subprocess_env["PYTHONPATH"]]),
    }
    uvicorn = [
        sys.executable,
        "-m",
        "uvicorn",
        "app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    worker = [sys.executable, "-m", "minirq", "worker", "--worker-class", "async",
              "--concurrency", "5", "--no-scheduler", "texts"]  # fmt: skip
    # uvicorn shuts down cleanly on SIGTERM, then ends by the signal it was sent.
    serving = process(uvicorn, env, FOLDER, clean_exits=(0, -signal.SIGTERM))
    with serving as server, process(worker, env, FOLDER):
        wait_until_serving(base, server)
        status, created = call(f"{base}/jobs", {"text": "to be or not to be"})
        assert status == 202
        status, answer = call(f"{base}/jobs/{created['id']}?wait=20")
        assert status == 200
        assert answer == {
            "id": created["id"],
            "status": "finished",
            "result": {"words": 6, "characters": 18},
        }
        assert call(f"{base}/jobs", {"text": ""})[0] == 422
        assert call(f"{base}/jobs/no-such-job")[0] == 404
