"""Delayed jobs and the scheduler: exact due times, the fenced lease, real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import redis

from minirq import ConfigurationError, Job, JobStatus, Queue, Scheduler, SimpleWorker, Worker
from minirq.keys import Keys
from minirq.pool import WorkerPool
from minirq.scheduler import RQScheduler
from minirq.utils import now_ms
from minirq.worker import BaseWorker
from tests import scheduling_jobs as jobs

KEYS = Keys()


def wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def leader(connection: redis.Redis) -> Scheduler:
    scheduler = Scheduler(connection)
    assert scheduler.acquire_lease()
    return scheduler


# -- enqueue_at / enqueue_in -----------------------------------------------------------


def test_enqueue_at_saves_a_scheduled_job_with_a_millisecond_score(queue: Queue) -> None:
    when = datetime(2031, 5, 4, 3, 2, 1, 234_000, tzinfo=UTC)
    job = queue.enqueue_at(when, jobs.record, "/tmp/x", job_timeout=30, meta={"a": 1})
    assert job.get_status() == JobStatus.SCHEDULED
    assert queue.scheduled_job_registry.get_score(job.id) == when.timestamp() * 1000
    assert len(queue) == 0
    assert "default" in [q.name for q in Queue.all(connection=queue.connection)]
    stored = Job.fetch(job.id, connection=queue.connection)
    assert stored.timeout == 30 and stored.meta == {"a": 1}


def test_aware_datetimes_keep_their_zone_and_naive_ones_are_local(queue: Queue) -> None:
    plus_two = timezone(timedelta(hours=2))
    aware = queue.enqueue_at(datetime(2030, 1, 1, 12, 0, tzinfo=plus_two), jobs.always_fail)
    assert queue.scheduled_job_registry.get_score(aware.id) == (
        datetime(2030, 1, 1, 10, 0, tzinfo=UTC).timestamp() * 1000
    )
    naive = datetime(2030, 1, 1, 12, 0)
    local = queue.enqueue_at(naive, jobs.always_fail)
    assert queue.scheduled_job_registry.get_score(local.id) == naive.timestamp() * 1000


def test_naive_local_and_aware_forms_of_one_instant_get_one_score(queue: Queue) -> None:
    naive = datetime(2030, 7, 1, 8, 30, 15, 500_000)
    aware = naive.astimezone()  # the same local wall time, with the local offset attached
    utc = aware.astimezone(UTC)
    scores = {
        queue.scheduled_job_registry.get_score(queue.enqueue_at(when, jobs.always_fail).id)
        for when in (naive, aware, utc)
    }
    assert scores == {naive.timestamp() * 1000}


def test_enqueue_in_adds_the_delay_to_now(queue: Queue) -> None:
    before = now_ms()
    job = queue.enqueue_in(timedelta(seconds=90), jobs.always_fail)
    seconds = queue.enqueue_in(1.5, jobs.always_fail)
    after = now_ms()
    score = queue.scheduled_job_registry.get_score(job.id)
    assert score is not None and before + 90_000 <= score <= after + 90_000
    score = queue.scheduled_job_registry.get_score(seconds.id)
    assert score is not None and before + 1_500 <= score <= after + 1_500


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda q: q.enqueue_at("2030-01-01T00:00", jobs.always_fail), "must be a datetime"),
        (lambda q: q.enqueue_at(date(2030, 1, 1), jobs.always_fail), "must be a datetime"),
        (lambda q: q.enqueue_at(1893456000, jobs.always_fail), "must be a datetime"),
        (lambda q: q.enqueue_in(-1, jobs.always_fail), "negative"),
        (lambda q: q.enqueue_in(timedelta(seconds=-5), jobs.always_fail), "negative"),
        (lambda q: q.enqueue_in(float("nan"), jobs.always_fail), "finite"),
        (lambda q: q.enqueue_in("5m", jobs.always_fail), "timedelta or a number"),
        (lambda q: q.enqueue_in(True, jobs.always_fail), "timedelta or a number"),
    ],
)
def test_bad_times_are_refused_and_nothing_is_written(
    queue: Queue, connection: redis.Redis, call: Callable[[Queue], Job], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        call(queue)
    assert connection.dbsize() == 0


def test_bad_job_options_are_refused_at_enqueue_at(queue: Queue, connection: redis.Redis) -> None:
    with pytest.raises(ConfigurationError, match="job_timeout"):
        queue.enqueue_in(5, jobs.always_fail, job_timeout=-3)
    assert connection.dbsize() == 0


# -- moving due jobs -------------------------------------------------------------------


def test_a_job_moves_at_its_due_time_never_before(queue: Queue) -> None:
    due = datetime(2030, 6, 1, tzinfo=UTC)
    job = queue.enqueue_at(due, jobs.always_fail)
    due_ms = int(due.timestamp() * 1000)
    scheduler = leader(queue.connection)
    assert scheduler.enqueue_due(due_ms - 1) == 0
    assert job.get_status() == JobStatus.SCHEDULED
    assert scheduler.enqueue_due(due_ms) == 1
    assert job.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]
    assert job.id not in queue.scheduled_job_registry


def test_due_jobs_move_in_order_across_batches_and_queues(connection: redis.Redis) -> None:
    low, high = Queue("low", connection=connection), Queue("high", connection=connection)
    base = datetime(2030, 1, 1, tzinfo=UTC)
    ids = [low.enqueue_at(base + timedelta(seconds=i), jobs.always_fail).id for i in range(7)]
    other = high.enqueue_at(base, jobs.always_fail)
    scheduler = Scheduler(connection, batch_size=3)
    scheduler.acquire_lease()
    assert scheduler.enqueue_due(int((base + timedelta(hours=1)).timestamp() * 1000)) == 8
    assert low.job_ids == ids
    assert high.job_ids == [other.id]


def test_at_front_puts_a_due_job_first(queue: Queue) -> None:
    queued = queue.enqueue(jobs.always_fail)
    early = queue.enqueue_at(datetime(2000, 1, 1, tzinfo=UTC), jobs.always_fail, at_front=True)
    leader(queue.connection).enqueue_due()
    assert queue.job_ids == [early.id, queued.id]


def test_a_scheduled_job_whose_hash_is_gone_is_dropped(queue: Queue) -> None:
    gone = queue.enqueue_at(datetime(2000, 1, 1, tzinfo=UTC), jobs.always_fail)
    kept = queue.enqueue_at(datetime(2000, 1, 1, tzinfo=UTC), jobs.always_fail)
    queue.connection.delete(gone.key)
    assert leader(queue.connection).enqueue_due() == 2
    assert queue.job_ids == [kept.id]
    assert len(queue.scheduled_job_registry) == 0


def test_ttl_counts_from_the_due_time(queue: Queue) -> None:
    due = datetime.now(UTC) + timedelta(hours=1)
    job = queue.enqueue_at(due, jobs.always_fail, ttl=60)
    expires_ms = queue.connection.pexpiretime(job.key)
    assert expires_ms == int(due.timestamp() * 1000) + 60_000


def test_only_the_lease_holder_moves_jobs(queue: Queue) -> None:
    job = queue.enqueue_at(datetime(2000, 1, 1, tzinfo=UTC), jobs.always_fail)
    first = leader(queue.connection)
    second = Scheduler(queue.connection)
    assert not second.acquire_lease()
    assert second.enqueue_due() == 0
    assert job.get_status() == JobStatus.SCHEDULED
    assert first.enqueue_due() == 1


def test_a_scheduler_that_lost_its_lease_mid_pass_cannot_enqueue(queue: Queue) -> None:
    job = queue.enqueue_at(datetime(2000, 1, 1, tzinfo=UTC), jobs.always_fail)
    stale = leader(queue.connection)
    token = stale.fencing_token
    # The lease expires (the holder was paused) and another scheduler takes it.
    queue.connection.delete(KEYS.scheduler_lease)
    successor = leader(queue.connection)
    assert successor.fencing_token is not None and token is not None
    assert successor.fencing_token > token
    assert stale.enqueue_due() == 0
    assert not stale.is_leader
    assert job.get_status() == JobStatus.SCHEDULED
    assert successor.enqueue_due() == 1
    assert queue.job_ids == [job.id]


def test_release_hands_the_lease_over(connection: redis.Redis) -> None:
    first = leader(connection)
    second = Scheduler(connection)
    assert not second.acquire_lease()
    first.release_lease()
    assert second.acquire_lease()


def test_rq_scheduler_locks_map_onto_the_lease(queue: Queue) -> None:
    due = queue.enqueue_at(datetime(2000, 1, 1, tzinfo=UTC), jobs.always_fail)
    later = queue.enqueue_at(datetime.now(UTC) + timedelta(hours=1), jobs.always_fail)
    first = RQScheduler([queue, "other"], queue.connection)
    second = RQScheduler([queue], queue.connection)
    assert second.enqueue_scheduled_jobs() == 0  # no locks acquired yet
    assert first.acquire_locks() == {queue.name, "other"}
    assert second.acquire_locks() == set()
    assert second.enqueue_scheduled_jobs() == 0
    assert due.get_status() == JobStatus.SCHEDULED
    assert first.enqueue_scheduled_jobs() == 1
    assert queue.job_ids == [due.id]
    assert later.get_status() == JobStatus.SCHEDULED
    first.release_locks()
    assert first.enqueue_scheduled_jobs() == 0
    assert second.acquire_locks() == {queue.name}


def test_rq_scheduler_auto_start_says_it_starts_nothing(
    queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    scheduler = RQScheduler([queue], queue.connection)
    with caplog.at_level("INFO", logger="minirq.scheduler"):
        assert scheduler.acquire_locks(auto_start=True) == {queue.name}
    assert "starts no scheduler" in caplog.text
    scheduler.release_locks()


def test_rq_scheduler_takes_its_lapsed_lease_back_before_enqueueing(queue: Queue) -> None:
    job = queue.enqueue_at(datetime(2000, 1, 1, tzinfo=UTC), jobs.always_fail)
    scheduler = RQScheduler(queue, queue.connection)
    assert scheduler.acquire_locks() == {queue.name}
    queue.connection.delete(KEYS.scheduler_lease)
    assert scheduler.enqueue_scheduled_jobs() == 1
    assert job.get_status() == JobStatus.QUEUED


def test_step_returns_the_next_due_time(queue: Queue) -> None:
    due = datetime.now(UTC) + timedelta(seconds=2)
    queue.enqueue_at(due, jobs.always_fail)
    scheduler = Scheduler(queue.connection, lease_s=30)
    wake = scheduler.step()
    assert wake == int(due.timestamp() * 1000)


def test_an_earlier_job_wakes_the_scheduler(queue: Queue, connection: redis.Redis) -> None:
    pubsub = connection.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(KEYS.scheduler_wake)
    try:
        pubsub.get_message(timeout=1)
        queue.enqueue_in(100, jobs.always_fail)
        first = pubsub.get_message(timeout=1)
        assert first is not None
        queue.enqueue_in(200, jobs.always_fail)  # later: no need to wake anyone
        queue.enqueue_in(10, jobs.always_fail)  # earlier: wake
        message = pubsub.get_message(timeout=1)
        assert message is not None
        assert pubsub.get_message(timeout=0.05) is None
    finally:
        pubsub.close()


@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker, WorkerPool])
def test_burst_worker_with_scheduler_runs_due_jobs(
    queue: Queue, tmp_path: Path, worker_class: type[BaseWorker]
) -> None:
    path = tmp_path / "runs"
    queue.enqueue_at(datetime(2000, 1, 1, tzinfo=UTC), jobs.record, str(path))
    later = queue.enqueue_in(3600, jobs.record, str(path))
    worker_class([queue], connection=queue.connection).work(burst=True, with_scheduler=True)
    assert len(path.read_text().splitlines()) == 1
    assert later.get_status() == JobStatus.SCHEDULED


# -- real scheduler processes ----------------------------------------------------------


@pytest.fixture
def start_process(
    subprocess_env: dict[str, str],
) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(args, env=subprocess_env, stderr=subprocess.DEVNULL)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def scheduler_args(minirq_command: list[str], lease_s: float = 1.0) -> list[str]:
    return [*minirq_command, "scheduler", "--lease", str(lease_s), "--logging-level", "WARNING"]


def lease_holder_pid(connection: redis.Redis) -> int | None:
    value = connection.get(KEYS.scheduler_lease)
    return int(value.decode().split(":")[2]) if value else None


def test_three_schedulers_move_each_job_exactly_once(
    queue: Queue,
    tmp_path: Path,
    minirq_command: list[str],
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    processes = [start_process(*scheduler_args(minirq_command)) for _ in range(3)]
    wait_for(lambda: lease_holder_pid(queue.connection) is not None)
    path = tmp_path / "runs"
    base = now_ms() + 300
    due = {}
    for i in range(30):
        when = datetime.fromtimestamp((base + i * 25) / 1000, tz=UTC)
        due[queue.enqueue_at(when, jobs.record, str(path)).id] = base + i * 25
    wait_for(lambda: len(queue.scheduled_job_registry) == 0)
    for process in processes:
        process.terminate()
    for process in processes:
        assert process.wait(10) == 0
    ids = queue.job_ids
    assert sorted(ids) == sorted(due)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    runs = [line.split() for line in path.read_text().splitlines()]
    assert sorted(run[0] for run in runs) == sorted(due)
    for run in runs:
        assert int(run[-1]) >= due[run[0]]
    for job in Job.fetch_many(list(due), connection=queue.connection):
        assert job is not None and job.enqueued_at is not None
        assert job.enqueued_at.timestamp() * 1000 >= due[job.id]
    # A scheduler that stops gives its lease up.
    assert queue.connection.get(KEYS.scheduler_lease) is None


def test_a_killed_scheduler_is_replaced(
    queue: Queue,
    minirq_command: list[str],
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    first = start_process(*scheduler_args(minirq_command))
    wait_for(lambda: lease_holder_pid(queue.connection) == first.pid)
    start_process(*scheduler_args(minirq_command))
    start_process(*scheduler_args(minirq_command))
    os.kill(first.pid, signal.SIGKILL)
    first.wait(10)
    job = queue.enqueue_in(0.1, jobs.always_fail)
    wait_for(lambda: job.get_status() == JobStatus.QUEUED, timeout_s=15)
    holder = lease_holder_pid(queue.connection)
    assert holder is not None and holder != first.pid


def test_worker_with_scheduler_runs_delayed_jobs(
    queue: Queue,
    tmp_path: Path,
    minirq_command: list[str],
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    path = tmp_path / "runs"
    worker = start_process(*minirq_command, "worker", "--with-scheduler", "default")
    job = queue.enqueue_in(0.2, jobs.record, str(path))
    wait_for(lambda: job.get_status() == JobStatus.FINISHED)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0
    assert len(path.read_text().splitlines()) == 1
    assert queue.connection.get(KEYS.scheduler_lease) is None


def child_pids(parent: int) -> set[int]:
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.add(int(stat.parent.name))
    return children


def test_a_worker_restarts_its_scheduler_process(
    queue: Queue,
    minirq_command: list[str],
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # In-process, so that the scheduler is the worker's only child (a forking worker's
    # next work-horse, forked ahead of its job, is a child too).
    worker = start_process(
        *minirq_command, "worker", "--with-scheduler", "--worker-class", "simple", "default"
    )
    seen: list[set[int]] = []

    def one_child() -> bool:
        seen.append(child_pids(worker.pid))
        return len(seen[-1]) == 1

    wait_for(one_child)
    [first] = seen[-1]
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: len(child_pids(worker.pid) - {first}) == 1)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(15) == 0


def test_a_sleeping_scheduler_is_woken_by_an_earlier_job(
    queue: Queue,
    minirq_command: list[str],
    start_process: Callable[..., subprocess.Popen[bytes]],
) -> None:
    # With a 30 s lease the scheduler checks its lease only every 10 s; between checks it
    # sleeps until the next due time, so only the wake-up message can make it move a job
    # that is scheduled while it sleeps.
    process = start_process(*scheduler_args(minirq_command, lease_s=30))
    wait_for(lambda: lease_holder_pid(queue.connection) == process.pid)
    queue.enqueue_in(3600, jobs.always_fail)
    time.sleep(0.2)
    job = queue.enqueue_in(0.2, jobs.always_fail)
    wait_for(lambda: job.get_status() == JobStatus.QUEUED, timeout_s=8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lease_s": 0}, "lease_s"),
        ({"lease_s": "10"}, "lease_s"),
        ({"batch_size": 0}, "batch_size"),
        ({"prefix": "has space"}, "prefix"),
    ],
)
def test_bad_scheduler_settings_are_refused(
    connection: redis.Redis, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Scheduler(connection, **kwargs)  # type: ignore[arg-type]


def test_the_default_lease_is_taken_over_within_15_seconds() -> None:
    from minirq.defaults import SCHEDULER_LEASE_S

    # A standby retries every lease / 3, so it holds the lease at most 4/3 of it after
    # the last renewal of a scheduler that died.
    assert SCHEDULER_LEASE_S * 4 / 3 < 15
