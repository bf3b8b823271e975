"""The asyncio executor (AsyncWorker): one process, one event loop, up to N jobs at once;
timeouts, stop commands, callbacks, retries and dependents as the other workers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from minirq import (
    AsyncWorker,
    ConfigurationError,
    InvalidJobOperation,
    JobStatus,
    Queue,
    Retry,
    send_stop_job_command,
)
from minirq.base_worker import BaseWorker
from minirq.cli import main
from tests import async_fixtures, fixtures
from tests.feature_fixtures import wait_until


def test_the_async_worker_is_an_executor_of_the_one_loop(connection: redis.Redis) -> None:
    worker = AsyncWorker("q", connection=connection, concurrency=7)
    assert AsyncWorker.work is BaseWorker.work
    assert worker.capacity == 7
    assert worker.sync_threads == 7
    assert AsyncWorker("q", connection=connection, concurrency=50).sync_threads == 8


def test_runs_async_and_plain_jobs_and_records_them_as_other_workers(
    connection: redis.Redis, queue: Queue
) -> None:
    added = queue.enqueue(async_fixtures.async_add, 2, 3, on_success=async_fixtures.record_success)
    plain = queue.enqueue(fixtures.add, 4, 5)
    method = queue.enqueue(async_fixtures.AsyncAdder(10).plus, 5)
    wrapped = queue.enqueue(async_fixtures.returns_awaitable, 41)
    ids = [queue.enqueue(async_fixtures.async_current_job_id) for _ in range(5)]
    failing = queue.enqueue(async_fixtures.async_fail, on_failure=async_fixtures.record_failure)
    retried = queue.enqueue(async_fixtures.fail_once, "test:fail-once", retry=Retry(max=1))
    child = queue.enqueue(fixtures.say_hello, "child", depends_on=added)
    AsyncWorker([queue], connection=connection, concurrency=4).work(burst=True)
    assert [added.return_value(), plain.return_value(), method.return_value()] == [5, 9, 15]
    assert wrapped.return_value() == 42
    # Each task sees its own job, however many run at once.
    assert [job.return_value() for job in ids] == [job.id for job in ids]
    assert connection.get(f"test:async-success:{added.id}") == b"5"
    assert failing.get_status() == JobStatus.FAILED
    failing.refresh()
    assert "ValueError: async boom" in (failing.exc_info or "")
    assert connection.get(f"test:async-failure:{failing.id}") == b"ValueError"
    assert retried.get_status() == JobStatus.FINISHED
    assert retried.return_value() == "second run"
    assert child.get_status() == JobStatus.FINISHED
    assert queue.started_job_registry.count == 0


def test_runs_n_jobs_at_once(connection: redis.Redis, queue: Queue, tmp_path: Path) -> None:
    # Each job waits until all eight have arrived: run fewer at once and none gets past.
    jobs = [queue.enqueue(async_fixtures.rendezvous, str(tmp_path), 8, f"job{n}") for n in range(8)]
    AsyncWorker([queue], connection=connection, concurrency=8).work(burst=True)
    assert [job.return_value() for job in jobs] == [f"job{n}" for n in range(8)]


def test_plain_functions_run_in_the_thread_pool_without_blocking_the_loop(
    connection: redis.Redis, queue: Queue, tmp_path: Path
) -> None:
    folder = str(tmp_path)
    # Three plain functions block their threads until two coroutines join them: with a
    # plain function on the loop, the coroutines could not run and nobody would meet.
    blocking = [
        queue.enqueue(async_fixtures.blocking_rendezvous, folder, 5, f"sync{n}") for n in range(3)
    ]
    awaiting = [queue.enqueue(async_fixtures.rendezvous, folder, 5, f"async{n}") for n in range(2)]
    where_sync = queue.enqueue(async_fixtures.thread_name)
    where_async = queue.enqueue(async_fixtures.async_thread_name)
    AsyncWorker([queue], connection=connection, concurrency=5, sync_threads=3).work(burst=True)
    assert [job.get_status() for job in blocking + awaiting] == [JobStatus.FINISHED] * 5
    assert str(where_sync.return_value()).startswith("minirq-sync")
    assert where_async.return_value() == "minirq-event-loop"


def test_timeouts_cancel_the_task_and_fail_the_job(
    connection: redis.Redis, queue: Queue, tmp_path: Path
) -> None:
    slow = queue.enqueue(
        async_fixtures.async_sleep, 30, job_timeout=1, on_failure=async_fixtures.record_failure
    )
    stubborn = queue.enqueue(
        async_fixtures.ignore_cancellation, str(tmp_path / "stubborn"), job_timeout=1
    )
    blocking = queue.enqueue(async_fixtures.sync_sleep, 3, job_timeout=1)
    quick = queue.enqueue(async_fixtures.async_add, 1, 1)
    AsyncWorker([queue], connection=connection, concurrency=4).work(burst=True)
    for job in (slow, stubborn, blocking):
        assert job.get_status() == JobStatus.FAILED
        job.refresh()
        assert "JobTimeoutException: job exceeded its timeout of 1 s" in (job.exc_info or "")
    assert connection.get(f"test:async-failure:{slow.id}") == b"JobTimeoutException"
    blocking.refresh()
    assert "cannot be stopped" in (blocking.exc_info or "")
    assert quick.return_value() == 2


@pytest.mark.parametrize("stubborn", [False, True], ids=["cancellable", "ignores-cancel"])
def test_a_stop_command_cancels_the_job(
    connection: redis.Redis, queue: Queue, tmp_path: Path, stubborn: bool
) -> None:
    if stubborn:
        stopped = queue.enqueue(async_fixtures.never_stop, str(tmp_path / "stuck"))
    else:
        stopped = queue.enqueue(async_fixtures.async_sleep, 30)
    other = queue.enqueue(async_fixtures.async_sleep, 0.5)
    worker = AsyncWorker([queue], connection=connection, concurrency=2)
    thread = threading.Thread(target=worker.work, kwargs={"burst": True})
    thread.start()
    try:
        wait_until(lambda: stopped.get_status() == JobStatus.STARTED, what="the job to start")

        def send() -> bool:
            try:
                send_stop_job_command(connection, stopped.id)
            except InvalidJobOperation:
                return False  # the worker is not subscribed to its commands yet
            return True

        wait_until(send, what="the worker to hear the command")
        thread.join(20)
    finally:
        worker.request_stop(force=True)
        thread.join(20)
    assert not thread.is_alive()
    assert stopped.get_status() == JobStatus.STOPPED
    stopped.refresh()
    assert "stopped by a stop-job command" in (stopped.exc_info or "")
    assert other.get_status() == JobStatus.FINISHED


@pytest.mark.parametrize(
    "options",
    [{"concurrency": 0}, {"concurrency": "3"}, {"concurrency": True}, {"sync_threads": 0}],
)
def test_bad_options_are_refused(connection: redis.Redis, options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        AsyncWorker("q", connection=connection, **options)  # type: ignore[arg-type]


def test_cli_runs_the_async_worker(redis_url: str, connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(async_fixtures.async_add, n, n) for n in range(5)]
    result = CliRunner().invoke(
        main,
        ["worker", "--worker-class", "async", "--concurrency", "3", "--burst", "-u", redis_url],
    )
    assert result.exit_code == 0, result.output
    assert [job.return_value() for job in jobs] == [0, 2, 4, 6, 8]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--concurrency", "3"], "--concurrency needs --worker-class async"),
        (["--worker-class", "async", "--pool", "2"], "leave out --worker-class"),
        (["--worker-class", "async", "--concurrency", "0"], "0"),
    ],
)
def test_cli_refuses_contradicting_flags(redis_url: str, args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["worker", "--burst", "-u", redis_url, *args])
    assert result.exit_code != 0
    assert message in result.output


def test_jobs_taken_ahead_for_free_slots_go_back_in_order(
    connection: redis.Redis, queue: Queue
) -> None:
    jobs = [queue.enqueue(async_fixtures.async_add, n, 0) for n in range(6)]
    # Five free slots take five jobs in one round trip; max_jobs lets two run.
    AsyncWorker([queue], connection=connection, concurrency=5).work(burst=True, max_jobs=2)
    assert [job.get_status() for job in jobs[:2]] == [JobStatus.FINISHED] * 2
    assert queue.job_ids == [job.id for job in jobs[2:]]
    assert queue.started_job_registry.count == 0
    assert {job.get_status() for job in jobs[2:]} == {JobStatus.QUEUED}


def test_a_job_that_never_stops_when_cancelled_is_failed_anyway(
    connection: redis.Redis, queue: Queue, tmp_path: Path
) -> None:
    stuck = queue.enqueue(async_fixtures.never_stop, str(tmp_path / "stuck"), job_timeout=1)
    other = queue.enqueue(async_fixtures.async_add, 2, 2)
    AsyncWorker([queue], connection=connection, concurrency=2).work(burst=True)
    assert stuck.get_status() == JobStatus.FAILED
    stuck.refresh()
    assert "did not stop when its task was cancelled" in (stuck.exc_info or "")
    assert other.return_value() == 4
    assert queue.started_job_registry.count == 0
