"""examples/rq_flask_app: an RQ-style Flask app converted by renaming, run for real: the
app under gunicorn and a ``minirq worker`` as processes, a job from enqueue to
result over HTTP."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.conftest import ROOT, RedisServer, free_port
from tests.test_examples import BIN, running

APP = ROOT / "examples" / "rq_flask_app"
# How long the example waits for a process or a job before the test gives up.
PATIENCE_S = 60


def get(base: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode(), error.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_for(check: Any, what: str) -> Any:
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        try:
            value = check()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def test_the_converted_app_runs_a_job_from_enqueue_to_result(
    redis_server: RedisServer, redis_url: str, subprocess_env: dict[str, str],
    minirq_command: list[str],
) -> None:  # fmt: skip
    env = {
        **subprocess_env,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(redis_server.port),
        "WORK_SECONDS": "0.2",
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # gunicorn, as the template runs in production (it stops cleanly on SIGTERM).
    web = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "app.main:app"]
    with (
        running([*minirq_command, "worker", "--url", redis_url], APP, env),
        running(web, APP, env),
    ):
        assert wait_for(lambda: get(base, "/")[1] == "Running!", "the app")

        status, body = get(base, "/enqueue?external_id=42")
        assert status == 200
        job_id = body["job_id"]
        wait_for(lambda: get(base, f"/check_status?job_id={job_id}")[1]["job_status"]
                 == "finished", "the job")  # fmt: skip
        status, result = get(base, f"/get_result?job_id={job_id}")
        assert status == 200
        assert result["job_id"] == job_id and result["input"] == {"external_id": "42"}
        assert result["started_at"] >= result["enqueued_at"]

        status, body = get(base, "/enqueue", body={"user": "ada"})
        posted = body["job_id"]
        wait_for(lambda: get(base, f"/get_result?job_id={posted}")[0] == 200, "the posted job")
        assert get(base, f"/get_result?job_id={posted}")[1]["input"] == {"user": "ada"}

        status, body = get(base, "/check_status?job_id=nosuch")
        assert status == 404 and "nosuch" in body["error"]
        status, body = get(base, "/enqueue")
        assert status == 404 and "external_id" in body["error"]


def test_the_template_s_empty_all_becomes_minirq_empty_all(
    redis_server: RedisServer, redis_url: str, subprocess_env: dict[str, str],
    minirq_command: list[str],
) -> None:  # fmt: skip
    env = {**subprocess_env, "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(redis_server.port)}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "app.main:app"]
    with running(web, APP, env):
        assert wait_for(lambda: get(base, "/")[1] == "Running!", "the app")
        job_id = get(base, "/enqueue?external_id=1")[1]["job_id"]
        assert get(base, f"/check_status?job_id={job_id}")[1]["job_status"] == "queued"
        emptied = subprocess.run(
            [*minirq_command, "empty", "--all", "--url", redis_url],
            env=env, cwd=APP, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert emptied.returncode == 0, emptied.stderr
        assert get(base, f"/check_status?job_id={job_id}")[0] == 404


def test_minirq_appears_only_where_rq_was_renamed() -> None:
    """The app is RQ's with ``rq`` renamed: minirq is named in three imports and the
    worker's command, nowhere else."""
    mentions = [
        (path.relative_to(APP).as_posix(), line.strip())
        for path in sorted(APP.rglob("*"))
        if path.suffix in (".py", ".yml")
        for line in path.read_text().splitlines()
        if "minirq" in line
    ]
    assert mentions == [
        ("app/functions.py", "from minirq import get_current_job"),
        ("app/main.py", "from minirq.job import Job"),
        ("app/redis_resc.py", "from minirq import Queue"),
        ("docker-compose.yml", "command: minirq worker --url redis://redis:6379"),
    ]
