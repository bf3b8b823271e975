from __future__ import annotations

import datetime as dt

import pytest
import redis

from minirq import (
    InvalidFunctionError,
    InvalidJobError,
    Job,
    JobStatus,
    Queue,
    SerializationError,
)
from minirq.exceptions import ConfigurationError
from tests import fixtures


def test_enqueue_stores_job_and_pushes_id(queue: Queue, connection: redis.Redis) -> None:
    job = queue.enqueue(fixtures.say_hello, "Ann", description="greet")
    assert queue.job_ids == [job.id]
    assert len(queue) == 1 and queue.count == 1
    fetched = Job.fetch(job.id, connection=connection)
    assert fetched.func_name == "tests.fixtures.say_hello"
    assert fetched.args == ("Ann",)
    assert fetched.kwargs == {}
    assert fetched.get_status() == JobStatus.QUEUED
    assert fetched.origin == "default"
    assert fetched.description == "greet"
    assert fetched.enqueued_at is not None and fetched.enqueued_at.tzinfo == dt.UTC
    assert connection.sismember("minirq:queues", "default")


def test_enqueue_by_dotted_name(queue: Queue) -> None:
    job = queue.enqueue("tests.fixtures.add", 1, b=2)
    assert job.func_name == "tests.fixtures.add"
    assert job.kwargs == {"b": 2}
    assert job.description == "tests.fixtures.add(1, b=2)"


def test_job_options_are_not_passed_to_the_function(queue: Queue) -> None:
    job = queue.enqueue(
        fixtures.echo,
        1,
        job_timeout="5m",
        result_ttl=10,
        ttl=60,
        failure_ttl="1h",
        meta={"a": 1},
        job_id="my-job.1",
    )
    job = Job.fetch("my-job.1", connection=queue.connection)
    assert job.kwargs == {}
    assert (job.timeout, job.result_ttl, job.ttl, job.failure_ttl) == (300, 10, 60, 3600)
    assert job.meta == {"a": 1}


def test_enqueue_call_passes_option_names_to_the_function(queue: Queue) -> None:
    job = queue.enqueue_call(fixtures.echo, args=[1], kwargs={"job_timeout": 3}, timeout=9)
    assert job.kwargs == {"job_timeout": 3}
    assert job.timeout == 9


def test_at_front(queue: Queue) -> None:
    first = queue.enqueue(fixtures.say_hello)
    second = queue.enqueue(fixtures.say_hello, at_front=True)
    assert queue.job_ids == [second.id, first.id]


def test_enqueue_many_writes_all_in_one_batch(queue: Queue) -> None:
    jobs = queue.enqueue_many(
        [Queue.prepare_data(fixtures.add, (i, i), job_id=f"batch-{i}") for i in range(5)]
    )
    assert [j.id for j in jobs] == [f"batch-{i}" for i in range(5)]
    assert queue.job_ids == [f"batch-{i}" for i in range(5)]


def test_enqueue_many_refuses_all_if_one_is_bad(queue: Queue) -> None:
    with pytest.raises(InvalidJobError):
        queue.enqueue_many(
            [
                Queue.prepare_data(fixtures.add, (1, 2)),
                Queue.prepare_data(fixtures.add, (1, 2), job_id="bad id!"),
            ]
        )
    assert queue.count == 0


def test_enqueue_many_over_a_key_that_is_not_a_job_writes_nothing(queue: Queue) -> None:
    queue.connection.set(queue.keys.job("taken"), "not a hash")
    with pytest.raises(InvalidJobError, match="is not a job hash; nothing was written"):
        queue.enqueue_many(
            [
                Queue.prepare_data(fixtures.add, (1, 2)),
                Queue.prepare_data(fixtures.add, (1, 2), job_id="taken"),
            ]
        )
    assert queue.count == 0
    assert queue.connection.get(queue.keys.job("taken")) == b"not a hash"


def test_enqueue_many_with_dependencies_in_the_batch(queue: Queue) -> None:
    parent = queue.enqueue(fixtures.add, 1, 1)
    jobs = queue.enqueue_many(
        [
            Queue.prepare_data(fixtures.add, (2, 2), job_id="first"),
            Queue.prepare_data(fixtures.add, (3, 3), depends_on=parent, job_id="waits"),
            Queue.prepare_data(fixtures.add, (4, 4), depends_on="first", job_id="waits-too"),
            Queue.prepare_data(fixtures.add, (5, 5)),
        ]
    )
    assert [j.get_status() for j in jobs] == ["queued", "deferred", "deferred", "queued"]
    assert queue.job_ids == [parent.id, "first", jobs[3].id]


def test_same_custom_id_replaces_an_ended_job_and_its_old_fields(queue: Queue) -> None:
    queue.enqueue(fixtures.echo, job_id="same", meta={"old": True}).cancel()
    queue.enqueue(fixtures.echo, job_id="same")
    assert Job.fetch("same", connection=queue.connection).meta == {}
    assert "same" not in queue.canceled_job_registry
    assert queue.job_ids == ["same"]


@pytest.mark.parametrize(
    ("func", "message"),
    [
        (lambda: None, "lambda"),
        (fixtures.nested_function_factory(), "inside another function"),
        (42, "not callable"),
        ("no_dots", "dotted path"),
        ("has spaces.in it", "dotted path"),
    ],
)
def test_refuses_functions_a_worker_cannot_import(
    queue: Queue, connection: redis.Redis, func: object, message: str
) -> None:
    with pytest.raises(InvalidFunctionError, match=message):
        queue.enqueue(func)  # type: ignore[arg-type]
    assert connection.keys("*") == []


def test_refuses_main_functions(queue: Queue, connection: redis.Redis) -> None:
    def main_function() -> None:
        return None

    main_function.__module__ = "__main__"
    main_function.__qualname__ = "main_function"
    with pytest.raises(InvalidFunctionError, match="__main__"):
        queue.enqueue(main_function)
    assert connection.keys("*") == []


def test_refuses_unserializable_arguments_naming_them(
    queue: Queue, connection: redis.Redis
) -> None:
    with pytest.raises(SerializationError, match="keyword argument 'callback'"):
        queue.enqueue(fixtures.echo, 1, callback=lambda: None)
    with pytest.raises(SerializationError, match="argument 0"):
        Queue("j", connection=connection, serializer="json").enqueue(fixtures.echo, {1, 2})
    assert connection.keys("*") == []


@pytest.mark.parametrize("job_id", ["", "has space", "slash/es", "x" * 129, "ünïcode", 12])
def test_refuses_invalid_job_ids(queue: Queue, connection: redis.Redis, job_id: object) -> None:
    with pytest.raises(InvalidJobError, match="job_id"):
        queue.enqueue(fixtures.say_hello, job_id=job_id)
    assert connection.keys("*") == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("job_timeout", 0),
        ("job_timeout", -5),
        ("job_timeout", "soon"),
        ("job_timeout", True),
        ("result_ttl", -2),
        ("failure_ttl", "forever"),
        ("ttl", 0),
        ("job_timeout", [1]),
    ],
)
def test_refuses_invalid_durations(
    queue: Queue, connection: redis.Redis, option: str, value: object
) -> None:
    with pytest.raises(ConfigurationError, match=option):
        queue.enqueue(fixtures.say_hello, **{option: value})
    assert connection.keys("*") == []


def test_refuses_non_dict_meta(queue: Queue) -> None:
    with pytest.raises(InvalidJobError, match="meta"):
        queue.enqueue(fixtures.say_hello, meta=["x"])


def test_accepts_unlimited_timeout_and_durations(queue: Queue) -> None:
    job = queue.enqueue(
        fixtures.say_hello, job_timeout=-1, result_ttl=-1, failure_ttl=dt.timedelta(days=2)
    )
    assert job.timeout == -1 and job.result_ttl == -1 and job.failure_ttl == 172800


def test_instance_methods_and_callable_objects(queue: Queue) -> None:
    job = queue.enqueue(fixtures.Calculator(5).plus, 2)
    assert job.func_name == "plus"
    fetched = Job.fetch(job.id, connection=queue.connection)
    assert fetched.perform() == 7
    thing = queue.enqueue(fixtures.CallableThing(), 4)
    assert Job.fetch(thing.id, connection=queue.connection).perform() == 8


def test_queue_name_validation(connection: redis.Redis) -> None:
    with pytest.raises(ConfigurationError, match="queue name"):
        Queue("", connection=connection)
    with pytest.raises(ConfigurationError, match="queue name"):
        Queue("bad\nname", connection=connection)


def test_empty_deletes_jobs(queue: Queue, connection: redis.Redis) -> None:
    jobs = [queue.enqueue(fixtures.say_hello) for _ in range(3)]
    assert queue.empty() == 3
    assert queue.count == 0
    assert not any(connection.exists(job.key) for job in jobs)


def test_delete_and_all(connection: redis.Redis) -> None:
    high = Queue("high", connection=connection)
    low = Queue("low", connection=connection)
    high.enqueue(fixtures.say_hello)
    low.enqueue(fixtures.say_hello)
    assert [q.name for q in Queue.all(connection=connection)] == ["high", "low"]
    high.delete(delete_jobs=True)
    assert [q.name for q in Queue.all(connection=connection)] == ["low"]


def test_fetch_job_and_jobs(queue: Queue) -> None:
    job = queue.enqueue(fixtures.say_hello)
    assert queue.fetch_job(job.id) == job
    assert queue.fetch_job("missing") is None
    assert queue.jobs == [job]
    other = Queue("other", connection=queue.connection)
    assert other.fetch_job(job.id) is None


def test_every_job_option_is_taken_out_of_the_functions_arguments() -> None:
    """A JobOptions field without an enqueue name would reach the function as an argument
    instead of being validated as an option."""
    import dataclasses

    from minirq import options

    fields = {f.name for f in dataclasses.fields(options.JobOptions)} - {"lifecycle"}
    assert set(options._OPTION_FIELDS.values()) == fields
    given = {name: object() for name in options._OPTION_FIELDS}
    kwargs = {**given, "x": 1}
    options.pop_job_options(kwargs)
    assert kwargs == {"x": 1}
