from __future__ import annotations

from typing import Any

import fakeredis
import pytest

from minirq import JobStatus, Queue, recorder
from tests import fixtures


def test_sync_mode_runs_at_enqueue_with_fakeredis() -> None:
    queue = Queue(is_async=False, connection=fakeredis.FakeRedis())
    job = queue.enqueue(fixtures.add, 2, 3)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 5
    assert queue.count == 0
    assert job.id in queue.finished_job_registry


def test_sync_mode_returns_the_failed_job_as_rq_does() -> None:
    queue = Queue(is_async=False, connection=fakeredis.FakeRedis())
    job = queue.enqueue(fixtures.div_by_zero)
    assert job.get_status() == JobStatus.FAILED
    assert job.is_failed
    assert "ZeroDivisionError" in (job.exc_info or "")
    assert [j.id for j in queue.failed_job_registry.get_jobs()] == [job.id]


def test_sync_mode_fails_a_job_that_asks_for_a_retry() -> None:
    """A job runs once in the enqueuing process: RQ's Retry form, returned, fails it."""
    queue = Queue(is_async=False, connection=fakeredis.FakeRedis())
    job = queue.enqueue(fixtures.returns_retry)
    assert job.get_status() == JobStatus.FAILED
    assert "Retry(max=2" in (job.exc_info or "")


def test_sync_mode_sets_current_job() -> None:
    queue = Queue(is_async=False, connection=fakeredis.FakeRedis())
    job = queue.enqueue(fixtures.current_job_id)
    assert job.return_value() == job.id


def test_sync_mode_records_through_the_workers_recorder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sync mode builds its finish and fail steps with the same recorder a worker uses."""
    built: list[str] = []
    for name in ("finish_call", "failure_call"):
        original = getattr(recorder, name)

        def spy(*args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            built.append(_name)
            return _original(*args, **kw)

        monkeypatch.setattr(recorder, name, spy)
    queue = Queue(is_async=False, connection=fakeredis.FakeRedis())
    assert queue.enqueue(fixtures.add, 1, 2).get_status() == JobStatus.FINISHED
    assert queue.enqueue(fixtures.div_by_zero).get_status() == JobStatus.FAILED
    assert built == ["finish_call", "failure_call"]
