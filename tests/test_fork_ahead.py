"""The forking Worker forks each job's horse ahead of the job: a spare horse waits on a
pipe for exactly one job, is fresh for every job, is replaced if it dies while waiting,
and never outlives its worker (SIGTERM, SIGKILL or the end of a burst). The horses are
forked by the worker's fork server, its one child (tests/test_fork_server.py)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from minirq import JobStatus, Queue, Worker
from tests import fixtures
from tests.process_fixtures import zombie_children
from tests.reliability_fixtures import WorkerProcess, pid_alive, wait_registered, wait_until


def _children(pid: int) -> list[int]:
    """The live (not yet exited) children of ``pid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        state, parent = text.rpartition(")")[2].split()[:2]
        if int(parent) == pid and state not in ("Z", "X"):
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def worker_process(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(
        ["--name", "ahead", "--no-scheduler"], subprocess_env, tmp_path / "worker.log"
    )
    yield process
    process.stop()


def _server_of(worker: WorkerProcess) -> int:
    wait_until(lambda: len(_children(worker.pid)) == 1, 20, "the fork server")
    (server,) = _children(worker.pid)
    return server


def _spare_of(worker: WorkerProcess) -> int:
    server = _server_of(worker)
    wait_until(lambda: len(_children(server)) == 1, 20, "the spare horse")
    (spare,) = _children(server)
    return spare


def _no_zombies(worker: WorkerProcess) -> bool:
    return not zombie_children(worker.pid) and not zombie_children(_server_of(worker))


def test_each_job_runs_in_a_fresh_horse_and_none_is_left_after_a_burst(
    connection: redis.Redis, queue: Queue
) -> None:
    before = set(_children(os.getpid()))  # the session's redis-server among them
    jobs = [queue.enqueue(fixtures.return_pid) for _ in range(5)]
    Worker([queue], connection=connection).work(burst=True)
    pids = [job.return_value() for job in jobs]
    assert all(job.get_status() == JobStatus.FINISHED for job in jobs)
    assert len(set(pids)) == 5 and os.getpid() not in pids
    # The spare forked for a sixth job that never came was reaped with the others.
    assert set(_children(os.getpid())) == before
    assert not zombie_children(os.getpid())


def test_a_job_runs_in_the_horse_that_was_waiting_for_it(
    connection: redis.Redis, queue: Queue, worker_process: WorkerProcess
) -> None:
    wait_registered(connection, "ahead")
    spare = _spare_of(worker_process)
    job = queue.enqueue(fixtures.return_pid)
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, 20, "the job")
    assert job.return_value() == spare
    # A new spare waits for the next job; the one that ran has been reaped.
    wait_until(lambda: _no_zombies(worker_process), 10, "the reaping")
    assert _spare_of(worker_process) != spare


def test_the_next_spare_is_forked_beside_a_job_only_while_jobs_follow_one_another(
    connection: redis.Redis, queue: Queue, worker_process: WorkerProcess
) -> None:
    wait_registered(connection, "ahead")
    _spare_of(worker_process)
    # Both queued at once: the first comes to the waiting worker, the second with the
    # recording of the first.
    first, second = queue.enqueue_many(
        [
            Queue.prepare_data(fixtures.worker_children),
            Queue.prepare_data(fixtures.worker_children, (2,)),
        ]
    )
    wait_until(lambda: second.get_status() == JobStatus.FINISHED, 20, "the jobs")
    # The first job's horse was the fork server's only child while it ran; beside the
    # second, the spare for a next job was forked.
    assert (first.return_value(), second.return_value()) == (1, 2)
    wait_until(lambda: _no_zombies(worker_process), 10, "the reaping")
    _spare_of(worker_process)


def test_a_spare_killed_while_waiting_is_reaped_and_the_next_job_still_runs(
    connection: redis.Redis, queue: Queue, worker_process: WorkerProcess
) -> None:
    wait_registered(connection, "ahead")
    spare = _spare_of(worker_process)
    os.kill(spare, signal.SIGKILL)
    wait_until(lambda: not pid_alive(spare), 10, "the spare to die")
    job = queue.enqueue(fixtures.return_pid)
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, 20, "the job")
    assert job.return_value() not in (spare, worker_process.pid)
    wait_until(lambda: _no_zombies(worker_process), 10, "the reaping")
    assert pid_alive(worker_process.pid)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_the_spare_never_outlives_its_worker(
    connection: redis.Redis, worker_process: WorkerProcess, signum: int
) -> None:
    wait_registered(connection, "ahead")
    spare = _spare_of(worker_process)
    worker_process.signal(signum)
    worker_process.wait(20)
    wait_until(lambda: not pid_alive(spare), 10, "the spare to go with its worker")
