"""RQ 2.12's documented command lines (docs/docs/index.md's ``rq enqueue``, suspend and
resume; monitoring.md's ``rq info``; jobs.md's ``rq requeue``; the supervisor, systemd and
Heroku patterns) with ``rq`` replaced by ``minirq``, against a real Redis; the workers they
start are real processes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import click
import pytest
import redis
from click.testing import CliRunner

from minirq import Job, JobStatus, Queue, SimpleWorker, Worker
from minirq.cli import main
from minirq.cli.rq_helpers import CliConfig, parse_function_args
from tests import feature_fixtures as ff
from tests import fixtures
from tests.conftest import RedisServer
from tests.rq_docs_fixtures import run_to_end

MINIRQ = [sys.executable, "-m", "minirq"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """``minirq ARGS`` through click, in this process (its output captured)."""
    result = CliRunner().invoke(main, list(args))
    return subprocess.CompletedProcess(list(args), result.exit_code, result.output, "")


def enqueued(output: str, connection: redis.Redis) -> Job:
    """The job of RQ's "Enqueued f(...) with job-id 'ID'." line."""
    job_id = output.strip().rsplit("'", 2)[-2]
    return Job.fetch(job_id, connection=connection)


# -- rq enqueue (index.md) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "args", "kwargs"),
    [
        (["abc"], ["abc"], {}),
        (["abc=def"], [], {"abc": "def"}),
        ([':{"json": "abc"}'], [{"json": "abc"}], {}),
        (['key:={"json": "abc"}'], [], {"key": {"json": "abc"}}),
        (["%1, 2"], [(1, 2)], {}),
        (["%None"], [None], {}),
        (["%True"], [True], {}),
        (["key%=(1, 2)"], [], {"key": (1, 2)}),
        (['key%={"foo": True}'], [], {"key": {"foo": True}}),
    ],
)
def test_enqueue_argument_forms(
    redis_url: str, connection: redis.Redis, arguments: list[str], args: list, kwargs: dict
) -> None:
    done = run("enqueue", "-u", redis_url, "tests.fixtures.echo", *arguments)
    assert done.returncode == 0, done.stdout
    assert done.stdout.startswith("Enqueued tests.fixtures.echo(")
    job = enqueued(done.stdout, connection)
    assert list(job.args) == args and job.kwargs == kwargs
    assert job.origin == "default"


def test_enqueue_values_read_from_files(
    tmp_path: Path, redis_url: str, connection: redis.Redis
) -> None:
    (tmp_path / "file").write_text("text in a file")
    (tmp_path / "file.json").write_text('{"n": 1}')
    done = run(
        "enqueue", "-u", redis_url, "tests.fixtures.echo",
        f"@{tmp_path / 'file'}", f"key=@{tmp_path / 'file'}",
        f":@{tmp_path / 'file.json'}", f"other:=@{tmp_path / 'file.json'}",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    job = enqueued(done.stdout, connection)
    assert list(job.args) == ["text in a file", {"n": 1}]
    assert job.kwargs == {"key": "text in a file", "other": {"n": 1}}


def test_enqueue_options_of_the_docs(redis_url: str, connection: redis.Redis) -> None:
    parent = Queue("myqueue", connection=connection).enqueue(fixtures.add, 1, 1)
    done = run(
        "enqueue", "-u", redis_url, "-q", "myqueue", "--timeout", "30", "--result-ttl", "60",
        "--ttl", "600", "--failure-ttl", "900", "--description", "documented",
        "--depends-on", parent.id, "--job-id", "my-id", "--retry-max", "2",
        "--retry-interval", "5", "--retry-interval", "10", "tests.fixtures.add", "%1", "%2",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout
    job = Job.fetch("my-id", connection=connection)
    assert (job.origin, job.timeout, job.result_ttl, job.description) == (
        "myqueue",
        30,
        60,
        "documented",
    )
    assert job.dependency_ids == [parent.id]
    assert job.get_status() == JobStatus.DEFERRED
    SimpleWorker(["myqueue"], connection=connection).work(burst=True)
    assert job.return_value() == 3


def test_enqueue_at_front_quiet_and_schedule(redis_url: str, connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    queue.enqueue(fixtures.add, 0, 0)
    front = run("enqueue", "-u", redis_url, "--at-front", "--quiet", "tests.fixtures.add", "%1")
    assert front.returncode == 0 and front.stdout == ""
    assert len(queue.job_ids) == 2
    assert Job.fetch(queue.job_ids[0], connection=connection).args == (1,)
    later = run("enqueue", "-u", redis_url, "--schedule-in", "1h", "tests.fixtures.add", "%1")
    job = enqueued(later.stdout, connection)
    assert job.get_status() == JobStatus.SCHEDULED
    at = run(
        "enqueue", "-u", redis_url, "--schedule-at", "2099-05-27T21:45:00", "tests.fixtures.add"
    )
    assert enqueued(at.stdout, connection).id in queue.scheduled_job_registry


def test_minirq_enqueue_form_still_works(redis_url: str, connection: redis.Redis) -> None:
    done = run("enqueue", "-u", redis_url, "emails", "tests.fixtures.add", "2", "3")
    assert done.returncode == 0, done.stdout
    job = Job.fetch(done.stdout.strip(), connection=connection)
    assert (job.origin, job.args) == ("emails", (2, 3))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["%__import__('os')"], "is not a Python literal"),
        ([":{bad"], "is not JSON"),
        (["a=1", "a=2"], "given twice"),
        (["@/no/such/file"], "cannot read"),
    ],
)
def test_enqueue_refuses_bad_arguments_and_writes_nothing(
    redis_url: str, connection: redis.Redis, arguments: list[str], message: str
) -> None:
    done = run("enqueue", "-u", redis_url, "tests.fixtures.echo", *arguments)
    assert done.returncode == 2 and message in done.stdout
    assert connection.keys("*") == []


def test_literal_eval_runs_no_code() -> None:
    with pytest.raises(Exception, match="nothing else is evaluated"):
        parse_function_args(("%(lambda: 1)()",))


def test_enqueue_refuses_a_module_or_typo_and_writes_nothing(
    redis_url: str, connection: redis.Redis
) -> None:
    done = run("enqueue", "-u", redis_url, "tests.fixtures.ad", "abc")
    assert done.returncode == 1 and "cannot import tests.fixtures.ad" in done.stdout
    done = run("enqueue", "-u", redis_url, "tests.fixtures")
    assert done.returncode == 1 and "not a function" in done.stdout
    assert connection.keys("*") == []


# -- rq suspend / resume (index.md), rq requeue (jobs.md), rq empty ----------------------


def test_suspend_and_resume(redis_url: str, connection: redis.Redis) -> None:
    job = Queue(connection=connection).enqueue(fixtures.add, 1, 1)
    assert run("suspend", "-u", redis_url).returncode == 0
    SimpleWorker(["default"], connection=connection).work(burst=True)
    assert job.get_status() == JobStatus.QUEUED
    assert run("suspend", "-u", redis_url, "--duration", "300").returncode == 0
    assert 0 < connection.ttl(next(iter(connection.keys("*suspend*")))) <= 300
    assert run("resume", "-u", redis_url).returncode == 0
    SimpleWorker(["default"], connection=connection).work(burst=True)
    assert job.return_value() == 2


def test_requeue_named_jobs_and_all(redis_url: str, connection: redis.Redis) -> None:
    queue = Queue("myqueue", connection=connection)
    foo, bar, baz = (queue.enqueue(fixtures.div_by_zero, job_id=i) for i in ("foo", "bar", "baz"))
    SimpleWorker([queue], connection=connection).work(burst=True)
    done = run("requeue", "--queue", "myqueue", "-u", redis_url, "foo_job_id")
    assert done.returncode == 1 and "foo_job_id" in done.stdout
    done = run("requeue", "--queue", "myqueue", "-u", redis_url, foo.id, bar.id)
    assert done.returncode == 0, done.stdout
    assert queue.job_ids == [foo.id, bar.id]
    assert run("requeue", "--queue", "myqueue", "-u", redis_url, "--all").returncode == 0
    assert baz.get_status() == JobStatus.QUEUED


def test_empty_queues_and_all(redis_url: str, connection: redis.Redis) -> None:
    a, b = Queue("a", connection=connection), Queue("b", connection=connection)
    a.enqueue(fixtures.add, 1, 1)
    b.enqueue(fixtures.add, 1, 1)
    assert run("empty", "-u", redis_url, "a").returncode == 0
    assert (a.count, b.count) == (0, 1)
    b.enqueue(fixtures.add, 2, 2)
    done = run("empty", "-u", redis_url, "--all")
    assert done.returncode == 0 and "Emptied b: 2 job(s) deleted" in done.stdout
    assert b.count == 0
    nothing = run("empty", "-u", redis_url)
    assert nothing.returncode == 0 and "Nothing to do" in nothing.stdout


# -- rq info (monitoring.md) -------------------------------------------------------------


def test_info_forms(redis_url: str, connection: redis.Redis, subprocess_env: dict) -> None:
    for name in ("high", "default", "low"):
        Queue(name, connection=connection).enqueue(fixtures.add, 1, 1)
    process = ff.start_worker(MINIRQ, subprocess_env, "--name", "watcher", "--burst", "spare")
    worker = ff.start_worker(MINIRQ, subprocess_env, "--name", "w-high", "high")
    try:
        ff.wait_until(lambda: Worker.count(connection=connection) >= 1, what="a worker")
        ff.wait_until(lambda: Queue("high", connection=connection).count == 0, what="high")
        whole = run("info", "-u", redis_url)
        assert whole.returncode == 0 and "w-high" in whole.stdout and "low" in whole.stdout
        assert "3 queues, 2 jobs total" in whole.stdout and " workers, 3 queues" in whole.stdout
        some = run("info", "-u", redis_url, "high", "default")
        assert "low" not in some.stdout.split("\n", 2)[2]
        by_queue = run("info", "-u", redis_url, "-R")
        assert by_queue.returncode == 0
        assert any(
            line.startswith("high:") and "w-high (" in line for line in by_queue.stdout.splitlines()
        )
        only_queues = run("info", "-u", redis_url, "-Q", "--raw")
        assert "worker(s)" not in only_queues.stdout and "█" not in only_queues.stdout
        only_workers = run("info", "-u", redis_url, "-W")
        assert "w-high" in only_workers.stdout and "queued" not in only_workers.stdout
    finally:
        ff.stop_process(worker)
        ff.stop_process(process)


def test_info_interval_refreshes_until_interrupted(subprocess_env: dict) -> None:
    process = subprocess.Popen(
        [*MINIRQ, "info", "--interval", "0.5"],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "every 0.5 s" in first
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


# -- Patterns: supervisor, systemd, Heroku ----------------------------------------------


def test_supervisor_command_and_stopsignal_term(
    tmp_path: Path, connection: redis.Redis, subprocess_env: dict, redis_url: str
) -> None:
    (tmp_path / "mysettings.py").write_text(f"REDIS_URL = {redis_url!r}\n")
    job = Queue("low", connection=connection).enqueue(fixtures.add, 2, 2)
    process = subprocess.Popen(
        [*MINIRQ, "worker", "-c", "mysettings", "high", "default", "low"],
        cwd=tmp_path,
        env=subprocess_env,
        stderr=subprocess.PIPE,
    )
    try:
        ff.wait_until(lambda: job.get_status() == JobStatus.FINISHED, what="job done")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        ff.stop_process(process)
    assert job.return_value() == 4


def test_systemd_exec_start_with_config_py(
    tmp_path: Path, connection: redis.Redis, subprocess_env: dict, redis_url: str
) -> None:
    (tmp_path / "config.py").write_text(f"REDIS_URL = {redis_url!r}\nQUEUES = ['jobs']\n")
    job = Queue("jobs", connection=connection).enqueue(fixtures.add, 3, 3)
    run_to_end(
        [*MINIRQ, "worker", "-c", "config.py", "--burst"],
        env=subprocess_env,
        cwd=tmp_path,
    )
    assert job.return_value() == 6


def test_heroku_info_with_redis_host_settings(
    tmp_path: Path, connection: redis.Redis, subprocess_env: dict, redis_server: RedisServer
) -> None:
    (tmp_path / "rq_conf.py").write_text(
        f"REDIS_HOST = '127.0.0.1'\nREDIS_PORT = {redis_server.port}\nREDIS_PASSWORD = None\n"
        "REDIS_SSL = False\nREDIS_SSL_CA_CERTS = None\nREDIS_DB = 0\n"
    )
    Queue("heroku-queue", connection=connection).enqueue(fixtures.add, 1, 1)
    env = {k: v for k, v in subprocess_env.items() if k != "REDIS_URL"}
    done = run_to_end(
        [*MINIRQ, "info", "--config", "rq_conf"],
        env=env,
        cwd=tmp_path,
    )
    assert "heroku-queue" in done.stdout


def test_rq_environment_variables(
    tmp_path: Path, connection: redis.Redis, subprocess_env: dict, redis_url: str
) -> None:
    job = Queue("rq-env", connection=connection).enqueue(fixtures.add, 4, 5)
    env = {**subprocess_env, "REDIS_URL": "redis://127.0.0.1:1/0", "RQ_REDIS_URL": redis_url}
    env["RQ_WORKER_CLASS"] = "minirq.worker.SimpleWorker"
    done = run_to_end(
        [*MINIRQ, "worker", "--burst", "-v", "rq-env"],
        env=env,
    )
    assert job.return_value() == 9
    assert "DEBUG" in done.stderr


def test_worker_pid_file_and_verbose_quiet(
    tmp_path: Path, connection: redis.Redis, subprocess_env: dict
) -> None:
    pid_file = tmp_path / "worker.pid"
    done = run_to_end(
        [*MINIRQ, "worker", "--burst", "-q", "--pid", str(pid_file)],
        env=subprocess_env,
    )
    assert pid_file.read_text().isdigit()
    assert "started on" not in done.stderr
    both = run("worker", "--burst", "-q", "-v")
    assert both.returncode == 2 and "contradict" in both.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--dequeue-strategy", "fastest"], "'fastest' is not one of"),
        (["-w", "nosuch.module.Worker"], "cannot import worker class"),
        (["-w", "json.JSONDecoder"], "is not a minirq worker class"),
        (["--log-format", "loud"], "neither text, json"),
        (["--worker-ttl", "0"], "0 is not in the range"),
        (["--pool", "2", "-w", "simple"], "leave out --worker-class"),
    ],
)
def test_worker_refuses_bad_rq_flags_before_starting(
    redis_url: str, connection: redis.Redis, flags: list[str], message: str
) -> None:
    done = run("worker", "--burst", "-u", redis_url, *flags)
    assert done.returncode != 0 and message in done.stdout
    assert connection.keys("*") == []


def test_worker_pool_refuses_a_class_it_cannot_pool(redis_url: str) -> None:
    done = run("worker-pool", "-u", redis_url, "-w", "minirq.worker.SpawnWorker", "-b")
    assert done.returncode == 2 and "cannot run in a pool" in done.stdout


def test_enqueue_then_worker_round_trip_in_rq_form(
    redis_url: str, connection: redis.Redis, subprocess_env: dict
) -> None:
    done = run("enqueue", "-u", redis_url, "--queue", "high", "tests.fixtures.echo", "x", "n:=1")
    job = enqueued(done.stdout, connection)
    worker = subprocess.run(
        [*MINIRQ, "worker", "-b", "high"], env=subprocess_env, capture_output=True, timeout=60
    )
    assert worker.returncode == 0
    assert json.loads(json.dumps(job.return_value())) == [["x"], {"n": 1}]


@pytest.mark.parametrize(
    "option", ["death_penalty_class", "job_class", "queue_class", "worker_class"]
)
def test_cli_config_refuses_a_class_path_that_does_not_import(option: str) -> None:
    for path in ("tests.fixtures.no_such_name", "no_such_module.Class"):
        with pytest.raises(ValueError, match="no_such"):
            CliConfig(**{option: path})
        with pytest.raises(click.BadParameter):
            CliConfig(**{option: path})
