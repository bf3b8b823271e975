"""enqueue_on_commit: a job enqueued in a transaction exists only once the data does."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import redis
from django.db import transaction
from django.test import Client

from minirq import InvalidFunctionError, InvalidJobError, JobStatus, Worker
from minirq.contrib.django import enqueue_on_commit, get_queue
from tests import fixtures
from tests.django_project.shop.jobs import welcome
from tests.django_project.shop.models import Signup


@pytest.mark.django_db(transaction=True)
def test_a_view_enqueues_on_commit_and_the_job_sees_the_row(connection: redis.Redis) -> None:
    response = Client().post("/signup", {"email": "ada@example.com"})
    assert response.status_code == 200
    queue = get_queue("high_priority")
    assert queue.job_ids == [response.json()["job"]]

    Worker([queue], connection=queue.connection).work(burst=True)
    job = queue.fetch_job(response.json()["job"])
    assert job is not None
    assert job.get_status() == JobStatus.FINISHED, job.exc_info
    assert job.return_value() == "ada@example.com"
    assert Signup.objects.get(pk=response.json()["signup"]).welcomed


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_enqueues_nothing(connection: redis.Redis) -> None:
    response = Client().post("/signup-then-fail", {"email": "bob@example.com"})
    assert response.status_code == 402
    assert not Signup.objects.exists()
    assert all(get_queue(name).count == 0 for name in ("high_priority", "default", "low_priority"))
    assert connection.keys("djtest:job:*") == []


@pytest.mark.django_db(transaction=True)
def test_nothing_is_in_redis_until_the_outer_transaction_commits(connection: redis.Redis) -> None:
    queue = get_queue("low_priority")
    with transaction.atomic():
        row = Signup.objects.create(email="cy@example.com")
        with transaction.atomic():
            job = enqueue_on_commit(welcome, row.pk, queue="low_priority", job_id="welcome-cy")
        assert job.id == "welcome-cy"
        assert queue.count == 0 and connection.keys("djtest:job:*") == []
    assert queue.job_ids == ["welcome-cy"]
    # A rolled-back savepoint drops its own callbacks only.
    with transaction.atomic():
        enqueue_on_commit(fixtures.add, 1, 2, queue="low_priority", job_id="kept")
        try:
            with transaction.atomic():
                enqueue_on_commit(fixtures.add, 3, 4, queue="low_priority", job_id="dropped")
                raise RuntimeError
        except RuntimeError:
            pass
    assert queue.job_ids == ["welcome-cy", "kept"]


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_it_enqueues_at_once() -> None:
    enqueue_on_commit(fixtures.add, 1, 2, job_id="now")
    assert get_queue().job_ids == ["now"]  # "default" is the default queue
    # A Queue of your own, with its options (here a job timeout), works the same way.
    mine = get_queue("low_priority", default_timeout=7)
    job = enqueue_on_commit(fixtures.add, 3, 4, queue=mine, at_front=True)
    assert mine.job_ids == [job.id] and job.timeout == 7


@pytest.mark.parametrize(
    ("func", "args", "error"),
    [
        (lambda: None, (), InvalidFunctionError),
        (fixtures.add, (threading.Lock(),), InvalidJobError),
        ("no_dots", (), InvalidFunctionError),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_bad_input_is_refused_in_the_view_and_nothing_is_queued(
    connection: redis.Redis, func: Any, args: tuple[Any, ...], error: type[Exception]
) -> None:
    with pytest.raises(error), transaction.atomic():
        enqueue_on_commit(func, *args, queue="default", job_id="bad")
    assert connection.keys("djtest:*") == []


@pytest.mark.django_db
def test_users_tests_run_jobs_at_once_with_is_async_false(
    settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The pattern the README gives for a user's own tests (pytest-django)."""
    settings.MINIRQ = {**settings.MINIRQ, "IS_ASYNC": False}
    row = Signup.objects.create(email="dee@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        job = enqueue_on_commit(welcome, row.pk)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "dee@example.com"
    row.refresh_from_db()
    assert row.welcomed
