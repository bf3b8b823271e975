"""The dashboard through Flask's test client, against the session's real redis-server."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from minirq import Job, JobStatus, Queue, SimpleWorker
from minirq.cli import main
from minirq.exceptions import ConfigurationError
from minirq.keys import Keys
from minirq.queue import JobOptions
from minirq.scheduler import Scheduler
from minirq.utils import now_ms
from minirq_dashboard import blueprint, create_app
from minirq_dashboard.app import CONTENT_SECURITY_POLICY, CSRF_COOKIE, format_duration
from minirq_dashboard.present import exception_type
from tests import fixtures
from tests.conftest import free_port

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
PAYLOADS = (SCRIPT, IMG)


# -- helpers ----------------------------------------------------------------------------


def make_app(redis_url: str, **config: Any) -> Flask:
    return create_app({"MINIRQ_REDIS_URL": redis_url, "TESTING": True, **config})


@pytest.fixture
def app(redis_url: str) -> Flask:
    return make_app(redis_url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def csrf(client: FlaskClient, root: str = "/") -> str:
    """The CSRF token a page hands this client (its cookie)."""
    client.get(root)
    cookie = client.get_cookie(CSRF_COOKIE, path=root)
    assert cookie is not None
    return cookie.value


def post(client: FlaskClient, url: str, body: Any = None, root: str = "/") -> Any:
    return client.post(url, json=body or {}, headers={"X-CSRF-Token": csrf(client, root)})


def failed_job(queue: Queue, *args: Any) -> Job:
    job = queue.enqueue(fixtures.div_by_zero, *args)
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    return job


def finished_job(queue: Queue, func: Any = fixtures.add, *args: Any) -> Job:
    job = queue.enqueue(func, *(args or (1, 2)))
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    return job


def scheduled_job(queue: Queue, due_ms: int) -> Job:
    """A job waiting in the scheduled registry, as ``enqueue_at`` leaves it."""
    return queue.schedule_job(
        queue.create_job(fixtures.say_hello, ("later",), {}, JobOptions()), due_ms
    )


def api(client: FlaskClient, url: str) -> Any:
    response = client.get(url)
    assert response.status_code == 200, response.data
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


# -- pages ------------------------------------------------------------------------------


def test_every_page_renders_with_security_headers(client: FlaskClient, queue: Queue) -> None:
    job = failed_job(queue)
    queue.enqueue(fixtures.add, 1, 2)
    scheduled_job(queue, now_ms() + 60_000)
    urls = ["/", "/workers", "/failed", "/scheduled", f"/jobs/{job.id}"]
    urls += [f"/queues/default?registry={r}" for r in ("queued", "started", "failed", "finished")]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        html = response.data.decode()
        # Only external scripts: the policy forbids inline ones, and none are written.
        assert re.findall(r"<script\b[^>]*>", html) == ['<script src="/static/dashboard.js" defer>']
        assert "onclick=" not in html and "javascript:" not in html
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


def test_static_files_ship_in_the_package(client: FlaskClient) -> None:
    for name, kind in (("dashboard.js", "javascript"), ("dashboard.css", "css")):
        with client.get(f"/static/{name}") as response:
            assert response.status_code == 200 and kind in response.content_type
            # Nothing fetched from elsewhere (the SVG namespace is a name, not a fetch).
            text = response.data.replace(b"http://www.w3.org/2000/svg", b"")
            assert b"http://" not in text and b"https://" not in text


def test_overview_shows_counts_workers_and_redis(
    client: FlaskClient, connection: redis.Redis
) -> None:
    emails = Queue("emails", connection=connection)
    emails.enqueue(fixtures.add, 1, 2)
    failed_job(emails)
    html = client.get("/").data.decode()
    assert 'href="/queues/emails?registry=failed">1</a>' in html
    assert 'href="/queues/emails?registry=queued">0</a>' in html
    assert "Workers alive" in html
    version = connection.info()["redis_version"]
    assert version in html
    data = api(client, "/api/queues")
    (row,) = data["queues"]
    assert row["name"] == "emails"
    assert row["counts"] == {
        "queued": 0,
        "started": 0,
        "scheduled": 0,
        "deferred": 0,
        "finished": 1,
        "failed": 1,
        "canceled": 0,
    }
    assert data["redis"]["version"] == version


def test_queue_list_pages_and_orders(client: FlaskClient, queue: Queue) -> None:
    jobs = [queue.enqueue(fixtures.add, i, i, job_id=f"job-{i:02d}") for i in range(25)]
    first = api(client, "/api/queues/default/jobs?registry=queued&per_page=10&order=desc")
    assert first["total"] == 25 and first["pages"] == 3
    assert [j["id"] for j in first["jobs"]] == [j.id for j in reversed(jobs[-10:])]
    last = api(client, "/api/queues/default/jobs?page=3&per_page=10&order=asc")
    assert [j["id"] for j in last["jobs"]] == [j.id for j in jobs[20:]]
    assert first["jobs"][0]["call"] == "tests.fixtures.add(24, 24)"
    beyond = api(client, "/api/queues/default/jobs?page=99&per_page=10")
    assert beyond["jobs"] == [] and beyond["total"] == 25
    html = client.get("/queues/default?per_page=10").data.decode()
    assert "Page 1 of 3 (25 jobs)" in html and 'rel="next"' in html
    assert 'type="checkbox" id="select-all"' in html


def test_registry_lists_sort_by_score(client: FlaskClient, queue: Queue) -> None:
    a = failed_job(queue, 1)
    b = failed_job(queue, 2)
    # Both may fail within one millisecond: make their order certain.
    far = now_ms() + 10**9
    queue.connection.zadd(queue.keys.registry("failed", "default"), {a.id: far, b.id: far + 1})
    newest = api(client, "/api/queues/default/jobs?registry=failed")
    assert [j["id"] for j in newest["jobs"]] == [b.id, a.id]
    oldest = api(client, "/api/queues/default/jobs?registry=failed&order=asc")
    assert [j["id"] for j in oldest["jobs"]] == [a.id, b.id]
    assert newest["jobs"][0]["status"] == "failed"


def test_job_page_shows_everything(client: FlaskClient, queue: Queue) -> None:
    long_text = "x" * 500
    job = queue.enqueue(fixtures.echo, long_text, flag=True, meta={"owner": "ops"})
    job.set_progress(0.42, "halfway")
    html = client.get(f"/jobs/{job.id}").data.decode()
    assert "tests.fixtures.echo(" in html
    assert '<details class="long">' in html and long_text in html
    assert "flag=" in html and "True" in html
    assert 'value="42' in html and "halfway" in html
    assert "owner" in html and "&#39;ops&#39;" in html
    detail = api(client, f"/api/jobs/{job.id}")
    assert detail["args"] == [repr(long_text)] and detail["kwargs"] == {"flag": "True"}
    assert detail["progress"] == {"percent": 42.0, "message": "halfway", "stale": True}
    listed = api(client, "/api/queues/default/jobs")["jobs"][0]
    assert listed["progress"] == {"percent": 42.0, "message": "halfway", "stale": True}
    assert detail["status"] == "queued" and detail["origin"] == "default"


def test_job_page_of_a_failed_job_has_traceback_and_requeue(
    client: FlaskClient, queue: Queue
) -> None:
    job = failed_job(queue)
    html = client.get(f"/jobs/{job.id}").data.decode()
    assert "ZeroDivisionError" in html and "Traceback" in html
    requeue_form = re.search(r'<form[^>]*data-action="requeue"[^>]*>', html)
    assert requeue_form and "hidden" not in requeue_form.group(0)
    cancel_form = re.search(r'<form[^>]*data-action="cancel"[^>]*>', html)
    assert cancel_form and "hidden" in cancel_form.group(0)
    detail = api(client, f"/api/jobs/{job.id}")
    assert detail["exception_type"] == "ZeroDivisionError"
    assert detail["ended_at"] and detail["duration_s"] is not None


def test_finished_job_shows_result(client: FlaskClient, queue: Queue) -> None:
    job = finished_job(queue, fixtures.add, 20, 22)
    assert api(client, f"/api/jobs/{job.id}")["result"] == "42"
    assert "42" in client.get(f"/jobs/{job.id}").data.decode()


def test_workers_page(client: FlaskClient, connection: redis.Redis, queue: Queue) -> None:
    worker = SimpleWorker([queue], connection=connection, name="w-one")
    worker.register_birth()
    try:
        rows = api(client, "/api/workers")["workers"]
        assert [w["name"] for w in rows] == ["w-one"]
        row = rows[0]
        assert row["queues"] == ["default"] and row["state"] == "idle"
        assert row["heartbeat_age_s"] >= 0 and row["current_job"] is None
        assert "w-one" in client.get("/workers").data.decode()
    finally:
        worker.register_death()
    assert api(client, "/api/workers")["workers"] == []


def test_stats_read_the_workers_per_minute_counters(
    client: FlaskClient, connection: redis.Redis
) -> None:
    minute = now_ms() // 60_000
    connection.hset(Keys().stats(minute), mapping={"processed": 7, "failed": 2})
    connection.hset(Keys().stats(minute - 5), mapping={"processed": 3})
    data = api(client, "/api/stats?minutes=10")
    assert len(data["points"]) == 10
    assert data["points"][-1]["processed"] == 7 and data["points"][-1]["failed"] == 2
    assert data["points"][-6]["processed"] == 3 and data["points"][-6]["failed"] == 0
    assert data["processed"] == 10 and data["failed"] == 2
    assert len(api(client, "/api/stats")["points"]) == 60


def test_stats_after_real_work(client: FlaskClient, queue: Queue) -> None:
    finished_job(queue)
    failed_job(queue)
    data = api(client, "/api/stats?minutes=2")
    assert data["processed"] == 2 and data["failed"] == 1


def test_failed_page_groups_by_exception(client: FlaskClient, connection: redis.Redis) -> None:
    a = Queue("a", connection=connection)
    b = Queue("b", connection=connection)
    failed_job(a)
    failed_job(b)
    b.enqueue(fixtures.return_unpicklable)
    SimpleWorker([b], connection=connection).work(burst=True)
    data = api(client, "/api/failed")
    assert data["total"] == 3
    groups = {g["exception"]: g for g in data["groups"]}
    assert groups["ZeroDivisionError"]["count"] == 2
    assert groups["ZeroDivisionError"]["queues"] == {"a": 1, "b": 1}
    assert {q["name"]: q["failed"] for q in data["queues"]} == {"a": 1, "b": 2}
    html = client.get("/failed").data.decode()
    assert "ZeroDivisionError" in html and "Requeue all failed, every queue" in html


def test_scheduled_page_soonest_first(client: FlaskClient, connection: redis.Redis) -> None:
    now = now_ms()
    late = scheduled_job(Queue("a", connection=connection), now + 3_600_000)
    soon = scheduled_job(Queue("b", connection=connection), now + 60_000)
    data = api(client, "/api/scheduled")
    assert [j["id"] for j in data["jobs"]] == [soon.id, late.id]
    assert data["jobs"][0]["origin"] == "b" and 0 < data["jobs"][0]["due_in_s"] <= 60
    assert data["total"] == 2
    html = client.get("/scheduled").data.decode()
    assert soon.id in html and "in 5" in html  # "in 59.9 s"-like, relative to now
    assert api(client, "/api/scheduled?limit=1")["jobs"][0]["id"] == soon.id


def test_cron_entries_on_the_scheduled_page(client: FlaskClient, connection: redis.Redis) -> None:
    scheduler = Scheduler(connection)
    scheduler.cron("*/5 * * * *", fixtures.say_hello, name=f"five{SCRIPT}", timezone="Europe/Paris")
    scheduler.cron("0 3 * * *", "tests.fixtures.add", args=(1, 2), name="nightly")
    cron = api(client, "/api/scheduled")["cron"]
    by_name = {c["name"]: c for c in cron}
    five = by_name[f"five{SCRIPT}"]
    assert five["schedule"] == "*/5 * * * *" and five["timezone"] == "Europe/Paris"
    assert five["func_name"] == "tests.fixtures.say_hello" and five["queue"] == "default"
    assert five["next_run"].endswith("Z") and 0 < five["next_in_s"] <= 300
    assert five["last_run"] is None and five["last_job_id"] is None
    assert by_name["nightly"]["schedule"] == "0 3 * * *"
    html = client.get("/scheduled").data.decode()
    assert "Cron entries" in html and "nightly" in html and "Europe/Paris" in html
    assert SCRIPT not in html and "five&lt;script&gt;" in html


def test_find_a_job_by_id(client: FlaskClient, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    response = client.get(f"/jobs?id={job.id}")
    assert response.status_code == 303 and response.headers["Location"] == f"/jobs/{job.id}"
    missing = client.get("/jobs/doesnotexist")
    assert missing.status_code == 404 and "no job with id" in missing.data.decode()


# -- bad parameters -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/queues/default?page=-1", 400, "page must be between 1"),
        ("/queues/default?page=0", 400, "page must be between 1"),
        ("/queues/default?page=abc", 400, "page must be a whole number"),
        ("/queues/default?page=" + "9" * 40, 400, "page must be between"),
        (f"/queues/default?per_page={10**9}", 400, "per_page must be between 1 and 100"),
        ("/queues/default?per_page=0", 400, "per_page must be between 1 and 100"),
        ("/queues/default?registry=bogus", 400, "unknown registry"),
        ("/queues/default?order=sideways", 400, "order must be"),
        ("/queues/nosuchqueue", 404, "no queue named"),
        ("/jobs/doesnotexist", 404, "no job with id"),
        ("/jobs/bad id!", 400, "invalid job_id"),
        ("/jobs?id=", 400, "type a job id"),
        ("/jobs?id=bad%20id", 400, "invalid job_id"),
        ("/api/queues/default/jobs?page=-1", 400, "page must be between 1"),
        (f"/api/queues/default/jobs?per_page={10**9}", 400, "per_page must be between"),
        ("/api/queues/default/jobs?registry=bogus", 400, "unknown registry"),
        ("/api/queues/nosuchqueue/jobs", 404, "no queue named"),
        ("/api/jobs/doesnotexist", 404, "no job with id"),
        ("/api/jobs/" + "x" * 300, 400, "invalid job_id"),
        ("/api/stats?minutes=0", 400, "minutes must be between 1 and 120"),
        ("/api/stats?minutes=1000", 400, "minutes must be between 1 and 120"),
        ("/api/stats?minutes=x", 400, "minutes must be a whole number"),
        ("/api/scheduled?limit=0", 400, "limit must be between"),
    ],
)
def test_bad_parameters_are_clear_4xx(
    client: FlaskClient, queue: Queue, url: str, status: int, words: str
) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    response = client.get(url)
    assert response.status_code == status, response.data
    if url.startswith("/api/"):
        assert response.get_json()["error"].startswith(words.split()[0])
        assert words in response.get_json()["error"]
        assert response.headers["Cache-Control"] == "no-store"
    else:
        assert words in response.data.decode()


def test_bad_action_requests_are_clear_4xx(client: FlaskClient, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    token = csrf(client)
    cases = [
        ("/api/jobs/bulk", {"action": "explode", "ids": [job.id]}, 400, "unknown action"),
        ("/api/jobs/bulk", {"action": "delete", "ids": []}, 400, "non-empty list"),
        ("/api/jobs/bulk", {"action": "delete", "ids": "abc"}, 400, "non-empty list"),
        ("/api/jobs/bulk", {"action": "delete", "ids": [1, 2]}, 400, "must be a string"),
        ("/api/jobs/bulk", {"action": "delete", "ids": ["x"] * 1001}, 400, "at most 1000"),
        ("/api/jobs/bulk", {"ids": [job.id]}, 400, "'action' must be"),
        ("/api/jobs/bulk", ["not", "an", "object"], 400, "send a JSON object"),
        ("/api/jobs/nope/requeue", {}, 404, "no job with id"),
        ("/api/jobs/bad id/delete", {}, 400, "invalid job_id"),
        (f"/api/jobs/{job.id}/requeue", {}, 409, "only failed"),
        (f"/api/jobs/{job.id}/enqueue-now", {}, 409, "only scheduled"),
        ("/api/queues/nosuchqueue/empty", {}, 404, "no queue named"),
        ("/api/queues/default/empty?registry=started", {}, 400, "running jobs are never"),
        ("/api/queues/default/empty?registry=bogus", {}, 400, "unknown registry"),
        ("/api/queues/nosuchqueue/requeue-failed", {}, 404, "no queue named"),
    ]
    for url, body, status, words in cases:
        response = client.post(url, json=body, headers={"X-CSRF-Token": token})
        assert response.status_code == status, (url, response.data)
        assert words in response.get_json()["error"], (url, response.get_json())
    assert job.get_status() == JobStatus.QUEUED


def test_unknown_api_method_is_405_not_500(client: FlaskClient) -> None:
    assert client.get("/api/jobs/bulk").status_code == 404  # a job named "bulk"
    assert client.get("/api/failed/requeue").status_code == 405


# -- XSS --------------------------------------------------------------------------------


def test_job_data_is_escaped_in_html_and_inert_in_json(
    client: FlaskClient, connection: redis.Redis
) -> None:
    name = f"q{SCRIPT}{IMG}"
    evil = Queue(name, connection=connection)
    queued = evil.enqueue(fixtures.echo, SCRIPT, IMG, key=SCRIPT, meta={SCRIPT: IMG, "x": SCRIPT})
    done = evil.enqueue(fixtures.echo, SCRIPT, IMG)
    bad = evil.enqueue(fixtures.div_by_zero, SCRIPT)
    worker = SimpleWorker([evil], connection=connection, name=f"w{SCRIPT}{IMG}")
    evil.connection.lrem(evil.key, 0, queued.id)
    worker.work(burst=True)
    evil.connection.rpush(evil.key, queued.id)
    # A traceback is text a job controls: put both payloads in one.
    connection.hset(bad.key, "exc", f"Traceback\nValueError: {SCRIPT} {IMG}")
    worker.register_birth()
    try:
        pages = [
            "/",
            "/workers",
            "/failed",
            f"/jobs/{queued.id}",
            f"/jobs/{done.id}",
            f"/jobs/{bad.id}",
        ]
        pages += [f"/queues/{name}?registry={r}" for r in ("queued", "finished", "failed")]
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            html = response.data.decode()
            for payload in PAYLOADS:
                assert payload not in html, url
            assert "<img" not in html and "onerror=alert(1)>" not in html, url
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
        job_html = client.get(f"/jobs/{done.id}").data.decode()
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in job_html
        encoded = "/queues/" + urllib.parse.quote(name)
        apis = [
            "/api/queues",
            "/api/workers",
            "/api/failed",
            f"/api/jobs/{queued.id}",
            f"/api/jobs/{done.id}",
            f"/api/jobs/{bad.id}",
            f"/api{encoded}/jobs?registry=failed",
        ]
        for url in apis:
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.mimetype == "application/json"
            body = response.data.decode()
            assert "<" not in body and ">" not in body, url
        detail = client.get(f"/api/jobs/{done.id}").get_json()
        assert repr(SCRIPT) in detail["result"] and repr(IMG) in detail["result"]
        meta = client.get(f"/api/jobs/{queued.id}").get_json()["meta"]
        assert meta[SCRIPT] == repr(IMG)
        exc = client.get(f"/api/jobs/{bad.id}").get_json()["exc_info"]
        assert SCRIPT in exc and IMG in exc
        assert client.get("/api/workers").get_json()["workers"][0]["name"] == worker.name
        assert client.get("/api/queues").get_json()["queues"][0]["name"] == name
    finally:
        worker.register_death()


# -- CSRF, read-only, auth --------------------------------------------------------------


def test_actions_need_the_csrf_token(client: FlaskClient, queue: Queue) -> None:
    job = failed_job(queue)
    url = f"/api/jobs/{job.id}/requeue"
    assert client.post(url).status_code == 403
    client.get("/")
    assert client.post(url, headers={"X-CSRF-Token": "wrong" * 10}).status_code == 403
    refused = client.post(url, data={"csrf_token": "wrong" * 10})
    assert refused.status_code == 403 and "CSRF" in refused.get_json()["error"]
    assert job.get_status() == JobStatus.FAILED
    token = csrf(client)
    foreign = client.post(url, headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert foreign.status_code == 403 and "cross-origin" in foreign.get_json()["error"]
    assert job.get_status() == JobStatus.FAILED
    ok = client.post(url, headers={"X-CSRF-Token": token, "Origin": "http://localhost"})
    assert ok.status_code == 200 and ok.get_json()["ok"] is True
    assert job.get_status() == JobStatus.QUEUED


def test_csrf_cookie_is_strict_and_http_only(client: FlaskClient) -> None:
    header = client.get("/").headers["Set-Cookie"]
    assert header.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in header and "SameSite=Strict" in header and "Path=/" in header


def test_state_changing_routes_refuse_get(client: FlaskClient, queue: Queue) -> None:
    job = failed_job(queue)
    for url in (f"/api/jobs/{job.id}/requeue", f"/api/jobs/{job.id}/delete"):
        assert client.get(url).status_code == 405
    assert client.get("/api/queues/default/empty").status_code == 405
    assert job.get_status() == JobStatus.FAILED


def test_read_only_refuses_actions_and_hides_them(redis_url: str, queue: Queue) -> None:
    client = make_app(redis_url, MINIRQ_DASHBOARD_READ_ONLY=True).test_client()
    job = failed_job(queue)
    token = csrf(client)
    for url in (
        f"/api/jobs/{job.id}/requeue",
        f"/api/jobs/{job.id}/delete",
        "/api/queues/default/empty",
        "/api/queues/default/requeue-failed",
        "/api/queues/default/pause",
        "/api/failed/requeue",
    ):
        response = client.post(url, json={}, headers={"X-CSRF-Token": token})
        assert response.status_code == 403 and "read-only" in response.get_json()["error"]
    bulk = client.post(
        "/api/jobs/bulk",
        json={"action": "delete", "ids": [job.id]},
        headers={"X-CSRF-Token": token},
    )
    assert bulk.status_code == 403
    assert job.get_status() == JobStatus.FAILED
    for url in ("/", f"/jobs/{job.id}", "/queues/default?registry=failed", "/failed"):
        html = client.get(url).data.decode()
        assert 'method="post"' not in html, url
        assert "read-only" in html
    assert client.get("/api/queues").get_json()["read_only"] is True


def test_basic_auth(redis_url: str, queue: Queue) -> None:
    client = make_app(redis_url, MINIRQ_DASHBOARD_PASSWORD="s3cret").test_client()
    for url in ("/", "/api/queues", "/static/dashboard.js", "/jobs/x"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert client.get("/", auth=("admin", "wrong")).status_code == 401
    assert client.get("/", auth=("root", "s3cret")).status_code == 401
    assert client.get("/", auth=("admin", "s3cret")).status_code == 200
    assert client.get("/api/queues", auth=("admin", "s3cret")).status_code == 200


def test_password_from_the_environment(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIRQ_DASHBOARD_PASSWORD", "from-env")
    client = make_app(redis_url, MINIRQ_DASHBOARD_USERNAME="ops").test_client()
    assert client.get("/").status_code == 401
    assert client.get("/", auth=("ops", "from-env")).status_code == 200


def test_redis_password_never_shown(
    redis_server: Any, connection: redis.Redis, queue: Queue
) -> None:
    connection.acl_setuser(
        "dash",
        enabled=True,
        passwords=["+hunter2-secret"],
        keys=["*"],
        channels=["*"],
        commands=["+@all"],
    )
    try:
        url = f"redis://dash:hunter2-secret@127.0.0.1:{redis_server.port}/0"
        failed_job(queue)
        client = make_app(url).test_client()
        for page in ("/", "/failed", "/workers", "/api/queues", "/queues/default"):
            response = client.get(page)
            assert response.status_code == 200
            assert b"hunter2" not in response.data, page
        assert b"dash:***@" in client.get("/").data
    finally:
        connection.acl_deluser("dash")


def test_unreachable_redis_is_a_clear_503(redis_url: str) -> None:
    client = make_app("redis://:topsecret@127.0.0.1:1/0").test_client()
    page = client.get("/")
    assert page.status_code == 503 and b"cannot answer" in page.data
    assert b"topsecret" not in page.data
    data = client.get("/api/queues")
    assert data.status_code == 503 and "cannot answer" in data.get_json()["error"]
    assert b"topsecret" not in data.data


# -- actions ----------------------------------------------------------------------------


def test_requeue_delete_cancel_enqueue_now(client: FlaskClient, queue: Queue) -> None:
    failed = failed_job(queue)
    response = post(client, f"/api/jobs/{failed.id}/requeue")
    assert response.status_code == 200 and failed.get_status() == JobStatus.QUEUED
    assert response.get_json()["message"] == f"job {failed.id} requeued"

    queued = queue.enqueue(fixtures.add, 1, 2)
    assert post(client, f"/api/jobs/{queued.id}/cancel").status_code == 200
    assert queued.get_status() == JobStatus.CANCELED
    assert post(client, f"/api/jobs/{queued.id}/cancel").status_code == 409

    later = scheduled_job(queue, now_ms() + 3_600_000)
    assert post(client, f"/api/jobs/{later.id}/enqueue-now").status_code == 200
    assert later.get_status() == JobStatus.QUEUED
    assert later.id in queue.job_ids and later.id not in queue.scheduled_job_registry

    assert post(client, f"/api/jobs/{queued.id}/delete").status_code == 200
    assert not queued.exists()
    assert post(client, f"/api/jobs/{queued.id}/delete").status_code == 404


def test_running_jobs_are_not_deleted(client: FlaskClient, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    queue.connection.hset(job.key, "status", "started")
    response = post(client, f"/api/jobs/{job.id}/delete")
    assert response.status_code == 409 and "running" in response.get_json()["error"]
    assert job.exists()


def test_pause_and_resume_a_queue(client: FlaskClient, queue: Queue) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    assert api(client, "/api/queues")["queues"][0]["paused"] is False
    response = post(client, "/api/queues/default/pause")
    assert response.status_code == 200 and queue.is_paused
    assert api(client, "/api/queues")["queues"][0]["paused"] is True
    html = client.get("/").data.decode()
    assert 'class="badge paused">paused' in html and ">Resume</button>" in html
    assert 'id="paused-badge" class="badge paused">' in client.get("/queues/default").data.decode()
    assert post(client, "/api/queues/default/resume").status_code == 200
    assert not queue.is_paused
    assert post(client, "/api/queues/nosuchqueue/pause").status_code == 404


def test_empty_queue_and_registries(client: FlaskClient, queue: Queue) -> None:
    failed = [failed_job(queue, i) for i in range(2)]
    queued = [queue.enqueue(fixtures.add, i, i) for i in range(3)]
    response = post(client, "/api/queues/default/empty?registry=failed")
    assert response.get_json()["count"] == 2
    assert all(not j.exists() for j in failed) and queue.failed_job_registry.count == 0
    response = post(client, "/api/queues/default/empty")
    assert response.get_json()["count"] == 3 and queue.count == 0
    assert all(not j.exists() for j in queued)


def test_empty_registry_in_batches(client: FlaskClient, queue: Queue) -> None:
    registry = queue.keys.registry("canceled", "default")
    with queue.connection.pipeline() as pipe:
        for i in range(1203):
            pipe.hset(queue.keys.job(f"c{i}"), mapping={"status": "canceled", "origin": "default"})
            pipe.zadd(registry, {f"c{i}": "+inf"})
        pipe.sadd(queue.keys.queues, "default")
        pipe.execute()
    response = post(client, "/api/queues/default/empty?registry=canceled")
    assert response.get_json()["count"] == 1203
    assert queue.connection.zcard(registry) == 0 and not queue.connection.exists("minirq:job:c7")


def test_requeue_all_failed_per_queue_and_everywhere(
    client: FlaskClient, connection: redis.Redis
) -> None:
    a, b = Queue("a", connection=connection), Queue("b", connection=connection)
    jobs_a = [a.enqueue(fixtures.div_by_zero, i) for i in range(3)]
    SimpleWorker([a], connection=connection).work(burst=True)
    failed_job(b)
    response = post(client, "/api/queues/a/requeue-failed")
    assert response.get_json()["count"] == 3
    assert sorted(a.job_ids) == sorted(j.id for j in jobs_a)
    assert a.failed_job_registry.count == 0
    assert b.failed_job_registry.count == 1
    SimpleWorker([a], connection=connection).work(burst=True)
    response = post(client, "/api/failed/requeue")
    assert response.get_json()["count"] == 4
    assert a.count == 3 and b.count == 1


def test_requeue_failed_in_batches(client: FlaskClient, queue: Queue) -> None:
    failed_key = queue.keys.registry("failed", "default")
    far = now_ms() + 10**9
    with queue.connection.pipeline() as pipe:
        for i in range(1100):
            pipe.hset(queue.keys.job(f"f{i}"), mapping={"status": "failed", "origin": "default"})
            pipe.zadd(failed_key, {f"f{i}": far})
        pipe.sadd(queue.keys.queues, "default")
        pipe.execute()
    assert post(client, "/api/queues/default/requeue-failed").get_json()["count"] == 1100
    assert queue.count == 1100 and queue.connection.zcard(failed_key) == 0


def test_bulk_actions(client: FlaskClient, queue: Queue) -> None:
    jobs = [failed_job(queue, i) for i in range(3)]
    queued = queue.enqueue(fixtures.add, 1, 2)
    ids = [j.id for j in jobs]
    response = post(client, "/api/jobs/bulk", {"action": "delete", "ids": ids[:2]})
    assert response.get_json()["done"] == ids[:2] and response.get_json()["errors"] == {}
    assert not jobs[0].exists() and not jobs[1].exists() and jobs[2].exists()
    response = post(client, "/api/jobs/bulk", {"action": "requeue", "ids": [ids[2], queued.id]})
    body = response.get_json()
    assert body["done"] == [ids[2]] and "only failed" in body["errors"][queued.id]
    assert "1 refused" in body["message"]


def test_html_forms_work_without_javascript(client: FlaskClient, queue: Queue) -> None:
    jobs = [failed_job(queue, i) for i in range(2)]
    token = csrf(client)
    back = "/queues/default?registry=failed"
    response = client.post(
        "/api/jobs/bulk",
        data={"csrf_token": token, "action": "requeue", "ids": [j.id for j in jobs], "next": back},
    )
    assert response.status_code == 303 and response.headers["Location"] == back
    assert all(j.get_status() == JobStatus.QUEUED for j in jobs)
    # A "next" that leaves the site is ignored: no open redirect.
    response = client.post(
        "/api/queues/default/empty", data={"csrf_token": token, "next": "//evil.example/"}
    )
    assert response.status_code == 200 and response.get_json()["count"] == 2


# -- mounting, prefixes, proxies --------------------------------------------------------


def test_url_prefix(redis_url: str, queue: Queue) -> None:
    app = make_app(redis_url, MINIRQ_DASHBOARD_URL_PREFIX="/rq/")
    client = app.test_client()
    job = failed_job(queue)
    assert client.get("/").headers["Location"] == "/rq/"
    html = client.get("/rq/").data.decode()
    assert 'data-root="/rq/"' in html and 'src="/rq/static/dashboard.js"' in html
    assert "Path=/rq/" in app.test_client().get("/rq/workers").headers["Set-Cookie"]
    assert 'href="/rq/queues/default?registry=failed"' in html
    with client.get("/rq/static/dashboard.css") as static:
        assert static.status_code == 200
    assert client.get("/queues/default").status_code == 404
    response = post(client, f"/rq/api/jobs/{job.id}/requeue", root="/rq/")
    assert response.status_code == 200 and job.get_status() == JobStatus.QUEUED


def test_mount_the_blueprint_in_your_own_app(redis_url: str, queue: Queue) -> None:
    host = Flask("host_app")
    host.config["MINIRQ_REDIS_URL"] = redis_url
    host.config["MINIRQ_DASHBOARD_PASSWORD"] = "pw"

    @host.get("/")
    def home() -> str:
        return "my own app"

    host.register_blueprint(blueprint, url_prefix="/admin/jobs")
    client = host.test_client()
    home_response = client.get("/")
    assert home_response.data == b"my own app"
    # The dashboard's guards and headers stay on the dashboard.
    assert "Content-Security-Policy" not in home_response.headers
    assert client.get("/admin/jobs/").status_code == 401
    page = client.get("/admin/jobs/", auth=("admin", "pw"))
    assert page.status_code == 200 and 'data-root="/admin/jobs/"' in page.data.decode()
    assert page.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_behind_a_proxy_with_forwarded_prefix(redis_url: str, queue: Queue) -> None:
    client = make_app(
        redis_url, MINIRQ_DASHBOARD_PROXY_FIX=1, MINIRQ_DASHBOARD_TRUSTED_HOSTS="ops.example.com"
    ).test_client()
    headers = {
        "X-Forwarded-Prefix": "/tools/rq",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "ops.example.com",
        "X-Forwarded-For": "10.0.0.1",
    }
    job = failed_job(queue)
    page = client.get("/", headers=headers)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    html = page.data.decode()
    assert 'data-root="/tools/rq/"' in html
    assert 'href="/tools/rq/queues/default?registry=failed"' in html
    token = re.search(r'data-csrf="([^"]+)"', html)
    assert token
    client.set_cookie(CSRF_COOKIE, token.group(1), path="/")
    response = client.post(
        f"/api/jobs/{job.id}/requeue",
        headers={**headers, "X-CSRF-Token": token.group(1), "Origin": "https://ops.example.com"},
    )
    assert response.status_code == 200, response.data


def test_mounted_with_script_name(client: FlaskClient) -> None:
    html = client.get("/", base_url="http://localhost/mount/").data.decode()
    assert 'data-root="/mount/"' in html and 'src="/mount/static/dashboard.js"' in html


def test_bad_configuration_is_refused(redis_url: str) -> None:
    with pytest.raises(ConfigurationError, match="URL prefix"):
        make_app(redis_url, MINIRQ_DASHBOARD_URL_PREFIX="/a b")
    with pytest.raises(ConfigurationError, match="POLL_MS"):
        make_app(redis_url, MINIRQ_DASHBOARD_POLL_MS=10)
    with pytest.raises(ConfigurationError, match="PROXY_FIX"):
        make_app(redis_url, MINIRQ_DASHBOARD_PROXY_FIX="many")
    with pytest.raises(ConfigurationError, match="prefix"):
        make_app(redis_url, MINIRQ_PREFIX="has space")


def test_wsgi_needs_a_password_or_no_auth(subprocess_env: dict[str, str]) -> None:
    code = "import minirq_dashboard.wsgi as w; print(type(w.app).__name__)"
    env = {k: v for k, v in subprocess_env.items() if not k.startswith("MINIRQ_DASHBOARD")}
    refused = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30
    )
    assert refused.returncode != 0 and "MINIRQ_DASHBOARD_PASSWORD" in refused.stderr
    for extra in ({"MINIRQ_DASHBOARD_PASSWORD": "pw"}, {"MINIRQ_DASHBOARD_NO_AUTH": "1"}):
        ok = subprocess.run(
            [sys.executable, "-c", code],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert ok.returncode == 0 and ok.stdout.strip() == "Flask", ok.stderr


# -- the command line -------------------------------------------------------------------


def test_cli_refuses_a_public_address_without_password(redis_url: str) -> None:
    result = CliRunner().invoke(main, ["dashboard", "--host", "0.0.0.0", "-u", redis_url])
    assert result.exit_code == 2
    assert "refusing to serve the dashboard on 0.0.0.0 without a password" in result.output


def test_cli_says_how_to_install_flask(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "minirq_dashboard.app", None)
    result = CliRunner().invoke(main, ["dashboard", "-u", redis_url])
    assert result.exit_code == 1
    assert "pip install 'minirq[dashboard]'" in result.output


@pytest.fixture
def dashboard_process(
    subprocess_env: dict[str, str], minirq_command: list[str]
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [*minirq_command, "dashboard", "--port", str(port), "--url-prefix", "/x", "--read-only"],
        env={**subprocess_env, "MINIRQ_DASHBOARD_PASSWORD": "pw"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}/x/", process
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout:
            process.stdout.close()


def test_cli_serves_the_dashboard(
    dashboard_process: tuple[str, subprocess.Popen[str]], queue: Queue
) -> None:
    base, process = dashboard_process
    queue.enqueue(fixtures.add, 1, 2)
    request = urllib.request.Request(base + "api/queues")
    request.add_header("Authorization", "Basic YWRtaW46cHc=")  # admin:pw
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                data = json.load(response)
            break
        except OSError:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert data["read_only"] is True and data["queues"][0]["counts"]["queued"] == 1


# -- small pure helpers ---------------------------------------------------------------


def test_exception_type_from_a_traceback() -> None:
    assert exception_type("Traceback...\n  File x\nValueError: bad: very") == "ValueError"
    assert exception_type("x\nminirq.exceptions.JobTimeoutException: slow\n") == (
        "minirq.exceptions.JobTimeoutException"
    )
    assert exception_type("") == "(unknown)" and exception_type("no colon here") == "(unknown)"


def test_format_duration() -> None:
    assert format_duration(None) == "\u2013"
    assert format_duration(0.25) == "250 ms"
    assert format_duration(4.21) == "4.2 s"
    assert format_duration(185) == "3m 05s"
    assert format_duration(7500) == "2h 05m"
    assert format_duration(200_000) == "2d 7h"
    assert format_duration(30, signed=True) == "in 30.0 s"
    assert format_duration(-30, signed=True) == "30.0 s ago"


def test_metrics_endpoint_serves_prometheus_text_behind_the_login(
    redis_url: str, queue: Queue, connection: redis.Redis
) -> None:
    finished_job(queue, fixtures.add, 1, 2)
    client = make_app(redis_url, MINIRQ_DASHBOARD_PASSWORD="s3cret").test_client()
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", auth=("admin", "s3cret"))
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    assert 'minirq_jobs_processed_total{queue="default"} 1.0' in text
    assert 'minirq_queue_jobs{queue="default",state="finished"} 1.0' in text
