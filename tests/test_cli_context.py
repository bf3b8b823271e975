"""One context for every command: the configured prefix everywhere, unknown queues refused
by name, requeue by job id alone, Redis settings refused in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner, Result

from minirq import Job, JobStatus, Queue, Scheduler, SimpleWorker
from minirq.cli import main
from minirq.suspension import is_suspended, paused_queue_names
from minirq.worker import BaseWorker
from tests import feature_fixtures as ff
from tests import fixtures
from tests.conftest import ROOT

PREFIX = "tenant"


def run(args: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, args, env=env)


@pytest.fixture
def prefixed(redis_url: str) -> dict[str, str]:
    """The environment of a deployment that sets its own prefix."""
    return {"REDIS_URL": redis_url, "MINIRQ_PREFIX": PREFIX}


def failed_job(connection: redis.Redis, queue_name: str = "default", prefix: str = PREFIX) -> Job:
    queue = Queue(queue_name, connection=connection, prefix=prefix)
    job = queue.enqueue(fixtures.div_by_zero)
    SimpleWorker([queue], connection=connection, prefix=prefix).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    return job


def test_pause_resume_suspend_honour_the_prefix(
    connection: redis.Redis, prefixed: dict[str, str]
) -> None:
    Queue("mail", connection=connection, prefix=PREFIX).enqueue(fixtures.add, 1, 2)
    assert run(["pause", "mail"], prefixed).exit_code == 0
    assert paused_queue_names(connection, PREFIX) == {"mail"}
    assert paused_queue_names(connection) == set()
    assert run(["suspend"], prefixed).exit_code == 0
    assert is_suspended(connection, PREFIX) and not is_suspended(connection)
    assert run(["resume"], prefixed).exit_code == 0
    assert not is_suspended(connection, PREFIX)
    assert run(["resume", "mail"], prefixed).exit_code == 0
    assert paused_queue_names(connection, PREFIX) == set()


def test_enqueue_empty_requeue_honour_the_prefix(
    connection: redis.Redis, prefixed: dict[str, str]
) -> None:
    result = run(["enqueue", "mail", "tests.fixtures.add", "2", "3"], prefixed)
    assert result.exit_code == 0, result.output
    assert Queue("mail", connection=connection, prefix=PREFIX).job_ids == [result.output.strip()]
    assert Queue("mail", connection=connection).count == 0
    result = run(["empty", "mail"], prefixed)
    assert result.exit_code == 0 and "1 job(s) deleted" in result.output
    job = failed_job(connection, "mail")
    result = run(["requeue", "--queue", "mail", "--all"], prefixed)
    assert result.exit_code == 0 and "Requeued 1" in result.output, result.output
    assert job.get_status() == JobStatus.QUEUED


def test_cron_commands_honour_the_prefix(connection: redis.Redis, prefixed: dict[str, str]) -> None:
    result = run(
        ["cron", "add", "tests.fixtures.say_hello", "--every", "1h", "--name", "n"], prefixed
    )
    assert result.exit_code == 0, result.output
    assert [e.name for e in Scheduler(connection, prefix=PREFIX).entries()] == ["n"]
    assert Scheduler(connection).entries() == []
    assert "n: tests.fixtures.say_hello" in run(["cron", "list"], prefixed).output
    assert run(["cron", "remove", "n"], prefixed).exit_code == 0
    assert Scheduler(connection, prefix=PREFIX).entries() == []


def test_info_honours_the_prefix_from_a_settings_module(
    connection: redis.Redis, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tenant_settings_a.py").write_text(f"PREFIX = {PREFIX!r}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    Queue("only-here", connection=connection, prefix=PREFIX).enqueue(fixtures.add, 1, 2)
    result = run(["info", "-u", redis_url, "-c", "tenant_settings_a"])
    assert result.exit_code == 0, result.output
    assert "only-here" in result.output and f"prefix {PREFIX}" in result.output
    result = run(["pause", "only-here", "-u", redis_url, "-c", "tenant_settings_a"])
    assert result.exit_code == 0, result.output
    assert paused_queue_names(connection, PREFIX) == {"only-here"}


def test_stop_and_shutdown_honour_the_prefix(
    connection: redis.Redis, prefixed: dict[str, str], subprocess_env: dict[str, str]
) -> None:
    env = {**subprocess_env, **prefixed}
    queue = Queue(connection=connection, prefix=PREFIX)
    job = queue.enqueue(fixtures.sleep_for, 60)
    command = [sys.executable, "-m", "minirq"]
    worker = ff.start_worker(command, env, "--name", "w-tenant")
    try:
        ff.wait_until(lambda: job.get_status() == JobStatus.STARTED, what="job start")
        stop = subprocess.run([*command, "stop", job.id], env=env, capture_output=True, text=True)
        assert stop.returncode == 0, stop.stderr
        ff.wait_until(lambda: job.get_status() == JobStatus.STOPPED, what="job stop")
        down = subprocess.run(
            [*command, "shutdown", "w-tenant"], env=env, capture_output=True, text=True
        )
        assert down.returncode == 0 and "Shutdown sent to w-tenant" in down.stdout, down.stderr
        assert worker.wait(timeout=30) == 0
    finally:
        ff.stop_process(worker)


@pytest.mark.parametrize(
    "args",
    [
        ["requeue", "--queue", "nosuch", "--all"],
        ["pause", "default", "nosuch"],
        ["resume", "nosuch"],
        ["empty", "nosuch"],
        ["info", "nosuch"],
    ],
)
def test_unknown_queue_exits_1_naming_it_and_writes_nothing(
    connection: redis.Redis, redis_url: str, args: list[str]
) -> None:
    Queue(connection=connection).enqueue(fixtures.add, 1, 2)
    before = sorted(connection.keys("*"))
    result = run([*args, "-u", redis_url])
    assert result.exit_code == 1, result.output
    assert "no queue named 'nosuch'" in result.output and "known queues: default" in result.output
    assert sorted(connection.keys("*")) == before
    assert "Traceback" not in result.output


def test_a_queue_a_worker_listens_on_is_known(connection: redis.Redis, redis_url: str) -> None:
    worker = SimpleWorker(["fresh"], connection=connection, name="listener")
    worker.register_birth()
    assert [w.name for w in BaseWorker.all(connection=connection)] == ["listener"]
    result = run(["pause", "fresh", "-u", redis_url])
    assert result.exit_code == 0, result.output
    assert paused_queue_names(connection) == {"fresh"}


def test_requeue_by_job_id_alone_uses_the_jobs_queue(
    connection: redis.Redis, prefixed: dict[str, str]
) -> None:
    mail, other = failed_job(connection, "mail"), failed_job(connection, "other")
    result = run(["requeue", mail.id, other.id], prefixed)
    assert result.exit_code == 0, result.output
    assert f"Requeued {mail.id} on mail" in result.output
    assert Queue("mail", connection=connection, prefix=PREFIX).job_ids == [mail.id]
    assert Queue("other", connection=connection, prefix=PREFIX).job_ids == [other.id]


def test_requeue_refuses_a_job_of_another_queue_or_unknown_id(
    connection: redis.Redis, prefixed: dict[str, str]
) -> None:
    job = failed_job(connection, "mail")
    failed_job(connection, "other")
    result = run(["requeue", "--queue", "other", job.id], prefixed)
    assert result.exit_code == 1 and "belongs to queue 'mail'" in result.output
    result = run(["requeue", "no-such-id"], prefixed)
    assert result.exit_code == 1 and "no job with id 'no-such-id'" in result.output
    assert job.get_status() == JobStatus.FAILED
    assert run(["requeue", "--all"], prefixed).exit_code == 2


def test_requeue_of_several_ids_checks_them_all_first(
    connection: redis.Redis, prefixed: dict[str, str]
) -> None:
    failed = failed_job(connection, "mail")
    queued = Queue("mail", connection=connection, prefix=PREFIX).enqueue(fixtures.add, 1, 2)
    result = run(["requeue", failed.id, queued.id], prefixed)
    assert result.exit_code == 1
    assert f"job {queued.id} is queued, not failed" in result.output
    assert failed.get_status() == JobStatus.FAILED


@pytest.mark.parametrize("command", ["info", "worker"])
def test_database_out_of_range_is_one_line(redis_url: str, command: str) -> None:
    url = redis_url.rsplit("/", 1)[0] + "/99"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "minirq",
            command,
            "-u",
            url,
            *(["--burst"] * (command == "worker")),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("20")]
    assert len(lines) == 1 and "DB index is out of range" in lines[0], result.stderr


@pytest.mark.parametrize(("db", "shown"), [("abc", "'abc'"), ("1/2", "'1/2'"), ("-1", "'-1'")])
def test_database_that_is_not_a_number_is_refused(redis_url: str, db: str, shown: str) -> None:
    result = run(["info", "-u", redis_url.rsplit("/", 1)[0] + "/" + db])
    assert result.exit_code == 1
    assert f"database {shown} is not a number" in result.output


def test_every_command_finds_a_settings_module_in_the_current_folder(
    connection: redis.Redis, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "here_settings_c.py").write_text(f"PREFIX = {PREFIX!r}\n")
    Queue("mail", connection=connection, prefix=PREFIX).enqueue(fixtures.add, 1, 2)
    # The console script, whose sys.path (unlike `python -m`'s) does not start with the
    # current folder.
    script = Path(sys.executable).parent / "minirq"
    result = subprocess.run(
        [str(script), "pause", "mail", "-c", "here_settings_c"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        # No empty entry in PYTHONPATH: that would put the current folder on the path.
        env={**subprocess_env, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert paused_queue_names(connection, PREFIX) == {"mail"}


def test_unknown_queue_error_lists_at_most_ten_known_names(
    connection: redis.Redis, redis_url: str
) -> None:
    for i in range(12):
        Queue(f"q{i:02}", connection=connection).enqueue(fixtures.add, 1, 2)
    result = run(["empty", "q99", "-u", redis_url])
    assert result.exit_code == 1
    assert "known queues: q00, q01, q02, q03, q04, q05, q06, q07, q08, q09 and 2 more" in (
        result.output
    )
