"""The async worker as a real process: SIGTERM (finish within the grace, else requeue at
the front), and heartbeats renewing the lease of every one of N running jobs."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

from minirq import JobStatus, Queue
from minirq.reaper import reap_expired_leases
from minirq.utils import now_ms
from tests import async_fixtures
from tests.feature_fixtures import wait_until


def start_async_worker(env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "minirq", "worker", "--worker-class", "async", *extra],
        env=env,
        stderr=subprocess.DEVNULL,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    process.kill()
    process.wait()


def test_heartbeats_renew_the_lease_of_every_running_job(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    jobs = [queue.enqueue(async_fixtures.async_sleep, 2.5) for _ in range(100)]
    worker = start_async_worker(
        subprocess_env, "--concurrency", "100", "--lease", "1", "--burst", "--no-scheduler"
    )
    try:
        wait_until(lambda: queue.started_job_registry.count == 100, what="100 jobs running")
        time.sleep(1.5)
        # Past the first lease of each: renewed, they lie in the future and none is reaped.
        scores = connection.zrange(queue.started_job_registry.key, 0, -1, withscores=True)
        assert len(scores) == 100
        assert all(score > now_ms() for _, score in scores)
        assert reap_expired_leases(connection, queue.keys) == ([], [])
        assert worker.wait(30) == 0
    finally:
        stop(worker)
    assert [job.get_status() for job in jobs] == [JobStatus.FINISHED] * 100


def test_sigterm_lets_running_jobs_finish_and_takes_no_more(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    running = [queue.enqueue(async_fixtures.async_sleep, 1) for _ in range(3)]
    waiting = queue.enqueue(async_fixtures.async_add, 1, 2)
    worker = start_async_worker(subprocess_env, "--concurrency", "3", "--no-scheduler")
    try:
        wait_until(lambda: queue.started_job_registry.count == 3, what="3 jobs running")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    finally:
        stop(worker)
    assert [job.get_status() for job in running] == [JobStatus.FINISHED] * 3
    assert waiting.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [waiting.id]


def test_sigterm_past_the_grace_requeues_running_jobs_at_the_front(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str], tmp_path: Path
) -> None:
    running = [queue.enqueue(async_fixtures.async_sleep, 30) for _ in range(2)]
    # A plain function in a thread cannot be stopped: it is put back all the same, and
    # the worker exits without waiting for it.
    running.append(queue.enqueue(async_fixtures.sync_sleep, 30))
    waiting = queue.enqueue(async_fixtures.async_add, 1, 2)
    worker = start_async_worker(
        subprocess_env, "--concurrency", "3", "--shutdown-timeout", "0.5", "--no-scheduler"
    )
    try:
        wait_until(lambda: queue.started_job_registry.count == 3, what="3 jobs running")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
    finally:
        stop(worker)
    assert [job.get_status() for job in running] == [JobStatus.QUEUED] * 3
    assert set(queue.job_ids[:3]) == {job.id for job in running}
    assert queue.job_ids[-1] == waiting.id
    assert queue.started_job_registry.count == 0


def test_a_second_signal_requeues_at_once(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    job = queue.enqueue(async_fixtures.async_sleep, 30)
    worker = start_async_worker(subprocess_env, "--no-scheduler")
    try:
        wait_until(lambda: queue.started_job_registry.count == 1, what="the job running")
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        worker.send_signal(signal.SIGINT)
        assert worker.wait(20) == 0
    finally:
        stop(worker)
    assert job.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]


def test_an_idle_async_worker_wakes_on_enqueue(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    worker = start_async_worker(subprocess_env, "--max-jobs", "1", "--no-scheduler")
    try:
        wait_until(lambda: bool(connection.smembers("minirq:workers")), what="the worker")
        time.sleep(0.3)
        job = queue.enqueue(async_fixtures.async_add, 2, 2)
        assert worker.wait(20) == 0
    finally:
        stop(worker)
    assert job.return_value() == 4
