"""Redis stopping, restarting and refusing: workers wait, reconnect and lose nothing.

Each test runs its own redis-server (with AOF, so a restart keeps the data), never the
session's, and stops and restarts it under real `minirq worker` processes.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from minirq import JobStatus, Queue, Worker
from minirq.cli import main
from tests import fixtures
from tests.conftest import ROOT, RedisServer
from tests.reliability_fixtures import (
    WORKER_KIND_ARGS,
    Booby,
    WorkerProcess,
    pid_then_sleep,
    wait_registered,
    wait_until,
)

DOWN = "Redis unreachable"
BACK = "Redis is back"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    instance = RedisServer(folder, "--appendonly", "yes", "--appendfsync", "always")
    yield instance
    instance.stop()


@pytest.fixture
def client(server: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(server.url)
    yield connection
    connection.close()


@pytest.fixture
def env(server: RedisServer) -> dict[str, str]:
    values = dict(os.environ)
    values["REDIS_URL"] = server.url
    values["PYTHONPATH"] = os.pathsep.join([str(ROOT), values.get("PYTHONPATH", "")])
    return values


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.stop()


def _spawn(
    started: list[WorkerProcess], env: dict[str, str], tmp_path: Path, *args: str
) -> WorkerProcess:
    process = WorkerProcess(["--name", "w", *args], env, tmp_path / f"w{len(started)}.log")
    started.append(process)
    return process


def _one_outage_logged(worker: WorkerProcess) -> None:
    log = worker.log()
    # The worker and its scheduler process each say so once, not on every retry.
    for logger_name in ("minirq.worker", "minirq.scheduler"):
        lines = "\n".join(line for line in log.splitlines() if f" {logger_name}: " in line)
        assert lines.count(DOWN) <= 1, log
        assert lines.count(BACK) <= 1, log
    worker_lines = [line for line in log.splitlines() if " minirq.worker: " in line]
    assert sum(DOWN in line for line in worker_lines) == 1, log
    assert sum(BACK in line for line in worker_lines) == 1, log
    # Other parts (the command channel) may say so too, but once, not on every retry.
    assert log.count("unreachable") <= 3, log
    assert "Traceback" not in log, log


@pytest.mark.parametrize("worker_class", ["fork", "simple", "pool"])
def test_idle_worker_waits_through_a_restart_and_runs_the_next_job(
    server: RedisServer,
    client: redis.Redis,
    env: dict[str, str],
    workers: list[WorkerProcess],
    tmp_path: Path,
    worker_class: str,
) -> None:
    worker = _spawn(workers, env, tmp_path, *WORKER_KIND_ARGS[worker_class])
    wait_registered(client, "w")
    time.sleep(0.3)  # let it settle into its idle wait on the wake-up channel
    server.stop()
    wait_until(lambda: DOWN in worker.log(), 20, "the worker to notice Redis is gone")
    time.sleep(1.5)  # several reconnection attempts
    assert worker.process.poll() is None
    server.start()
    wait_until(lambda: BACK in worker.log(), 20, "the worker to reconnect")
    job = Queue(connection=client).enqueue(fixtures.say_hello, "again")
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, 20, "the job to run")
    assert job.return_value() == "Hi there, again!"
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    _one_outage_logged(worker)


@pytest.mark.parametrize("worker_class", ["fork", "simple", "pool"])
def test_result_computed_while_redis_is_away_is_written_when_it_returns(
    server: RedisServer,
    client: redis.Redis,
    env: dict[str, str],
    workers: list[WorkerProcess],
    tmp_path: Path,
    worker_class: str,
) -> None:
    work_dir = tmp_path / "work"
    work_dir.mkdir()
    queue = Queue(connection=client)
    job = queue.enqueue(pid_then_sleep, str(work_dir), 1.5)
    worker = _spawn(workers, env, tmp_path, *WORKER_KIND_ARGS[worker_class], "--lease", "1")
    wait_until(lambda: (work_dir / "pid").exists(), 20, "the job to start")
    server.stop()
    wait_until(lambda: (work_dir / "done").exists(), 20, "the job to end while Redis is away")
    wait_until(lambda: DOWN in worker.log(), 20, "the worker to notice Redis is gone")
    time.sleep(1.0)  # the finished job's result waits in the worker
    assert worker.process.poll() is None
    server.start()
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, 20, "the result to be written")
    assert job.return_value() == "slept"
    assert job.id not in queue.started_job_registry
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    _one_outage_logged(worker)


@pytest.mark.parametrize("worker_class", ["fork", "pool"])
def test_worker_started_while_redis_is_down_waits_for_it(
    server: RedisServer,
    client: redis.Redis,
    env: dict[str, str],
    workers: list[WorkerProcess],
    tmp_path: Path,
    worker_class: str,
) -> None:
    server.stop()
    worker = _spawn(workers, env, tmp_path, "--burst", *WORKER_KIND_ARGS[worker_class])
    wait_until(lambda: DOWN in worker.log(), 20, "the worker to report Redis down")
    time.sleep(1.5)
    assert worker.process.poll() is None
    server.start()
    job = Queue(connection=client).enqueue(fixtures.add, 2, 3)
    assert worker.wait(30) == 0
    assert job.return_value() == 5
    _one_outage_logged(worker)


@pytest.mark.parametrize("worker_class", ["fork", "pool"])
def test_sigterm_while_redis_is_down_and_nothing_runs_exits_cleanly(
    server: RedisServer,
    client: redis.Redis,
    env: dict[str, str],
    workers: list[WorkerProcess],
    tmp_path: Path,
    worker_class: str,
) -> None:
    worker = _spawn(workers, env, tmp_path, *WORKER_KIND_ARGS[worker_class])
    wait_registered(client, "w")
    server.stop()
    wait_until(lambda: DOWN in worker.log(), 20, "the worker to notice Redis is gone")
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert "Traceback" not in worker.log()


def test_cli_prints_one_line_when_redis_is_down(server: RedisServer) -> None:
    server.stop()
    result = subprocess.run(
        [sys.executable, "-m", "minirq", "info", "-u", server.url],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: cannot reach Redis at {server.url}: "
        f"Error 111 connecting to 127.0.0.1:{server.port}. Connection refused."
    ]


# -- Redis settings and passwords ----------------------------------------------------------


def test_worker_warns_when_redis_may_evict_jobs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    instance = RedisServer(tmp_path, "--maxmemory-policy", "allkeys-lru")
    try:
        connection = redis.Redis.from_url(instance.url)
        Queue(connection=connection).enqueue(fixtures.say_hello)
        with caplog.at_level("WARNING", logger="minirq"):
            Worker(["default"], connection=connection).work(burst=True)
        assert "maxmemory-policy is 'allkeys-lru'" in caplog.text
        assert "set maxmemory-policy noeviction" in caplog.text
        connection.close()
    finally:
        instance.stop()


def test_no_warning_with_noeviction(client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="minirq"):
        Worker(["default"], connection=client).work(burst=True)
    assert "maxmemory-policy" not in caplog.text


def test_worker_runs_where_config_is_not_allowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    instance = RedisServer(tmp_path, "--rename-command", "CONFIG", '""')
    try:
        connection = redis.Redis.from_url(instance.url)
        job = Queue(connection=connection).enqueue(fixtures.add, 1, 1)
        with caplog.at_level("INFO", logger="minirq"):
            Worker(["default"], connection=connection).work(burst=True)
        assert job.return_value() == 2
        assert "cannot read maxmemory-policy" in caplog.text
        connection.close()
    finally:
        instance.stop()


def test_password_never_appears_in_worker_output(tmp_path: Path) -> None:
    instance = RedisServer(tmp_path)
    try:
        # Set after start: RedisServer checks that the server answers without a password.
        with redis.Redis(port=instance.port) as admin:
            admin.config_set("requirepass", "s3cret-pw")
        good = f"redis://:s3cret-pw@127.0.0.1:{instance.port}/0"
        connection = redis.Redis.from_url(good)
        Queue(connection=connection).enqueue(fixtures.div_by_zero)
        runs = [
            ["worker", "--burst", "-u", good, "--logging-level", "DEBUG"],
            ["worker", "--burst", "-u", good.replace("s3cret-pw", "wrong-pw")],
            ["info", "-u", good.replace(str(instance.port), "1")],
        ]
        outputs = []
        for args in runs:
            result = subprocess.run(
                [sys.executable, "-m", "minirq", *args],
                capture_output=True,
                text=True,
                timeout=60,
                cwd=ROOT,
            )
            outputs.append((result.returncode, result.stdout + result.stderr))
        assert outputs[0][0] == 0 and "using Redis at redis://:***@127.0.0.1" in outputs[0][1]
        assert outputs[1][0] == 1 and "Redis refused the credentials" in outputs[1][1]
        assert outputs[2][0] == 1 and "cannot reach Redis" in outputs[2][1]
        for _code, text in outputs:
            assert "s3cret-pw" not in text and "wrong-pw" not in text
            assert "Traceback" not in text
        connection.close()
    finally:
        instance.stop()


def test_json_worker_never_unpickles_what_it_finds_in_redis(
    tmp_path: Path, client: redis.Redis, server: RedisServer
) -> None:
    planted = tmp_path / "planted"
    queue = Queue(connection=client)
    job = queue.enqueue(fixtures.say_hello)
    client.hset(job.key, "data", pickle.dumps(((Booby(str(planted)),), {})))
    plain = Queue(connection=client, serializer="json").enqueue(fixtures.add, 2, 3)
    result = CliRunner().invoke(
        main, ["worker", "--burst", "--serializer", "json", "-u", server.url]
    )
    assert result.exit_code == 0, result.output
    assert not planted.exists()
    assert job.get_status() == JobStatus.FAILED
    job.refresh()
    assert "cannot decode the arguments" in (job.exc_info or "")
    assert plain.return_value() == 5
    # The same payload under the default pickle serializer runs the planted call.
    pickle.loads(client.hget(job.key, "data") or b"")
    assert planted.exists()


def test_worker_runs_as_the_restricted_acl_user_the_readme_suggests(
    server: RedisServer, client: redis.Redis
) -> None:
    client.execute_command(
        "ACL", "SETUSER", "minirq", "on", ">pw", "~minirq:*", "&minirq:*", "+@all", "-@dangerous"
    )
    url = f"redis://minirq:pw@127.0.0.1:{server.port}/0"
    with redis.Redis.from_url(url) as restricted:
        job = Queue(connection=restricted).enqueue(fixtures.add, 1, 2)
        with pytest.raises(redis.exceptions.NoPermissionError):
            restricted.flushall()
    result = CliRunner().invoke(main, ["worker", "--burst", "-u", url])
    assert result.exit_code == 0, result.output
    done = Queue(connection=client).fetch_job(job.id)
    assert done is not None and done.return_value() == 3


def test_scheduler_waits_through_a_restart_and_moves_due_jobs(
    server: RedisServer, client: redis.Redis, env: dict[str, str], tmp_path: Path
) -> None:
    log_path = tmp_path / "scheduler.log"
    with open(log_path, "wb") as log:
        scheduler = subprocess.Popen(
            [sys.executable, "-m", "minirq", "scheduler"], env=env, stdout=log, stderr=log
        )
        try:
            wait_until(lambda: b"scheduler started" in log_path.read_bytes(), 20, "the start")
            server.stop()
            wait_until(lambda: DOWN in log_path.read_text(), 20, "the scheduler to notice")
            time.sleep(1.0)
            assert scheduler.poll() is None
            server.start()
            job = Queue(connection=client).enqueue_in(
                timedelta(milliseconds=300), fixtures.add, 1, 1
            )
            wait_until(lambda: job.get_status() == JobStatus.QUEUED, 20, "the job to be due")
            scheduler.send_signal(signal.SIGTERM)
            assert scheduler.wait(30) == 0
        finally:
            if scheduler.poll() is None:
                scheduler.kill()
                scheduler.wait(10)
    text = log_path.read_text()
    assert text.count(DOWN) == 1 and text.count(BACK) == 1, text
    assert "Traceback" not in text, text
