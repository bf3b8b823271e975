"""RQ's job API: Job.create with RQ's arguments, save, exists, cancel_job, requeue_job, and
the attributes RQ users read."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from minirq import (
    ConfigurationError,
    Dependency,
    InvalidJobError,
    Job,
    JobStatus,
    NoSuchJobError,
    Queue,
    Repeat,
    Retry,
    SimpleWorker,
    cancel_job,
    requeue_job,
)
from tests import fixtures
from tests import scheduling_jobs as jobs


def test_create_takes_rqs_arguments(connection: redis.Redis) -> None:
    parent = Job.create(fixtures.add, (1, 2), connection=connection, id="parent")
    job = Job.create(
        fixtures.add,
        args=(1,),
        kwargs={"b": 2},
        connection=connection,
        id="child",
        timeout=30,
        ttl=600,
        result_ttl=60,
        failure_ttl=120,
        description="adding",
        depends_on=parent,
        meta={"owner": "ann"},
        retry=Retry(max=2, interval=[5, 10]),
        origin="low",
    )
    assert (job.id, job.origin, job.args, job.kwargs) == ("child", "low", (1,), {"b": 2})
    assert (job.timeout, job.ttl, job.result_ttl, job.failure_ttl) == (30, 600, 60, 120)
    assert job.description == "adding"
    assert job.meta == {"owner": "ann"}
    assert job.dependency_ids == ["parent"]
    assert job.retry_intervals == [5, 10]
    assert job.get_status(refresh=False) == JobStatus.CREATED
    assert not job.exists()


def test_create_defaults_the_timeout_and_status(connection: redis.Redis) -> None:
    job = Job.create(fixtures.add, (1, 2), connection=connection)
    assert job.timeout == 180
    assert job.get_status(refresh=False) == JobStatus.CREATED
    queued = Job.create(fixtures.add, (1, 2), connection=connection, status="queued")
    assert queued.get_status(refresh=False) == JobStatus.QUEUED


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"status": "sleeping"}, InvalidJobError, "unknown job status 'sleeping'"),
        ({"timeout": "soon"}, ConfigurationError, "job_timeout"),
        ({"id": "has space"}, InvalidJobError, "invalid job_id"),
        ({"meta": [1]}, InvalidJobError, "meta must be a dict"),
        ({"retry": 3}, ConfigurationError, "retry must be a Retry"),
    ],
)
def test_create_refuses_bad_arguments(
    connection: redis.Redis, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Job.create(fixtures.add, (1, 2), connection=connection, **kwargs)  # type: ignore[arg-type]
    assert connection.dbsize() == 0


def test_save_stores_a_created_job_in_no_queue_then_enqueue_runs_it(
    connection: redis.Redis, queue: Queue
) -> None:
    job = Job.create(fixtures.add, (2, 3), connection=connection)
    job.save()
    assert Job.exists(job.id, connection=connection)
    stored = Job.fetch(job.id, connection=connection)
    assert stored.get_status() == JobStatus.CREATED
    assert stored.args == (2, 3)
    assert queue.is_empty()
    queue.enqueue_job(stored)
    assert queue.job_ids == [job.id]
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert stored.get_status() == JobStatus.FINISHED
    assert stored.return_value() == 5


def test_save_on_a_stored_job_writes_meta_but_never_its_state(queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    stale = Job.fetch(job.id, connection=queue.connection)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    stale.meta["seen"] = True
    stale.save()  # its record still says queued: that must not be written back
    fresh = Job.fetch(job.id, connection=queue.connection)
    assert fresh.get_status() == JobStatus.FINISHED
    assert fresh.meta == {"seen": True}
    assert fresh.return_value() == 3


def test_exists_on_the_class_and_on_a_job(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    assert Job.exists(job.id, connection=connection)
    assert job.exists()
    assert not Job.exists("nope", connection=connection)
    assert not Job.exists(job.id, connection=connection, prefix="other")


def test_cancel_job_and_requeue_job(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    cancel_job(job.id, connection=connection)
    assert job.get_status() == JobStatus.CANCELED
    assert queue.is_empty()
    requeued = requeue_job(job.id, connection=connection)
    assert requeued.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]
    with pytest.raises(NoSuchJobError):
        cancel_job("nope", connection=connection)


def test_position_ttl_and_repeats(queue: Queue) -> None:
    first = queue.enqueue(fixtures.add, 1, 2, ttl=300)
    second = queue.enqueue(fixtures.add, 1, 2, repeat=Repeat(times=3))
    assert (first.get_position(), second.get_position()) == (0, 1)
    assert first.get_ttl() == 300
    assert second.get_ttl() is None and second.get_ttl(default_ttl=5) == 5
    assert second.repeats_left == 3 and first.repeats_left is None
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert first.get_position() is None


def test_number_of_retries_counts_the_retries(queue: Queue, tmp_path: Path) -> None:
    job = queue.enqueue(jobs.fail_until, str(tmp_path / "runs"), 2, retry=Retry(max=3))
    assert job.number_of_retries == 0
    assert job.retry_intervals == [0]
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.number_of_retries == 2


def test_depends_on_a_list_mixing_dependencies_and_jobs(queue: Queue) -> None:
    first, second = queue.enqueue(fixtures.add, 1, 2), queue.enqueue(fixtures.add, 3, 4)
    child = queue.enqueue(
        fixtures.add, 5, 6, depends_on=[Dependency(jobs=[first], allow_failure=True), second.id]
    )
    assert child.dependency_ids == [first.id, second.id]
    assert child.allow_dependency_failures
    assert child.get_status() == JobStatus.DEFERRED


def test_intervals_in_rqs_form(queue: Queue) -> None:
    assert Retry(max=3, interval=5).intervals == [5]
    assert Repeat(times=3, interval=[5, 10]).intervals == [5, 10]
    assert [Repeat.get_interval(n, [5, 10, 15]) for n in range(4)] == [5, 10, 15, 15]
    assert Retry.get_interval(0, [7]) == 7
    job = queue.enqueue(fixtures.add, 1, 2, repeat=Repeat(times=2, interval=[30, 60]))
    assert job.repeat_intervals == [30, 60]
    assert queue.enqueue(fixtures.add, 1, 2).repeat_intervals is None
