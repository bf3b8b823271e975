from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import redis
from click.testing import CliRunner

from minirq import Job, JobStatus, Queue, Scheduler, SimpleWorker
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


def test_info_draws_bars_and_shows_current_jobs(redis_url: str, connection: redis.Redis) -> None:
    big, small = Queue("big", connection=connection), Queue("small", connection=connection)
    for _ in range(4):
        big.enqueue(fixtures.say_hello)
    small.enqueue(fixtures.say_hello)
    busy = SimpleWorker([small], connection=connection, name="w1")
    busy.register_birth()
    busy.current_job = Job.fetch(small.job_ids[0], connection=connection)
    busy.state = "busy"
    busy.heartbeat()
    result = CliRunner().invoke(main, ["info", "-u", redis_url])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line}
    assert rows["big"].count("█") == 30 and rows["big"].split()[-7] == "4"
    assert rows["small"].count("█") == 8  # a quarter of the width, rounded up
    assert f"w1 busy on small job {busy.current_job.id} tests.fixtures.say_hello" in result.output


def test_info_refreshes_until_interrupted(
    subprocess_env: dict[str, str], minirq_command: list[str], connection: redis.Redis
) -> None:
    Queue("mail", connection=connection).enqueue(fixtures.say_hello)
    process = subprocess.Popen(
        [*minirq_command, "info", "--interval", "0.2"],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    refreshes = 0
    for line in process.stdout:
        refreshes += "worker(s)" in line
        if refreshes == 2:
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert refreshes == 2


def test_info_warns_of_overdue_jobs_without_a_scheduler(
    redis_url: str, connection: redis.Redis
) -> None:
    queue = Queue("later", connection=connection)
    queue.enqueue_at(datetime.now(UTC) - timedelta(seconds=30), fixtures.say_hello)
    queue.enqueue_at(datetime.now(UTC) + timedelta(hours=1), fixtures.say_hello)
    result = CliRunner().invoke(main, ["info", "-u", redis_url])
    assert result.exit_code == 0, result.output
    assert "scheduler: none" in result.output
    assert "warning: 1 scheduled job(s) overdue" in result.output
    assert "minirq scheduler" in result.output


def test_info_shows_the_active_scheduler_and_no_warning(
    redis_url: str, connection: redis.Redis
) -> None:
    Queue("later", connection=connection).enqueue_at(
        datetime.now(UTC) - timedelta(seconds=30), fixtures.say_hello
    )
    scheduler = Scheduler(connection, name="sched-1")
    assert scheduler.acquire_lease()
    try:
        result = CliRunner().invoke(main, ["info", "-u", redis_url])
    finally:
        scheduler.release_lease()
    assert result.exit_code == 0, result.output
    assert "scheduler: sched-1 active" in result.output
    assert "overdue" not in result.output


def test_info_and_pause_read_bad_bytes_without_failing(
    redis_url: str, connection: redis.Redis
) -> None:
    queue = Queue("mail", connection=connection)
    job = queue.enqueue(fixtures.say_hello)
    connection.sadd(queue.keys.paused_queues, b"\xff\xfe", "mail")
    connection.hset(queue.keys.job(job.id), "func", b"\xc3\x28")
    busy = SimpleWorker([queue], connection=connection, name="w1")
    busy.register_birth()
    busy.current_job = Job.fetch(job.id, connection=connection)
    busy.state = "busy"
    busy.heartbeat()
    result = CliRunner().invoke(main, ["info", "-u", redis_url])
    assert result.exit_code == 0, result.output
    assert "paused: mail\n" in result.output and f"w1 busy on mail job {job.id} " in result.output
    result = CliRunner().invoke(main, ["pause", "mail", "-u", redis_url])
    assert result.exit_code == 0, result.output


def test_info_reads_keys_of_the_wrong_type(redis_url: str, connection: redis.Redis) -> None:
    queue = Queue("mail", connection=connection)
    queue.enqueue(fixtures.say_hello)
    connection.set(queue.keys.paused_queues, "not a set")
    connection.set(queue.keys.registry("scheduled", "mail"), "not a sorted set")
    connection.set(queue.keys.registry("failed", "mail"), "not a sorted set")
    result = CliRunner().invoke(main, ["info", "-u", redis_url])
    assert result.exit_code == 0, result.output
    assert "mail" in result.output


def test_requeue_takes_the_serializer_of_the_jobs(redis_url: str, connection: redis.Redis) -> None:
    queue = Queue("json-jobs", connection=connection, serializer="json")
    job = queue.enqueue(fixtures.div_by_zero, meta={"owner": "ops"})
    SimpleWorker([queue], connection=connection, serializer="json").work(burst=True)
    result = CliRunner().invoke(
        main, ["requeue", "-u", redis_url, "-S", "minirq.serializers.JSONSerializer", job.id]
    )
    assert result.exit_code == 0, result.output
    assert f"Requeued {job.id} on json-jobs" in result.output
    assert job.get_status() == JobStatus.QUEUED
    assert job.get_meta() == {"owner": "ops"}
