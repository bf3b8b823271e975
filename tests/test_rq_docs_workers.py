"""RQ 2.12's documented usages of workers and commands (docs/docs/workers.md, jobs.md's
"Stopping a Currently Executing Job", exceptions.md's handlers, testing.md and the Heroku
pattern), each with only the import changed from ``rq`` to ``minirq`` (and ``Redis()``
pointed at the test server). Real worker processes, real Redis."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from minirq import Queue, SimpleWorker, Worker
from minirq.job import JobStatus
from minirq.serializers import JSONSerializer
from minirq.worker import RandomWorker, RoundRobinWorker, SpawnWorker, WorkerStatus
from tests import feature_fixtures as ff
from tests import fixtures
from tests import rq_docs_fixtures as docs
from tests.conftest import ROOT, RedisServer
from tests.rq_docs_fixtures import opened_redis as _redis
from tests.rq_docs_fixtures import run_to_end

# -- Starting workers, burst mode, worker arguments ------------------------------------


def test_rq_worker_burst_high_default_low_takes_queues_in_order(
    doc_env: str, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    for name in ("low", "default", "high"):
        Queue(name, connection=connection).enqueue(docs.note, name)
    run_to_end(
        [sys.executable, "-m", "minirq", "worker", "--burst", "high", "default", "low"],
        env=subprocess_env,
    )
    assert docs.traced(connection) == ["high", "default", "low"]


def test_worker_arguments_of_the_docs_are_accepted(
    tmp_path: Path, doc_env: str, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    job = Queue("default", connection=connection, serializer="json").enqueue(fixtures.add, 1, 2)
    done = run_to_end(
        [
            sys.executable,
            "-m",
            "minirq",
            "worker",
            "--url",
            doc_env,
            "-b",
            "--path",
            str(tmp_path),
            "--path",
            str(ROOT),
            "--results-ttl",
            "60",
            "--worker-class",
            "minirq.worker.SimpleWorker",
            "--job-class",
            "minirq.job.Job",
            "--queue-class",
            "minirq.Queue",
            "--connection-class",
            "redis.StrictRedis",
            "--log-format",
            "%(asctime)s %(message)s",
            "--date-format",
            "%H:%M:%S",
            "--disable-job-desc-logging",
            "--max-jobs",
            "5",
            "--serializer",
            "json",
            "--dequeue-strategy",
            "round_robin",
            "--max-idle-time",
            "30",
            "--maintenance-interval",
            "600",
        ],
        env=subprocess_env,
    )
    assert job.return_value() == 3
    assert 0 < connection.ttl(job.key) <= 60
    assert "--maintenance-interval has no effect" in done.stderr


def test_preloading_worker_script(doc_env: str, connection: redis.Redis) -> None:
    job = Queue("default", connection=connection).enqueue(fixtures.say_hello, "preload")
    # Provide the worker with the list of queues (str) to listen to.
    w = Worker(["default"], connection=_redis(doc_env))
    w.work(burst=True)
    assert job.return_value() == "Hi there, preload!"


def test_worker_names_with_a_queue_made_without_connection(doc_env: str) -> None:
    redis_conn = _redis(doc_env)
    queue = Queue("queue_name")
    job = queue.enqueue(fixtures.add, 2, 2)
    # Start a worker with a custom name
    worker = Worker([queue], connection=redis_conn, name="foo")
    assert worker.name == "foo"
    worker.work(burst=True)
    assert job.return_value() == 4


# -- Retrieving worker information -----------------------------------------------------


def test_retrieving_worker_information(doc_env: str, subprocess_env: dict[str, str]) -> None:
    redis_conn = _redis(doc_env)
    queue = Queue("queue_name")
    other = Queue("other")
    slow = queue.enqueue(docs.sleep_then_note, 30, "slow")
    process = ff.start_worker(
        [sys.executable, "-m", "minirq"], subprocess_env, "--name", "w1", "queue_name"
    )
    try:
        ff.wait_until(lambda: slow.get_status() == JobStatus.STARTED, what="job start")
        # Returns all workers registered in this connection
        workers = Worker.all(connection=redis_conn)
        assert [w.name for w in workers] == ["w1"]
        # Returns all workers in this queue
        workers = Worker.all(queue=queue)
        worker = workers[0]
        assert worker.name == "w1"
        assert Worker.all(queue=other) == []
        assert "Successful jobs: " + str(worker.successful_job_count) == "Successful jobs: 0"
        assert "Failed jobs: " + str(worker.failed_job_count) == "Failed jobs: 0"
        assert worker.total_working_time == 0
        assert worker.hostname and worker.pid == process.pid
        assert [q.name for q in worker.queues] == ["queue_name"]
        assert worker.state == WorkerStatus.BUSY
        assert worker.current_job is not None and worker.current_job.id == slow.id
        assert worker.last_heartbeat is not None and worker.birth_date is not None
        # Count the number of workers in this Redis connection / for a specific queue
        assert Worker.count(connection=redis_conn) == 1
        assert Worker.count(queue=queue) == 1
        assert Worker.count(queue=other) == 0
    finally:
        ff.stop_process(process)


# -- Serializers -------------------------------------------------------------------------


@pytest.mark.parametrize("serializer", ["json", JSONSerializer])
def test_worker_with_custom_serializer(doc_env: str, serializer: object) -> None:
    queue = Queue("foo", serializer=serializer)
    job = queue.enqueue(fixtures.add, 20, 22)
    worker = Worker([queue], serializer=serializer)
    worker.work(burst=True)
    assert job.return_value() == 42
    by_name = Worker("foo", serializer="json")
    assert by_name.queues[0].name == "foo" and by_name.connection.ping()


def test_rq_worker_serializer_json_on_the_command_line(
    doc_env: str, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    job = Queue(connection=connection, serializer="json").enqueue(fixtures.add, 3, 4)
    run_to_end(
        [sys.executable, "-m", "minirq", "worker", "--serializer", "json", "--burst"],
        env=subprocess_env,
    )
    assert job.return_value() == 7


# -- Taking down workers -----------------------------------------------------------------


def test_sigterm_lets_the_running_job_finish(
    connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    job = Queue(connection=connection).enqueue(docs.sleep_then_note, 1, "finished")
    process = subprocess.Popen(
        [sys.executable, "-m", "minirq", "worker"],
        env=subprocess_env,
        stderr=subprocess.PIPE,
    )
    try:
        ff.wait_until(lambda: job.get_status() == JobStatus.STARTED, what="job start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        ff.stop_process(process)
    assert job.get_status() == JobStatus.FINISHED and docs.traced(connection) == ["finished"]


# -- Using a config file -----------------------------------------------------------------


def test_config_file_with_redis_url_queues_name_and_dict_config(
    tmp_path: Path, connection: redis.Redis, subprocess_env: dict[str, str], redis_url: str
) -> None:
    (tmp_path / "rqdocs_settings.py").write_text(
        f"REDIS_URL = {redis_url!r}\n"
        "QUEUES = ['high', 'default', 'low']\n"
        "SENTRY_DSN = 'sync+http://public:secret@example.com/1'\n"
        "NAME = 'worker-1024'\n"
        "DICT_CONFIG = {'version': 1, 'disable_existing_loggers': False,\n"
        "    'formatters': {'standard': {'format': 'DICT %(levelname)s %(message)s'}},\n"
        "    'handlers': {'default': {'level': 'INFO', 'formatter': 'standard',\n"
        "        'class': 'logging.StreamHandler', 'stream': 'ext://sys.stderr'}},\n"
        "    'loggers': {'root': {'handlers': ['default'], 'level': 'INFO',\n"
        "        'propagate': False}}}\n"
    )
    job = Queue("low", connection=connection).enqueue(fixtures.current_job_id)
    env = {k: v for k, v in subprocess_env.items() if k != "REDIS_URL"}
    done = run_to_end(
        [sys.executable, "-m", "minirq", "worker", "-c", "rqdocs_settings", "--burst"],
        env=env,
        cwd=tmp_path,
    )
    assert job.return_value() == job.id
    job.refresh()
    assert job.worker_name == "worker-1024"
    assert "DICT INFO" in done.stderr


def test_config_file_with_redis_host_port_db(
    tmp_path: Path,
    connection: redis.Redis,
    subprocess_env: dict[str, str],
    redis_server: RedisServer,
) -> None:
    (tmp_path / "rqdocs_parts.py").write_text(
        f"REDIS_HOST = '127.0.0.1'\nREDIS_PORT = {redis_server.port}\nREDIS_DB = 0\n"
    )
    job = Queue(connection=connection).enqueue(fixtures.add, 5, 5)
    env = {k: v for k, v in subprocess_env.items() if k != "REDIS_URL"}
    run_to_end(
        [sys.executable, "-m", "minirq", "worker", "-c", "rqdocs_parts", "--burst"],
        env=env,
        cwd=tmp_path,
    )
    assert job.return_value() == 10


# -- Custom worker classes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "worker_class",
    [
        "tests.rq_docs_fixtures.PreloadingWorker",
        "minirq.worker.SimpleWorker",
        "minirq.worker.RoundRobinWorker",
        "minirq.worker.RandomWorker",
        "minirq.worker.SpawnWorker",
    ],
)
def test_rq_worker_w_dotted_class(
    worker_class: str, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    job = Queue("q1", connection=connection).enqueue(fixtures.add, 1, 1)
    run_to_end(
        [sys.executable, "-m", "minirq", "worker", "-w", worker_class, "--burst", "q1", "q2"],
        env=subprocess_env,
    )
    assert job.return_value() == 2
    if worker_class.endswith("PreloadingWorker"):
        assert docs.traced(connection) == ["custom-worker"]


def test_simple_worker_for_tests(doc_env: str) -> None:
    queue = Queue("default")
    job = queue.enqueue(fixtures.add, 2, 5)
    worker = SimpleWorker([queue], connection=queue.connection)
    worker.work(burst=True)  # Runs enqueued job
    assert job.return_value() == 7
    docs.WindowsSimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_round_robin_worker_takes_queues_in_turn(doc_env: str, connection: redis.Redis) -> None:
    queues = [Queue("q1"), Queue("q2"), Queue("q3")]
    for queue in queues:
        for i in range(2):
            queue.enqueue(docs.note, f"{queue.name}-{i}")
    worker = RoundRobinWorker(queues)
    worker.work(burst=True)
    assert docs.traced(connection) == ["q1-0", "q2-0", "q3-0", "q1-1", "q2-1", "q3-1"]


def test_random_worker_runs_every_job(doc_env: str, connection: redis.Redis) -> None:
    queues = [Queue("q1"), Queue("q2"), Queue("q3")]
    for queue in queues:
        queue.enqueue(docs.note, queue.name)
    worker = RandomWorker(queues)
    assert worker.work(burst=True)
    assert sorted(docs.traced(connection)) == ["q1", "q2", "q3"]


def test_spawn_worker_keeps_timeouts_and_failures(doc_env: str) -> None:
    queue = Queue("default")
    ok = queue.enqueue(fixtures.add, 1, 2)
    failing = queue.enqueue(fixtures.div_by_zero)
    late = queue.enqueue(fixtures.sleep_for, 30, job_timeout=1)
    worker = SpawnWorker([queue])
    worker.work(burst=True)
    assert ok.return_value() == 3
    assert failing.get_status() == JobStatus.FAILED
    assert late.get_status() == JobStatus.FAILED
    late.refresh()
    assert "JobTimeoutException" in (late.exc_info or "")


def test_custom_job_and_queue_classes(
    connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    queue = docs.CustomQueue("default", connection=connection)
    job = queue.enqueue(fixtures.add, 4, 4)
    run_to_end(
        [
            sys.executable,
            "-m",
            "minirq",
            "worker",
            "--burst",
            "--job-class",
            "tests.rq_docs_fixtures.CustomJob",
            "--queue-class",
            "tests.rq_docs_fixtures.CustomQueue",
        ],
        env=subprocess_env,
    )
    assert job.return_value() == 8
    worker = Worker([queue], job_class=docs.CustomJob, queue_class=docs.CustomQueue)
    assert worker.job_class is docs.CustomJob and worker.queue_class is docs.CustomQueue
