"""How worker processes behave for their operators: stopping while Redis is down, the
state they show, what they log for a retry, and the horses they leave behind.

Each test that stops Redis runs its own redis-server, never the session's.
"""

from __future__ import annotations

import json
import logging
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from minirq import Job, JobStatus, Queue, Retry, SimpleWorker, Worker, WorkerPool
from minirq.cli import main
from minirq.defaults import MAX_RECONNECT_DELAY_S
from minirq.logs import JsonFormatter, TextFormatter
from minirq.utils import FIRST_RECONNECT_DELAY_S, back_off
from minirq.worker import BaseWorker
from tests import fixtures, process_fixtures
from tests.conftest import ROOT, RedisServer
from tests.reliability_fixtures import WORKER_KIND_ARGS, WorkerProcess, wait_until

DOWN = "Redis unreachable"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    # With AOF, so that a restart keeps the jobs.
    instance = RedisServer(folder, "--appendonly", "yes", "--appendfsync", "always")
    yield instance
    instance.stop()


@pytest.fixture
def env(server: RedisServer) -> dict[str, str]:
    values = dict(os.environ)
    values["REDIS_URL"] = server.url
    values["PYTHONPATH"] = os.pathsep.join([str(ROOT), values.get("PYTHONPATH", "")])
    return values


@pytest.fixture
def client(server: RedisServer) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(server.url)
    yield connection
    connection.close()


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for process in started:
        process.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("worker_class", ["fork", "simple", "pool"])
def test_worker_started_while_redis_is_down_ends_on_the_first_signal(
    server: RedisServer,
    env: dict[str, str],
    workers: list[WorkerProcess],
    tmp_path: Path,
    worker_class: str,
    signum: int,
) -> None:
    server.stop()
    args = ["--name", "w", *WORKER_KIND_ARGS[worker_class]]
    worker = WorkerProcess(args, env, tmp_path / "w.log")
    workers.append(worker)
    wait_until(lambda: DOWN in worker.log(), 20, "the worker to report Redis down")
    worker.signal(signum)
    # Before the fix the worker went on retrying until a second signal: this wait hung.
    assert worker.wait(20) == 0, worker.log()
    assert "Traceback" not in worker.log()
    assert "second" not in worker.log()


@pytest.mark.parametrize("worker_cls", [SimpleWorker, Worker, WorkerPool])
def test_a_retried_attempt_is_a_warning_and_only_the_last_failure_an_error(
    connection: redis.Redis, caplog: pytest.LogCaptureFixture, worker_cls: type[BaseWorker]
) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.div_by_zero, retry=Retry(2))
    with caplog.at_level(logging.INFO, logger="minirq.worker"):
        worker_cls([queue], connection=connection).work(burst=True)
    ends = [r for r in caplog.records if getattr(r, "job_id", None) == job.id and _ended(r)]
    assert [(r.levelno, _status(r), getattr(r, "retries_left", None)) for r in ends] == [
        (logging.WARNING, "retrying", 1),
        (logging.WARNING, "retrying", 0),
        (logging.ERROR, "failed", None),
    ]
    assert "retrying now (1 retry left)" in ends[0].getMessage()
    assert "retrying now (0 retries left)" in ends[1].getMessage()
    assert "retrying" not in ends[2].getMessage()
    assert all("ZeroDivisionError" in r.getMessage() for r in ends)


def test_a_retry_with_a_delay_says_when_in_text_and_json(
    connection: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.div_by_zero, retry=Retry(3, interval=[7, 30]))
    with caplog.at_level(logging.INFO, logger="minirq.worker"):
        SimpleWorker([queue], connection=connection).work(burst=True)
    (end,) = [r for r in caplog.records if getattr(r, "job_id", None) == job.id and _ended(r)]
    assert end.levelno == logging.WARNING
    assert "retrying in 7 s (2 retries left)" in TextFormatter().format(end)
    entry = json.loads(JsonFormatter().format(end))
    assert entry["level"] == "WARNING"
    assert (entry["status"], entry["retries_left"], entry["retry_in_s"]) == ("retrying", 2, 7)


def _finished(job: Job) -> bool:
    return bool(job.get_status() == JobStatus.FINISHED)


def _ended(record: logging.LogRecord) -> bool:
    return hasattr(record, "status")


def _status(record: logging.LogRecord) -> str:
    return str(getattr(record, "status", ""))


@pytest.mark.parametrize(
    "make_worker",
    [
        lambda q, c: SimpleWorker([q], connection=c),
        lambda q, c: Worker([q], connection=c),
        lambda q, c: WorkerPool([q], connection=c, size=1),
    ],
    ids=["simple", "fork", "pool"],
)
def test_a_worker_shows_busy_with_its_job_while_each_job_runs(
    connection: redis.Redis, make_worker: Any
) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(process_fixtures.my_worker_record) for _ in range(4)]
    make_worker(queue, connection).work(burst=True)
    # Before, the record said what the last heartbeat saw: "idle", or the job before.
    assert [job.return_value() for job in jobs] == [["busy", job.id] for job in jobs]


def test_a_pool_stays_busy_while_any_horse_runs(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(process_fixtures.my_worker_record) for _ in range(6)]
    WorkerPool([queue], connection=connection, size=2).work(burst=True)
    assert {job.return_value()[0] for job in jobs} == {"busy"}


@pytest.mark.parametrize(
    ("flags", "runs"),
    [([], True), (["--with-scheduler"], True), (["--no-scheduler"], False)],
    ids=["default", "with-scheduler", "no-scheduler"],
)
def test_a_cli_worker_runs_the_scheduler_unless_told_not_to(
    connection: redis.Redis, redis_url: str, flags: list[str], runs: bool
) -> None:
    queue = Queue(connection=connection)
    due = queue.enqueue_at(datetime.now(UTC) - timedelta(seconds=30), fixtures.add, 2, 3)
    result = CliRunner().invoke(main, ["worker", "--burst", "-u", redis_url, *flags])
    assert result.exit_code == 0, result.output
    assert due.get_status() == (JobStatus.FINISHED if runs else JobStatus.SCHEDULED)


def test_no_scheduler_and_with_scheduler_together_are_refused(redis_url: str) -> None:
    result = CliRunner().invoke(
        main, ["worker", "--burst", "-u", redis_url, "--no-scheduler", "--with-scheduler"]
    )
    assert result.exit_code == 2
    assert "--no-scheduler and --with-scheduler" in result.output


@pytest.mark.parametrize("wait_to_return", [False, True], ids=["ends-first", "redis-first"])
@pytest.mark.parametrize("worker_class", ["fork", "simple", "pool"])
def test_progress_saved_while_redis_is_away_is_written_when_it_returns(
    server: RedisServer,
    client: redis.Redis,
    env: dict[str, str],
    workers: list[WorkerProcess],
    tmp_path: Path,
    worker_class: str,
    wait_to_return: bool,
) -> None:
    args = ["--name", "w", "--no-scheduler", *WORKER_KIND_ARGS[worker_class]]
    worker = WorkerProcess(args, env, tmp_path / "w.log")
    workers.append(worker)
    job = Queue(connection=client).enqueue(
        process_fixtures.progress_across_an_outage, str(tmp_path), wait_to_return
    )
    wait_until((tmp_path / "started").exists, 30, "the job to start")
    server.stop()
    (tmp_path / "redis-down").touch()
    wait_until((tmp_path / "progressed").exists, 30, "the job to report progress")
    server.start()
    if wait_to_return:
        # Written while the job still runs, not only with its outcome.
        wait_until(lambda: job.progress == (0.5, "half"), 30, "the progress to be written")
        assert job.get_status() == JobStatus.STARTED
        (tmp_path / "return").touch()
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, 30, "the job to finish")
    assert job.return_value() == "done"
    assert job.progress == (0.5, "half")
    assert job.get_meta()["note"] == "kept"
    assert "Traceback" not in worker.log()


def test_no_defunct_horse_lingers_after_a_job(
    client: redis.Redis, env: dict[str, str], workers: list[WorkerProcess], tmp_path: Path
) -> None:
    worker = WorkerProcess(["--name", "w", "--no-scheduler"], env, tmp_path / "w.log")
    workers.append(worker)
    queue = Queue(connection=client)
    for n in range(3):
        job = queue.enqueue(fixtures.add, n, 1)
        wait_until(partial(_finished, job), 30, "the job to finish")
        # Before, the horse stayed <defunct> until the worker forked the next one.
        wait_until(lambda: not process_fixtures.zombie_children(worker.pid), 10, "the reaping")
    assert worker.process.poll() is None


def test_the_back_off_doubles_up_to_its_limit_and_ends_when_told() -> None:
    asked: list[bool] = []

    def give_up() -> bool:
        asked.append(True)
        return True

    # Told to give up at once: no nap at all, and the next delay is still computed.
    assert back_off(1000.0, give_up) == MAX_RECONNECT_DELAY_S
    assert asked == [True]
    assert back_off(0.0, lambda: False) == 0.0
    assert back_off(FIRST_RECONNECT_DELAY_S, give_up) == 2 * FIRST_RECONNECT_DELAY_S
