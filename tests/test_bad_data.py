"""Bad bytes in Redis never crash a process (issue 11, item 1): the broken item fails or
is skipped with one log line, and nothing spins on it."""

from __future__ import annotations

import pytest
import redis
from click.testing import CliRunner

from minirq import Job, JobStatus, Queue, Scheduler, SimpleWorker, Worker, WorkerPool
from minirq.cli import main
from minirq.reaper import reap_expired_leases
from minirq.worker import BaseWorker
from tests import fixtures

WORKERS = [Worker, SimpleWorker, WorkerPool]


def _work(worker_class: type[BaseWorker], queue: Queue) -> None:
    worker_class([queue], connection=queue.connection).work(burst=True)


@pytest.mark.parametrize("worker_class", WORKERS)
@pytest.mark.parametrize(
    ("damage", "named"),
    [
        ({"func": b"tests.fix\xfftures.add"}, "'func'"),
        ({"origin": b"\xc3\x28"}, "'origin'"),
        ({"timeout": b"\xff\xfe"}, "'timeout'"),
        ({"retries_left": b"lots"}, "'retries_left'"),
        ({"on_success": b"\xff"}, "'on_success'"),
        ({b"\xff\xfe": b"1"}, "name that is not UTF-8"),
    ],
    ids=["func", "origin", "timeout", "retries_left", "callback", "field-name"],
)
def test_a_job_with_bad_bytes_fails_alone_naming_the_field(
    connection: redis.Redis,
    queue: Queue,
    worker_class: type[BaseWorker],
    damage: dict[object, bytes],
    named: str,
) -> None:
    broken = queue.enqueue(fixtures.add, 1, 2)
    connection.hset(broken.key, mapping=damage)  # type: ignore[arg-type]
    good = queue.enqueue(fixtures.add, 2, 3)
    _work(worker_class, queue)
    assert good.get_status() == JobStatus.FINISHED
    assert broken.get_status() == JobStatus.FAILED
    assert named in (Job.fetch(broken.id, connection=connection).exc_info or "")
    assert broken.id in queue.failed_job_registry


@pytest.mark.parametrize("worker_class", WORKERS)
def test_queued_members_that_are_not_ids_are_skipped_with_one_line(
    connection: redis.Redis,
    queue: Queue,
    worker_class: type[BaseWorker],
    caplog: pytest.LogCaptureFixture,
) -> None:
    connection.rpush(queue.key, b"\xff\xfe", b"has space", b"")
    good = queue.enqueue(fixtures.add, 2, 3)
    with caplog.at_level("WARNING", logger="minirq"):
        _work(worker_class, queue)
    assert good.get_status() == JobStatus.FINISHED
    assert sum("is not a job id" in r.getMessage() for r in caplog.records) == 3
    assert queue.count == 0


def test_bad_members_of_the_queue_and_paused_sets_are_skipped(
    connection: redis.Redis, queue: Queue
) -> None:
    good = queue.enqueue(fixtures.add, 2, 3)
    connection.sadd(queue.keys.queues, b"\xff\xfe", "\x01control")
    connection.sadd(queue.keys.paused_queues, b"\xc3\x28")
    _work(SimpleWorker, queue)
    assert good.get_status() == JobStatus.FINISHED
    assert reap_expired_leases(connection, queue.keys) == ([], [])
    assert [q.name for q in Queue.all(connection=connection)] == ["default"]
    scheduler = Scheduler(connection)
    scheduler.step()
    scheduler.housekeep()


def test_a_paused_set_of_the_wrong_type_pauses_nothing(
    connection: redis.Redis, queue: Queue
) -> None:
    connection.set(queue.keys.paused_queues, "oops")
    good = queue.enqueue(fixtures.add, 2, 3)
    _work(SimpleWorker, queue)
    assert good.get_status() == JobStatus.FINISHED


@pytest.mark.parametrize("worker_class", WORKERS)
@pytest.mark.parametrize("kind", ["started", "queue"])
def test_a_key_of_the_wrong_type_is_skipped_and_loses_no_job(
    connection: redis.Redis,
    queue: Queue,
    worker_class: type[BaseWorker],
    kind: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    other = Queue("other", connection=connection)
    waiting = other.enqueue(fixtures.add, 1, 1)
    if kind == "started":
        job = queue.enqueue(fixtures.add, 1, 2)
        connection.set(queue.keys.registry("started", queue.name), "not a sorted set")
    else:
        connection.hset(queue.key, "not", "a list")
    with caplog.at_level("ERROR", logger="minirq"):
        worker_class([queue, other], connection=connection).work(burst=True)
    assert waiting.get_status() == JobStatus.FINISHED
    if kind == "started":
        assert job.get_status() == JobStatus.QUEUED and queue.job_ids == [job.id]
    assert "is not of the type minirq expects" in caplog.text


def test_the_reaper_skips_registries_of_the_wrong_type(
    connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    assert SimpleWorker([queue], connection=connection).take_job() is not None
    connection.zadd(queue.keys.registry("started", queue.name), {job.id: 0})
    connection.set(queue.keys.registry("failed", queue.name), "not a sorted set")
    assert reap_expired_leases(connection, queue.keys, max_orphanings=1) == ([], [])
    assert job.id in queue.started_job_registry


def test_bad_worker_records_are_read_without_raising(connection: redis.Redis, queue: Queue) -> None:
    connection.sadd(queue.keys.workers, "w1", b"\xff")
    connection.hset(
        queue.keys.worker("w1"),
        mapping={"pid": "abc", "birth": b"\xff", "queues": b"\xc3\x28", b"\xfe": "x"},
    )
    connection.set(queue.keys.worker(b"\xff".decode("latin-1")), "x")
    [info] = Worker.all(connection=connection)
    assert (info.name, info.pid, info.birth, info.queue_names) == ("w1", 0, None, [])


def test_minirq_info_shows_what_it_can(
    redis_url: str, connection: redis.Redis, queue: Queue
) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    connection.sadd(queue.keys.queues, b"\xff\xfe")
    connection.sadd(queue.keys.workers, "w1")
    connection.hset(queue.keys.worker("w1"), mapping={"pid": "abc", "state": b"\xff"})
    result = CliRunner().invoke(main, ["info", "-u", redis_url])
    assert result.exit_code == 0, result.output
    assert "default" in result.output


# -- cron entries ---------------------------------------------------------------------------


def _leader(connection: redis.Redis) -> Scheduler:
    scheduler = Scheduler(connection)
    assert scheduler.acquire_lease()
    return scheduler


@pytest.mark.parametrize(
    "damage",
    [
        {"next_ms": "soon"},
        {"interval_ms": "\xff"},
        {"cron": "not a cron"},
        {"timezone": "Mars/Olympus"},
        {"misfire": "sometimes"},
        {"job.timeout": "x"},
        {b"\xff": "1"},
    ],
    ids=["next_ms", "interval", "cron", "timezone", "misfire", "job-field", "field-name"],
)
def test_a_corrupt_cron_entry_is_set_aside_once(
    connection: redis.Redis,
    queue: Queue,
    damage: dict[object, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduler = _leader(connection)
    scheduler.every(1, fixtures.add, args=(1, 1), name="broken")
    scheduler.every(1, fixtures.add, args=(2, 2), name="fine")
    connection.zadd(queue.keys.cron_entries, {"broken": 0, "fine": 0})
    connection.hset(queue.keys.cron_entry("fine"), "next_ms", 0)
    connection.hset(queue.keys.cron_entry("broken"), mapping=damage)  # type: ignore[arg-type]
    with caplog.at_level("ERROR", logger="minirq"):
        for _ in range(3):
            scheduler.step()
    assert sum("'broken' cannot run" in r.getMessage() for r in caplog.records) == 1
    assert queue.count == 1  # the fine entry ran its slot
    assert [e.name for e in scheduler.entries()] == ["fine"]


@pytest.mark.parametrize(
    "damage",
    [
        lambda c, key: c.hset(key, "next_ms", 10**14),
        lambda c, key: c.hdel(key, "next_ms"),
        lambda c, key: c.delete(key),
    ],
    ids=["later-in-hash", "no-next-run", "no-hash"],
)
def test_a_stale_cron_score_cannot_make_the_scheduler_spin(
    connection: redis.Redis, queue: Queue, damage: object
) -> None:
    scheduler = _leader(connection)
    scheduler.every(3600, fixtures.add, args=(1, 1), name="hourly")
    # The sorted set says due, the entry's hash disagrees (or is gone).
    connection.zadd(queue.keys.cron_entries, {"hourly": 0})
    damage(connection, queue.keys.cron_entry("hourly"))  # type: ignore[operator]
    for _ in range(3):
        scheduler.step()
    seconds, micros = connection.time()
    due = scheduler.next_due_ms()
    assert due is None or due > seconds * 1000 + micros // 1000
    assert queue.count == 0
