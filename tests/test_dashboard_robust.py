"""Corrupt data in Redis never takes a dashboard page down: the broken item shows as broken.

Each case writes one kind of bad value the way a bug, an old version or an attacker could,
then every page and route must answer, and the pages that list the item must say "broken".
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import redis
from flask.testing import FlaskClient

from minirq import Queue, Worker
from minirq.keys import Keys
from minirq.scheduler import Scheduler
from minirq.utils import now_ms
from tests import fixtures
from tests.test_dashboard import failed_job, make_app, scheduled_job

KEYS = Keys()
ROUTES = (
    "/",
    "/workers",
    "/failed",
    "/scheduled",
    "/functions",
    "/functions?window=day",
    "/queues/default",
    "/queues/default?registry=failed",
    "/queues/default?registry=scheduled",
    "/queues/default?registry=finished",
    "/queues/default?func=add",
    "/api/queues",
    "/api/workers",
    "/api/failed",
    "/api/scheduled",
    "/api/stats",
    "/api/history?window=day",
    "/api/history?window=week",
    "/api/functions",
    "/api/queues/default/jobs",
    "/api/queues/default/jobs?registry=failed",
    "/metrics",
)


def _worker_field(field: str, value: bytes) -> Callable[[redis.Redis, Queue], str]:
    def corrupt(connection: redis.Redis, queue: Queue) -> str:
        worker = Worker([queue], connection=connection)
        worker.register_birth()
        connection.hset(KEYS.worker(worker.name), field, value)
        return "/workers"

    return corrupt


def _job_field(
    field: str, value: bytes, on_job_page: bool = False
) -> Callable[[redis.Redis, Queue], str]:
    def corrupt(connection: redis.Redis, queue: Queue) -> str:
        job = queue.enqueue(fixtures.add, 1, 2)
        connection.hset(KEYS.job(job.id), field, value)
        return f"/jobs/{job.id}" if on_job_page else "/queues/default"

    return corrupt


def _failed_field(field: str, value: bytes) -> Callable[[redis.Redis, Queue], str]:
    def corrupt(connection: redis.Redis, queue: Queue) -> str:
        job = failed_job(queue)
        connection.hset(KEYS.job(job.id), field, value)
        return "/queues/default?registry=failed"

    return corrupt


def _wrong_type_job(connection: redis.Redis, queue: Queue) -> str:
    job = queue.enqueue(fixtures.add, 1, 2)
    connection.delete(KEYS.job(job.id))
    connection.set(KEYS.job(job.id), "not a hash")
    return f"/jobs/{job.id}"


def _bad_id_in_queue(connection: redis.Redis, queue: Queue) -> str:
    queue.enqueue(fixtures.add, 1, 2)
    connection.rpush(KEYS.queue("default"), b"\xff\xfe bad id")
    return "/queues/default"


def _wrong_type_registry(connection: redis.Redis, queue: Queue) -> str:
    queue.enqueue(fixtures.add, 1, 2)
    connection.set(KEYS.registry("failed", "default"), "oops")
    return "/"


def _wrong_type_queue(connection: redis.Redis, queue: Queue) -> str:
    queue.enqueue(fixtures.add, 1, 2)
    connection.delete(KEYS.queue("default"))
    connection.hset(KEYS.queue("default"), "x", "y")
    return "/"


def _bad_queue_name(connection: redis.Redis, queue: Queue) -> str:
    queue.enqueue(fixtures.add, 1, 2)
    connection.sadd(KEYS.queues, b"\xff\xfeq", "ctl\x01name")
    return "/"


def _bad_cron(field: str, value: str) -> Callable[[redis.Redis, Queue], str]:
    def corrupt(connection: redis.Redis, queue: Queue) -> str:
        queue.enqueue(fixtures.add, 1, 2)
        entry = Scheduler(connection).cron("*/5 * * * *", fixtures.say_hello, name="tick")
        connection.hset(KEYS.cron_entry(entry.name), field, value)
        return "/scheduled"

    return corrupt


def _bad_counters(connection: redis.Redis, queue: Queue) -> str:
    queue.enqueue(fixtures.add, 1, 2)
    minute = now_ms() // 60_000
    connection.hset(KEYS.stats(minute), mapping={"processed": "lots", "failed": "-"})
    connection.hset(KEYS.job_stats("default"), mapping={"processed": "x", "le:+Inf": "y"})
    for res in ("m", "t", "h"):
        bucket = now_ms() // {"m": 60_000, "t": 600_000, "h": 3_600_000}[res]
        connection.hset(KEYS.function_stats(res, bucket), mapping={"n|f": "z", "b99|f": "1"})
    connection.set(KEYS.scheduler_lease, b"\xff")
    connection.set(KEYS.scheduler_last_pass, "never:")
    return "/"


def _scheduled_garbage(connection: redis.Redis, queue: Queue) -> str:
    job = scheduled_job(queue, now_ms() + 60_000)
    connection.hset(KEYS.job(job.id), mapping={"status": "later?", "exc": b"\xff"})
    return "/scheduled"


CASES = {
    "worker pid": _worker_field("pid", b"x"),
    "worker birth": _worker_field("birth", b"yesterday"),
    "worker heartbeat": _worker_field("last_heartbeat", b"1e999"),
    "worker counts": _worker_field("successful", b"many"),
    "worker job id": _worker_field("job", b"\xff/../x"),
    "worker hostname bytes": _worker_field("hostname", b"\xff\xfe"),
    "job status": _job_field("status", b"exploded"),
    "job timestamp": _job_field("enqueued_ms", b"soon"),
    "job huge timestamp": _job_field("started_ms", b"99999999999999999999"),
    "job func bytes": _job_field("func", b"\xff\xfe.f"),
    "job data": _job_field("data", b"\x80\x05garbage"),
    "job meta": _job_field("meta", b"{not json"),
    "job timeout": _job_field("timeout", b"forever", on_job_page=True),
    "job retries": _job_field("retries_left", b"some", on_job_page=True),
    "job dependencies": _job_field("dependency_ids", b"\xff", on_job_page=True),
    "job origin bytes": _job_field("origin", b"\xc3\x28"),
    "failed traceback bytes": _failed_field("exc", b"\xff\xfe Error: x"),
    "failed ended": _failed_field("ended_ms", b"-"),
    "job record wrong type": _wrong_type_job,
    "bad id in queue": _bad_id_in_queue,
    "registry wrong type": _wrong_type_registry,
    "queue wrong type": _wrong_type_queue,
    "bad queue names": _bad_queue_name,
    "cron time zone": _bad_cron("timezone", "Mars/Olympus_Mons"),
    "cron next run": _bad_cron("next_ms", "tomorrow"),
    "cron schedule": _bad_cron("cron", "every full moon"),
    "counters": _bad_counters,
    "scheduled job": _scheduled_garbage,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_route_answers_and_the_item_shows_broken(
    redis_url: str, connection: redis.Redis, queue: Queue, case: str
) -> None:
    page = CASES[case](connection, queue)
    # Corrupt counters count as 0 (a chart cannot show "broken" for a bar); the rest say so.
    must_say_broken = case != "counters"
    client: FlaskClient = make_app(redis_url).test_client()
    for url in ROUTES:
        response = client.get(url)
        assert response.status_code in (200, 404), (case, url, response.data[:300])
        assert response.status_code == 200 or url.startswith(("/queues/", "/api/queues/"))
    html = client.get(page).data.decode()
    assert "broken" in html or not must_say_broken, (case, page)


def test_a_broken_job_page_names_its_broken_fields(
    redis_url: str, connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    connection.hset(
        KEYS.job(job.id), mapping={"status": "exploded", "enqueued_ms": "soon", "data": b"\x01"}
    )
    client = make_app(redis_url).test_client()
    detail = client.get(f"/api/jobs/{job.id}").get_json()
    assert detail["status"] == "broken"
    assert any(p.startswith("status:") for p in detail["problems"])
    assert any(p.startswith("enqueued") for p in detail["problems"])
    assert detail["args"] is None and detail["call_error"]
    html = client.get(f"/jobs/{job.id}").data.decode()
    assert "Parts of this job's record are broken" in html


def test_a_broken_worker_still_lists_with_its_good_fields(
    redis_url: str, connection: redis.Redis, queue: Queue
) -> None:
    worker = Worker([queue], connection=connection)
    worker.register_birth()
    connection.hset(KEYS.worker(worker.name), "pid", "x")
    rows = make_app(redis_url).test_client().get("/api/workers").get_json()["workers"]
    assert [(w["name"], w["pid"], w["queues"]) for w in rows] == [(worker.name, None, ["default"])]
    assert rows[0]["problems"] == ["pid: 'x' is not valid"]
