from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from minirq import ConfigurationError, JobStatus, Queue, WorkerPool
from minirq.cli import main
from minirq.reaper import reap_expired_leases
from minirq.utils import now_ms
from tests import fixtures


def test_runs_jobs_in_reused_horses(queue: Queue, connection: redis.Redis) -> None:
    jobs = [queue.enqueue(fixtures.return_pid) for _ in range(8)]
    assert WorkerPool([queue], connection=connection, size=2).work(burst=True) is True
    pids = {job.return_value() for job in jobs}
    assert all(job.get_status() == JobStatus.FINISHED for job in jobs)
    assert 1 <= len(pids) <= 2
    assert all(isinstance(pid, int) and pid != os.getpid() for pid in pids)
    assert queue.started_job_registry.count == 0
    assert queue.finished_job_registry.count == 8


def test_failure_is_recorded_and_pool_goes_on(queue: Queue, connection: redis.Redis) -> None:
    bad = queue.enqueue(fixtures.div_by_zero)
    good = queue.enqueue(fixtures.add, 2, 3)
    WorkerPool([queue], connection=connection, size=1).work(burst=True)
    bad.refresh()
    assert bad.get_status() == JobStatus.FAILED
    assert "ZeroDivisionError" in (bad.exc_info or "")
    assert good.return_value() == 5


def test_max_jobs_per_child_recycles_horses(queue: Queue, connection: redis.Redis) -> None:
    jobs = [queue.enqueue(fixtures.return_pid) for _ in range(4)]
    WorkerPool([queue], connection=connection, size=1, max_jobs_per_child=2).work(burst=True)
    pids = [job.return_value() for job in jobs]
    assert pids[0] == pids[1]
    assert pids[2] == pids[3]
    assert pids[1] != pids[2]


def test_max_memory_per_child_recycles_horses(queue: Queue, connection: redis.Redis) -> None:
    # Any Python process uses more than a tenth of a megabyte, so every job gets a new horse.
    jobs = [queue.enqueue(fixtures.return_pid) for _ in range(3)]
    WorkerPool([queue], connection=connection, size=1, max_memory_per_child_mb=0.1).work(burst=True)
    assert len({job.return_value() for job in jobs}) == 3


@pytest.mark.parametrize(
    ("func", "args", "expected"),
    [
        (fixtures.kill_myself, (signal.SIGKILL,), "SIGKILL (signal 9)"),
        (fixtures.exit_hard, (3,), "exited with code 3"),
    ],
)
def test_crashing_job_fails_alone_and_horse_is_replaced(
    queue: Queue, connection: redis.Redis, func: object, args: tuple[object, ...], expected: str
) -> None:
    before = queue.enqueue(fixtures.return_pid)
    crash = queue.enqueue(func, *args)  # type: ignore[arg-type]
    after = queue.enqueue(fixtures.return_pid)
    WorkerPool([queue], connection=connection, size=1).work(burst=True)
    crash.refresh()
    assert crash.get_status() == JobStatus.FAILED
    assert expected in (crash.exc_info or "")
    assert after.get_status() == JobStatus.FINISHED
    assert before.return_value() != after.return_value()


def test_timeout_inside_the_job(queue: Queue, connection: redis.Redis) -> None:
    job = queue.enqueue(fixtures.swallow_everything, 30, job_timeout=1)
    after = queue.enqueue(fixtures.say_hello)
    WorkerPool([queue], connection=connection, size=1).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in (job.exc_info or "")
    assert after.is_finished


def test_horse_that_ignores_its_timeout_is_killed(queue: Queue, connection: redis.Redis) -> None:
    stuck = queue.enqueue(fixtures.kill_myself, signal.SIGSTOP, job_timeout=1)
    other = queue.enqueue(fixtures.return_pid)
    WorkerPool([queue], connection=connection, size=1).work(burst=True)
    stuck.refresh()
    assert stuck.get_status() == JobStatus.FAILED
    assert "timeout of 1 s" in (stuck.exc_info or "")
    assert other.get_status() == JobStatus.FINISHED


def test_max_jobs_and_priority(connection: redis.Redis, tmp_path: Path) -> None:
    high = Queue("high", connection=connection)
    low = Queue("low", connection=connection)
    log = str(tmp_path / "order.txt")
    low.enqueue(fixtures.append_line, log, "low")
    high.enqueue(fixtures.append_line, log, "high")
    WorkerPool([high, low], connection=connection, size=1).work(max_jobs=1)
    assert Path(log).read_text().split() == ["high"]
    assert low.count == 1


def test_worker_record_is_removed_at_exit(queue: Queue, connection: redis.Redis) -> None:
    queue.enqueue(fixtures.say_hello)
    pool = WorkerPool([queue], connection=connection, size=2)
    pool.work(burst=True)
    assert pool.successful_job_count == 1
    assert not connection.exists(pool.key)
    assert pool.name.encode() not in connection.smembers("minirq:workers")


@pytest.mark.parametrize(
    "options",
    [
        {"size": 0},
        {"size": True},
        {"max_jobs_per_child": 0},
        {"max_memory_per_child_mb": 0},
    ],
)
def test_bad_options_are_refused(queue: Queue, options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        WorkerPool([queue], connection=queue.connection, **options)  # type: ignore[arg-type]


def test_cli_child_limits_need_pool(redis_url: str) -> None:
    result = CliRunner().invoke(main, ["worker", "--max-jobs-per-child", "3", "-u", redis_url])
    assert result.exit_code != 0
    assert "need --pool" in result.output


def test_cli_pool_runs_jobs(redis_url: str, connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(fixtures.return_pid) for _ in range(3)]
    result = CliRunner().invoke(
        main,
        ["worker", "--pool", "2", "--max-jobs-per-child", "1", "--burst", "-u", redis_url],
    )
    assert result.exit_code == 0, result.output
    assert len({job.return_value() for job in jobs}) == 3


# -- in a separate process: leases, signals ----------------------------------------------


def _start_pool(env: dict[str, str], *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "minirq", "worker", "--pool", "2", *extra],
        env=env,
        stderr=subprocess.DEVNULL,
    )


def _wait_for(condition: object, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_heartbeat_renews_the_lease_of_every_running_job(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    jobs = [queue.enqueue(fixtures.sleep_for, 2.5) for _ in range(2)]
    pool = _start_pool(subprocess_env, "--lease", "1", "--burst")
    try:
        _wait_for(lambda: queue.started_job_registry.count == 2)
        time.sleep(1.5)
        # Past the first lease: renewed leases lie in the future, so nothing is reaped.
        scores = connection.zrange(queue.started_job_registry.key, 0, -1, withscores=True)
        assert len(scores) == 2
        assert all(score > now_ms() for _, score in scores)
        assert reap_expired_leases(connection, queue.keys) == ([], [])
        assert pool.wait(20) == 0
    finally:
        pool.kill()
        pool.wait()
    assert all(job.get_status() == JobStatus.FINISHED for job in jobs)


def test_sigterm_lets_running_jobs_finish(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    running = [queue.enqueue(fixtures.sleep_for, 1) for _ in range(2)]
    waiting = queue.enqueue(fixtures.say_hello)
    pool = _start_pool(subprocess_env)
    try:
        _wait_for(lambda: queue.started_job_registry.count == 2)
        pool.send_signal(signal.SIGTERM)
        assert pool.wait(20) == 0
    finally:
        pool.kill()
        pool.wait()
    assert all(job.get_status() == JobStatus.FINISHED for job in running)
    assert waiting.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [waiting.id]


def test_sigterm_past_grace_requeues_running_jobs_at_front(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    running = [queue.enqueue(fixtures.sleep_for, 30) for _ in range(2)]
    waiting = queue.enqueue(fixtures.say_hello)
    pool = _start_pool(subprocess_env, "--shutdown-timeout", "0.5")
    try:
        _wait_for(lambda: queue.started_job_registry.count == 2)
        pool.send_signal(signal.SIGTERM)
        assert pool.wait(20) == 0
    finally:
        pool.kill()
        pool.wait()
    assert all(job.get_status() == JobStatus.QUEUED for job in running)
    assert queue.job_ids[-1] == waiting.id
    assert set(queue.job_ids[:2]) == {job.id for job in running}
    assert queue.started_job_registry.count == 0


def test_second_signal_stops_at_once(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    job = queue.enqueue(fixtures.sleep_for, 30)
    pool = _start_pool(subprocess_env)
    try:
        _wait_for(lambda: queue.started_job_registry.count == 1)
        pool.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        pool.send_signal(signal.SIGINT)
        assert pool.wait(20) == 0
    finally:
        pool.kill()
        pool.wait()
    assert job.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]


def test_idle_pool_wakes_on_enqueue(
    queue: Queue, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    pool = _start_pool(subprocess_env, "--max-jobs", "1")
    try:
        _wait_for(lambda: bool(connection.smembers("minirq:workers")))
        time.sleep(0.3)
        job = queue.enqueue(fixtures.say_hello)
        assert pool.wait(20) == 0
    finally:
        pool.kill()
        pool.wait()
    assert job.is_finished
