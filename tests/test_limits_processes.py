"""Limits across several real worker processes (`minirq worker` subprocesses): every
assertion is read from what the jobs recorded in Redis, never from timing."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from minirq import JobStatus, Limit, Queue
from minirq.job import Job
from minirq.keys import Keys
from tests.limit_fixtures import HUNG, PEAKS, RUNNING, STARTS, hang_on_first_run, hold_slot
from tests.reliability_fixtures import WorkerProcess, wait_until

Spawn = Callable[..., WorkerProcess]
KEYS = Keys()


@pytest.fixture
def spawn(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[Spawn]:
    started: list[WorkerProcess] = []

    def start(*args: str, name: str) -> WorkerProcess:
        process = WorkerProcess(
            ["--name", name, "--no-scheduler", *args], subprocess_env, tmp_path / f"{name}.log"
        )
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def _all_finished(jobs: list[Job]) -> bool:
    return all(job.get_status() == JobStatus.FINISHED for job in jobs)


def _wait_for_workers(workers: list[WorkerProcess], jobs: list[Job]) -> None:
    for worker in workers:
        assert worker.wait(50) == 0, worker.log()
    assert _all_finished(jobs), [w.log() for w in workers]


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    "kinds",
    [
        ["--worker-class", "simple"],
        ["--worker-class", "fork"],
        ["--pool", "4"],
        ["--worker-class", "async", "--concurrency", "4"],
    ],
    ids=["4 simple", "4 fork", "4 pools of 4", "4 async of 4"],
)
def test_concurrency_is_never_exceeded_across_worker_processes(
    connection: redis.Redis, spawn: Spawn, kinds: list[str]
) -> None:
    queue = Queue(connection=connection)
    limit = Limit("api", concurrency=3)
    jobs = [queue.enqueue(hold_slot, 0.05, limit=limit) for _ in range(24)]
    workers = [spawn("--burst", *kinds, name=f"w{i}") for i in range(4)]
    _wait_for_workers(workers, jobs)
    peaks = [int(p) for p in connection.lrange(PEAKS, 0, -1)]
    assert len(peaks) == 24
    # A job counts itself after its fetch took the slot and uncounts itself before its
    # finish gives the slot back: the count is never more than the slots held.
    assert max(peaks) <= 3
    assert connection.get(RUNNING) == b"0"
    assert connection.exists(KEYS.limit_slots("api")) == 0


@pytest.mark.timeout(90)
def test_a_rate_is_never_exceeded_across_worker_processes(
    connection: redis.Redis, spawn: Spawn
) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(hold_slot, 0, limit=Limit("mail", rate="8/500ms")) for _ in range(30)]
    workers = [spawn("--burst", "--worker-class", "simple", name=f"w{i}") for i in range(4)]
    _wait_for_workers(workers, jobs)
    # The start times the fetch step wrote, on Redis's clock.
    starts = sorted(int(s) for s in connection.lrange(STARTS, 0, -1))
    assert len(starts) == 30
    assert max(sum(1 for t in starts if s <= t < s + 500) for s in starts) <= 8


@pytest.mark.timeout(90)
def test_a_killed_workers_slot_comes_back_with_its_lease(
    connection: redis.Redis, spawn: Spawn
) -> None:
    queue = Queue(connection=connection)
    limit = Limit("api", concurrency=1)
    hung = queue.enqueue(hang_on_first_run, limit=limit)
    behind = queue.enqueue(hold_slot, 0, limit=limit)
    first = spawn("--worker-class", "simple", "--lease", "1", name="first")
    wait_until(lambda: connection.get(HUNG) == hung.id.encode(), 30, "the first job to start")
    assert connection.zrange(KEYS.limit_slots("api"), 0, -1) == [hung.id.encode()]
    first.signal(signal.SIGKILL)
    first.wait(10)
    second = spawn("--burst", "--worker-class", "simple", "--lease", "1", name="second")
    assert second.wait(60) == 0, second.log()
    assert _all_finished([hung, behind]), second.log()
    assert Job.fetch(hung.id, connection).orphaned_count == 1
    assert connection.exists(KEYS.limit_slots("api")) == 0
