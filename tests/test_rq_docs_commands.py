"""RQ 2.12's documented usages of exception handlers, worker commands (shutdown,
kill-horse, stop-job), the worker pool and the Heroku pattern (docs/docs/workers.md,
jobs.md's "Stopping a Currently Executing Job", exceptions.md), each with only the import
changed from ``rq`` to ``minirq``. Real worker processes, real Redis."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
import redis
from redis import Redis

from minirq import Queue, Retry, Worker
from minirq.command import send_kill_horse_command, send_shutdown_command, send_stop_job_command
from minirq.job import Job, JobStatus
from minirq.serializers import JSONSerializer
from minirq.worker import HerokuWorker, WorkerStatus
from tests import feature_fixtures as ff
from tests import fixtures
from tests import rq_docs_fixtures as docs
from tests.rq_docs_fixtures import opened_redis as _redis
from tests.rq_docs_fixtures import run_to_end

# -- Exception handlers (workers.md, exceptions.md) --------------------------------------


def test_exception_handlers_chain(doc_env: str, connection: redis.Redis) -> None:
    q = Queue()
    job = q.enqueue(docs.fail)
    w = Worker([q], exception_handlers=[docs.foo_handler, docs.bar_handler])
    w.work(burst=True)
    assert docs.traced(connection) == [f"foo:{job.id}:ValueError", f"bar:{job.id}:ValueError"]
    assert job.get_status() == JobStatus.FAILED


def test_a_handler_returning_false_stops_the_chain(doc_env: str, connection: redis.Redis) -> None:
    q = Queue()
    job = q.enqueue(docs.fail)
    w = Worker([q], exception_handlers=[docs.black_hole, docs.foo_handler])
    w.work(burst=True)
    assert docs.traced(connection) == [f"black_hole:{job.id}"]


def test_one_handler_and_no_default_handler(doc_env: str, connection: redis.Redis) -> None:
    q = Queue()
    job = q.enqueue(docs.fail)
    w = Worker([q], exception_handlers=docs.foo_handler, disable_default_exception_handler=True)
    w.work(burst=True)
    assert docs.traced(connection) == [f"foo:{job.id}:ValueError"]
    # minirq records the failure all the same (RQ would leave the job in no registry).
    assert job.id in q.failed_job_registry


def test_exception_handlers_on_the_command_line(
    connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    job = Queue(connection=connection).enqueue(docs.fail)
    run_to_end(
        [
            sys.executable,
            "-m",
            "minirq",
            "worker",
            "--burst",
            "--exception-handler",
            "tests.rq_docs_fixtures.foo_handler",
            "--exception-handler",
            "tests.rq_docs_fixtures.bar_handler",
            "--disable-default-exception-handler",
        ],
        env=subprocess_env,
    )
    assert docs.traced(connection) == [f"foo:{job.id}:ValueError", f"bar:{job.id}:ValueError"]


def test_work_horse_killed_handler(doc_env: str, connection: redis.Redis) -> None:
    q = Queue()
    job = q.enqueue(docs.kill_self)
    w = Worker([q], work_horse_killed_handler=docs.my_work_horse_killed_handler)
    w.work(burst=True)
    assert docs.traced(connection) == [f"killed:{job.id}:False:False"]
    assert job.get_status() == JobStatus.FAILED


# -- Sending commands to workers; stopping a job (workers.md, jobs.md) ------------------


def test_shutting_down_every_worker(doc_env: str, subprocess_env: dict[str, str]) -> None:
    redis_conn = _redis(doc_env)
    command = [sys.executable, "-m", "minirq"]
    processes = [ff.start_worker(command, subprocess_env, "--name", f"w{i}") for i in range(2)]
    try:
        ff.wait_until(lambda: Worker.count(connection=redis_conn) == 2, what="two workers")
        workers = Worker.all(redis_conn)
        for worker in workers:
            send_shutdown_command(redis_conn, worker.name)  # Tells worker to shutdown
        for process in processes:
            assert process.wait(timeout=30) == 0
    finally:
        for process in processes:
            ff.stop_process(process)
    assert Worker.count(connection=redis_conn) == 0


def test_killing_a_horse(doc_env: str, subprocess_env: dict[str, str]) -> None:
    redis_conn = _redis(doc_env)
    job = Queue().enqueue(docs.sleep_then_note, 30, "never")
    process = ff.start_worker([sys.executable, "-m", "minirq"], subprocess_env)
    try:
        ff.wait_until(lambda: job.get_status() == JobStatus.STARTED, what="job start")
        workers = Worker.all(redis_conn)
        for worker in workers:
            if worker.state == WorkerStatus.BUSY:
                send_kill_horse_command(redis_conn, worker.name)
        ff.wait_until(lambda: job.get_status() == JobStatus.FAILED, what="job failure")
        job.refresh()
        assert "kill-horse" in (job.exc_info or "")
        assert process.poll() is None  # the worker goes on
    finally:
        ff.stop_process(process)


def test_stopping_a_job(doc_env: str, subprocess_env: dict[str, str]) -> None:
    redis_conn = _redis(doc_env)
    queue = Queue()
    job = queue.enqueue(docs.sleep_then_note, 30, "never", retry=Retry(max=3))
    job_id = job.id
    process = ff.start_worker([sys.executable, "-m", "minirq"], subprocess_env)
    try:
        ff.wait_until(lambda: job.get_status() == JobStatus.STARTED, what="job start")
        send_stop_job_command(redis_conn, job_id)
        ff.wait_until(lambda: job.get_status() == JobStatus.STOPPED, what="job stopped")
    finally:
        ff.stop_process(process)
    # A stopped job goes to the FailedJobRegistry and is not retried.
    assert job_id in queue.failed_job_registry
    assert job.get_status() == JobStatus.STOPPED


def test_stopping_a_job_that_is_not_running_raises(doc_env: str) -> None:
    job = Queue().enqueue(fixtures.add, 1, 1)
    with pytest.raises(Exception, match="not running"):
        send_stop_job_command(_redis(doc_env), job.id, serializer=JSONSerializer)


# -- Worker pool -------------------------------------------------------------------------


def test_rq_worker_pool_high_default_low_n_3(
    connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    jobs = [Queue(n, connection=connection).enqueue(docs.note, n) for n in ("low", "high")]
    run_to_end(
        [sys.executable, "-m", "minirq", "worker-pool", "high", "default", "low", "-n", "3", "-b"],
        env=subprocess_env,
    )
    assert [j.return_value() for j in jobs] == ["low", "high"]


# -- The Heroku pattern ------------------------------------------------------------------


def test_heroku_run_worker_script(
    tmp_path: Path, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    script = tmp_path / "run-worker.py"
    script.write_text(
        "import os\n"
        "import redis\n"
        "from minirq import Queue\n"
        "from minirq.worker import HerokuWorker as Worker\n"
        "listen = ['high', 'default', 'low']\n"
        "redis_url = os.getenv('REDIS_URL')\n"
        "conn = redis.from_url(redis_url)\n"
        "if __name__ == '__main__':\n"
        "    worker = Worker([Queue(name, connection=conn) for name in listen])\n"
        "    worker.work(burst=True)\n"
    )
    job = Queue("low", connection=connection).enqueue(fixtures.add, 6, 7)
    run_to_end(
        [sys.executable, "-u", str(script)],
        env=subprocess_env,
    )
    assert job.return_value() == 13


def test_heroku_worker_sigterm_puts_the_running_job_back(
    doc_env: str, connection: redis.Redis
) -> None:
    queue = Queue()
    job = queue.enqueue(docs.sleep_then_note, 30, "never")

    class QuickHeroku(HerokuWorker):
        imminent_shutdown_delay = 0

    worker = QuickHeroku([queue])
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only signals the worker
        try:
            own = Job.fetch(job.id, connection=Redis.from_url(doc_env))
            ff.wait_until(lambda: own.get_status() == JobStatus.STARTED, what="job start")
            os.kill(os.getppid(), signal.SIGTERM)
        finally:
            os._exit(0)
    try:
        worker.work()
    finally:
        os.waitpid(pid, 0)
    assert job.get_status() == JobStatus.QUEUED
    assert queue.job_ids == [job.id]
    assert docs.traced(connection) == []
