"""Groups of jobs enqueued together."""

from __future__ import annotations

import pytest
import redis

from minirq import Group, InvalidJobError, JobStatus, NoSuchJobError, Queue, SimpleWorker
from tests.fixtures import add, div_by_zero


def test_group_enqueue_run_and_status(connection: redis.Redis, queue: Queue) -> None:
    group = Group.create(connection=connection, name="batch-1")
    jobs = group.enqueue_many(queue, [Queue.prepare_data(add, (i, i)) for i in range(3)])
    assert sorted(j.id for j in group.get_jobs()) == sorted(j.id for j in jobs)
    assert all(j.group_id == "batch-1" for j in group.get_jobs())
    assert group.get_status() == "pending"
    assert Group.fetch("batch-1", connection=connection) == group
    assert Group.all(connection=connection) == [group]

    SimpleWorker([queue], connection=connection).work(burst=True)
    assert group.get_status() == "finished"
    assert set(group.get_statuses().values()) == {JobStatus.FINISHED}


def test_group_with_a_failure(connection: redis.Redis, queue: Queue) -> None:
    group = Group.create(connection=connection)
    group.enqueue_many(
        "default", [Queue.prepare_data(add, (1, 1)), Queue.prepare_data(div_by_zero)]
    )
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert group.get_status() == "failed"


def test_a_refused_job_writes_nothing(connection: redis.Redis, queue: Queue) -> None:
    group = Group.create(connection=connection, name="g")
    with pytest.raises(InvalidJobError):
        group.enqueue_many(
            queue, [Queue.prepare_data(add, (1, 1)), Queue.prepare_data(add, (1,), job_id="bad id")]
        )
    assert connection.keys("*") == []
    with pytest.raises(NoSuchJobError):
        Group.fetch("g", connection=connection)


def test_cleanup_and_delete(connection: redis.Redis, queue: Queue) -> None:
    group = Group.create(connection=connection, name="g")
    jobs = group.enqueue_many(queue, [Queue.prepare_data(add, (i, 0)) for i in range(2)])
    jobs[0].delete()
    assert group.cleanup() == 1
    assert group.get_job_ids() == [jobs[1].id]
    group.delete(delete_jobs=True)
    assert not jobs[1].exists()
    assert Group.all(connection=connection) == []


def test_bad_group_name(connection: redis.Redis) -> None:
    with pytest.raises(InvalidJobError, match="group name"):
        Group("no spaces", connection=connection)
