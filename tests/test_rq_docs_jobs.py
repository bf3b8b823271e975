"""RQ 2.12's documented usages of jobs, results, registries and exceptions (docs/docs/jobs.md,
results.md, job_registries.md, exceptions.md and scheduling.md of its sdist), each with only
the import changed from ``rq`` to ``minirq``; ``Redis()`` is the test server's client. One
test per documented usage, named after its doc section. Workers and commands are in
``test_rq_docs_workers.py``."""

from __future__ import annotations

import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from redis import Redis

from minirq import Queue, Retry, SimpleWorker, cancel_job, get_current_job
from minirq.exceptions import AbandonedJobError, InvalidJobError
from minirq.job import Job, JobStatus
from minirq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
    clean_registries,
)
from minirq.repeat import Repeat
from minirq.results import Result
from minirq.serializers import JSONSerializer
from tests.rq_docs_api_jobs import (
    add,
    count_words_at_url,
    div_by_zero,
    echo_description_and_ttl,
    say_hello,
    say_nothing,
    sleep_then_return,
)


def work(queue: Queue) -> None:
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


# -- jobs.md ---------------------------------------------------------------------------


def test_the_job_lifecycle_and_job_status(connection: Redis) -> None:
    q = Queue(connection=connection)
    job = q.enqueue(say_hello)
    assert job.get_status() == "queued" and job.is_queued
    child = q.enqueue(say_hello, depends_on=job)
    assert child.get_status() == JobStatus.DEFERRED and child.is_deferred
    work(q)
    assert job.get_status() == JobStatus.FINISHED and job.is_finished
    assert job.id in q.finished_job_registry
    latest = job.latest_result()
    assert latest is not None and latest.type == Result.Type.SUCCESSFUL


def test_job_creation(connection: Redis) -> None:
    redis_conn = connection
    q = Queue(connection=redis_conn)
    job = q.enqueue(count_words_at_url, "http://nvie.com")
    assert Job.fetch(job.id, connection=redis_conn) == job
    mine = q.enqueue(count_words_at_url, "http://nvie.com", job_id="my_job_id")
    assert mine.id == "my_job_id"


def test_job_creation_with_job_create(connection: Redis) -> None:
    q = Queue(connection=connection)
    job = Job.create(count_words_at_url, ("http://nvie.com",), connection=connection)
    q.enqueue_job(job)
    named = Job.create(count_words_at_url, ("http://nvie.com",), id="my_job_id")
    assert named.id == "my_job_id"
    work(q)
    assert job.return_value() == 3
    # The doc's Job.create(f, 'http://nvie.com') passes a string as args; RQ would call
    # f('h', 't', 't', ...). minirq refuses it, naming the problem.
    with pytest.raises(InvalidJobError, match="args must be a tuple or list"):
        Job.create(count_words_at_url, "http://nvie.com")  # type: ignore[arg-type]


def test_job_creation_keyword_arguments(connection: Redis) -> None:
    job = Job.create(
        echo_description_and_ttl,
        ttl=30,  # This ttl will be used by RQ
        args=("http://nvie.com",),
        kwargs={"description": "Function description", "ttl": 15},
        connection=connection,
        timeout="1h", result_ttl=600, failure_ttl=300, description="words",
        status=JobStatus.QUEUED, origin="low", meta={"by": "docs"},
    )  # fmt: skip
    assert (job.ttl, job.timeout, job.result_ttl, job.failure_ttl) == (30, 3600, 600, 300)
    assert job.kwargs == {"description": "Function description", "ttl": 15}
    assert (job.origin, job.meta, job.description) == ("low", {"by": "docs"}, "words")


def test_retrieving_jobs(connection: Redis) -> None:
    redis = connection
    q = Queue(connection=redis)
    q.enqueue(count_words_at_url, "http://nvie.com", job_id="my_job_id")
    job = Job.fetch("my_job_id", connection=redis)
    assert job.get_status() == "queued"
    assert job.get_status(refresh=True) == JobStatus.QUEUED
    assert job.get_meta(refresh=True) == {}
    assert (job.origin, job.func_name) == ("default", "tests.rq_docs_api_jobs.count_words_at_url")
    assert (job.args, job.kwargs, job.result) == (("http://nvie.com",), {}, None)
    assert job.enqueued_at is not None and job.started_at is None and job.ended_at is None
    work(q)
    job.refresh()
    assert job.started_at is not None and job.ended_at is not None
    assert job.exc_info is None and job.worker_name is not None


def test_retrieving_jobs_with_fetch_many(connection: Redis) -> None:
    redis = connection
    q = Queue(connection=redis)
    q.enqueue(say_hello, job_id="foo_id")
    q.enqueue(say_nothing, job_id="bar_id")
    jobs = Job.fetch_many(["foo_id", "bar_id"], connection=redis)
    assert [(j.id, j.func_name.rsplit(".", 1)[1]) for j in jobs if j is not None] == [
        ("foo_id", "say_hello"),
        ("bar_id", "say_nothing"),
    ]


def test_canceling_a_job(connection: Redis) -> None:
    redis = connection
    Queue(connection=redis).enqueue(say_hello, job_id="my_job_id")
    job = Job.fetch("my_job_id", connection=redis)
    job.cancel()
    assert job.get_status() == JobStatus.CANCELED
    registry = CanceledJobRegistry(job.origin, connection=job.connection)
    assert job in registry
    assert job.exists()  # cancel does not delete the job


def test_canceling_a_job_with_cancel_job(connection: Redis) -> None:
    q = Queue(connection=connection)
    parent = q.enqueue(say_hello, job_id="2eafc1e6-48c2-464b-a0ff-88fd199d039c")
    child = q.enqueue(say_hello, depends_on=parent)
    cancel_job(
        "2eafc1e6-48c2-464b-a0ff-88fd199d039c", connection=connection, enqueue_dependents=True
    )
    assert child.get_status() == JobStatus.QUEUED


def test_job_queue_creation_with_custom_serializer(connection: Redis) -> None:
    for serializer in ("json", JSONSerializer):
        queue = Queue(connection=connection, serializer=serializer)
        job = queue.enqueue("tests.rq_docs_api_jobs.count_words_at_url", "https://example.com")
        assert connection.hget(job.key, "data") == b'[["https://example.com"],{}]'
        work(queue)
        assert job.return_value() == 3


def test_accessing_the_current_job(connection: Redis) -> None:
    assert get_current_job() is None
    q = Queue(connection=connection)
    job = q.enqueue("tests.fixtures.current_job_id")
    work(q)
    assert job.return_value() == job.id


def test_storing_arbitrary_data_on_jobs(connection: Redis) -> None:
    q = Queue(connection=connection)
    job = q.enqueue(add, 1, 2)
    work(q)
    assert job.get_meta() == {"handled_by": socket.gethostname()}
    assert job.return_value() == 3


def test_time_to_live_for_job_in_queue(connection: Redis) -> None:
    q = Queue(connection=connection)
    created = Job.create(func=say_hello, result_ttl=600, ttl=43, connection=connection)
    queued = q.enqueue(count_words_at_url, "http://nvie.com", result_ttl=600, ttl=43)
    assert (created.result_ttl, created.ttl) == (queued.result_ttl, queued.ttl) == (600, 43)
    assert 0 < connection.ttl(queued.key) <= 43


def test_job_position_in_queue(connection: Redis) -> None:
    q = Queue(connection=connection)
    job = q.enqueue(say_hello)
    job2 = q.enqueue(say_hello)
    assert job2.get_position() == 1
    assert q.get_job_position(job) == 0


def test_failed_jobs(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(div_by_zero, 1)
    registry = queue.failed_job_registry
    work(queue)
    assert len(registry) == 1
    assert job.is_failed
    kept = queue.enqueue(div_by_zero, failure_ttl=300)
    work(queue)
    assert 0 < connection.ttl(kept.key) <= 300


def test_requeuing_failed_jobs(connection: Redis) -> None:
    queue = Queue(connection=connection)
    queue.enqueue(div_by_zero, 1)
    work(queue)
    registry = queue.failed_job_registry
    for job_id in registry.get_job_ids():
        registry.requeue(job_id)  # Puts job back in its original queue
    assert len(registry) == 0
    assert len(queue) == 1


# -- results.md ------------------------------------------------------------------------


def test_job_results(connection: Redis) -> None:
    redis = connection
    q = Queue(connection=redis)
    q.enqueue(say_hello, job_id="my_id")
    q.enqueue(div_by_zero, job_id="bad_id")
    work(q)
    job = Job.fetch(id="my_id", connection=redis)
    result = job.latest_result()
    assert result is not None and result.type == result.Type.SUCCESSFUL
    assert result.return_value == "Hello Stranger!"
    assert job.return_value() == result.return_value
    failed = Job.fetch(id="bad_id", connection=redis).latest_result()
    assert failed is not None and failed.type == failed.Type.FAILED
    assert "ZeroDivisionError" in (failed.exc_string or "")
    for each in job.results():
        assert isinstance(each.created_at, datetime) and each.type == Result.Type.SUCCESSFUL
    assert (result.job_id, result.worker_name) == ("my_id", job.worker_name)


def test_job_results_blocking_until_a_result_arrives(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(sleep_then_return, 0.2, "slept")
    worker = threading.Thread(target=work, args=(queue,))
    worker.start()
    result = job.latest_result(timeout=60)
    worker.join(timeout=60)
    assert result is not None and result.return_value == "slept"


def test_result_ttl(connection: Redis) -> None:
    q = Queue(connection=connection)
    default, day = q.enqueue(say_hello), q.enqueue(say_hello, result_ttl=86400)
    gone, kept = q.enqueue(say_hello, result_ttl=0), q.enqueue(say_hello, result_ttl=-1)
    work(q)
    assert 0 < connection.ttl(default.key) <= 500
    assert 500 < connection.ttl(day.key) <= 86400
    assert not gone.exists()
    assert connection.ttl(kept.key) == -1


def test_asking_rq_to_retry(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue("tests.scheduling_jobs.return_rq_retry", "/dev/null", 5, max_retries=3)
    work(queue)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert job.number_of_retries == 3


def test_dealing_with_job_timeouts(connection: Redis) -> None:
    q = Queue(connection=connection)
    job = q.enqueue(echo_description_and_ttl, args=("x",), kwargs={"description": "d", "ttl": 1},
                    job_timeout=600)  # fmt: skip
    assert job.timeout == 600
    high = Queue("high", connection=connection, default_timeout=8)
    low = Queue("low", connection=connection, default_timeout=600)
    assert high.enqueue(say_hello).timeout == 8
    assert low.enqueue(say_hello).timeout == 600
    assert low.enqueue(say_hello, job_timeout=3600).timeout == 3600


# -- job_registries.md -----------------------------------------------------------------


def test_job_registries(connection: Redis) -> None:
    redis = connection
    queue = Queue(connection=redis)
    job = queue.enqueue(count_words_at_url, "http://nvie.com")
    registry = StartedJobRegistry(queue=queue)
    registry2 = StartedJobRegistry(name="my_queue", connection=redis)
    assert registry.get_queue() == queue and registry2.get_queue().name == "my_queue"
    assert registry.count == 0 and registry.get_job_ids() == []
    assert job not in registry and job.id not in registry
    work(queue)
    finished = FinishedJobRegistry(queue=queue)
    assert job in finished and job.id in finished


def test_job_registries_from_queue_objects(connection: Redis) -> None:
    queue = Queue(connection=connection)
    assert isinstance(queue.started_job_registry, StartedJobRegistry)
    assert isinstance(queue.deferred_job_registry, DeferredJobRegistry)
    assert isinstance(queue.finished_job_registry, FinishedJobRegistry)
    assert isinstance(queue.failed_job_registry, FailedJobRegistry)
    assert isinstance(queue.scheduled_job_registry, ScheduledJobRegistry)


def test_removing_jobs(connection: Redis) -> None:
    queue = Queue(connection=connection)
    first, second = queue.enqueue(div_by_zero), queue.enqueue(div_by_zero)
    work(queue)
    registry = FailedJobRegistry(queue=queue)
    registry.remove(first.id)
    assert registry.get_job_ids() == [second.id] and first.exists()
    for job_id in registry.get_job_ids():
        registry.remove(job_id, delete_job=True)
    assert len(registry) == 0 and not second.exists()


# -- exceptions.md ---------------------------------------------------------------------


def test_default_failed_job_registry(connection: Redis) -> None:
    redis = connection
    queue = Queue(connection=redis)
    queue.enqueue(div_by_zero)
    work(queue)
    registry = FailedJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        job = Job.fetch(job_id, connection=redis)
        assert "ZeroDivisionError" in (job.exc_info or "")


def test_retrying_failed_jobs(connection: Redis) -> None:
    queue = Queue(connection=connection)
    now = queue.enqueue(div_by_zero, retry=Retry(max=3))
    spaced = queue.enqueue(div_by_zero, retry=Retry(max=3, interval=60))
    longer = queue.enqueue(div_by_zero, retry=Retry(max=3, interval=[10, 30, 60]))
    work(queue)
    now.refresh()
    assert now.get_status() == JobStatus.FAILED and now.number_of_retries == 3
    assert spaced.get_status() == longer.get_status() == JobStatus.SCHEDULED


def test_built_in_exceptions_abandoned_job_error(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(say_hello)
    # A job whose worker died: its lease ran out three times (as the reaper finds it).
    connection.hset(job.key, mapping={"status": "started", "orphaned": 2, "run": "r"})
    connection.lrem(queue.key, 0, job.id)
    connection.zadd(queue.started_job_registry.key, {job.id: 1})
    clean_registries(queue)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert (job.exc_info or "").startswith(AbandonedJobError.__name__)


# -- scheduling.md ---------------------------------------------------------------------


def test_scheduling_jobs_enqueue_at(connection: Redis) -> None:
    queue = Queue(name="default", connection=connection)
    job = queue.enqueue_at(datetime(2019, 10, 8, 9, 15), say_hello)
    assert job.get_status() == JobStatus.SCHEDULED
    due = queue.scheduled_job_registry.get_scheduled_time(job)
    assert due == datetime(2019, 10, 8, 9, 15).astimezone()


def test_scheduling_jobs_enqueue_in(connection: Redis) -> None:
    queue = Queue(name="default", connection=connection)
    job = queue.enqueue_in(timedelta(seconds=10), say_nothing)
    assert job not in queue
    registry = ScheduledJobRegistry(queue=queue)
    assert job in registry


def test_using_the_repeat_class(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(say_hello, repeat=Repeat(times=3, interval=30))
    varied = queue.enqueue(say_hello, repeat=Repeat(times=3, interval=[5, 10, 15]))
    assert (job.repeats_left, job.repeat_intervals) == (3, [30])
    assert varied.repeat_intervals == [5, 10, 15]


def test_repeat_interval(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(say_hello, repeat=Repeat(times=3, interval=0))
    work(queue)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED and job.repeats_left == 0
    assert [Repeat.get_interval(n, [5, 10, 15]) for n in range(5)] == [5, 10, 15, 15, 15]


def test_checking_job_repeat_status(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(say_hello, repeat=Repeat(times=3, interval=30))
    assert job.repeats_left == 3
    assert job.repeat_intervals == [30]
    work(queue)
    job.refresh()
    assert job.repeats_left == 2 and job.get_status() == JobStatus.SCHEDULED


def test_job_executions(connection: Redis, tmp_path: Path) -> None:
    redis = connection
    q = Queue(connection=redis)
    started = tmp_path / "started"
    q.enqueue("tests.fixtures.touch_then_sleep", str(started), 0.5, job_id="my_job_id")
    worker = threading.Thread(target=work, args=(q,))
    worker.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    job = Job.fetch("my_job_id", connection=redis)
    executions = job.get_executions()  # Returns all current executions
    execution = job.get_executions()[0]  # Retrieves a single execution
    assert executions == [execution]
    assert execution.created_at == job.started_at  # When did this execution start?
    assert execution.last_heartbeat is not None  # Worker's last heartbeat
    assert execution.job is job and execution.composite_key.startswith("my_job_id:")
    worker.join(timeout=30)
