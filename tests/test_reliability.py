"""Workers and work-horses that die, and workers told to stop: no job is lost.

Every test here runs real `minirq worker` processes and really kills or signals them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from minirq import JobStatus, Queue, Retry, SimpleWorker, Worker
from minirq.cli import main
from minirq.horse import Outcome
from minirq.job import Job
from minirq.pool import WorkerPool
from minirq.utils import now_ms
from minirq.worker import BaseWorker
from tests import fixtures
from tests.conftest import ROOT
from tests.reliability_fixtures import (
    WORKER_KIND_ARGS,
    WorkerProcess,
    pid_alive,
    pid_then_sleep,
    sigkill_first_run,
    wait_registered,
    wait_until,
)

Spawn = Callable[..., WorkerProcess]


@pytest.fixture
def spawn(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[Spawn]:
    """Start named `minirq worker` processes; each is killed at the end if still running."""
    started: list[WorkerProcess] = []

    def start(*args: str, name: str) -> WorkerProcess:
        process = WorkerProcess(["--name", name, *args], subprocess_env, tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def work_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def _running_pid(work_dir: Path) -> int:
    wait_until(lambda: (work_dir / "pid").exists(), 20, "the job to start")
    return int((work_dir / "pid").read_text())


# -- a worker killed with SIGKILL ----------------------------------------------------------


@pytest.mark.parametrize("pool", [[], ["--pool", "2"]], ids=["fork", "pool"])
def test_killed_worker_takes_its_horse_along_and_an_idle_worker_reruns_the_job(
    queue: Queue, connection: redis.Redis, spawn: Spawn, work_dir: Path, pool: list[str]
) -> None:
    job = queue.enqueue(pid_then_sleep, str(work_dir), 2.0)
    first = spawn("--lease", "1", *pool, name="first")
    horse = _running_pid(work_dir)
    assert horse != first.pid
    second = spawn("--lease", "1", name="second")
    wait_registered(connection, "second")

    first.signal(signal.SIGKILL)
    first.wait(10)
    wait_until(lambda: not pid_alive(horse), 10, "the horse to die with its worker")
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, 30, "the job to run again")

    job.refresh()
    assert job.worker_name == "second"
    assert job.orphaned_count == 1
    # Only the second run got to the end: the first horse never finished its copy.
    assert int((work_dir / "done").read_text()) != horse
    assert "lost its worker" in second.log()


def test_job_of_a_dead_worker_is_recovered_by_a_worker_that_starts_later(
    queue: Queue, connection: redis.Redis, spawn: Spawn, work_dir: Path
) -> None:
    job = queue.enqueue(pid_then_sleep, str(work_dir), 0.5)
    first = spawn("--lease", "1", name="first")
    horse = _running_pid(work_dir)
    first.signal(signal.SIGKILL)
    first.wait(10)
    wait_until(lambda: not pid_alive(horse), 10, "the horse to die with its worker")
    started = queue.started_job_registry.key
    wait_until(
        lambda: (connection.zscore(started, job.id) or 0) < now_ms(), 10, "the lease to expire"
    )
    assert job.get_status() == JobStatus.STARTED

    # A burst worker stops as soon as it finds the queues empty, so it must recover the
    # job before its first fetch.
    later = spawn("--lease", "1", "--burst", name="later")
    assert later.wait(30) == 0
    assert job.get_status() == JobStatus.FINISHED
    job.refresh()
    assert job.worker_name == "later" and job.orphaned_count == 1


def test_busy_worker_recovers_a_dead_workers_job_while_its_own_runs(
    connection: redis.Redis, spawn: Spawn, work_dir: Path, tmp_path: Path
) -> None:
    """No idle worker: the only live one is busy with a long job, yet it runs the reaper."""
    queue = Queue("default", connection=connection)
    orphan = queue.enqueue(pid_then_sleep, str(work_dir), 0.2)
    first = spawn("--lease", "1", name="first")
    _running_pid(work_dir)
    first.signal(signal.SIGKILL)
    first.wait(10)
    long_dir = tmp_path / "long"
    long_dir.mkdir()
    long_queue = Queue("long", connection=connection)
    # Longer than any recovery could take on a loaded machine: the test ends (and kills
    # the worker with its horse) once the orphan is back.
    long_job = long_queue.enqueue(pid_then_sleep, str(long_dir), 120.0)
    busy = spawn("--lease", "1", "long", name="busy")
    _running_pid(long_dir)
    wait_until(lambda: orphan.get_status() == JobStatus.QUEUED, 15, "the orphan to be put back")
    assert long_job.get_status() == JobStatus.STARTED
    # The worker logs the recovery once the script that did it has answered.
    wait_until(lambda: "lost its worker" in busy.log(), 10, "the recovery to be logged")


# -- a work-horse that dies ----------------------------------------------------------------


class RetryOnceWorker(Worker):
    """A worker whose retry plan puts every failed job back once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.retried: set[str] = set()

    def retry_plan(self, job: Job, outcome: Outcome) -> tuple[str, int]:
        if job.id in self.retried:
            return "", 0
        self.retried.add(job.id)
        return "now", 0


def test_dead_horse_goes_through_the_retry_plan(queue: Queue, connection: redis.Redis) -> None:
    job = queue.enqueue(fixtures.kill_myself, signal.SIGKILL)
    RetryOnceWorker([queue], connection=connection).work(burst=True, max_jobs=1)
    job.refresh()
    assert job.get_status() == JobStatus.QUEUED
    assert "SIGKILL" in (job.exc_info or "")
    assert queue.job_ids == [job.id]


@pytest.mark.parametrize("worker_class", [Worker, WorkerPool])
def test_job_whose_horse_was_killed_is_retried_by_its_retry_policy(
    queue: Queue, connection: redis.Redis, work_dir: Path, worker_class: type[BaseWorker]
) -> None:
    job = queue.enqueue(sigkill_first_run, str(work_dir), retry=Retry(max=1))
    worker_class([queue], connection=connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "second run"
    job.refresh()
    assert "SIGKILL" in (job.exc_info or "")


# -- graceful shutdown ---------------------------------------------------------------------


@pytest.mark.parametrize("worker_class", ["fork", "simple", "pool"])
def test_sigterm_lets_the_running_job_finish_and_fetches_nothing_more(
    queue: Queue, spawn: Spawn, work_dir: Path, worker_class: str
) -> None:
    job = queue.enqueue(pid_then_sleep, str(work_dir), 1.0)
    after = queue.enqueue(fixtures.say_hello)
    worker = spawn(*WORKER_KIND_ARGS[worker_class], "--shutdown-timeout", "20", name="w")
    _running_pid(work_dir)
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "slept"
    assert after.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [after.id]


@pytest.mark.parametrize("worker_class", ["fork", "simple", "pool"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_job_past_the_shutdown_timeout_goes_back_to_the_front_of_its_queue(
    queue: Queue, spawn: Spawn, work_dir: Path, worker_class: str, signum: int
) -> None:
    job = queue.enqueue(pid_then_sleep, str(work_dir), 30.0)
    worker = spawn(*WORKER_KIND_ARGS[worker_class], "--shutdown-timeout", "0.5", name="w")
    runner = _running_pid(work_dir)
    after = queue.enqueue(fixtures.say_hello)
    worker.signal(signum)
    assert worker.wait(30) == 0
    _assert_put_back_at_front(queue, job.id, after.id, work_dir)
    wait_until(lambda: not pid_alive(runner), 10, "the job's process to stop")
    assert "put back at the front" in worker.log()


@pytest.mark.parametrize("worker_class", ["fork", "simple", "pool"])
def test_second_signal_stops_at_once_and_still_requeues(
    queue: Queue, spawn: Spawn, work_dir: Path, worker_class: str
) -> None:
    job = queue.enqueue(pid_then_sleep, str(work_dir), 30.0)
    worker = spawn(*WORKER_KIND_ARGS[worker_class], "--shutdown-timeout", "120", name="w")
    runner = _running_pid(work_dir)
    after = queue.enqueue(fixtures.say_hello)
    worker.signal(signal.SIGTERM)
    wait_until(lambda: "SIGTERM received" in worker.log(), 10, "the first signal to land")
    worker.signal(signal.SIGINT)
    assert worker.wait(30) == 0
    _assert_put_back_at_front(queue, job.id, after.id, work_dir)
    wait_until(lambda: not pid_alive(runner), 10, "the job's process to stop")


def _assert_put_back_at_front(queue: Queue, job_id: str, after_id: str, work_dir: Path) -> None:
    job = queue.fetch_job(job_id)
    assert job is not None
    assert job.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job_id, after_id]
    assert job_id not in queue.started_job_registry
    assert job_id not in queue.failed_job_registry
    assert job.orphaned_count == 0
    assert not (work_dir / "done").exists()


def test_stopped_worker_leaves_no_record(
    queue: Queue, connection: redis.Redis, spawn: Spawn
) -> None:
    worker = spawn("--shutdown-timeout", "5", name="w")
    wait_registered(connection, "w")
    time.sleep(0.2)
    worker.signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    assert Worker.all(connection=connection) == []


# -- broken data in Redis ------------------------------------------------------------------


def test_queued_id_without_its_hash_is_dropped_with_a_reason(
    queue: Queue, connection: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    gone = queue.enqueue(fixtures.say_hello)
    connection.delete(gone.key)
    good = queue.enqueue(fixtures.say_hello)
    with caplog.at_level("WARNING", logger="minirq"):
        SimpleWorker([queue], connection=connection).work(burst=True)
    assert f"job {gone.id} was queued but its data is gone" in caplog.text
    assert good.is_finished
    assert queue.count == 0 and gone.id not in queue.started_job_registry


@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker, WorkerPool])
@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda c, key: c.hdel(key, "func"), "no function name"),
        (lambda c, key: c.hdel(key, "data"), "has no stored arguments"),
        (lambda c, key: c.hset(key, "timeout", "soon"), "'timeout' field is not a whole number"),
        (lambda c, key: c.hset(key, "result_ttl", "x"), "'result_ttl' field is not a whole"),
        (lambda c, key: c.hset(key, "data", b"\x80\x04junk"), "cannot decode the arguments"),
    ],
    ids=["no-func", "no-data", "bad-timeout", "bad-result-ttl", "garbage-data"],
)
def test_damaged_job_fails_alone_and_the_worker_goes_on(
    queue: Queue,
    connection: redis.Redis,
    worker_class: type[BaseWorker],
    damage: Callable[[redis.Redis, str], object],
    reason: str,
) -> None:
    # A job before the broken one, so that the broken one may come with its outcome.
    before = queue.enqueue(fixtures.say_hello, "before")
    broken = queue.enqueue(fixtures.say_hello)
    damage(connection, broken.key)
    good = queue.enqueue(fixtures.say_hello, "after")
    worker_class([queue], connection=connection).work(burst=True)
    assert before.return_value() == "Hi there, before!"
    assert broken.get_status() == JobStatus.FAILED
    broken.refresh()
    assert reason in (broken.exc_info or "")
    assert broken.id in queue.failed_job_registry
    assert broken.id not in queue.started_job_registry
    assert good.return_value() == "Hi there, after!"


def test_job_without_origin_keeps_its_lease(queue: Queue, connection: redis.Redis) -> None:
    job = queue.enqueue(fixtures.sleep_for, 1.0)
    connection.hdel(job.key, "origin")
    Worker([queue], connection=connection, lease_s=0.3).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.orphaned_count == 0


def test_max_result_size_from_the_command_line(redis_url: str, queue: Queue) -> None:
    big = queue.enqueue(fixtures.return_big, 1000)
    small = queue.enqueue(fixtures.return_big, 10)
    result = CliRunner().invoke(
        main, ["worker", "--burst", "--max-result-size", "100", "-u", redis_url]
    )
    assert result.exit_code == 0, result.output
    big.refresh()
    assert big.is_failed and "above the limit of 100 bytes" in (big.exc_info or "")
    assert small.return_value() == b"x" * 10


def test_parent_watch_exits_once_the_parent_is_gone(tmp_path: Path) -> None:
    """The fallback where PR_SET_PDEATHSIG does not exist: a thread polls the parent."""
    code = (
        "import os, sys, time\n"
        "from minirq.horse import watch_parent\n"
        "if os.fork() == 0:\n"
        "    watch_parent(os.getppid(), 0.05)\n"
        f"    open({str(tmp_path / 'pid')!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(30)\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30, cwd=ROOT)
    child = int((tmp_path / "pid").read_text())
    wait_until(lambda: not pid_alive(child), 10, "the orphaned child to exit")
