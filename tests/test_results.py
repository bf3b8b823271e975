"""Results in RQ's form: job.latest_result(timeout=...), job.results(), Result."""

from __future__ import annotations

import threading
from pathlib import Path

import fakeredis
import redis

from minirq import Job, Queue, Repeat, Retry, SimpleWorker
from minirq.results import Result, ResultType
from tests import fixtures
from tests import scheduling_jobs as jobs


def _commands(connection: redis.Redis, name: str) -> int:
    stats = connection.info("commandstats")
    return int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))


def test_a_successful_run(queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 2, 3)
    assert job.latest_result() is None
    assert job.results() == []
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    result = job.latest_result()
    assert result is not None
    assert result.type == Result.Type.SUCCESSFUL == ResultType.SUCCESSFUL
    assert result.return_value == 5
    assert result.exc_string is None
    job.refresh()
    assert result.created_at == job.ended_at
    assert result.id and result.job_id == job.id
    assert job.results() == [result]
    assert job.return_value() == 5


def test_a_failed_run(queue: Queue) -> None:
    job = queue.enqueue(fixtures.div_by_zero)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    result = job.latest_result()
    assert result is not None
    assert result.type == ResultType.FAILED
    assert "ZeroDivisionError" in (result.exc_string or "")
    assert result.return_value is None


def test_a_run_waiting_for_its_retry_shows_its_failure(queue: Queue, tmp_path: Path) -> None:
    job = queue.enqueue(jobs.fail_until, str(tmp_path / "runs"), 1, retry=Retry(max=2, interval=60))
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == "scheduled"
    result = job.latest_result()
    assert result is not None and result.type == ResultType.FAILED
    assert "failing run 1" in (result.exc_string or "")


def test_latest_result_waits_for_the_outcome(queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 1)
    seen: list[Result | None] = []
    waiter = threading.Thread(target=lambda: seen.append(job.latest_result(timeout=30)))
    waiter.start()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    waiter.join(timeout=30)
    assert not waiter.is_alive()
    assert seen[0] is not None and seen[0].return_value == 2


def test_latest_result_wakes_on_a_failure_too(queue: Queue) -> None:
    job = queue.enqueue(fixtures.div_by_zero)
    seen: list[Result | None] = []
    waiter = threading.Thread(target=lambda: seen.append(job.latest_result(timeout=30)))
    waiter.start()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    waiter.join(timeout=30)
    assert seen[0] is not None and seen[0].type == ResultType.FAILED


def test_waiting_does_not_poll(queue: Queue, connection: redis.Redis) -> None:
    """A wait that sees no outcome reads the job a bounded number of times, however
    long it waits: it sleeps on the result channel."""
    job = queue.enqueue(fixtures.add, 1, 1)
    before = _commands(connection, "hgetall")
    assert job.latest_result(timeout=1) is None
    assert _commands(connection, "hgetall") - before <= 3


def test_a_job_gone_has_no_result(queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 1, result_ttl=0)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.latest_result(timeout=1) is None


def test_a_result_that_does_not_decode_raises_when_read(
    queue: Queue, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.add, 1, 1)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    connection.hset(job.key, "result", b"\x80not a pickle")
    result = Job.fetch(job.id, connection=connection).latest_result()
    assert result is not None and result.type == ResultType.SUCCESSFUL
    try:
        _ = result.return_value
    except Exception as exc:
        assert type(exc).__name__ == "DeserializationError"
    else:
        raise AssertionError("a broken result must not decode")


def test_results_in_sync_mode_with_fakeredis() -> None:
    queue = Queue(is_async=False, connection=fakeredis.FakeRedis())
    ok = queue.enqueue(fixtures.add, 2, 2)
    failed = queue.enqueue(fixtures.div_by_zero)
    ok_result, failed_result = ok.latest_result(timeout=1), failed.latest_result()
    assert ok_result is not None and ok_result.return_value == 4
    assert failed_result is not None and failed_result.type == ResultType.FAILED


def test_a_job_nobody_waits_for_publishes_nothing(queue: Queue, connection: redis.Redis) -> None:
    """Only a waited-on job's recording publishes on its result channel: the others pay
    no extra command."""
    quiet = queue.enqueue(fixtures.add, 1, 1)
    before = _commands(connection, "publish")
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert quiet.get_status() == "finished"
    assert _commands(connection, "publish") == before


def test_a_repeat_success_replaces_an_earlier_failure(queue: Queue, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(
        jobs.fail_until, str(path), 1, retry=Retry(max=1), repeat=Repeat(times=1, interval=60)
    )
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == "scheduled"
    result = job.latest_result()
    assert result is not None and result.type == ResultType.SUCCESSFUL
    assert result.return_value == 2
