"""Database connections never cross a fork, and each job starts with a usable one."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection as db
from django.db import transaction

from minirq import JobStatus, SimpleWorker, Worker, WorkerPool, hooks
from minirq.contrib.django import db as fork_safety
from minirq.contrib.django import get_queue
from tests.django_project.shop.jobs import break_my_connection, orm_round_trip
from tests.django_project.shop.models import Signup

JOBS = 50


def _backend_pid() -> int:
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _run_orm_jobs(worker_class: type[Worker] | type[WorkerPool], **options: Any) -> list[int]:
    """Enqueue JOBS ORM jobs, run them to the end; returns the backend pid of each."""
    queue = get_queue("default")
    jobs = [queue.enqueue(orm_round_trip, i) for i in range(JOBS)]
    worker_class([queue], connection=queue.connection, **options).work(burst=True)
    for job in jobs:
        assert job.get_status() == JobStatus.FINISHED, job.exc_info
    return [int(job.return_value()) for job in jobs]


@pytest.mark.parametrize(
    ("worker_class", "options"),
    [(Worker, {}), (WorkerPool, {"size": 2}), (WorkerPool, {"size": 2, "max_jobs_per_child": 7})],
    ids=["fork", "pool", "pool-recycling"],
)
@pytest.mark.django_db(transaction=True)
def test_orm_jobs_through_forking_workers_never_share_the_parents_connection(
    worker_class: type[Worker] | type[WorkerPool], options: dict[str, Any]
) -> None:
    # The worker process has a live connection when it forks, as a project whose start-up
    # code queries the database would.
    parent_pid = _backend_pid()
    pids = _run_orm_jobs(worker_class, **options)
    assert parent_pid not in pids
    assert Signup.objects.count() == JOBS
    if worker_class is WorkerPool:
        assert len(set(pids)) >= 2  # each horse opened its own
    # The parent's connection was closed cleanly before each fork; it reconnects at need.
    assert Signup.objects.filter(email="user0@example.com").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_horse_forked_inside_a_transaction_opens_its_own_connection() -> None:
    """The parent cannot close a connection inside a transaction; the horse drops it
    unclosed (closing would end the parent's session) and opens its own."""
    queue = get_queue("default")
    job = queue.enqueue(orm_round_trip, 1)
    with transaction.atomic():
        parent_pid = _backend_pid()
        Worker([queue], connection=queue.connection).work(burst=True)
        assert job.get_status() == JobStatus.FINISHED, job.exc_info
        assert job.return_value() != parent_pid
        assert _backend_pid() == parent_pid  # the parent's session is intact


@pytest.mark.django_db(transaction=True)
def test_in_process_worker_closes_a_broken_connection_before_the_next_job(
    settings: Any,
) -> None:
    settings.DATABASES["default"]["CONN_MAX_AGE"] = None  # persistent, as in production
    db.settings_dict["CONN_MAX_AGE"] = None
    queue = get_queue("default")
    broken = queue.enqueue(break_my_connection)
    after = [queue.enqueue(orm_round_trip, i) for i in range(3)]
    try:
        SimpleWorker([queue], connection=queue.connection).work(burst=True)
    finally:
        db.settings_dict["CONN_MAX_AGE"] = 0
    assert broken.get_status() == JobStatus.FAILED
    for job in after:
        assert job.get_status() == JobStatus.FINISHED, job.exc_info
    # A persistent connection is kept from one healthy job to the next.
    assert len({job.return_value() for job in after}) == 1


def test_the_app_registers_its_hooks() -> None:
    assert fork_safety.close_before_fork in hooks.registered("before_fork")
    assert fork_safety.forget_inherited in hooks.registered("horse_start")
    assert fork_safety.around_job in hooks.registered("before_job")
    assert fork_safety.around_job in hooks.registered("after_job")


@pytest.mark.django_db
def test_an_in_process_worker_inside_a_test_transaction_keeps_its_connection() -> None:
    """A user's test case (one transaction, rolled back at the end) may run a SimpleWorker:
    the job uses the test's connection, and the connection survives the job."""
    queue = get_queue("default")
    row = Signup.objects.create(email="in-test@example.com")
    job = queue.enqueue(orm_round_trip, 7)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED, job.exc_info
    assert job.return_value() == _backend_pid()
    assert Signup.objects.filter(pk=row.pk).exists()
