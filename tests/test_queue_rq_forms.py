"""RQ's forms of the queue API: explicit args/kwargs, is_empty, remove, positions."""

from __future__ import annotations

import datetime as dt

import pytest
import redis

from minirq import (
    ConfigurationError,
    FailedJobRegistry,
    Group,
    InvalidJobError,
    Job,
    JobStatus,
    NoSuchJobError,
    Queue,
    SimpleWorker,
)
from minirq.registry import clean_registries
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


def test_queue_result_ttl_is_the_default_of_its_jobs(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection, result_ttl=60)
    assert queue.enqueue(fixtures.add, 1, 2).result_ttl == 60
    assert queue.enqueue(fixtures.add, 1, 2, result_ttl=5).result_ttl == 5
    assert Queue("other", connection=connection).enqueue(fixtures.add, 1, 2).result_ttl == 500
    with pytest.raises(ConfigurationError, match="result_ttl"):
        Queue("bad", connection=connection, result_ttl="never")


def test_enqueue_call_joins_a_pipeline(queue: Queue, connection: redis.Redis) -> None:
    with connection.pipeline() as pipe:
        job = queue.enqueue_call(fixtures.add, args=(1, 2), pipeline=pipe)
        assert queue.is_empty()  # nothing is written before the pipeline runs
        pipe.execute()
    assert queue.job_ids == [job.id]
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert job.return_value() == 3


def test_enqueue_many_joins_a_pipeline(queue: Queue, connection: redis.Redis) -> None:
    with connection.pipeline() as pipe:
        jobs = queue.enqueue_many(
            [Queue.prepare_data(fixtures.add, (i, i)) for i in range(3)], pipeline=pipe
        )
        pipe.set("mine", "1")
        assert connection.dbsize() == 0
        pipe.execute()
    assert queue.job_ids == [j.id for j in jobs]
    assert connection.get("mine") == b"1"


def test_enqueue_joins_a_watching_pipeline_s_transaction(
    queue: Queue, connection: redis.Redis
) -> None:
    import redis.exceptions

    connection.set("guard", "0")
    with connection.pipeline() as pipe:
        pipe.watch("guard")
        assert pipe.get("guard") == b"0"  # a read at once, as after any WATCH
        job = queue.enqueue_call(fixtures.add, args=(1, 2), pipeline=pipe)
        assert queue.is_empty()  # the enqueue waits for execute(), inside the MULTI
        pipe.set("guard", "1")
        pipe.execute()
    assert queue.job_ids == [job.id]
    with connection.pipeline() as pipe:
        pipe.watch("guard")
        queue.enqueue_many([Queue.prepare_data(fixtures.add, (2, 2))], pipeline=pipe)
        connection.set("guard", "changed")  # someone else: the transaction must not run
        with pytest.raises(redis.exceptions.WatchError):
            pipe.execute()
    assert queue.job_ids == [job.id]


def test_registry_counts_ids_queue_and_times(queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2, result_ttl=100)
    later = queue.enqueue_in(dt.timedelta(minutes=5), fixtures.add, 3, 4)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    finished = queue.finished_job_registry
    assert finished.get_job_count() == 1 and finished.get_job_count(cleanup=False) == 1
    assert finished.get_job_ids(cleanup=False) == [job.id]
    assert finished.get_queue() == queue
    job.refresh()
    expires = finished.get_expiration_time(job)
    assert job.ended_at is not None and expires is not None
    assert expires - job.ended_at == dt.timedelta(seconds=100)
    scheduled = queue.scheduled_job_registry
    due = scheduled.get_scheduled_time(later)
    assert due.tzinfo is not None and due > dt.datetime.now(dt.UTC)
    with pytest.raises(NoSuchJobError):
        scheduled.get_scheduled_time("nope")
    assert finished.get_expiration_time("nope") is None


def test_clean_registries_drops_expired_entries(queue: Queue, connection: redis.Redis) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    SimpleWorker([queue], connection=connection).work(burst=True)
    connection.zadd(queue.finished_job_registry.key, {job.id: 1})  # expired long ago
    assert connection.zcard(queue.finished_job_registry.key) == 1
    clean_registries(queue)
    assert connection.zcard(queue.finished_job_registry.key) == 0


def test_create_job_with_rqs_keywords_then_enqueue_job(queue: Queue) -> None:
    job = queue.create_job(fixtures.add, args=(1, 2), job_id="made", timeout=40, unique=True)
    assert (job.id, job.timeout, job.origin) == ("made", 40, "default")
    assert queue.is_empty()
    queue.enqueue_job(job)
    assert queue.job_ids == ["made"]
    with pytest.raises(InvalidJobError, match="either options or job options"):
        queue.create_job(fixtures.add, (1,), None, Queue.prepare_data(fixtures.add).options, ttl=5)


def test_queues_and_registries_compare_as_in_rq(queue: Queue, connection: redis.Redis) -> None:
    other = Queue("alpha", connection=connection)
    assert sorted([queue, other]) == [other, queue]
    assert queue.failed_job_registry == FailedJobRegistry(queue=queue)
    assert queue.failed_job_registry != FailedJobRegistry("alpha", connection=connection)
    assert queue.failed_job_registry != queue.finished_job_registry
    assert Queue.DEFAULT_TIMEOUT == 180


def test_group_fetch_needs_a_name(connection: redis.Redis) -> None:
    with pytest.raises(InvalidJobError, match="needs the group's name"):
        Group.fetch(connection=connection)


class TaggedJob(Job):
    """A job class of an application, as RQ users subclass Job."""

    @property
    def tag(self) -> str:
        return f"tagged {self.id}"


def test_queue_job_class_builds_and_loads_jobs_of_that_class(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection, job_class=TaggedJob)
    job = queue.enqueue(fixtures.add, 1, 2)
    assert isinstance(job, TaggedJob) and job.tag == f"tagged {job.id}"
    assert all(isinstance(j, TaggedJob) for j in queue.jobs)
    assert isinstance(queue.fetch_job(job.id), TaggedJob)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert all(isinstance(j, TaggedJob) for j in queue.finished_job_registry.get_jobs())
    by_path = Queue.all(connection=connection, job_class="tests.test_queue_rq_forms.TaggedJob")
    assert [q.job_class for q in by_path] == [TaggedJob]


@pytest.mark.parametrize("job_class", [dict, "tests.fixtures.add", 5])
def test_a_job_class_that_is_not_a_job_is_refused(
    connection: redis.Redis, job_class: object
) -> None:
    with pytest.raises(ConfigurationError, match="job_class must be a subclass of"):
        Queue("default", connection=connection, job_class=job_class)  # type: ignore[arg-type]


def test_prepared_data_shows_rqs_fields(queue: Queue) -> None:
    from tests import feature_fixtures as ff

    data = Queue.prepare_data(
        fixtures.add,
        (1, 2),
        job_id="p1",
        timeout=30,
        result_ttl=60,
        description="adding",
        at_front=True,
        on_success=ff.record_success,
        depends_on="parent",
    )
    assert (data.func, data.args, data.kwargs) == (fixtures.add, (1, 2), {})
    assert (data.job_id, data.timeout, data.result_ttl) == ("p1", 30, 60)
    assert (data.description, data.at_front) == ("adding", True)
    assert (data.on_success, data.depends_on) == (ff.record_success, "parent")
    assert data.on_failure is None and data.ttl is None and data.meta is None
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        data.nonsense  # noqa: B018
    with pytest.raises(AttributeError):
        data.lifecycle  # noqa: B018
    prepared = Queue.prepare_data(fixtures.add, (1, 2), on_success=ff.record_success)
    job = queue.enqueue_many([prepared])[0]
    assert job.success_callback == ff.record_success
