"""RQ 2.12's documented usages of workers and commands (docs/docs/workers.md, jobs.md's
"Stopping a Currently Executing Job", exceptions.md's handlers, testing.md and the Heroku
pattern), each with only the import changed from ``rq`` to ``minirq`` (and ``Redis()``
pointed at the test server). Real worker processes, real Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis import Redis

from minirq import Queue, Retry, SimpleWorker, Worker
from minirq.command import send_kill_horse_command, send_shutdown_command, send_stop_job_command
from minirq.job import Job, JobStatus
from minirq.serializers import JSONSerializer
from minirq.worker import HerokuWorker, RandomWorker, RoundRobinWorker, SpawnWorker, WorkerStatus
from tests import feature_fixtures as ff
from tests import fixtures
from tests import rq_docs_fixtures as docs
from tests.conftest import ROOT, RedisServer


@pytest.fixture
def doc_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """RQ's docs write ``Redis()`` and ``Queue('name')``: both reach the test server."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    yield redis_url
    while _opened:
        _opened.pop().close()


_opened: list[Redis] = []


def _redis(url: str) -> Redis:
    """A client as the docs make one, closed when the test ends."""
    client = Redis.from_url(url)
    _opened.append(client)
    return client


# -- Starting workers, burst mode, worker arguments ------------------------------------


def test_rq_worker_burst_high_default_low_takes_queues_in_order(
    doc_env: str, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    for name in ("low", "default", "high"):
        Queue(name, connection=connection).enqueue(docs.note, name)
    done = subprocess.run(
        [sys.executable, "-m", "minirq", "worker", "--burst", "high", "default", "low"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert docs.traced(connection) == ["high", "default", "low"]


def test_worker_arguments_of_the_docs_are_accepted(
    tmp_path: Path, doc_env: str, connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    job = Queue("default", connection=connection, serializer="json").enqueue(fixtures.add, 1, 2)
    done = subprocess.run(
        [
            sys.executable, "-m", "minirq", "worker", "--url", doc_env, "-b",
            "--path", str(tmp_path), "--path", str(ROOT), "--results-ttl", "60",
            "--worker-class", "minirq.worker.SimpleWorker", "--job-class", "minirq.job.Job",
            "--queue-class", "minirq.Queue", "--connection-class", "redis.StrictRedis",
            "--log-format", "%(asctime)s %(message)s", "--date-format", "%H:%M:%S",
            "--disable-job-desc-logging", "--max-jobs", "5", "--serializer", "json",
            "--dequeue-strategy", "round_robin", "--max-idle-time", "30",
            "--maintenance-interval", "600",
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
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
    done = subprocess.run(
        [sys.executable, "-m", "minirq", "worker", "--serializer", "json", "--burst"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
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
    done = subprocess.run(
        [sys.executable, "-m", "minirq", "worker", "-c", "rqdocs_settings", "--burst"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
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
    done = subprocess.run(
        [sys.executable, "-m", "minirq", "worker", "-c", "rqdocs_parts", "--burst"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
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
    done = subprocess.run(
        [sys.executable, "-m", "minirq", "worker", "-w", worker_class, "--burst", "q1", "q2"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
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
    done = subprocess.run(
        [
            sys.executable, "-m", "minirq", "worker", "--burst",
            "--job-class", "tests.rq_docs_fixtures.CustomJob",
            "--queue-class", "tests.rq_docs_fixtures.CustomQueue",
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert job.return_value() == 8
    worker = Worker([queue], job_class=docs.CustomJob, queue_class=docs.CustomQueue)
    assert worker.job_class is docs.CustomJob and worker.queue_class is docs.CustomQueue


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
    done = subprocess.run(
        [
            sys.executable, "-m", "minirq", "worker", "--burst",
            "--exception-handler", "tests.rq_docs_fixtures.foo_handler",
            "--exception-handler", "tests.rq_docs_fixtures.bar_handler",
            "--disable-default-exception-handler",
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
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
    done = subprocess.run(
        [sys.executable, "-m", "minirq", "worker-pool", "high", "default", "low", "-n", "3", "-b"],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
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
    done = subprocess.run(
        [sys.executable, "-u", str(script)],
        env=subprocess_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
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
            own = Job.fetch(job.id, connection=_redis(doc_env))
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
