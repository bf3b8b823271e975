"""Pausing queues and suspending workers, with real workers."""

from __future__ import annotations

import subprocess
import time

import redis

from minirq import JobStatus, Queue, SimpleWorker, Worker
from minirq.defaults import PAUSE_REFRESH_S
from minirq.suspension import is_suspended, paused_queue_names, resume, suspend
from tests import feature_fixtures as ff
from tests.fixtures import add


def test_burst_worker_skips_a_paused_queue(connection: redis.Redis) -> None:
    paused, other = Queue("paused", connection=connection), Queue("other", connection=connection)
    held = paused.enqueue(add, 1, 1)
    runs = other.enqueue(add, 2, 2)
    paused.pause()
    assert paused.is_paused and not other.is_paused
    assert paused_queue_names(connection) == {"paused"}

    Worker([paused, other], connection=connection).work(burst=True)
    assert runs.get_status() == JobStatus.FINISHED
    assert held.get_status() == JobStatus.QUEUED
    # A paused queue still accepts jobs.
    paused.enqueue(add, 3, 3)
    assert paused.count == 2

    paused.resume()
    assert not paused.is_paused
    SimpleWorker([paused], connection=connection).work(burst=True)
    assert held.get_status() == JobStatus.FINISHED
    assert paused.count == 0


def test_suspended_workers_fetch_nothing(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(add, 1, 1)
    suspend(connection)
    assert is_suspended(connection)
    assert not SimpleWorker([queue], connection=connection).work(burst=True)
    assert job.get_status() == JobStatus.QUEUED
    resume(connection)
    assert SimpleWorker([queue], connection=connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED


def test_suspend_for_a_duration_expires(connection: redis.Redis) -> None:
    suspend(connection, duration_s=100)
    ttl = connection.ttl("minirq:suspended")
    assert 0 < ttl <= 100


def test_a_running_worker_sees_pause_and_resume(
    connection: redis.Redis, queue: Queue, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    worker = ff.start_worker(minirq_command, subprocess_env, "default")
    try:
        first = queue.enqueue(add, 1, 1)
        ff.wait_until(lambda: first.get_status() == JobStatus.FINISHED, what="a first job")
        queue.pause()
        # Every worker re-reads the paused queues within PAUSE_REFRESH_S.
        time.sleep(PAUSE_REFRESH_S + 0.3)
        held = queue.enqueue(add, 2, 2)
        time.sleep(PAUSE_REFRESH_S + 0.3)
        assert held.get_status() == JobStatus.QUEUED
        queue.resume()
        ff.wait_until(lambda: held.get_status() == JobStatus.FINISHED, what="resume")
    finally:
        ff.stop_process(worker)


def test_cli_pause_resume_suspend(
    connection: redis.Redis, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*minirq_command, *args], env=subprocess_env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done

    for name in ("a", "b"):
        Queue(name, connection=connection).enqueue(add, 1, 2)
    assert "Paused a" in run("pause", "a", "b").stdout
    assert paused_queue_names(connection) == {"a", "b"}
    assert "Resumed b" in run("resume", "b").stdout
    assert paused_queue_names(connection) == {"a"}
    assert "suspended" in run("suspend").stdout
    assert is_suspended(connection)
    assert "resumed" in run("resume").stdout
    assert not is_suspended(connection)
    assert paused_queue_names(connection) == {"a"}


def test_info_shows_paused_queues_and_suspension(
    connection: redis.Redis, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    Queue("slow", connection=connection).pause()
    suspend(connection)
    done = subprocess.run(
        [*minirq_command, "info"], env=subprocess_env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "paused: slow" in done.stdout
    assert "workers are suspended" in done.stdout
