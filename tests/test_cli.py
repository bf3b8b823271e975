from __future__ import annotations

import subprocess
import sys

import redis
from click.testing import CliRunner

from minirq import Job, JobStatus, Queue, SimpleWorker
from minirq.cli import main
from tests import fixtures


def test_enqueue_and_worker_burst(redis_url: str, connection: redis.Redis) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["enqueue", "default", "tests.fixtures.add", "2", "3", "-u", redis_url]
    )
    assert result.exit_code == 0, result.output
    job_id = result.output.strip()
    result = runner.invoke(main, ["worker", "--burst", "--worker-class", "simple", "-u", redis_url])
    assert result.exit_code == 0, result.output
    assert Job.fetch(job_id, connection=connection).return_value() == 5


def test_enqueue_bad_json_is_one_clear_line(redis_url: str) -> None:
    result = CliRunner().invoke(
        main, ["enqueue", "default", "tests.fixtures.add", "two", "-u", redis_url]
    )
    assert result.exit_code == 2
    assert "argument 1 'two' is not JSON" in result.output


def test_info_lists_queues(redis_url: str, connection: redis.Redis) -> None:
    Queue("emails", connection=connection).enqueue(fixtures.say_hello)
    result = CliRunner().invoke(main, ["info", "-u", redis_url])
    assert result.exit_code == 0
    assert "emails" in result.output and "0 worker(s)" in result.output


def test_requeue_and_empty(redis_url: str, connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.div_by_zero)
    SimpleWorker([queue], connection=connection).work(burst=True)
    runner = CliRunner()
    result = runner.invoke(main, ["requeue", "--queue", "default", "--all", "-u", redis_url])
    assert result.exit_code == 0 and "Requeued 1" in result.output
    assert job.get_status() == JobStatus.QUEUED
    result = runner.invoke(main, ["empty", "default", "-u", redis_url])
    assert result.exit_code == 0 and "1 job(s) deleted" in result.output


def test_requeue_needs_ids_or_all(redis_url: str) -> None:
    result = CliRunner().invoke(main, ["requeue", "--queue", "default", "-u", redis_url])
    assert result.exit_code == 2 and "--all" in result.output


def test_unreachable_redis_is_one_line_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "minirq", "info", "-u", "redis://:secret@127.0.0.1:1/0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "cannot reach Redis at redis://:***@127.0.0.1:1/0" in result.stderr
    assert "secret" not in result.stderr + result.stdout


def test_bad_url_is_clear() -> None:
    result = CliRunner().invoke(main, ["info", "-u", "nonsense://x"])
    assert result.exit_code == 1
    assert "invalid Redis URL" in result.output


def test_refused_enqueue_is_clear(redis_url: str) -> None:
    result = CliRunner().invoke(
        main, ["enqueue", "default", "tests.fixtures.add", "--job-id", "bad id", "-u", redis_url]
    )
    assert result.exit_code == 1
    assert "invalid job_id" in result.output
