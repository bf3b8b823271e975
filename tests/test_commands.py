"""Stopping running jobs and shutting workers down by command, with real worker processes."""

from __future__ import annotations

import contextlib
import json
import subprocess

import pytest
import redis

from minirq import (
    InvalidJobOperation,
    Job,
    JobStatus,
    NoSuchJobError,
    Queue,
    Worker,
    send_shutdown_command,
    send_stop_job_command,
)
from tests import feature_fixtures as ff
from tests.fixtures import add, sleep_for


def wait_started(job: Job) -> None:
    ff.wait_until(lambda: job.get_status() == JobStatus.STARTED, what=f"{job.id} to start")


@pytest.mark.parametrize("pool_args", [(), ("--pool", "2")], ids=["fork", "pool"])
def test_stop_a_running_job(
    connection: redis.Redis,
    queue: Queue,
    minirq_command: list[str],
    subprocess_env: dict[str, str],
    pool_args: tuple[str, ...],
) -> None:
    job = queue.enqueue(sleep_for, 30, on_stopped=ff.record_stopped)
    worker = ff.start_worker(minirq_command, subprocess_env, "default", *pool_args)
    try:
        wait_started(job)
        send_stop_job_command(connection, job.id)
        ff.wait_until(lambda: job.get_status() == JobStatus.STOPPED, what="the job to stop")
        job.refresh()
        assert job in queue.failed_job_registry
        assert job not in queue.started_job_registry
        assert job.exc_info is not None and "JobStopped" in job.exc_info
        assert job.get_status() == JobStatus.STOPPED  # not retried
        # on_stopped runs in the worker just after the stop is recorded.
        calls = ff.wait_until(
            lambda: connection.lrange(f"test:callbacks:{job.id}", 0, -1), what="on_stopped"
        )
        assert [json.loads(x) for x in calls] == [["stopped", "stopped"]]
        # The worker goes on with the next job.
        after = queue.enqueue(add, 1, 2)
        ff.wait_until(lambda: after.get_status() == JobStatus.FINISHED, what="the next job")
    finally:
        ff.stop_process(worker)


def test_stop_refuses_jobs_that_are_not_running(connection: redis.Redis, queue: Queue) -> None:
    with pytest.raises(NoSuchJobError):
        send_stop_job_command(connection, "nope")
    job = queue.enqueue(add, 1, 2)
    with pytest.raises(InvalidJobOperation, match="is queued, not running"):
        send_stop_job_command(connection, job.id)
    # Started, but its worker is gone: nobody hears the command.
    connection.hset(job.key, mapping={"status": "started", "worker": "ghost"})
    with pytest.raises(InvalidJobOperation, match="not listening"):
        send_stop_job_command(connection, job.id)


def test_race_stop_arriving_as_the_job_ends(
    connection: redis.Redis, queue: Queue, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    """Each job ends either finished with its result or stopped, never both nor lost."""
    worker = ff.start_worker(minirq_command, subprocess_env, "default")
    try:
        outcomes = []
        for i in range(8):
            job = queue.enqueue(sleep_for, 0.05 * (i % 4))
            ff.wait_until(lambda job=job: job.get_status() != JobStatus.QUEUED, what="a start")
            # It may have ended before the command was sent.
            with contextlib.suppress(InvalidJobOperation):
                send_stop_job_command(connection, job.id)
            ff.wait_until(
                lambda job=job: job.get_status() in (JobStatus.FINISHED, JobStatus.STOPPED),
                what="the job to end",
            )
            status = job.get_status()
            in_finished = job in queue.finished_job_registry
            in_failed = job in queue.failed_job_registry
            assert (in_finished, in_failed) == (status == JobStatus.FINISHED, status != "finished")
            assert job not in queue.started_job_registry
            if status == JobStatus.FINISHED:
                assert job.return_value() == 0.05 * (i % 4)
            outcomes.append(status)
        last = queue.enqueue(add, 2, 2)
        ff.wait_until(lambda: last.get_status() == JobStatus.FINISHED, what="the worker to go on")
    finally:
        ff.stop_process(worker)


def test_stop_of_a_job_that_already_reported_keeps_its_result(
    connection: redis.Redis, queue: Queue
) -> None:
    """The parent honours an outcome the horse reported before the stop was seen."""
    job = queue.enqueue(add, 20, 22)
    worker = Worker([queue], connection=connection)
    original_poll = worker._poll_commands

    def stop_late() -> None:
        original_poll()
        if worker.current_job is not None:
            worker._stop_job_id = worker.current_job.id

    worker._poll_commands = stop_late  # type: ignore[method-assign]
    worker._next_command_poll = float("inf")
    worker.work(burst=True)
    assert job.get_status() in (JobStatus.FINISHED, JobStatus.STOPPED)
    if job.get_status() == JobStatus.FINISHED:
        assert job.return_value() == 42


def test_shutdown_command_stops_a_worker(
    connection: redis.Redis, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    worker = ff.start_worker(minirq_command, subprocess_env, "default", "--name", "w-1")
    try:
        ff.wait_until(lambda: send_shutdown_command(connection, "w-1"), what="the worker to listen")
        assert worker.wait(timeout=15) == 0
    finally:
        ff.stop_process(worker)
    assert not send_shutdown_command(connection, "w-1")


def test_cli_stop_and_shutdown(
    connection: redis.Redis, queue: Queue, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    job = queue.enqueue(sleep_for, 30)
    worker = ff.start_worker(minirq_command, subprocess_env, "default", "--name", "w-cli")
    try:
        wait_started(job)
        done = subprocess.run(
            [*minirq_command, "stop", job.id], env=subprocess_env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        ff.wait_until(lambda: job.get_status() == JobStatus.STOPPED, what="the job to stop")
        again = subprocess.run(
            [*minirq_command, "stop", job.id], env=subprocess_env, capture_output=True, text=True
        )
        assert again.returncode == 1
        assert "is stopped, not running" in again.stderr
        down = subprocess.run(
            [*minirq_command, "shutdown", "w-cli"],
            env=subprocess_env,
            capture_output=True,
            text=True,
        )
        assert down.returncode == 0, down.stderr
        assert worker.wait(timeout=15) == 0
        missing = subprocess.run(
            [*minirq_command, "shutdown", "w-cli"],
            env=subprocess_env,
            capture_output=True,
            text=True,
        )
        assert missing.returncode == 1
        assert "no listening worker named w-cli" in missing.stderr
    finally:
        ff.stop_process(worker)
