"""RQ 2.12's documented usages of queues and enqueueing (docs/index.md and docs/docs/index.md
of its sdist), each with only the import changed from ``rq`` to ``minirq``; ``Redis()`` is
the test server's client. One test per documented usage, named after its doc section."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from redis import Redis

from minirq import Callback, Queue, Retry, SimpleWorker
from minirq.decorators import job
from minirq.exceptions import DuplicateJobError
from minirq.group import Group
from minirq.job import Dependency, JobStatus
from minirq.registry import ScheduledJobRegistry
from minirq.repeat import Repeat
from tests.rq_docs_api_jobs import (
    add_numbers,
    count_words_at_url,
    div_by_zero,
    echo_description_and_ttl,
    fib,
    report_failure,
    report_stopped,
    report_success,
    say_hello,
)


def work(queue: Queue) -> None:
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


# -- docs/index.md ---------------------------------------------------------------------


def test_getting_started(connection: Redis) -> None:
    q = Queue(connection=connection)
    result = q.enqueue(count_words_at_url, "https://python-rq.org")
    work(q)
    assert result.return_value() == 3


def test_getting_started_scheduling_jobs(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue_at(datetime(2019, 10, 8, 9, 15), say_hello)
    later = queue.enqueue_in(timedelta(seconds=10), say_hello)
    assert job.get_status() == later.get_status() == JobStatus.SCHEDULED
    assert job in queue.scheduled_job_registry and later in queue.scheduled_job_registry


def test_getting_started_repeating_jobs(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(say_hello, repeat=Repeat(times=3, interval=60))
    other = queue.enqueue(say_hello, repeat=Repeat(times=3, interval=[10, 30, 60]))
    assert (job.repeats_left, job.repeat_intervals) == (3, [60])
    assert other.repeat_intervals == [10, 30, 60]


def test_getting_started_retrying_failed_jobs(connection: Redis) -> None:
    queue = Queue(connection=connection)
    now = queue.enqueue(say_hello, retry=Retry(max=3))
    spaced = queue.enqueue(say_hello, retry=Retry(max=3, interval=[10, 30, 60]))
    assert now.retries_left == 3 and now.retry_intervals == [0]
    assert spaced.retry_intervals == [10, 30, 60]


# -- docs/docs/index.md: Enqueueing Jobs -----------------------------------------------


def test_enqueueing_jobs(connection: Redis) -> None:
    redis_conn = connection
    q = Queue(connection=redis_conn)  # no args implies the default queue
    job = q.enqueue(count_words_at_url, "http://nvie.com")
    assert job.result is None
    work(q)
    assert job.result == 3
    assert job.return_value() == 3


def test_enqueueing_jobs_on_a_named_queue(connection: Redis) -> None:
    q = Queue("low", connection=connection)
    q.enqueue(count_words_at_url, "http://nvie.com")
    assert len(q) == 1 and q.name == "low"


def test_enqueueing_jobs_options(connection: Redis) -> None:
    q = Queue(connection=connection)
    parent = q.enqueue(say_hello)
    job = q.enqueue(
        say_hello, "Ann", job_timeout="3m", result_ttl=600, ttl=60, failure_ttl=300,
        depends_on=parent, job_id="greeting", at_front=True, description="greets Ann",
        on_success=report_success, on_failure=report_failure, on_stopped=report_stopped,
    )  # fmt: skip
    assert (job.id, job.timeout, job.result_ttl, job.ttl, job.failure_ttl) == (
        "greeting", 180, 600, 60, 300,
    )  # fmt: skip
    assert job.description == "greets Ann"
    assert job.dependency_ids == [parent.id]


def test_enqueueing_jobs_explicit_args_and_kwargs(connection: Redis) -> None:
    q = Queue("low", connection=connection)
    job = q.enqueue(
        echo_description_and_ttl,
        ttl=30,  # This ttl will be used by RQ
        args=("http://nvie.com",),
        kwargs={
            "description": "Function description",  # This is passed on to the function
            "ttl": 15,  # This is passed on to the function
        },
    )
    assert job.ttl == 30
    work(q)
    assert job.return_value() == ["http://nvie.com", "Function description", 15]


def test_enqueueing_jobs_by_string_reference(connection: Redis) -> None:
    q = Queue("low", connection=connection)
    job = q.enqueue("tests.fixtures.add", 3, 4)
    work(q)
    assert job.return_value() == 7


def test_bulk_job_enqueueing(connection: Redis) -> None:
    q = Queue(connection=connection)
    jobs = q.enqueue_many(
        [
            Queue.prepare_data(count_words_at_url, ("http://nvie.com",), job_id="my_job_id"),
            Queue.prepare_data(count_words_at_url, ("http://nvie.com",), job_id="my_other_job_id"),
        ]
    )
    assert [j.id for j in jobs] == q.job_ids == ["my_job_id", "my_other_job_id"]


def test_bulk_job_enqueueing_with_a_pipeline(connection: Redis) -> None:
    q = Queue(connection=connection)
    with q.connection.pipeline() as pipe:
        jobs = q.enqueue_many(
            [
                Queue.prepare_data(count_words_at_url, ("http://nvie.com",), job_id="my_job_id"),
                Queue.prepare_data(
                    count_words_at_url, ("http://nvie.com",), job_id="my_other_job_id"
                ),
            ],
            pipeline=pipe,
        )
        pipe.execute()
    assert q.job_ids == [j.id for j in jobs]


def test_grouping_jobs(connection: Redis) -> None:
    redis_conn = connection
    q = Queue(connection=redis_conn)
    group = Group.create(connection=redis_conn)
    jobs = group.enqueue_many(
        queue=q,
        job_datas=[
            Queue.prepare_data(count_words_at_url, ("http://nvie.com",), job_id="my_job_id"),
            Queue.prepare_data(count_words_at_url, ("http://nvie.com",), job_id="my_other_job_id"),
        ],
    )
    assert sorted(j.id for j in group.get_jobs()) == sorted(j.id for j in jobs)
    fetched = Group.fetch(id=group.id, connection=redis_conn)
    assert fetched == group


def test_unique_jobs(connection: Redis) -> None:
    queue = Queue(connection=connection)
    queue.enqueue(say_hello, 42, job_id="welcome-email-42", unique=True)
    with pytest.raises(DuplicateJobError):
        queue.enqueue(say_hello, 42, job_id="welcome-email-42", unique=True)
    job = queue.enqueue(say_hello, job_id="my-job", unique=True)
    job.delete()
    job = queue.enqueue(say_hello, job_id="my-job", unique=True)
    scheduled = queue.enqueue_in(
        timedelta(minutes=30), say_hello, job_id="scheduled-task", unique=True
    )
    assert job.get_status() == JobStatus.QUEUED
    assert scheduled.get_status() == JobStatus.SCHEDULED


def test_job_dependencies(connection: Redis) -> None:
    q = Queue("low", connection=connection)
    report_job = q.enqueue(say_hello, "report")
    sent = q.enqueue(say_hello, depends_on=report_job)
    foo_job, bar_job = q.enqueue(say_hello), q.enqueue(say_hello)
    baz_job = q.enqueue(say_hello, depends_on=[foo_job, bar_job])
    assert sent.get_status() == baz_job.get_status() == JobStatus.DEFERRED
    work(q)
    assert sent.get_status() == baz_job.get_status() == JobStatus.FINISHED


def test_job_dependencies_with_the_dependency_class(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job_1 = queue.enqueue(div_by_zero)
    dependency = Dependency(jobs=[job_1], allow_failure=True, enqueue_at_front=True)
    job_2 = queue.enqueue(say_hello, depends_on=dependency)
    work(queue)
    assert job_1.get_status() == JobStatus.FAILED
    assert job_2.get_status() == JobStatus.FINISHED


def test_job_callbacks(connection: Redis) -> None:
    queue = Queue(connection=connection)
    ok = queue.enqueue(
        say_hello, on_success=report_success, on_failure=report_failure,
        on_stopped=report_stopped,
    )  # fmt: skip
    bad = queue.enqueue(div_by_zero, on_failure=report_failure)
    work(queue)
    calls = [c.decode() for c in connection.lrange("rq-docs:callbacks", 0, -1)]
    assert calls == [f"success {ok.id} Hello Stranger!", f"failure {bad.id} ZeroDivisionError"]


def test_callback_class_and_callback_timeouts(connection: Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(
        say_hello,
        on_success=Callback(report_success),
        on_failure=Callback(report_failure, timeout=10),
        on_stopped=Callback(report_stopped, timeout="2m"),
    )
    by_name = queue.enqueue(say_hello, on_success=Callback("tests.rq_docs_api_jobs.report_success"))
    work(queue)
    calls = [c.decode() for c in connection.lrange("rq-docs:callbacks", 0, -1)]
    assert calls == [f"success {job.id} Hello Stranger!", f"success {by_name.id} Hello Stranger!"]


def test_working_with_queues(connection: Redis) -> None:
    q = Queue(connection=connection)
    first = q.enqueue(say_hello, job_id="my_id")
    q.enqueue(say_hello, depends_on=first)  # deferred: not counted
    assert len(q) == 1
    assert q.job_ids == ["my_id"]
    assert q.jobs == [first]
    assert q.fetch_job("my_id") == first
    assert q.empty() == 1
    q.delete(delete_jobs=True)
    assert q.is_empty()


def test_the_delayed_result(connection: Redis) -> None:
    q = Queue(connection=connection)
    job = q.enqueue(fib, 10)
    assert job.result is None
    work(q)
    assert job.result == 55


def test_the_job_decorator(connection: Redis) -> None:
    my_redis_conn = connection
    add = job("low", connection=my_redis_conn, timeout=5)(add_numbers)
    queued = add.delay(3, 4)  # type: ignore[attr-defined]
    assert queued.timeout == 5 and queued.origin == "low"
    work(Queue("low", connection=my_redis_conn))
    assert queued.return_value() == 7


def test_bypassing_workers(connection: Redis) -> None:
    my_redis_conn = connection
    q = Queue("low", is_async=False, connection=my_redis_conn)
    job = q.enqueue(fib, 8)
    assert job.result == 21


def test_scheduled_jobs_are_in_the_scheduled_registry(connection: Redis) -> None:
    queue = Queue(name="default", connection=connection)
    job = queue.enqueue_in(timedelta(seconds=10), say_hello)
    assert job not in queue
    registry = ScheduledJobRegistry(queue=queue)
    assert job in registry
