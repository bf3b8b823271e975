from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
import redis

from minirq import Job, JobStatus, Queue, SimpleWorker, Worker
from minirq.async_worker import AsyncWorker
from minirq.pool import WorkerPool
from minirq.store import runner_for
from minirq.worker import BaseWorker
from tests import fixtures
from tests.conftest import ROOT

WORKER_CLASSES = [Worker, SimpleWorker]


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_runs_job_and_records_result(
    worker_class: type[BaseWorker], queue: Queue, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.say_hello, "Bo")
    assert worker_class([queue], connection=connection).work(burst=True) is True
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "Hi there, Bo!"
    assert job.result == "Hi there, Bo!"
    assert job.id in queue.finished_job_registry
    assert job.id not in queue.started_job_registry
    assert 0 < connection.ttl(job.key) <= 500


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_failure_records_traceback_and_worker_goes_on(
    worker_class: type[BaseWorker], queue: Queue, connection: redis.Redis
) -> None:
    bad = queue.enqueue(fixtures.div_by_zero)
    good = queue.enqueue(fixtures.add, 1, 2)
    worker_class([queue], connection=connection).work(burst=True)
    assert bad.get_status() == JobStatus.FAILED
    bad.refresh()
    assert "ZeroDivisionError" in (bad.exc_info or "")
    assert "div_by_zero" in (bad.exc_info or "")
    assert bad.id in queue.failed_job_registry
    assert good.return_value() == 3


def test_empty_queue_burst_returns_false(simple_worker: SimpleWorker) -> None:
    assert simple_worker.work(burst=True) is False


def test_priority_order(connection: redis.Redis, tmp_path: object) -> None:
    high = Queue("high", connection=connection)
    low = Queue("low", connection=connection)
    log = f"{tmp_path}/order.txt"
    low.enqueue(fixtures.append_line, log, "low")
    high.enqueue(fixtures.append_line, log, "high")
    SimpleWorker([high, low], connection=connection).work(burst=True)
    with open(log) as handle:
        assert handle.read().split() == ["high", "low"]


def test_result_ttl_zero_deletes_job(
    queue: Queue, simple_worker: SimpleWorker, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.say_hello, result_ttl=0)
    simple_worker.work(burst=True)
    assert not connection.exists(job.key)
    assert job.id not in queue.finished_job_registry


def test_result_ttl_minus_one_keeps_job(
    queue: Queue, simple_worker: SimpleWorker, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.say_hello, result_ttl=-1)
    simple_worker.work(burst=True)
    assert connection.ttl(job.key) == -1
    assert job.is_finished


def test_expired_queued_job_is_skipped(
    queue: Queue, simple_worker: SimpleWorker, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.say_hello, ttl=100)
    connection.delete(job.key)
    good = queue.enqueue(fixtures.say_hello)
    simple_worker.work(burst=True)
    assert good.is_finished
    assert queue.count == 0


def test_ttl_is_cleared_when_job_starts(
    queue: Queue, simple_worker: SimpleWorker, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.say_hello, ttl=100, result_ttl=-1)
    simple_worker.work(burst=True)
    assert connection.ttl(job.key) == -1


def test_max_jobs(queue: Queue, simple_worker: SimpleWorker) -> None:
    for _ in range(3):
        queue.enqueue(fixtures.say_hello)
    simple_worker.work(burst=True, max_jobs=2)
    assert queue.count == 1


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_current_job_and_meta(
    worker_class: type[BaseWorker], queue: Queue, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.current_job_id)
    meta = queue.enqueue(fixtures.write_progress)
    worker_class([queue], connection=connection).work(burst=True)
    assert job.return_value() == job.id
    assert meta.get_meta() == {"progress": 0.5}


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_timeout_fails_job_with_timeout_exception(
    worker_class: type[BaseWorker], queue: Queue, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.swallow_everything, 30, job_timeout=1)
    after = queue.enqueue(fixtures.say_hello)
    worker_class([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in (job.exc_info or "")
    assert after.is_finished


def test_fork_worker_kills_horse_that_ignores_timeout(
    queue: Queue, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.kill_myself, signal.SIGSTOP, job_timeout=1)
    Worker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "timeout of 1 s" in (job.exc_info or "")


@pytest.mark.parametrize(
    ("func", "args", "expected"),
    [
        (fixtures.kill_myself, (signal.SIGKILL,), "SIGKILL (signal 9): often the out-of-memory"),
        (fixtures.kill_myself, (signal.SIGSEGV,), "SIGSEGV"),
        (fixtures.exit_hard, (3,), "exited with code 3"),
    ],
)
def test_dead_horse_fails_only_its_job(
    queue: Queue, connection: redis.Redis, func: object, args: tuple[object, ...], expected: str
) -> None:
    job = queue.enqueue(func, *args)  # type: ignore[arg-type]
    after = queue.enqueue(fixtures.say_hello)
    Worker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert expected in (job.exc_info or "")
    assert after.is_finished


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_unserializable_result_fails_job(
    worker_class: type[BaseWorker], queue: Queue, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.return_unpicklable)
    worker_class([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.is_failed
    assert "cannot be serialized" in (job.exc_info or "")


def test_result_too_large_fails_job(queue: Queue, connection: redis.Redis) -> None:
    job = queue.enqueue(fixtures.return_big, 2048)
    Worker([queue], connection=connection, max_result_bytes=1024).work(burst=True)
    job.refresh()
    assert job.is_failed
    assert "above the limit of 1024 bytes" in (job.exc_info or "")


@pytest.mark.parametrize("worker_class", WORKER_CLASSES)
def test_broken_jobs_fail_alone(
    worker_class: type[BaseWorker], queue: Queue, connection: redis.Redis
) -> None:
    garbage = queue.enqueue(fixtures.say_hello)
    connection.hset(garbage.key, "data", b"\x80not pickle")
    missing_func = queue.enqueue("tests.fixtures.does_not_exist")
    missing_module = queue.enqueue("no_such_module.func")
    good = queue.enqueue(fixtures.say_hello)
    worker_class([queue], connection=connection).work(burst=True)
    for job, text in [
        (garbage, "cannot decode the arguments"),
        (missing_func, "does_not_exist"),
        (missing_module, "no_such_module"),
    ]:
        job.refresh()
        assert job.is_failed, job
        assert text in (job.exc_info or "")
    assert good.is_finished


def test_fork_worker_runs_job_in_another_process(queue: Queue, connection: redis.Redis) -> None:
    job = queue.enqueue(fixtures.return_pid)
    Worker([queue], connection=connection).work(burst=True)
    assert job.return_value() != os.getpid()


def test_worker_registration_and_stats(queue: Queue, connection: redis.Redis) -> None:
    queue.enqueue(fixtures.say_hello)
    queue.enqueue(fixtures.div_by_zero)
    worker = SimpleWorker([queue], connection=connection, name="w1")
    worker.register_birth()
    info = {w.name: w for w in Worker.all(connection=connection)}["w1"]
    assert info.queue_names == ["default"] and info.pid == os.getpid()
    assert info.state == "idle"
    worker.work(burst=True)
    assert Worker.all(connection=connection) == []
    stats = connection.hgetall(f"minirq:stats:{int(time.time()) // 60}")
    assert stats[b"processed"] == b"2" and stats[b"failed"] == b"1"


def test_worker_all_drops_dead_workers(connection: redis.Redis) -> None:
    connection.sadd("minirq:workers", "ghost")
    assert Worker.all(connection=connection) == []
    assert not connection.sismember("minirq:workers", "ghost")


def test_idle_worker_wakes_on_enqueue(
    redis_url: str, connection: redis.Redis, subprocess_env: dict[str, str], tmp_path: object
) -> None:
    worker = subprocess.Popen(
        [sys.executable, "-m", "minirq", "worker", "--worker-class", "simple", "--max-jobs", "1"],
        env=subprocess_env,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while not connection.smembers("minirq:workers") and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        job = Queue(connection=connection).enqueue(fixtures.say_hello)
        assert worker.wait(20) == 0
        assert job.is_finished
    finally:
        worker.kill()
        worker.wait()
        assert worker.stderr is not None
        worker.stderr.close()


def test_job_fields_after_finish(
    queue: Queue, simple_worker: SimpleWorker, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.say_hello)
    simple_worker.work(burst=True)
    fetched = Job.fetch(job.id, connection=connection)
    assert fetched.worker_name == simple_worker.name
    assert fetched.started_at is not None


@pytest.mark.parametrize("mode", [["--worker-class", "fork"], ["--pool", "1"]], ids=str)
def test_sigterm_to_the_whole_process_group_lets_the_job_finish(
    mode: list[str],
    queue: Queue,
    subprocess_env: dict[str, str],
    minirq_command: list[str],
) -> None:
    # Heroku, honcho and systemd signal every process of the worker, horses included.
    job = queue.enqueue(fixtures.sleep_for, 1)
    waiting = queue.enqueue(fixtures.say_hello)
    process = subprocess.Popen(
        [*minirq_command, "worker", *mode],
        env=subprocess_env,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while queue.started_job_registry.count == 0:
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, stderr
    assert job.get_status() == JobStatus.FINISHED, job.exc_info
    assert queue.job_ids == [waiting.id]


def test_outcome_and_next_fetch_share_one_script_call(
    queue: Queue, connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = [queue.enqueue(fixtures.add, i, 1) for i in range(3)]
    runner = runner_for(connection)
    sent: list[str] = []
    run = runner.run

    def recording_run(call: Any) -> object:
        sent.append(call.script)
        return run(call)

    monkeypatch.setattr(runner, "run", recording_run)
    SimpleWorker([queue], connection=connection).work(max_jobs=3)
    assert [job.return_value() for job in jobs] == [1, 2, 3]
    # Jobs 1 and 2 are recorded along with the next fetch; job 3, the last, alone.
    assert [s for s in sent if "finish" in s] == ["finish+fetch", "finish+fetch", "finish"]


def test_max_jobs_does_not_take_a_job_it_will_not_run(
    queue: Queue, connection: redis.Redis
) -> None:
    first = queue.enqueue(fixtures.say_hello)
    second = queue.enqueue(fixtures.say_hello)
    SimpleWorker([queue], connection=connection).work(max_jobs=1)
    assert first.is_finished
    assert second.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [second.id]
    assert queue.started_job_registry.count == 0


def test_prefetched_job_goes_back_to_the_front_when_the_loop_stops(
    queue: Queue, connection: redis.Redis
) -> None:
    first = queue.enqueue(fixtures.say_hello)
    second = queue.enqueue(fixtures.say_hello)
    worker = SimpleWorker([queue], connection=connection)
    fetched = worker.take_job()
    assert fetched is not None and fetched[0].id == first.id
    worker._fetched_ahead = (fetched,)
    worker._put_back_fetched_ahead()
    assert first.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [first.id, second.id]
    assert queue.started_job_registry.count == 0


@pytest.mark.parametrize(
    "make_worker",
    [
        lambda q, c: SimpleWorker([q], connection=c, lease_s=60),
        lambda q, c: WorkerPool([q], connection=c, size=1, lease_s=60),
        lambda q, c: AsyncWorker([q], connection=c, concurrency=2, lease_s=60),
    ],
    ids=["simple", "pool", "async"],
)
def test_a_heartbeat_renews_and_shows_the_job_fetched_ahead(
    queue: Queue, connection: redis.Redis, make_worker: Any
) -> None:
    """Between the reply that brought it and its handing over, a job fetched along with
    the last outcome is this worker's: its lease is renewed and the record shows it."""
    job = queue.enqueue(fixtures.say_hello)
    worker = make_worker(queue, connection)
    worker.register_birth()
    try:
        fetched = worker.take_job()
        assert fetched is not None and fetched[0].id == job.id
        worker._fetched_ahead = (fetched,)
        registry = queue.started_job_registry.key
        connection.zadd(registry, {job.id: 1})
        worker.heartbeat()
        assert connection.zscore(registry, job.id) > time.time() * 1000
        state, shown = connection.hmget(worker.key, ["state", "job"])
        assert (state, shown) == (b"busy", job.id.encode())
    finally:
        worker._put_back_fetched_ahead()
        worker.register_death()
    assert queue.job_ids == [job.id]


@pytest.mark.parametrize("worker_class_name", ["simple", "fork"])
def test_heartbeat_renews_the_lease_while_a_job_runs(
    worker_class_name: str,
    queue: Queue,
    connection: redis.Redis,
    subprocess_env: dict[str, str],
) -> None:
    job = queue.enqueue(fixtures.sleep_for, 2)
    worker = subprocess.Popen(
        [
            *(sys.executable, "-m", "minirq", "worker"),
            *("--worker-class", worker_class_name, "--lease", "1", "--burst"),
        ],
        env=subprocess_env,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while queue.started_job_registry.count == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(1.3)
        # Past the first lease: a renewed lease lies in the future.
        ((_, score),) = connection.zrange(queue.started_job_registry.key, 0, -1, withscores=True)
        assert score > time.time() * 1000
        assert worker.wait(20) == 0
    finally:
        worker.kill()
        worker.wait()
    assert job.get_status() == JobStatus.FINISHED


def test_deliberate_crash_tests_keep_the_test_log_clean() -> None:
    """The horse-crash tests kill a horse with SIGSEGV; the log shows no fatal-error stack."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{__file__}::test_dead_horse_fails_only_its_job",
        ],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout
    assert "Fatal Python error" not in result.stdout + result.stderr
