"""Workers built the RQ way: the connection from the queues, every queue when given none,
RQ's options refused by name when wrong, the dequeue strategies, reading workers back,
kill-horse, SpawnWorker's leases. Real Redis, real forks and spawns."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from minirq import ConfigurationError, JobStatus, Queue, SimpleWorker, Worker, suspension
from minirq.commands import send_kill_horse_command
from minirq.config import load_settings
from minirq.serializers import JSONSerializer, PickleSerializer
from minirq.worker import SpawnWorker, WorkerStatus, worker_class
from minirq.worker_records import QueueNames
from tests import feature_fixtures as ff
from tests import fixtures
from tests import rq_docs_fixtures as docs
from tests.conftest import RedisServer


@pytest.fixture
def other_db(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis(port=redis_server.port, db=1)
    client.flushdb()
    yield client
    client.close()


def test_a_worker_without_connection_uses_its_queues_connection(
    connection: redis.Redis, other_db: redis.Redis
) -> None:
    queue = Queue("db1", connection=other_db)
    job = queue.enqueue(fixtures.add, 1, 2)
    worker = SimpleWorker([queue])
    assert worker.connection is other_db
    worker.work(burst=True)
    assert job.return_value() == 3


def test_queues_on_different_redis_databases_are_refused_and_nothing_is_written(
    connection: redis.Redis, other_db: redis.Redis
) -> None:
    with pytest.raises(ConfigurationError, match="'b' uses another Redis") as info:
        Worker([Queue("a", connection=connection), Queue("b", connection=other_db)])
    assert "db 1" in str(info.value) and "db 0" in str(info.value)
    with pytest.raises(ConfigurationError, match="than the worker's connection"):
        Worker([Queue("b", connection=other_db)], connection=connection)
    assert connection.keys("*") == [] and other_db.keys("*") == []


def test_queues_under_different_prefixes_are_refused(connection: redis.Redis) -> None:
    with pytest.raises(ConfigurationError, match="share one key prefix"):
        Worker([Queue("a", connection=connection), Queue("a", connection=connection, prefix="x")])


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"worker_ttl": 0}, ConfigurationError, "worker_ttl must be at least 1"),
        ({"worker_ttl": "soon"}, ConfigurationError, "whole number of seconds"),
        ({"default_result_ttl": -5}, ConfigurationError, "default_result_ttl must be -1"),
        ({"job_class": "json.JSONDecoder"}, ConfigurationError, "must be Job or a subclass"),
        ({"queue_class": "no.such.Queue"}, ConfigurationError, "cannot import queue_class"),
        ({"work_horse_killed_handler": 5}, ConfigurationError, "is not callable"),
        ({"exception_handlers": 5}, ConfigurationError, "a function, a dotted path or a list"),
        ({"max_jobz": 5}, TypeError, "unexpected keyword argument"),
    ],
)
def test_bad_rq_options_are_refused_by_name(
    connection: redis.Redis, options: dict, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Worker(["default"], connection=connection, **options)
    assert connection.keys("*") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dequeue_strategy": "fastest"}, "unknown dequeue strategy 'fastest'"),
        ({"max_idle_time": 0}, "max_idle_time must be more than 0"),
    ],
)
def test_bad_work_options_are_refused_before_registering(
    connection: redis.Redis, kwargs: dict, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SimpleWorker(["default"], connection=connection).work(burst=True, **kwargs)
    assert connection.keys("*") == []


def test_a_worker_without_queues_takes_jobs_from_every_queue(
    connection: redis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    jobs = [Queue(n, connection=connection).enqueue(docs.note, n) for n in ("b", "a", "c")]
    worker = SimpleWorker([], connection=connection)
    assert worker.listens_on_all and worker.queue_names == []
    assert worker.work(burst=True)
    # Every known queue, in name order.
    assert docs.traced(connection) == ["a", "b", "c"]
    assert all(j.get_status() == JobStatus.FINISHED for j in jobs)


def test_a_worker_on_every_queue_wakes_for_a_queue_made_after_it_started(
    connection: redis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    worker = Worker([], connection=connection, name="everywhere")
    done = threading.Event()

    def run() -> None:
        worker.work(max_jobs=1)
        done.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        ff.wait_until(lambda: Worker.count(connection=connection) == 1, what="registration")
        [info] = Worker.all(connection=connection, queue="brand-new")
        assert info.listens_on_all and info.queue_names == []
        job = Queue("brand-new", connection=connection).enqueue(fixtures.add, 2, 2)
        thread.join(30)
        assert done.is_set() and job.return_value() == 4
    finally:
        worker.request_stop(force=True)
        thread.join(30)


def test_default_result_ttl_applies_to_jobs_without_their_own(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    plain = queue.enqueue(fixtures.add, 1, 1)
    own = queue.enqueue(fixtures.add, 2, 2, result_ttl=5000)
    SimpleWorker([queue], default_result_ttl=50).work(burst=True)
    assert 0 < connection.ttl(plain.key) <= 50
    assert 50 < connection.ttl(own.key) <= 5000


def test_worker_ttl_sets_the_record_ttl_and_heartbeats_often_enough(
    connection: redis.Redis,
) -> None:
    worker = Worker(["default"], connection=connection, worker_ttl=6)
    assert worker.worker_ttl_s == 6 and worker.heartbeat_interval_s <= 2
    worker.register_birth()
    try:
        assert 0 < connection.ttl(worker.key) <= 6
    finally:
        worker.register_death()


def test_max_idle_time_stops_a_worker_with_nothing_to_do(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.add, 1, 1)
    assert SimpleWorker([queue]).work(max_idle_time=0.5)
    assert job.return_value() == 2
    assert Worker.count(connection=connection) == 0


def test_find_by_key_and_a_key_that_names_no_worker(connection: redis.Redis) -> None:
    worker = Worker(["a", "b"], connection=connection, name="found")
    worker.register_birth()
    try:
        info = Worker.find_by_key(worker.key, connection=connection)
        assert info is not None and info.name == "found"
        assert info.queue_names() == ["a", "b"] and isinstance(info.queue_names, QueueNames)
        assert info.state == WorkerStatus.IDLE and info.get_current_job() is None
        assert Worker.all_keys(connection=connection) == [worker.key]
    finally:
        worker.register_death()
    assert Worker.find_by_key(worker.key, connection=connection) is None
    with pytest.raises(ValueError, match="not a worker key"):
        Worker.find_by_key("minirq:job:abc", connection=connection)


def test_the_record_carries_the_versions_the_worker_states(connection: redis.Redis) -> None:
    worker = Worker(["a"], connection=connection)
    assert worker.python_version == sys.version
    worker.version, worker.python_version = "9.9.9", "X.Y.Z.final"
    worker.register_birth()
    try:
        info = Worker.find_by_key(worker.key, connection=connection)
        assert info is not None
        assert (info.version, info.python_version) == ("9.9.9", "X.Y.Z.final")
    finally:
        worker.register_death()


def test_the_worker_names_the_serializer_it_resolved(connection: redis.Redis) -> None:
    assert Worker("a", connection=connection, serializer="json").serializer is JSONSerializer
    assert Worker("a", connection=connection).serializer is PickleSerializer
    by_path = Worker("a", connection=connection, serializer="minirq.serializers.JSONSerializer")
    assert by_path.serializer is JSONSerializer
    with pytest.raises(ConfigurationError, match="unknown serializer 'yaml'"):
        Worker("a", connection=connection, serializer="yaml")


def test_a_record_with_garbage_reads_as_empty(connection: redis.Redis) -> None:
    connection.sadd("minirq:workers", "odd")
    connection.hset("minirq:worker:odd", mapping={"state": b"\xff", "pid": "x", "birth": "y"})
    [info] = Worker.all(connection=connection)
    assert (info.name, info.pid, info.state, info.birth_date) == ("odd", 0, "", None)
    assert Worker.count(connection=connection, queue="any") == 0


def test_kill_horse_fails_the_job_and_the_worker_goes_on(
    connection: redis.Redis, subprocess_env: dict[str, str]
) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.sleep_for, 30)
    after = queue.enqueue(fixtures.add, 1, 1)
    process = ff.start_worker([sys.executable, "-m", "minirq"], subprocess_env, "--name", "kh")
    try:
        ff.wait_until(lambda: job.get_status() == JobStatus.STARTED, what="job start")
        assert send_kill_horse_command(connection, "kh")
        ff.wait_until(lambda: after.get_status() == JobStatus.FINISHED, what="next job")
    finally:
        ff.stop_process(process)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "WorkHorseKilled" in (job.exc_info or "")


def test_kill_horse_to_an_idle_or_unknown_worker(connection: redis.Redis) -> None:
    assert not send_kill_horse_command(connection, "nobody-listens")


def test_spawn_worker_renews_the_lease_of_a_job_longer_than_it(
    connection: redis.Redis, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.return_pid)
    slow = queue.enqueue(docs.sleep_then_note, 2.5, "outlived the lease")
    worker = SpawnWorker([queue], lease_s=1)
    worker.work(burst=True)
    assert job.return_value() != os.getpid()
    assert slow.get_status() == JobStatus.FINISHED
    assert docs.traced(connection) == ["outlived the lease"]


def test_spawn_worker_refuses_what_cannot_reach_another_interpreter(
    connection: redis.Redis,
) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.add, 1, 1)

    def local_handler(*args: object) -> None:
        pass

    SpawnWorker([queue], exception_handlers=[local_handler]).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FAILED
    assert "cannot pass its exception handlers" in (job.exc_info or "")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fork", "Worker"),
        ("simple", "SimpleWorker"),
        ("SpawnWorker", "SpawnWorker"),
        ("rq.worker.HerokuWorker", "HerokuWorker"),
        ("rq.SimpleWorker", "SimpleWorker"),
        ("minirq.worker.RoundRobinWorker", "RoundRobinWorker"),
        ("tests.rq_docs_fixtures.PreloadingWorker", "PreloadingWorker"),
    ],
)
def test_worker_class_names(name: str, expected: str) -> None:
    assert worker_class(name).__name__ == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("thread", "unknown worker class 'thread'"),
        ("rq.worker.GeventWorker", "cannot import worker class"),
        ("tests.fixtures.add", "is not a minirq worker class"),
    ],
)
def test_bad_worker_class_names(name: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        worker_class(name)


def test_settings_from_rq_connection_parts() -> None:
    env = {"REDIS_HOST": "cache.internal", "REDIS_PORT": "6380", "REDIS_PASSWORD": "p@ss"}
    assert load_settings(environ=env).redis_url == "redis://:p%40ss@cache.internal:6380/0"
    both = {**env, "REDIS_URL": "redis://elsewhere:6379/3"}
    assert load_settings(environ=both).redis_url == "redis://elsewhere:6379/3"
    assert load_settings(environ={"REDIS_SSL": "true", "REDIS_DB": "2"}).redis_url == (
        "rediss://localhost:6379/2"
    )


def test_a_sentinel_settings_module_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sentinel_settings.py").write_text("SENTINEL = {'INSTANCES': [('h', 26379)]}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigurationError, match="SENTINEL in sentinel_settings is not supported"):
        load_settings(module="sentinel_settings", environ={})


def test_a_worker_reads_suspension_afresh_each_time_it_works(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.add, 1, 1)
    worker = SimpleWorker([queue])
    suspension.suspend(connection)
    worker.work(burst=True)
    assert job.get_status() == JobStatus.QUEUED
    suspension.resume(connection)
    worker.work(burst=True)
    assert job.return_value() == 2
    worker.clean_registries()
    assert worker.last_cleaned_at is not None
