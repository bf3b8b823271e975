"""Retry, Repeat and RetryJob: settings, delays, and real workers applying them."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
import redis

from minirq import (
    ConfigurationError,
    ConfigurationTypeError,
    FailedJobRegistry,
    Job,
    JobStatus,
    Queue,
    Repeat,
    Retry,
    RetryJob,
    Scheduler,
    SimpleWorker,
    Worker,
)
from minirq.async_worker import AsyncWorker
from minirq.pool import WorkerPool
from minirq.retry import plan_repeat, plan_retry
from minirq.worker import SpawnWorker
from tests import scheduling_jobs as jobs


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


# -- the settings ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max": 0}, "Retry max"),
        ({"max": -1}, "Retry max"),
        ({"max": True}, "Retry max"),
        ({"max": "3"}, "Retry max"),
        ({"max": 2, "interval": -1}, "zero or more"),
        ({"max": 2, "interval": []}, "must not be empty"),
        ({"max": 2, "interval": [1, "x"]}, "number of seconds"),
        ({"max": 2, "interval": float("nan")}, "zero or more"),
        ({"max": 2, "backoff": "linear"}, "unknown Retry backoff"),
        ({"max": 2, "backoff": "exponential", "interval": 5}, "not both"),
        ({"max": 2, "backoff": "exponential", "base": -1}, "Retry base"),
        ({"max": 2, "backoff": "exponential", "cap": "x"}, "Retry cap"),
        ({"max": 2, "jitter": "yes"}, "jitter"),
    ],
)
def test_bad_retry_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Retry(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"times": 0}, "Repeat times"), ({"times": 2, "interval": -5}, "zero or more")],
)
def test_bad_repeat_arguments_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Repeat(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "make",
    [
        lambda: Retry(max="3"),
        lambda: Retry(max=2, interval=[1, "x"]),
        lambda: Retry(max=2, backoff="exponential", cap="x"),
        lambda: Repeat(times=3, interval="not_a_number"),
        lambda: Repeat(times=2.5),
    ],
)
def test_a_wrong_type_is_a_type_error_too(make: Any) -> None:
    with pytest.raises(ConfigurationTypeError) as raised:
        make()
    assert isinstance(raised.value, TypeError) and isinstance(raised.value, ConfigurationError)


def test_a_wrong_value_of_the_right_type_is_no_type_error() -> None:
    for make in (lambda: Retry(max=0), lambda: Repeat(times=2, interval=[5, -10])):
        with pytest.raises(ConfigurationError) as raised:
            make()
        assert not isinstance(raised.value, TypeError)


def test_bad_retry_job_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="delay_s"):
        RetryJob(delay_s=-1)
    with pytest.raises(ValueError, match="max_retries"):
        RetryJob(max_retries=0)


def test_interval_forms() -> None:
    assert [Retry(3).delay_s(n) for n in (1, 2, 3)] == [0, 0, 0]
    assert [Retry(3, interval=5).delay_s(n) for n in (1, 2, 3)] == [5, 5, 5]
    # RQ's list form: one delay per retry, the last one repeating.
    assert [Retry(4, interval=[1, 10]).delay_s(n) for n in (1, 2, 3, 4)] == [1, 10, 10, 10]


def test_exponential_backoff_is_capped() -> None:
    retry = Retry(max=12, backoff="exponential", base=2, cap=60)
    assert [retry.delay_s(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]


def test_jitter_stays_between_half_and_all_of_the_delay() -> None:
    retry = Retry(max=5, backoff="exponential", base=10, cap=300, jitter=True)
    rng = random.Random(7)
    for attempt in range(1, 6):
        full = min(300, 10 * 2 ** (attempt - 1))
        for _ in range(50):
            assert full / 2 <= retry.delay_s(attempt, rng) <= full


def test_retry_round_trips_through_its_stored_form() -> None:
    for retry in (
        Retry(3, interval=[1, 2]),
        Retry(5, backoff="exponential", base=0.5, cap=30, jitter=True),
    ):
        assert Retry.from_dict(json.loads(json.dumps(retry.to_dict()))) == retry


# -- enqueueing with retry -------------------------------------------------------------


def test_every_enqueue_form_stores_the_retry(queue: Queue) -> None:
    retry = Retry(2, interval=[3, 7])
    made = [
        queue.enqueue(jobs.always_fail, retry=retry),
        queue.enqueue_call(jobs.always_fail, retry=retry),
        queue.enqueue_many([Queue.prepare_data(jobs.always_fail, retry=retry)])[0],
        queue.enqueue_in(60, jobs.always_fail, retry=retry),
        queue.enqueue_at(
            queue.enqueue_in(1, jobs.always_fail).created_at, jobs.always_fail, retry=retry
        ),
    ]
    for job in made:
        stored = Job.fetch(job.id, connection=queue.connection)
        assert stored.retry == retry
        assert stored.retries_left == 2


def test_a_bad_retry_option_writes_nothing(queue: Queue, connection: redis.Redis) -> None:
    with pytest.raises(ConfigurationError, match="retry must be a Retry"):
        queue.enqueue(jobs.always_fail, retry=3)
    with pytest.raises(ConfigurationError, match="repeat must be a Repeat"):
        queue.enqueue_in(5, jobs.always_fail, repeat=2)
    assert connection.dbsize() == 0


# -- planning (pure clock math) --------------------------------------------------------


def test_plan_retry_counts_down_and_schedules_delays(queue: Queue) -> None:
    job = queue.create_job(jobs.always_fail, None, None, _options(retry=Retry(2, [10, 20])))
    assert plan_retry(job.record, None) == ("10000", 1)
    job.record.retries_left = 1
    assert plan_retry(job.record, None) == ("20000", 0)
    job.record.retries_left = 0
    assert plan_retry(job.record, None) == ("", 0)


def test_plan_retry_without_retry_fails_for_good(queue: Queue) -> None:
    job = queue.create_job(jobs.always_fail, None, None, _options())
    assert plan_retry(job.record, None) == ("", 0)


def test_retry_job_request_overrides_the_delay_and_has_its_own_budget(queue: Queue) -> None:
    with_retry = queue.create_job(jobs.always_fail, None, None, _options(retry=Retry(3, 100)))
    assert plan_retry(with_retry.record, RetryJob(delay_s=2)) == ("2000", 2)
    bare = queue.create_job(jobs.always_fail, None, None, _options())
    assert plan_retry(bare.record, RetryJob()) == ("now", 2)
    assert plan_retry(bare.record, RetryJob(max_retries=1)) == ("now", 0)


def test_plan_repeat(queue: Queue) -> None:
    job = queue.create_job(jobs.always_fail, None, None, _options(repeat=Repeat(2, [0, 30])))
    assert plan_repeat(job.record) == ("now", 1)
    job.record.repeats_left = 1
    assert plan_repeat(job.record) == ("30000", 0)
    job.record.repeats_left = 0
    assert plan_repeat(job.record) is None


def _options(**kwargs: object) -> object:
    from minirq.queue import JobOptions

    return JobOptions(**kwargs)  # type: ignore[arg-type]


# -- real workers ----------------------------------------------------------------------


@pytest.mark.parametrize("worker_class", [SimpleWorker, Worker])
def test_a_failing_job_is_retried_then_fails_keeping_the_last_traceback(
    queue: Queue, tmp_path: Path, worker_class: type[SimpleWorker]
) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.fail_until, str(path), 10, retry=Retry(2))
    worker_class([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    assert len(lines(path)) == 3
    assert job.get_status() == JobStatus.FAILED
    assert job.retries_left == 0
    assert job.attempts == 3
    assert "failing run 3" in (job.exc_info or "")
    assert job.id in FailedJobRegistry(queue=queue)


def test_a_job_that_succeeds_on_retry_finishes(queue: Queue, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.fail_until, str(path), 1, retry=Retry(3))
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 2
    job.refresh()
    assert job.retries_left == 2
    assert job.attempts == 2
    # The traceback of the failed attempt stays visible.
    assert "failing run 1" in (job.exc_info or "")


def test_a_delayed_retry_waits_in_the_scheduled_set(queue: Queue, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.fail_until, str(path), 1, retry=Retry(1, interval=60))
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    assert len(queue) == 0
    due = queue.scheduled_job_registry.get_score(job.id)
    assert due is not None and job.started_at is not None
    assert due >= job.started_at.timestamp() * 1000 + 60_000
    scheduler = Scheduler(queue.connection)
    scheduler.acquire_lease()
    assert scheduler.enqueue_due(int(due) - 1) == 0
    assert scheduler.enqueue_due(int(due)) == 1
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert len(lines(path)) == 2


@pytest.mark.parametrize("worker_class", [SimpleWorker, Worker])
@pytest.mark.parametrize("func", [jobs.raise_retry, jobs.return_retry])
def test_a_job_may_raise_or_return_retry_job(
    queue: Queue, tmp_path: Path, worker_class: type[SimpleWorker], func: object
) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(func, str(path), 2)  # type: ignore[arg-type]
    worker_class([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "done"
    assert len(lines(path)) == 3


EVERY_EXECUTOR = [
    pytest.param(lambda q: SimpleWorker([q], connection=q.connection), id="simple"),
    pytest.param(lambda q: Worker([q], connection=q.connection), id="fork"),
    pytest.param(lambda q: WorkerPool([q], connection=q.connection, size=2), id="pool"),
    pytest.param(lambda q: AsyncWorker([q], connection=q.connection, concurrency=2), id="async"),
    pytest.param(lambda q: SpawnWorker([q], connection=q.connection), id="spawn"),
]


@pytest.mark.parametrize("make_worker", EVERY_EXECUTOR)
@pytest.mark.parametrize(
    "func", [jobs.raise_retry, jobs.return_retry, jobs.return_rq_retry, jobs.return_rq_retry_async]
)
def test_every_executor_retries_a_job_asking_for_it_in_each_form(
    queue: Queue, tmp_path: Path, make_worker: Any, func: Any
) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(func, str(path), 2)
    make_worker(queue).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "done"
    assert len(lines(path)) == 3


@pytest.mark.parametrize("worker_class", [SimpleWorker, Worker])
def test_a_job_returning_rqs_retry_form_is_retried(
    queue: Queue, tmp_path: Path, worker_class: type[SimpleWorker]
) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.return_rq_retry, str(path), 2)
    worker_class([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "done"
    assert len(lines(path)) == 3


def test_rqs_retry_form_counts_its_max_then_fails(queue: Queue, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.return_rq_retry, str(path), 100, max_retries=2)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    assert len(lines(path)) == 3  # the first run and its two retries
    job.refresh()
    assert "Retry(max=2" in (job.exc_info or "")
    assert job.return_value() is None


def test_rqs_retry_form_with_an_interval_is_scheduled(queue: Queue, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.return_rq_retry, str(path), 1, interval=60)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    due = queue.scheduled_job_registry.get_score(job.id)
    assert due is not None and job.started_at is not None
    assert due >= job.started_at.timestamp() * 1000 + 60_000


def test_retry_job_with_a_delay_is_scheduled(queue: Queue, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.raise_retry, str(path), 1, delay_s=30)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    due = queue.scheduled_job_registry.get_score(job.id)
    assert due is not None and job.started_at is not None
    assert due >= job.started_at.timestamp() * 1000 + 30_000


def test_retry_job_beyond_its_budget_fails(queue: Queue, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.raise_retry, str(path), 100)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    assert len(lines(path)) == 4  # the first run and three retries (the default budget)
    job.refresh()
    assert "not ready yet" in (job.exc_info or "")


@pytest.mark.parametrize("worker_class", [SimpleWorker, Worker])
def test_repeat_reruns_a_successful_job(
    queue: Queue, tmp_path: Path, worker_class: type[SimpleWorker]
) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.record, str(path), "r", repeat=Repeat(2))
    worker_class([queue], connection=queue.connection).work(burst=True)
    assert len(lines(path)) == 3
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == job.id


def test_repeat_with_an_interval_is_scheduled(queue: Queue, tmp_path: Path) -> None:
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.record, str(path), repeat=Repeat(1, interval=45))
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.SCHEDULED
    assert job.return_value() == job.id  # the result of the run that just ended
    due = queue.scheduled_job_registry.get_score(job.id)
    assert due is not None and job.ended_at is not None
    assert due >= job.ended_at.timestamp() * 1000 + 45_000


def test_a_retry_is_not_missed_when_redis_forgot_the_scripts(queue: Queue, tmp_path: Path) -> None:
    # After a Redis restart (or SCRIPT FLUSH) the worker's first failure re-runs the fail
    # script after the fetch sent with it; the requeued retry must still be run.
    queue.connection.script_flush()
    path = tmp_path / "runs"
    job = queue.enqueue(jobs.fail_until, str(path), 1, retry=Retry(1))
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert len(lines(path)) == 2


@pytest.mark.parametrize(("at_front", "order"), [(True, ["a", "a", "b"]), (False, ["a", "b", "a"])])
def test_retry_enqueue_at_front(
    queue: Queue, tmp_path: Path, at_front: bool, order: list[str]
) -> None:
    path = tmp_path / "runs"
    queue.enqueue(
        jobs.tagged_fail_until, str(path), "a", 1, retry=Retry(max=1, enqueue_at_front=at_front)
    )
    queue.enqueue(jobs.append_tag, str(path), "b")
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert lines(path) == order


def test_retry_enqueue_at_front_round_trips_and_is_checked() -> None:
    assert Retry.from_dict(Retry(2, 5, True).to_dict()).enqueue_at_front is True
    with pytest.raises(ConfigurationError, match="enqueue_at_front"):
        Retry(2, enqueue_at_front="yes")  # type: ignore[arg-type]
