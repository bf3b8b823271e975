"""RQ's job API: Job.create with RQ's arguments, save, exists, cancel_job, requeue_job, and
the attributes RQ users read."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import redis

from minirq import (
    Callback,
    ConfigurationError,
    Dependency,
    InvalidJobError,
    Job,
    JobIdTypeError,
    JobStatus,
    NoSuchJobError,
    Queue,
    Repeat,
    Retry,
    SimpleWorker,
    cancel_job,
    requeue_job,
)
from tests import feature_fixtures as ff
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


def test_a_job_id_not_a_string_is_a_type_error_too(connection: redis.Redis, queue: Queue) -> None:
    for bad in (1234, b"bytes", None.__class__):
        with pytest.raises(JobIdTypeError, match="job_id must be a string") as raised:
            queue.enqueue(fixtures.add, 1, 2, job_id=bad)
        assert isinstance(raised.value, TypeError) and isinstance(raised.value, InvalidJobError)
        with pytest.raises(TypeError):
            Job.create(fixtures.add, (1, 2), id=bad, connection=connection)
    with pytest.raises(InvalidJobError) as bad_text:
        queue.enqueue(fixtures.add, 1, 2, job_id="bad id")
    assert not isinstance(bad_text.value, TypeError)
    assert connection.keys("*") == []


def test_save_refuses_a_job_with_no_function(connection: redis.Redis, queue: Queue) -> None:
    with pytest.raises(InvalidJobError, match="no function to store"):
        Job("empty", connection=connection).save()
    assert connection.keys("*") == []
    stored = queue.enqueue(fixtures.add, 1, 2, job_id="stored")
    blank = Job("stored", connection=connection)
    blank.meta["x"] = 1
    with pytest.raises(InvalidJobError, match="no function to store"):
        blank.save()  # an empty record would write its defaults over the stored job's
    assert Job.fetch("stored", connection=connection).meta == {}
    assert stored.get_status() == JobStatus.QUEUED


def test_result_after_perform_in_this_process(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 2, 3)
    assert job.result is None
    assert job.perform() == 5
    assert job.result == 5  # as in RQ: the value this object's perform() returned
    assert job.return_value() is None  # nothing was recorded: no worker ran it
    assert job.get_status() == JobStatus.QUEUED
    job.refresh()
    assert job.result is None


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


@pytest.mark.parametrize("max_retries", [1, 2, 5])
def test_number_of_retries_of_a_retry_the_job_asked_for(
    queue: Queue, tmp_path: Path, max_retries: int
) -> None:
    asked = queue.enqueue(jobs.return_rq_retry, str(tmp_path / "a"), 1, max_retries)
    raised = queue.enqueue(jobs.raise_retry, str(tmp_path / "b"), 1)
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.work(burst=True, max_jobs=2)
    for job, left in ((asked, max_retries - 1), (raised, 2)):  # RetryJob's default is 3
        job.refresh()
        assert job.get_status() == JobStatus.QUEUED
        assert (job.number_of_retries, job.retries_left) == (1, left)
    worker.work(burst=True)
    for job in (asked, raised):
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED and job.number_of_retries == 1


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
    assert [Retry.get_interval(n, None) for n in range(3)] == [0, 0, 0]
    assert [Retry.get_interval(n, 3) for n in range(3)] == [3, 3, 3]
    with pytest.raises(IndexError):
        Repeat.get_interval(0, [])
    job = queue.enqueue(fixtures.add, 1, 2, repeat=Repeat(times=2, interval=[30, 60]))
    assert job.repeat_intervals == [30, 60]
    assert queue.enqueue(fixtures.add, 1, 2).repeat_intervals is None


def test_dependencies_are_met(queue: Queue) -> None:
    parent = queue.enqueue(fixtures.add, 1, 2)
    strict = queue.enqueue(fixtures.add, 1, 2, depends_on=parent)
    failing = queue.enqueue(fixtures.div_by_zero)
    lenient = queue.enqueue(fixtures.add, 3, 4, depends_on=Dependency(failing, allow_failure=True))
    assert not strict.dependencies_are_met() and not lenient.dependencies_are_met()
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert strict.dependencies_are_met(parent) and lenient.dependencies_are_met()
    parent.delete()
    assert strict.dependencies_are_met()  # a parent that is gone counts as done


def test_get_executions_is_the_running_run(queue: Queue, tmp_path: Path) -> None:
    started = tmp_path / "started"
    job = queue.enqueue(fixtures.touch_then_sleep, str(started), 1.0)
    assert job.get_executions() == []
    worker = threading.Thread(
        target=SimpleWorker([queue], connection=queue.connection).work, kwargs={"burst": True}
    )
    worker.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    (execution,) = job.get_executions()
    job.refresh()
    assert execution.id == job.run_token and execution.job_id == job.id
    assert execution.composite_key == f"{job.id}:{job.run_token}"
    assert execution.created_at == job.started_at
    assert execution.worker_name == job.worker_name
    assert execution.last_heartbeat is not None
    worker.join(timeout=30)
    assert job.get_executions() == []


def test_a_created_job_without_timeout_takes_its_queues(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection, default_timeout=15)
    assert queue.enqueue_job(Job.create(fixtures.add, (1, 2), connection=connection)).timeout == 15
    given = Job.create(fixtures.add, (1, 2), connection=connection, timeout=40)
    assert queue.enqueue_job(given).timeout == 40


def test_a_saved_parent_enqueued_later_releases_its_dependents(
    connection: redis.Redis, queue: Queue
) -> None:
    parent = Job.create(fixtures.add, (1, 2), connection=connection)
    parent.save()
    child = Job.create(fixtures.add, (3, 4), connection=connection, depends_on=parent)
    queue.enqueue_job(child)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert child.get_status() == JobStatus.DEFERRED
    queue.enqueue_job(parent)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert parent.get_status() == JobStatus.FINISHED
    assert child.get_status() == JobStatus.FINISHED


def test_a_failed_parent_run_again_releases_its_dependents(queue: Queue, tmp_path: Path) -> None:
    parent = queue.enqueue(jobs.fail_until, str(tmp_path / "runs"), 1, job_id="parent")
    child = queue.enqueue(fixtures.add, 1, 2, depends_on=parent)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert parent.get_status() == JobStatus.FAILED
    assert child.get_status() == JobStatus.DEFERRED
    queue.enqueue(jobs.fail_until, str(tmp_path / "runs"), 1, job_id="parent")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert child.get_status() == JobStatus.FINISHED


def test_exists_on_a_job_may_name_another_id(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    other = queue.enqueue(fixtures.add, 3, 4)
    assert job.exists(other.id, connection=connection)
    assert not job.exists("nope")
    with pytest.raises(TypeError, match="needs the job id"):
        Job.exists()


def test_description_can_be_set_and_saved(queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    job.description = "adding up"
    job.save()
    assert Job.fetch(job.id, connection=queue.connection).description == "adding up"


def test_callback_functions_of_a_job(queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2, on_success=ff.record_success)
    fetched = Job.fetch(job.id, connection=queue.connection)
    assert fetched.success_callback is ff.record_success
    assert fetched.failure_callback is None and fetched.stopped_callback is None
    timed = queue.enqueue(fixtures.add, 1, 2, on_failure=Callback(ff.record_failure, timeout=10))
    assert timed.failure_callback_timeout == 10
    assert timed.success_callback_timeout == timed.stopped_callback_timeout == 60


def test_origin_of_a_created_job_can_be_set_before_saving(connection: redis.Redis) -> None:
    job = Job.create(fixtures.div_by_zero, args=(1,), connection=connection)
    job.origin = "fake"
    job.save()
    assert Job.fetch(job.id, connection=connection).origin == "fake"


def test_enqueue_job_makes_the_queue_the_jobs_origin(connection: redis.Redis) -> None:
    job = Job.create(fixtures.add, (1, 2), connection=connection, origin="elsewhere")
    Queue("low", connection=connection).enqueue_job(job)
    assert Job.fetch(job.id, connection=connection).origin == "low"
