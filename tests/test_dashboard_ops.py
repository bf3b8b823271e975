"""What operators look for: errors in the failed list, filters, per-function figures, queue
health, control of jobs and workers, the scheduler, history, and the small defects."""

from __future__ import annotations

import logging
import re
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from minirq import Job, JobStatus, Queue, Retry, SimpleWorker, Worker
from minirq.keys import Keys
from minirq.scheduler import Scheduler
from minirq.stats import FUNCTION_BUCKETS_MS, JobStatsRecorder, function_figures
from minirq.utils import now_ms
from minirq_dashboard import create_app
from tests import dashboard_fixtures as df
from tests import feature_fixtures as ff
from tests import fixtures
from tests.test_dashboard import failed_job, make_app, post, scheduled_job


@pytest.fixture
def client(redis_url: str) -> FlaskClient:
    return make_app(redis_url).test_client()


def run(queue: Queue) -> None:
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


# -- 8. failed list with the error; retries apart ---------------------------------------


def test_failed_rows_carry_the_exception_type_and_message(
    client: FlaskClient, queue: Queue
) -> None:
    queue.enqueue(df.decline, "4242")
    queue.enqueue(df.fail_with, "the <b>report</b> has no rows")
    run(queue)
    rows = client.get("/api/queues/default/jobs?registry=failed").get_json()["jobs"]
    errors = sorted((r["error"]["type"], r["error"]["message"]) for r in rows)
    assert errors == [
        ("ValueError", "the <b>report</b> has no rows"),
        ("tests.dashboard_fixtures.PaymentDeclined", "card 4242 was declined: insufficient funds"),
    ]
    page = client.get("/queues/default?registry=failed").data.decode()
    assert "card 4242 was declined: insufficient funds" in page
    assert "the &lt;b&gt;report&lt;/b&gt; has no rows" in page
    failed_page = client.get("/failed").data.decode()
    assert "PaymentDeclined" in failed_page and "insufficient funds" in failed_page
    recent = client.get("/api/failed").get_json()["recent"]
    assert {r["func"] for r in recent} == {
        "tests.dashboard_fixtures.decline",
        "tests.dashboard_fixtures.fail_with",
    }


def test_jobs_waiting_to_retry_are_apart_from_scheduled_ones(
    client: FlaskClient, queue: Queue
) -> None:
    retrying = queue.enqueue(df.decline, "1", retry=Retry(max=2, interval=3600))
    run(queue)
    assert retrying.get_status() == JobStatus.SCHEDULED
    later = scheduled_job(queue, now_ms() + 60_000)
    data = client.get("/api/scheduled").get_json()
    assert [j["id"] for j in data["retrying"]] == [retrying.id]
    assert [j["id"] for j in data["jobs"]] == [later.id]
    assert data["retrying"][0]["error"]["message"].startswith("card 1 was declined")
    page = client.get("/scheduled").data.decode()
    retry_at, scheduled_at = page.index("Waiting to retry"), page.index("<h2>Scheduled</h2>")
    assert retry_at < page.index(retrying.id) < scheduled_at < page.index(later.id)
    listed = client.get("/api/queues/default/jobs?registry=scheduled").get_json()["jobs"]
    assert {j["id"]: j["retrying"] for j in listed} == {retrying.id: True, later.id: False}


# -- 9. filters ---------------------------------------------------------------------------


def test_lists_filter_by_function_and_status(client: FlaskClient, queue: Queue) -> None:
    adds = [queue.enqueue(fixtures.add, i, 1).id for i in range(3)]
    queue.enqueue(fixtures.say_hello, "x")
    listed = client.get("/api/queues/default/jobs?func=ADD").get_json()
    assert [j["id"] for j in listed["jobs"]] == adds and listed["total"] == 3
    assert listed["scanned"] == 4
    failed = failed_job(queue)
    stopped = failed_job(queue)
    queue.connection.hset(Keys().job(stopped.id), "status", "stopped")
    only = client.get("/api/queues/default/jobs?registry=failed&status=stopped").get_json()
    assert [j["id"] for j in only["jobs"]] == [stopped.id]
    none = client.get("/api/queues/default/jobs?registry=failed&func=nosuch").get_json()
    assert none["jobs"] == [] and none["total"] == 0
    page = client.get("/queues/default?registry=failed&status=failed").data.decode()
    assert failed.id in page and stopped.id not in page
    assert client.get("/api/queues/default/jobs?status=melted").status_code == 400
    assert client.get("/api/failed?func=div").get_json()["recent"]
    assert client.get("/api/failed?func=nosuch").get_json()["recent"] == []


# -- 10. per-function figures -----------------------------------------------------------


def test_per_function_figures_over_the_hour_and_day(client: FlaskClient, queue: Queue) -> None:
    for i in range(3):
        queue.enqueue(fixtures.add, i, 1)
    queue.enqueue(df.fail_with, "no")
    run(queue)
    for window in ("hour", "day"):
        rows = client.get(f"/api/functions?window={window}").get_json()["functions"]
        got = {r["func"]: (r["run"], r["failed"]) for r in rows}
        assert got == {"tests.fixtures.add": (3, 0), "tests.dashboard_fixtures.fail_with": (1, 1)}
        assert all(r["p50_s"] is not None and r["p95_s"] >= r["p50_s"] for r in rows)
    page = client.get("/functions").data.decode()
    assert "tests.fixtures.add" in page and "p95" in page
    assert client.get("/api/functions?window=year").status_code == 400


def test_percentiles_come_from_the_recorded_durations(connection: redis.Redis) -> None:
    recorder = JobStatsRecorder()
    now = now_ms()
    durations = [5] * 50 + [400] * 45 + [9000] * 5
    for d in durations:
        recorder.observe("q", d, ok=True, func="app.job", ended_ms=now)
    keys = Keys()
    with connection.pipeline(transaction=False) as pipe, recorder.flush_into(pipe, keys):
        pipe.execute()
    (fig,) = function_figures(connection, keys, 3600, now)
    assert fig.run == 100 and fig.failed == 0
    assert fig.mean_ms == sum(durations) / 100
    assert fig.p50_ms is not None and 3 < fig.p50_ms <= 5
    assert fig.p95_ms is not None and 300 < fig.p95_ms <= 500
    assert max(FUNCTION_BUCKETS_MS) >= 9000


class CountingPipe:
    """Stands in for the heartbeat's pipeline: records the commands queued on it."""

    def __init__(self) -> None:
        self.commands: list[tuple[Any, ...]] = []

    def hincrby(self, *args: Any) -> None:
        self.commands.append(("hincrby", *args))

    def expire(self, *args: Any) -> None:
        self.commands.append(("expire", *args))


def test_function_figures_ride_on_the_heartbeat_pipeline() -> None:
    recorder = JobStatsRecorder()
    for _ in range(10):
        recorder.observe("q", 12, ok=False, func="app.f", ended_ms=0)
    pipe = CountingPipe()
    with recorder.flush_into(pipe, Keys()):
        pass
    keys = {c[1] for c in pipe.commands}
    assert keys == {
        "minirq:jobstats:q",
        "minirq:fnstats:m:0",
        "minirq:fnstats:t:0",
        "minirq:fnstats:h:0",
    }
    # Ten jobs cost the same commands as one: counts add up in memory.
    assert ("hincrby", "minirq:fnstats:m:0", "n|app.f", 10) in pipe.commands


# -- 11. queue health ---------------------------------------------------------------------


def test_latency_and_queues_no_worker_listens_to(
    client: FlaskClient, connection: redis.Redis
) -> None:
    emails = Queue("emails", connection=connection)
    for i in range(9):
        emails.enqueue(fixtures.say_hello, str(i))
    Queue("idle", connection=connection).enqueue(fixtures.add, 1, 2)
    Queue("idle", connection=connection).empty()
    queues = {q["name"]: q for q in client.get("/api/queues").get_json()["queues"]}
    assert queues["emails"]["no_worker"] is True and queues["emails"]["latency_s"] >= 0
    assert queues["idle"]["no_worker"] is False and queues["idle"]["latency_s"] is None
    assert "9 waiting, no worker" in client.get("/").data.decode()
    Worker([emails], connection=connection).register_birth()
    queues = {q["name"]: q for q in client.get("/api/queues").get_json()["queues"]}
    assert queues["emails"]["no_worker"] is False


# -- 12. control: stop a job, shut a worker down; uptime; the scheduler ---------------------


@pytest.fixture
def live_worker(
    minirq_command: list[str], subprocess_env: dict[str, str], connection: redis.Redis
) -> Iterator[Any]:
    process = ff.start_worker(minirq_command, subprocess_env, "default")
    try:
        yield process
    finally:
        ff.stop_process(process)


def test_stop_a_running_job_and_shut_the_worker_down(
    redis_url: str, queue: Queue, live_worker: Any
) -> None:
    client = make_app(redis_url).test_client()
    job = queue.enqueue(fixtures.sleep_for, 30)
    ff.wait_until(lambda: job.get_status() == JobStatus.STARTED, what="the job to start")
    (worker,) = client.get("/api/workers").get_json()["workers"]
    assert worker["uptime_s"] >= 0
    read_only = make_app(redis_url, MINIRQ_DASHBOARD_READ_ONLY=True).test_client()
    assert post(read_only, f"/api/jobs/{job.id}/stop").status_code == 403
    assert client.post(f"/api/jobs/{job.id}/stop").status_code == 403  # no CSRF token
    assert job.get_status() == JobStatus.STARTED
    assert 'data-action="stop"' in client.get(f"/jobs/{job.id}").data.decode()
    stopped = post(client, f"/api/jobs/{job.id}/stop")
    assert stopped.status_code == 200, stopped.data
    ff.wait_until(lambda: job.get_status() == JobStatus.STOPPED, what="the job to stop")
    name = worker["name"]
    assert post(read_only, f"/api/workers/{name}/shutdown").status_code == 403
    assert post(client, "/api/workers/nosuch/shutdown").status_code == 404
    assert post(client, f"/api/workers/{name}/shutdown").status_code == 200
    assert live_worker.wait(15) == 0


def test_scheduler_status_shows_the_active_holder_and_last_pass(
    client: FlaskClient, connection: redis.Redis
) -> None:
    before = client.get("/api/queues").get_json()["scheduler"]
    assert before["active"] is False and before["last_pass"] is None
    scheduler = Scheduler(connection, name="sched-1")
    scheduler.step()
    after = client.get("/api/queues").get_json()["scheduler"]
    assert after["holder"] == "sched-1" and after["last_pass_by"] == "sched-1"
    assert after["last_pass_age_s"] >= 0 and after["lease_ttl_s"] > 0
    assert "sched-1" in client.get("/workers").data.decode()
    scheduler.release_lease()
    assert client.get("/api/workers").get_json()["scheduler"]["active"] is False


# -- 13. history ------------------------------------------------------------------------


def test_history_offers_hour_day_and_week(client: FlaskClient, queue: Queue) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    queue.enqueue(df.fail_with, "x")
    run(queue)
    sizes = {"hour": 60, "day": 144, "week": 168}
    for window, size in sizes.items():
        data = client.get(f"/api/history?window={window}").get_json()
        assert len(data["points"]) == size
        assert (data["processed"], data["failed"]) == (2, 1)
        assert data["points"][-1]["start"].endswith("Z")
    assert client.get("/api/history?window=month").status_code == 400


# -- 14. small defects ------------------------------------------------------------------


def test_queued_lists_default_to_run_order(client: FlaskClient, queue: Queue) -> None:
    ids = [queue.enqueue(fixtures.add, i, 1).id for i in range(3)]
    listed = client.get("/api/queues/default/jobs").get_json()
    assert listed["order"] == "asc" and [j["id"] for j in listed["jobs"]] == ids
    page = client.get("/queues/default").data.decode()
    assert page.index(ids[0]) < page.index(ids[2])
    finished = client.get("/api/queues/default/jobs?registry=finished").get_json()
    assert finished["order"] == "desc"


def test_scheduled_page_title_and_single_cron_table(
    client: FlaskClient, connection: redis.Redis
) -> None:
    Scheduler(connection).cron("0 * * * *", fixtures.say_hello, name="hourly")
    html = client.get("/scheduled").data.decode()
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None and title.group(1) == "Scheduled jobs · minirq"
    assert html.count('id="cron-body"') == 1


def test_a_timed_out_job_no_longer_shows_progress_as_running(
    client: FlaskClient, queue: Queue, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    job = queue.enqueue(ff.progress_then_wait, 30, job_timeout=1)
    process = ff.start_worker(minirq_command, subprocess_env, "default")
    try:
        ff.wait_until(lambda: job.get_status() == JobStatus.FAILED, what="the timeout")
    finally:
        ff.stop_process(process)
    detail = client.get(f"/api/jobs/{job.id}").get_json()
    assert detail["progress"]["percent"] == 25.0 and detail["progress"]["stale"] is True
    assert "not running" in client.get(f"/jobs/{job.id}").data.decode()


def test_poll_requests_are_not_logged_at_info(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app({"MINIRQ_REDIS_URL": redis_url})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in ("/api/queues", "/api/stats", "/", "/api/nosuch"):
                try:
                    urllib.request.urlopen(base + path, timeout=10).close()
                except urllib.error.HTTPError as exc:
                    exc.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any('"GET / HTTP' in line for line in lines)
    assert any("/api/nosuch" in line for line in lines)  # errors stay visible
    assert not any("/api/queues" in line or "/api/stats" in line for line in lines)
    with caplog.at_level(logging.DEBUG, logger="werkzeug"):
        logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /api/queues HTTP/1.1" 200 -')
    assert any(
        r.levelno == logging.DEBUG and "/api/queues" in r.getMessage() for r in caplog.records
    )


def test_job_rows_link_only_valid_ids(client: FlaskClient, queue: Queue) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    queue.connection.rpush(Keys().queue("default"), "../../etc")
    rows = client.get("/api/queues/default/jobs").get_json()["jobs"]
    assert [r.get("bad_id", False) for r in rows] == [False, True]
    assert isinstance(Job, type)
