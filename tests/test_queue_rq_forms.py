"""RQ's forms of the queue API: explicit args/kwargs, is_empty, remove, positions."""

from __future__ import annotations

import datetime as dt

import pytest
import redis

from minirq import InvalidJobError, JobStatus, Queue
from tests import fixtures


def test_explicit_args_and_kwargs_are_the_functions_arguments(queue: Queue) -> None:
    job = queue.enqueue(fixtures.echo, args=(1, 2), kwargs={"a": 1}, job_timeout=30)
    assert job.args == (1, 2)
    assert job.kwargs == {"a": 1}
    assert job.timeout == 30
    assert job.perform() == ((1, 2), {"a": 1})


def test_explicit_args_alone_or_kwargs_alone(queue: Queue) -> None:
    only_args = queue.enqueue(fixtures.echo, args=[3])
    assert (only_args.args, only_args.kwargs) == ((3,), {})
    only_kwargs = queue.enqueue(fixtures.echo, kwargs={"b": 2})
    assert (only_kwargs.args, only_kwargs.kwargs) == ((), {"b": 2})
    nothing = queue.enqueue(fixtures.echo, args=None, kwargs=None)
    assert (nothing.args, nothing.kwargs) == ((), {})


def test_explicit_form_for_enqueue_at_and_enqueue_in(queue: Queue) -> None:
    later = queue.enqueue_in(dt.timedelta(minutes=5), fixtures.echo, args=(1,), kwargs={"x": 2})
    at = queue.enqueue_at(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1), fixtures.echo, args=(3,))
    assert (later.args, later.kwargs) == ((1,), {"x": 2})
    assert (at.args, at.kwargs) == ((3,), {})


def test_enqueue_call_passes_keyword_arguments_named_args(queue: Queue) -> None:
    job = queue.enqueue_call(fixtures.echo, kwargs={"args": 1, "kwargs": 2})
    assert job.kwargs == {"args": 1, "kwargs": 2}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda q: q.enqueue(fixtures.echo, 1, args=(2,)), "1 positional argument"),
        (lambda q: q.enqueue(fixtures.echo, args=(2,), other=3), "keyword argument 'other'"),
        (lambda q: q.enqueue(fixtures.echo, args=5), "args must be a tuple or list, not int"),
        (lambda q: q.enqueue(fixtures.echo, args="ab"), "args must be a tuple or list, not str"),
        (lambda q: q.enqueue(fixtures.echo, kwargs=[1]), "kwargs must be a dict, not list"),
    ],
)
def test_bad_explicit_arguments_are_refused_and_nothing_is_written(
    queue: Queue, connection: redis.Redis, call: object, message: str
) -> None:
    with pytest.raises(InvalidJobError, match=message):
        call(queue)  # type: ignore[operator]
    assert connection.dbsize() == 0


def test_is_empty(queue: Queue) -> None:
    assert queue.is_empty()
    queue.enqueue(fixtures.add, 1, 2)
    assert not queue.is_empty()


def test_get_job_position(queue: Queue) -> None:
    first, second = queue.enqueue(fixtures.add, 1, 2), queue.enqueue(fixtures.add, 3, 4)
    assert queue.get_job_position(first) == 0
    assert queue.get_job_position(second.id) == 1
    assert queue.get_job_position("not-a-job") is None
    assert second.get_position() == 1


def test_remove_takes_a_job_off_the_queue_and_keeps_it_canceled(queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    other = queue.enqueue(fixtures.add, 3, 4)
    assert queue.remove(job) == 1
    assert queue.job_ids == [other.id]
    assert job.get_status() == JobStatus.CANCELED
    assert job.id in queue.canceled_job_registry
    assert queue.remove(other.id) == 1
    assert queue.is_empty()


def test_remove_leaves_jobs_that_are_not_queued_here(queue: Queue, connection: redis.Redis) -> None:
    elsewhere = Queue("other", connection=connection).enqueue(fixtures.add, 1, 2)
    assert queue.remove(elsewhere) == 0
    assert queue.remove("no-such-job") == 0
    later = queue.enqueue_in(dt.timedelta(minutes=5), fixtures.add, 1, 2)
    assert queue.remove(later) == 0
    assert later.get_status() == JobStatus.SCHEDULED
    assert elsewhere.get_status() == JobStatus.QUEUED
