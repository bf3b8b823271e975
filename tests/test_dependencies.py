"""Job dependencies against a real Redis and real workers, including the races."""

from __future__ import annotations

import threading

import pytest
import redis

from minirq import (
    Dependency,
    InvalidJobError,
    InvalidJobOperation,
    Job,
    JobStatus,
    Queue,
    SimpleWorker,
    Worker,
)
from minirq.keys import Keys
from tests.fixtures import add, div_by_zero, say_hello, sleep_for


def test_keys_built_by_scripts_match_keys_py() -> None:
    # lib_dependents.lua builds these names as <prefix>:<kind>:<name>.
    keys = Keys("{app}")
    assert keys.job("j") == "{app}:job:j"
    assert keys.queue("q") == "{app}:queue:q"
    assert keys.registry("deferred", "q") == "{app}:deferred:q"
    assert keys.wake_channel("q") == "{app}:wake:q"
    assert keys.dependents("j") == "{app}:dependents:j"
    assert keys.dependencies("j") == "{app}:dependencies:j"


def test_dependent_waits_deferred_until_parent_finishes(
    connection: redis.Redis, queue: Queue
) -> None:
    parent = queue.enqueue(add, 1, 2)
    child = queue.enqueue(say_hello, "child", depends_on=parent)
    assert child.get_status() == JobStatus.DEFERRED
    assert child in queue.deferred_job_registry
    assert queue.job_ids == [parent.id]
    assert child.dependency_ids == [parent.id]
    assert parent.dependent_ids == [child.id]

    SimpleWorker([queue], connection=connection).work(burst=True)

    parent.refresh()
    child.refresh()
    assert child.get_status() == JobStatus.FINISHED
    assert child.return_value() == "Hi there, child!"
    assert child not in queue.deferred_job_registry
    assert parent.ended_at is not None and child.started_at is not None
    assert child.started_at >= parent.ended_at


def test_finished_or_missing_parent_enqueues_at_once(connection: redis.Redis, queue: Queue) -> None:
    parent = queue.enqueue(add, 1, 2)
    SimpleWorker([queue], connection=connection).work(burst=True)
    child = queue.enqueue(say_hello, depends_on=parent.id)
    assert child.get_status() == JobStatus.QUEUED
    # A parent that no longer exists finished and was deleted (or was deleted on purpose).
    orphan = queue.enqueue(say_hello, depends_on="no-such-job")
    assert orphan.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [child.id, orphan.id]


def test_several_parents_across_queues_with_a_forking_worker(connection: redis.Redis) -> None:
    high, low = Queue("high", connection=connection), Queue("low", connection=connection)
    first = high.enqueue(add, 1, 1)
    second = low.enqueue(add, 2, 2)
    child = high.enqueue(say_hello, "both", depends_on=[first, second.id])
    assert child.get_status() == JobStatus.DEFERRED

    Worker([high, low], connection=connection).work(burst=True)

    child.refresh()
    assert child.get_status() == JobStatus.FINISHED
    assert child.started_at is not None
    for parent in (first, second):
        parent.refresh()
        assert parent.ended_at is not None and parent.ended_at <= child.started_at


def test_failed_parent_keeps_dependent_deferred_unless_allow_failure(
    connection: redis.Redis, queue: Queue
) -> None:
    parent = queue.enqueue(div_by_zero)
    strict = queue.enqueue(say_hello, "strict", depends_on=parent)
    lenient = queue.enqueue(
        say_hello, "lenient", depends_on=Dependency(jobs=[parent], allow_failure=True)
    )
    SimpleWorker([queue], connection=connection).work(burst=True)

    assert parent.get_status() == JobStatus.FAILED
    assert lenient.get_status() == JobStatus.FINISHED
    assert strict.get_status() == JobStatus.DEFERRED
    assert strict in queue.deferred_job_registry
    # As in RQ: requeue the failed parent, and once it finishes the dependent runs.
    assert parent.dependent_ids == [strict.id]


def test_requeued_parent_that_finishes_releases_waiting_dependents(
    connection: redis.Redis, queue: Queue
) -> None:
    parent = queue.enqueue(say_hello, job_id="parent")
    child = queue.enqueue(say_hello, "child", depends_on=parent)
    connection.hset(parent.key, "status", "failed")  # as if it had failed once
    queue.connection.lrem(queue.key, 0, parent.id)
    queue.connection.zadd(queue.failed_job_registry.key, {parent.id: "+inf"})
    parent.requeue()
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert child.get_status() == JobStatus.FINISHED


def test_enqueue_at_front_when_released(connection: redis.Redis, queue: Queue) -> None:
    other = Queue("other", connection=connection)
    parent = other.enqueue(add, 1, 2)
    queue.enqueue(say_hello, "a")
    queue.enqueue(say_hello, "b")
    urgent = queue.enqueue(say_hello, depends_on=Dependency(jobs=parent, enqueue_at_front=True))
    SimpleWorker([other], connection=connection).work(burst=True)
    assert queue.job_ids[0] == urgent.id
    assert urgent.get_status() == JobStatus.QUEUED


def test_chain_of_dependencies_runs_in_order(connection: redis.Redis, queue: Queue) -> None:
    jobs = [queue.enqueue(add, 0, 0)]
    for i in range(1, 5):
        jobs.append(queue.enqueue(add, i, 0, depends_on=jobs[-1]))
    assert [j.get_status() for j in jobs[1:]] == [JobStatus.DEFERRED] * 4
    SimpleWorker([queue], connection=connection).work(burst=True)
    starts = []
    for job in jobs:
        job.refresh()
        assert job.get_status() == JobStatus.FINISHED
        starts.append(job.started_at)
    assert starts == sorted(starts)


@pytest.mark.parametrize(
    ("depends_on", "message"),
    [
        (42, "not int"),
        ([None], "not NoneType"),
        ("bad id!", "invalid job_id"),
        ({"a": 1}, "not dict"),
    ],
)
def test_bad_depends_on_is_refused_and_nothing_written(
    connection: redis.Redis, queue: Queue, depends_on: object, message: str
) -> None:
    with pytest.raises(InvalidJobError, match=message):
        queue.enqueue(say_hello, depends_on=depends_on)
    assert connection.keys("*") == []


def test_empty_dependency_and_self_dependency_are_refused(
    connection: redis.Redis, queue: Queue
) -> None:
    with pytest.raises(InvalidJobError, match="at least one"):
        Dependency(jobs=[])
    with pytest.raises(InvalidJobError, match="cannot depend on itself"):
        queue.enqueue(say_hello, job_id="me", depends_on="me")
    assert connection.keys("*") == []
    # An empty list means no dependency, as in RQ.
    assert queue.enqueue(say_hello, depends_on=[]).get_status() == JobStatus.QUEUED


def test_cancel_parent_leaves_dependents_deferred_or_enqueues_them(
    connection: redis.Redis, queue: Queue
) -> None:
    parent = queue.enqueue(add, 1, 2)
    child = queue.enqueue(say_hello, depends_on=parent)
    parent.cancel()
    assert parent.get_status() == JobStatus.CANCELED
    assert child.get_status() == JobStatus.DEFERRED

    parent2 = queue.enqueue(add, 1, 2)
    child2 = queue.enqueue(say_hello, depends_on=parent2)
    parent2.cancel(enqueue_dependents=True)
    assert child2.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [child2.id]


def test_canceled_dependent_is_not_enqueued_when_parent_finishes(
    connection: redis.Redis, queue: Queue
) -> None:
    parent = queue.enqueue(add, 1, 2)
    child = queue.enqueue(say_hello, depends_on=parent)
    child.cancel()
    assert child in queue.canceled_job_registry
    assert child not in queue.deferred_job_registry
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert child.get_status() == JobStatus.CANCELED
    assert queue.job_ids == []


def test_cancel_can_take_a_dependent_off_its_parents(
    connection: redis.Redis, queue: Queue
) -> None:
    first = queue.enqueue(add, 1, 2, job_id="first")
    second = queue.enqueue(add, 2, 2, job_id="second")
    removed = queue.enqueue(say_hello, depends_on=[first, second], job_id="removed")
    kept = queue.enqueue(say_hello, depends_on=first, job_id="kept")
    waiting = queue.enqueue(say_hello, depends_on=first, job_id="waiting")
    removed.cancel(remove_from_dependencies=True)
    kept.cancel()  # as in RQ: a canceled dependent stays listed by default
    assert first.dependent_ids == ["kept", "waiting"]
    assert second.dependent_ids == []
    assert removed.get_status() == JobStatus.CANCELED
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert waiting.get_status() == JobStatus.FINISHED
    assert kept.get_status() == JobStatus.CANCELED and removed.get_status() == JobStatus.CANCELED
    assert first.dependent_ids == []


def test_cancel_joins_a_pipeline(connection: redis.Redis, queue: Queue) -> None:
    import redis.exceptions

    parent = queue.enqueue(add, 1, 2)
    child = queue.enqueue(say_hello, depends_on=parent)
    connection.set("guard", "0")
    with connection.pipeline() as pipe:
        pipe.watch("guard")
        parent.cancel(enqueue_dependents=True, pipeline=pipe)
        assert parent.get_status() == JobStatus.QUEUED  # nothing happens before execute()
        pipe.set("guard", "1")
        assert pipe.execute() == [1, True]
    assert parent.get_status() == JobStatus.CANCELED
    assert child.get_status() == JobStatus.QUEUED and queue.job_ids == [child.id]
    with connection.pipeline() as pipe:
        parent.cancel(pipeline=pipe)  # already canceled: a 0 among the results
        assert pipe.execute() == [0]
    with connection.pipeline() as pipe:
        pipe.watch("guard")
        child.cancel(pipeline=pipe)
        connection.set("guard", "changed")
        with pytest.raises(redis.exceptions.WatchError):
            pipe.execute()
    assert child.get_status() == JobStatus.QUEUED
    with connection.pipeline() as pipe, pytest.raises(InvalidJobOperation, match="pipeline="):
        child.cancel(pipe)  # type: ignore[arg-type]  # RQ's positional form
    assert child.get_status() == JobStatus.QUEUED


def test_delete_parent_with_and_without_dependents(connection: redis.Redis, queue: Queue) -> None:
    parent = queue.enqueue(add, 1, 2)
    child = queue.enqueue(say_hello, depends_on=parent)
    grandchild = queue.enqueue(say_hello, depends_on=child)
    parent.delete(delete_dependents=True)
    for job in (parent, child, grandchild):
        assert not job.exists()
    assert queue.deferred_job_registry.count == 0
    assert queue.job_ids == []

    parent = queue.enqueue(add, 1, 2)
    child = queue.enqueue(say_hello, depends_on=parent)
    parent.delete()
    assert child.get_status() == JobStatus.DEFERRED
    assert not connection.exists(Keys().dependents(parent.id))


def test_race_parent_finishing_while_dependents_are_enqueued(connection: redis.Redis) -> None:
    """No dependent is stranded: each sees the parent finished or is released by it."""
    parents_q = Queue("parents", connection=connection)
    children_q = Queue("children", connection=connection)
    for _ in range(3):
        parent = parents_q.enqueue(sleep_for, 0.02)
        children: list[Job] = []

        def enqueue_children(parent: Job = parent, children: list[Job] = children) -> None:
            client = redis.Redis(connection_pool=connection.connection_pool)
            q = Queue("children", connection=client)
            for i in range(150):
                children.append(q.enqueue(add, i, 0, depends_on=parent))

        producer = threading.Thread(target=enqueue_children)
        producer.start()
        SimpleWorker([parents_q], connection=connection).work(burst=True)
        producer.join()

        assert parent.get_status() == JobStatus.FINISHED
        statuses = {c.get_status() for c in children}
        assert statuses == {JobStatus.QUEUED}
        assert children_q.deferred_job_registry.count == 0
        assert sorted(children_q.job_ids) == sorted(c.id for c in children)
        children_q.empty()


def test_two_parents_finishing_at_once_enqueue_the_child_exactly_once(
    connection: redis.Redis,
) -> None:
    left, right = Queue("left", connection=connection), Queue("right", connection=connection)
    children = Queue("children", connection=connection)
    for _ in range(5):
        a, b = left.enqueue(sleep_for, 0.01), right.enqueue(sleep_for, 0.01)
        child = children.enqueue(add, 1, 1, depends_on=[a, b])
        workers = [
            threading.Thread(target=SimpleWorker([q], connection=connection).work, args=(True,))
            for q in (left, right)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert child.get_status() == JobStatus.QUEUED
        assert children.job_ids == [child.id]
        children.empty()


def test_parent_failed_by_the_reaper_releases_allow_failure_dependents(
    connection: redis.Redis, queue: Queue
) -> None:
    from minirq.reaper import reap_expired_leases

    parent = queue.enqueue(add, 1, 2)
    lenient = queue.enqueue(say_hello, depends_on=Dependency(jobs=parent, allow_failure=True))
    strict = queue.enqueue(say_hello, depends_on=parent)
    assert SimpleWorker([queue], connection=connection, name="dead").take_job() is not None
    connection.hset(parent.key, "orphaned", 2)
    connection.zadd(queue.started_job_registry.key, {parent.id: 1})  # an expired lease
    _, failed = reap_expired_leases(connection, Keys(), max_orphanings=3)
    assert failed == [parent.id]
    assert lenient.get_status() == JobStatus.QUEUED
    assert strict.get_status() == JobStatus.DEFERRED
