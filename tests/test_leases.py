"""Leases belong to a run and are timed by Redis's clock; nothing blocks their renewal."""

from __future__ import annotations

import os
import time

import pytest
import redis

from minirq import Job, JobStatus, Queue, Scheduler, SimpleWorker, WorkerPool
from minirq.commands import send_stop_job_command
from minirq.horse import Outcome
from minirq.reaper import reap_expired_leases
from tests import fixtures
from tests.conftest import RedisServer
from tests.store_fixtures import in_child, skew_process_clock, wait_for


def _status(connection: redis.Redis, job_id: str) -> JobStatus | None:
    return Job.fetch(job_id, connection=connection).get_status()


# -- a lease per run (issue 11, item 6) --------------------------------------------------


def test_two_workers_of_one_name_cannot_record_over_each_others_run(
    connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    first = SimpleWorker([queue], connection=connection, name="same")
    second = SimpleWorker([queue], connection=connection, name="same")
    started = queue.keys.registry("started", queue.name)
    fetched = first.take_job()
    assert fetched is not None
    stale, _ = fetched
    # The first run stalls past its lease; the reaper gives the job back, the second
    # worker (started with the same --name) takes it.
    connection.zadd(started, {job.id: 0})
    assert reap_expired_leases(connection, queue.keys)[0] == [job.id]
    refetched = second.take_job()
    assert refetched is not None and refetched[0].id == job.id
    lease = connection.zscore(started, job.id)

    first.current_job = stale
    first.heartbeat()
    assert connection.zscore(started, job.id) == lease, "the stale run extended the lease"
    first._record_outcome(stale, queue, Outcome(True, result=queue.serializer.dumps(0)), 1)
    assert _status(connection, job.id) == JobStatus.STARTED

    second._record_outcome(refetched[0], queue, Outcome(True, result=queue.serializer.dumps(3)), 1)
    assert _status(connection, job.id) == JobStatus.FINISHED
    assert Job.fetch(job.id, connection=connection).return_value() == 3


def test_a_stale_run_cannot_fail_the_job_of_the_current_run(
    connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    first = SimpleWorker([queue], connection=connection, name="same")
    stale = first.take_job()
    assert stale is not None
    connection.zadd(queue.keys.registry("started", queue.name), {job.id: 0})
    reap_expired_leases(connection, queue.keys)
    current = SimpleWorker([queue], connection=connection, name="same").take_job()
    assert current is not None
    first._record_outcome(stale[0], queue, Outcome.failure("RuntimeError", "stale"), 1)
    assert _status(connection, job.id) == JobStatus.STARTED
    assert job.id in queue.started_job_registry


# -- Redis's clock (item 3) --------------------------------------------------------------


def test_a_worker_whose_clock_is_45_s_behind_keeps_its_healthy_job(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(fixtures.sleep_for, 1.5)

    def run_behind() -> None:
        with pytest.MonkeyPatch.context() as patch:
            skew_process_clock(patch, -45)
            own = redis.Redis.from_url(redis_server.url)
            SimpleWorker([Queue(connection=own)], connection=own, lease_s=30).work(burst=True)

    pid = in_child(run_behind)
    wait_for(lambda: _status(connection, job.id) == JobStatus.STARTED, "the job to start")
    # Any healthy worker or scheduler reaps now, on its own (right) clock.
    assert reap_expired_leases(connection, queue.keys) == ([], [])
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    finished = Job.fetch(job.id, connection=connection)
    assert finished.get_status() == JobStatus.FINISHED
    assert finished.orphaned_count == 0


def test_a_scheduler_whose_clock_is_ahead_starts_nothing_early(
    connection: redis.Redis, queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    later = queue.enqueue_in(30, fixtures.add, 1, 2)
    scheduler = Scheduler(connection)
    scheduler.every(60, fixtures.add, args=(2, 2), name="minutely")
    assert scheduler.acquire_lease()
    skew_process_clock(monkeypatch, 90)
    assert scheduler.enqueue_due() == 0
    assert scheduler.enqueue_cron() == []
    scheduler.step()
    assert later.get_status() == JobStatus.SCHEDULED
    assert queue.count == 0


def test_a_producer_whose_clock_is_behind_does_not_make_a_delay_shorter(
    connection: redis.Redis, queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        skew_process_clock(patch, -45)
        later = queue.enqueue_in(30, fixtures.add, 1, 2)
    scheduler = Scheduler(connection)
    assert scheduler.acquire_lease()
    assert scheduler.enqueue_due() == 0
    assert later.get_status() == JobStatus.SCHEDULED


# -- nothing blocks renewal (item 7) -----------------------------------------------------


def test_a_slow_on_stopped_callback_does_not_let_another_jobs_lease_expire(
    redis_server: RedisServer, connection: redis.Redis, queue: Queue
) -> None:
    stopped = queue.enqueue(
        fixtures.sleep_for, 30, on_stopped="tests.store_fixtures.sleepy_stopped_callback"
    )
    running = queue.enqueue(fixtures.sleep_for, 5)

    def run_pool() -> None:
        own = redis.Redis.from_url(redis_server.url)
        pool = WorkerPool([Queue(connection=own)], connection=own, size=2, lease_s=1.5)
        pool.work(burst=True)

    pid = in_child(run_pool)
    for job in (stopped, running):
        wait_for(lambda job=job: _status(connection, job.id) == JobStatus.STARTED, "jobs")
    send_stop_job_command(connection, stopped.id)
    reaped: list[str] = []
    while _status(connection, running.id) == JobStatus.STARTED:
        # What any other worker's housekeeping does meanwhile.
        reaped += reap_expired_leases(connection, queue.keys)[0]
        time.sleep(0.1)
    os.waitpid(pid, 0)
    assert reaped == []
    assert _status(connection, running.id) == JobStatus.FINISHED
    assert Job.fetch(running.id, connection=connection).orphaned_count == 0
    assert _status(connection, stopped.id) == JobStatus.STOPPED
