"""The forking Worker's fork server (minirq.fork_server): the one child a worker forks at
start-up, which forks every horse; the worker talks to each horse and kills it itself, the
server reports its pid and exit status. Horses die with the server, the server with the
worker; a server that dies is replaced, and without one the worker forks its own horses."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from minirq import JobStatus, Queue, Worker
from minirq.fork_server import ForkServer
from tests import fixtures
from tests.reliability_fixtures import WorkerProcess, pid_alive, wait_registered, wait_until
from tests.test_fork_ahead import _children

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux only")


@pytest.fixture
def worker_process(subprocess_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(
        ["--name", "forksrv", "--no-scheduler"], subprocess_env, tmp_path / "worker.log"
    )
    yield process
    process.stop()


def _only_child(pid: int, what: str) -> int:
    wait_until(lambda: len(_children(pid)) == 1, 20, what)
    (child,) = _children(pid)
    return child


def _finished(job: Any) -> None:
    wait_until(lambda: job.get_status() == JobStatus.FINISHED, 30, f"job {job.id}")


def test_every_job_runs_in_a_fresh_grandchild_of_the_worker(
    connection: redis.Redis, queue: Queue, worker_process: WorkerProcess
) -> None:
    wait_registered(connection, "forksrv")
    server = _only_child(worker_process.pid, "the fork server")
    jobs = [queue.enqueue(fixtures.return_pid) for _ in range(6)]
    for job in jobs:
        _finished(job)
    pids = [job.return_value() for job in jobs]
    assert len(set(pids)) == 6
    assert not {worker_process.pid, server} & set(pids)
    # The server is still the worker's one child, and its horses are reaped as they end.
    assert _children(worker_process.pid) == [server]
    wait_until(lambda: len(_children(server)) == 1, 10, "only the next spare to be left")


@pytest.mark.parametrize(
    ("func", "args", "reason"),
    [
        (fixtures.kill_myself, (signal.SIGKILL,), "killed by SIGKILL (signal 9)"),
        (fixtures.kill_myself, (signal.SIGSEGV,), "killed by SIGSEGV (signal 11)"),
        (fixtures.exit_hard, (7,), "exited with code 7 before reporting"),
    ],
    ids=["sigkill", "sigsegv", "os_exit"],
)
def test_a_horse_that_dies_fails_its_job_with_the_status_the_server_reaped(
    connection: redis.Redis, queue: Queue, func: Any, args: tuple[Any, ...], reason: str
) -> None:
    seen: list[tuple[int, int, Any]] = []

    def handler(job: Any, pid: int, status: int, rusage: Any) -> None:
        seen.append((pid, status, rusage))

    job = queue.enqueue(func, *args)
    after = queue.enqueue(fixtures.return_pid)
    worker = Worker([queue], connection=connection, work_horse_killed_handler=handler)
    worker.work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    assert job.latest_result().exc_string is not None
    assert reason in job.latest_result().exc_string
    assert after.get_status() == JobStatus.FINISHED
    ((pid, status, rusage),) = seen
    assert pid not in (os.getpid(), after.return_value())
    if func is fixtures.exit_hard:
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7
    else:
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == args[0]
    assert rusage.ru_maxrss > 0  # the horse's own, as the server reaped it


def test_a_horse_past_its_timeout_is_killed_and_reaped(
    connection: redis.Redis, queue: Queue
) -> None:
    stuck = queue.enqueue(fixtures.kill_myself, signal.SIGSTOP, job_timeout=1)
    after = queue.enqueue(fixtures.return_pid)
    Worker([queue], connection=connection).work(burst=True)
    assert stuck.get_status() == JobStatus.FAILED
    assert "timeout" in (stuck.latest_result().exc_string or "")
    assert after.get_status() == JobStatus.FINISHED
    assert not pid_alive(after.return_value())


def test_a_killed_fork_server_is_replaced_and_the_next_job_runs(
    connection: redis.Redis, queue: Queue, worker_process: WorkerProcess
) -> None:
    wait_registered(connection, "forksrv")
    server = _only_child(worker_process.pid, "the fork server")
    spare = _only_child(server, "the spare horse")
    os.kill(server, signal.SIGKILL)
    wait_until(lambda: not pid_alive(spare), 10, "the spare to die with its server")
    wait_until(
        lambda: _children(worker_process.pid) not in ([], [server]), 20, "a new fork server"
    )
    (replacement,) = _children(worker_process.pid)
    job = queue.enqueue(fixtures.return_pid)
    _finished(job)
    assert job.return_value() not in (worker_process.pid, server, replacement, spare)
    assert f"the fork server {server} ended; starting another" in worker_process.log()
    assert pid_alive(worker_process.pid)


def test_a_job_whose_server_dies_fails_and_the_worker_goes_on(
    connection: redis.Redis, queue: Queue, worker_process: WorkerProcess, tmp_path: Path
) -> None:
    wait_registered(connection, "forksrv")
    server = _only_child(worker_process.pid, "the fork server")
    job = queue.enqueue(fixtures.sleep_for, 60)
    wait_until(lambda: job.get_status() == JobStatus.STARTED, 20, "the job to start")
    os.kill(server, signal.SIGKILL)
    wait_until(lambda: job.get_status() == JobStatus.FAILED, 20, "the job to fail")
    assert "killed by SIGKILL" in (job.latest_result().exc_string or "")
    after = queue.enqueue(fixtures.return_pid)
    _finished(after)


def test_sigkill_of_the_worker_leaves_no_server_and_no_horse(
    connection: redis.Redis, queue: Queue, worker_process: WorkerProcess
) -> None:
    wait_registered(connection, "forksrv")
    server = _only_child(worker_process.pid, "the fork server")
    job = queue.enqueue(fixtures.sleep_for, 60)
    wait_until(lambda: job.get_status() == JobStatus.STARTED, 20, "the job to start")
    # (A job that came to a waiting worker has no spare forked beside it.)
    horse = _only_child(server, "the running horse")
    worker_process.signal(signal.SIGKILL)
    worker_process.wait(20)
    for pid in (server, horse):
        wait_until(lambda pid=pid: not pid_alive(pid), 10, f"process {pid} to go")


def test_without_a_fork_server_the_worker_forks_its_horses_itself(
    connection: redis.Redis, queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ForkServer, "start", classmethod(lambda cls, main: None))
    jobs = [queue.enqueue(fixtures.worker_children) for _ in range(3)]
    died = queue.enqueue(fixtures.exit_hard, 4)
    before = set(_children(os.getpid()))
    Worker([queue], connection=connection).work(burst=True)
    # The horses were children of this process (the worker): each saw itself among them.
    assert all(job.return_value() >= 1 for job in jobs)
    assert "exited with code 4" in (died.latest_result().exc_string or "")
    assert set(_children(os.getpid())) == before


def test_the_server_forks_horses_on_request_and_reports_their_end() -> None:
    def horse_main(job_fd: int, outcome_fd: int, warm_module: str | None) -> None:
        code = len(os.read(job_fd, 100))
        os.write(outcome_fd, f"{os.getpid()} {warm_module}".encode())
        os._exit(code)

    server = ForkServer.start(horse_main)
    assert server is not None
    try:
        to_horse, from_horse = server.request_horse("json")
        pid = server.take_pid()
        assert pid is not None and pid not in (os.getpid(), server.pid)
        assert server.is_horse(pid)
        os.write(to_horse, b"abcde")
        os.close(to_horse)
        assert os.read(from_horse, 100) == f"{pid} json".encode()
        os.close(from_horse)
        status, _ = server.wait_exit(pid)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 5
        assert not server.is_horse(pid)
        assert server.poll_exit(pid) is None
    finally:
        server.close()
    assert server.gone and not pid_alive(server.pid)
