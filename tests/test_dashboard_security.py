"""The dashboard's security items: no deserializer that runs code, trusted hosts, no GET
writes, INFO denied by an ACL, the ``next`` redirect, HSTS, slowed logins, AUTHORIZE."""

from __future__ import annotations

import http.client
import json
import os
import pickle
import random
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask.testing import FlaskClient

from minirq import Queue, Worker
from minirq.display_values import Opaque, Undecodable, loads_for_display
from minirq.keys import Keys
from minirq_dashboard.throttle import FREE_FAILURES, LoginThrottle
from tests import fixtures
from tests.conftest import free_port
from tests.test_dashboard import CSRF_COOKIE, csrf, failed_job, make_app, post, scheduled_job

GET_ROUTES = (
    "/",
    "/workers",
    "/failed",
    "/scheduled",
    "/functions",
    "/functions?window=day",
    "/api/queues",
    "/api/workers",
    "/api/failed",
    "/api/scheduled",
    "/api/stats",
    "/api/history?window=hour",
    "/api/history?window=day",
    "/api/history?window=week",
    "/api/functions",
    "/metrics",
)


@pytest.fixture
def client(redis_url: str) -> FlaskClient:
    return make_app(redis_url).test_client()


class RunsCode:
    """Unpickling this runs ``touch <path>``: what an attacker with Redis access writes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.path}",))


def evil(path: Path) -> bytes:
    return pickle.dumps(RunsCode(path), protocol=pickle.HIGHEST_PROTOCOL)


# -- 1. no deserializer that can run code ----------------------------------------------


def test_display_decoder_shows_plain_values_and_labels_the_rest(tmp_path: Path) -> None:
    plain = (("cus_0", 1999), {"n": None, "s": {1, 2}, "b": b"x", "f": 1.5, "l": [True]})
    assert loads_for_display(pickle.dumps(plain, protocol=5)) == plain
    # Protocol 0 spells sets and bytes with globals, so only the simplest values stay plain.
    simple = (("cus_0", 1999), {"n": None, "f": 1.5, "l": [True]})
    assert loads_for_display(pickle.dumps(simple, protocol=0)) == simple
    assert loads_for_display(b'[["cus_0", 1999], {"k": 1}]') == [["cus_0", 1999], {"k": 1}]
    import datetime
    import decimal

    mixed = loads_for_display(pickle.dumps((datetime.date(2020, 1, 2), decimal.Decimal(1))))
    assert [type(v).__mro__[1] for v in mixed] == [Opaque, Opaque]
    assert repr(mixed[0]) == "<datetime.date object, not decoded>"
    marker = tmp_path / "ran"
    assert "posix.system" in repr(loads_for_display(evil(marker))) or "os.system" in repr(
        loads_for_display(evil(marker))
    )
    assert not marker.exists()
    assert isinstance(loads_for_display(b"\x80\x05garbage"), Undecodable)
    assert isinstance(loads_for_display(b"\xff\xfe not json"), Undecodable)


def test_display_decoder_never_raises_on_any_bytes(tmp_path: Path) -> None:
    rng = random.Random(13)
    seeds = [pickle.dumps(v, protocol=p) for v in ([1, "a"], {"k": (1, 2)}) for p in (0, 2, 5)]
    for _ in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        repr(loads_for_display(bytes(data)))
    assert list(tmp_path.iterdir()) == []


def test_pages_never_run_code_from_redis(
    client: FlaskClient, queue: Queue, connection: redis.Redis, tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    keys = Keys()
    finished = queue.enqueue(fixtures.add, 1, 2)
    done = failed_job(queue)
    connection.hset(keys.job(finished.id), "result", evil(marker))
    queued = queue.enqueue(fixtures.echo, "cus_0", 1999)
    bad = queue.enqueue(fixtures.echo, "x")
    later = scheduled_job(queue, 2**41)
    for job in (bad, done, later):
        connection.hset(keys.job(job.id), mapping={"data": evil(marker), "meta": evil(marker)})
    worker = Worker([queue], connection=connection)
    worker.register_birth()
    connection.hset(keys.worker(worker.name), "job", bad.id)
    urls = [*GET_ROUTES, f"/jobs/{bad.id}", f"/jobs/{finished.id}", f"/api/jobs/{bad.id}"]
    urls += [f"/queues/default?registry={r}" for r in ("queued", "failed", "scheduled", "finished")]
    urls += [f"/api/queues/default/jobs?registry={r}" for r in ("queued", "failed", "finished")]
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert not marker.exists()
    page = client.get(f"/jobs/{finished.id}").data.decode()
    assert "system object, not decoded" in page
    listed = client.get("/api/queues/default/jobs?registry=queued").get_json()["jobs"]
    assert {j["id"]: j["call"] for j in listed}[queued.id] == "tests.fixtures.echo('cus_0', 1999)"


def test_json_jobs_show_as_json(redis_url: str, connection: redis.Redis) -> None:
    queue = Queue("j", connection=connection, serializer="json")
    job = queue.enqueue(fixtures.echo, "cus_0", 1999, tags=["a"])
    detail = make_app(redis_url).test_client().get(f"/api/jobs/{job.id}").get_json()
    assert detail["args"] == ["'cus_0'", "1999"] and detail["kwargs"] == {"tags": "['a']"}


# -- 2. DNS rebinding ------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:9181", "10.0.0.1", "[fe80::1]"])
def test_untrusted_hosts_get_400(client: FlaskClient, queue: Queue, host: str) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    for url in ("/", "/api/queues", "/api/queues/default/jobs", "/metrics"):
        response = client.get(url, headers={"Host": host})
        assert response.status_code == 400, (url, host)
        assert "MINIRQ_DASHBOARD_TRUSTED_HOSTS" in response.data.decode()
    token = csrf(client)
    refused = client.post(
        "/api/queues/default/empty",
        headers={"Host": host, "Origin": f"http://{host}", "X-CSRF-Token": token},
    )
    assert refused.status_code == 400 and queue.count == 1


@pytest.mark.parametrize(
    "host",
    ["localhost", "localhost:9181", "127.0.0.1:80", "127.9.9.9", "[::1]:5000", "a.localhost"],
)
def test_loopback_hosts_are_served(client: FlaskClient, host: str) -> None:
    assert client.get("/api/queues", headers={"Host": host}).status_code == 200


def test_trusted_hosts_setting(redis_url: str) -> None:
    client = make_app(
        redis_url, MINIRQ_DASHBOARD_TRUSTED_HOSTS="jobs.example.com, .corp.example"
    ).test_client()
    for ok in ("jobs.example.com", "JOBS.example.com:443", "a.corp.example", "corp.example"):
        assert client.get("/api/queues", headers={"Host": ok}).status_code == 200, ok
    for bad in ("example.com", "jobs.example.com.evil.example", "xcorp.example"):
        assert client.get("/api/queues", headers={"Host": bad}).status_code == 400, bad
    anything = make_app(redis_url, MINIRQ_DASHBOARD_TRUSTED_HOSTS=["*"]).test_client()
    assert anything.get("/api/queues", headers={"Host": "x.example"}).status_code == 200


@pytest.fixture
def cli_dashboard(subprocess_env: dict[str, str], minirq_command: list[str]) -> Iterator[int]:
    port = free_port()
    process = subprocess.Popen(
        [*minirq_command, "dashboard", "--port", str(port), "--trusted-host", "jobs.internal"],
        env=subprocess_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "minirq dashboard on" in process.stdout.readline()
        yield port
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def _status(port: int, host: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/queues", headers={"Host": host})
    status = conn.getresponse().status
    conn.close()
    return status


def test_cli_trusted_host_flag(cli_dashboard: int) -> None:
    assert _status(cli_dashboard, "jobs.internal:80") == 200
    assert _status(cli_dashboard, f"127.0.0.1:{cli_dashboard}") == 200
    assert _status(cli_dashboard, "rebound.example") == 400


# -- 3. no GET writes ------------------------------------------------------------------


def snapshot(connection: redis.Redis) -> dict[bytes, Any]:
    return {key: (connection.dump(key), connection.pttl(key) > 0) for key in connection.keys("*")}


@pytest.mark.parametrize("read_only", [False, True])
def test_no_get_writes_to_redis(
    redis_url: str, queue: Queue, connection: redis.Redis, read_only: bool
) -> None:
    failed = failed_job(queue)
    queue.enqueue(fixtures.add, 1, 2)
    keys = Keys()
    connection.sadd(keys.workers, "dead-worker")  # its record expired: Worker.all would prune it
    client = make_app(redis_url, MINIRQ_DASHBOARD_READ_ONLY=read_only).test_client()
    before = snapshot(connection)
    for url in (*GET_ROUTES, f"/jobs/{failed.id}", "/queues/default?registry=failed"):
        assert client.get(url).status_code == 200, url
    assert snapshot(connection) == before
    assert connection.sismember(keys.workers, "dead-worker")


# -- 5. an ACL that denies INFO --------------------------------------------------------


@pytest.fixture
def acl_client(redis_server: Any, connection: redis.Redis) -> Iterator[FlaskClient]:
    connection.execute_command(
        "ACL", "SETUSER", "dash", "on", ">dash-pw", "~*", "&*", "+@all", "-@dangerous"
    )
    try:
        url = redis_server.url.replace("redis://", "redis://dash:dash-pw@")
        yield make_app(url).test_client()
    finally:
        connection.execute_command("ACL", "DELUSER", "dash")


def test_works_under_an_acl_that_denies_info(acl_client: FlaskClient, queue: Queue) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    data = acl_client.get("/api/queues").get_json()
    assert data["queues"][0]["counts"]["queued"] == 1
    assert data["redis"]["version"] is None and "INFO" in data["redis"]["unavailable"]
    page = acl_client.get("/")
    assert page.status_code == 200 and "unavailable" in page.data.decode()


# -- 6. next, HSTS, slowed logins ------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "/\t/evil.example",
        "/\n/evil.example",
        "/\\evil.example",
        "//evil.example",
        "https://evil.example/",
        "/ /evil.example",
        "\t//evil.example",
        "/\r\n/evil",
        "evil",
    ],
)
def test_next_never_leads_off_site(client: FlaskClient, queue: Queue, target: str) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    token = csrf(client)
    response = client.post("/api/queues/default/pause", data={"csrf_token": token, "next": target})
    assert response.status_code == 200 and "Location" not in response.headers


def test_next_within_the_dashboard_redirects(client: FlaskClient, queue: Queue) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    token = csrf(client)
    back = "/queues/default?registry=queued"
    response = client.post("/api/queues/default/pause", data={"csrf_token": token, "next": back})
    assert response.status_code == 303 and response.headers["Location"] == back


def test_hsts_only_over_https(client: FlaskClient) -> None:
    assert (
        client.get("/", base_url="https://localhost/")
        .headers["Strict-Transport-Security"]
        .startswith("max-age=")
    )
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_repeated_failed_logins_are_slowed(redis_url: str) -> None:
    client = make_app(redis_url, MINIRQ_DASHBOARD_PASSWORD="right").test_client()
    wrong = {"Authorization": "Basic " + _basic("admin", "wrong")}
    right = {"Authorization": "Basic " + _basic("admin", "right")}
    for _ in range(FREE_FAILURES + 1):
        assert client.get("/api/queues", headers=wrong).status_code == 401
    locked = client.get("/api/queues", headers=right)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    other = client.get("/api/queues", headers=right, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert other.status_code == 200


def test_throttle_delays_double_and_a_success_clears() -> None:
    throttle = LoginThrottle()
    for i in range(FREE_FAILURES):
        throttle.failed("a", now_s=i)
    assert throttle.wait_s("a", now_s=FREE_FAILURES) == 0
    throttle.failed("a", now_s=10)
    first = throttle.wait_s("a", now_s=10)
    throttle.failed("a", now_s=10)
    assert first > 0 and throttle.wait_s("a", now_s=10) == 2 * first
    throttle.succeeded("a")
    assert throttle.wait_s("a", now_s=10) == 0


def _basic(user: str, password: str) -> str:
    import base64

    return base64.b64encode(f"{user}:{password}".encode()).decode()


# -- MINIRQ_DASHBOARD_AUTHORIZE, for a framework that authenticates its own users --------


def _authorize(environ: dict[str, Any]) -> str | None:
    return {"staff": "write", "viewer": "read"}.get(environ.get("HTTP_X_USER", ""))


def test_authorize_callable_replaces_the_login(
    redis_url: str, queue: Queue, connection: redis.Redis
) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    client = make_app(
        redis_url, MINIRQ_DASHBOARD_AUTHORIZE=_authorize, MINIRQ_DASHBOARD_PASSWORD="unused"
    ).test_client()
    assert client.get("/", headers={"X-User": "nobody"}).status_code == 403
    assert client.get("/api/queues").status_code == 403
    viewer = {"X-User": "viewer"}
    page = client.get("/", headers=viewer)
    assert page.status_code == 200 and 'data-read-only="1"' in page.data.decode()
    token = client.get_cookie(CSRF_COOKIE, path="/")
    assert token is not None
    refused = client.post(
        "/api/queues/default/empty", headers={**viewer, "X-CSRF-Token": token.value}
    )
    assert refused.status_code == 403 and queue.count == 1
    staff = {"X-User": "staff"}
    assert client.post("/api/queues/default/empty", headers=staff).status_code == 403
    cross = client.post(
        "/api/queues/default/empty",
        headers={**staff, "X-CSRF-Token": token.value, "Origin": "http://evil.example"},
    )
    assert cross.status_code == 403 and queue.count == 1
    done = client.post("/api/queues/default/empty", headers={**staff, "X-CSRF-Token": token.value})
    assert done.status_code == 200 and queue.count == 0
    assert json.loads(client.get("/api/queues", headers=staff).data)["read_only"] is False


def test_authorize_must_be_callable(redis_url: str) -> None:
    from minirq.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError, match="AUTHORIZE"):
        make_app(redis_url, MINIRQ_DASHBOARD_AUTHORIZE="write")


def test_actions_still_post_only(client: FlaskClient, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    assert client.get(f"/api/jobs/{job.id}/stop").status_code == 405
    assert post(client, f"/api/jobs/{job.id}/stop").status_code == 409


def test_plain_forms_come_back_to_their_page_under_a_script_name(
    client: FlaskClient, queue: Queue
) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    base = "http://localhost/mount/"
    html = client.get("/queues/default", base_url=base).data.decode()
    back = re.search(r'name="next" value="([^"]+)"', html)
    assert back is not None and back.group(1).startswith("/mount/queues/default")
    token = client.get_cookie(CSRF_COOKIE, path="/mount/")
    assert token is not None
    response = client.post(
        "/api/queues/default/pause",
        base_url=base,
        data={"csrf_token": token.value, "next": back.group(1).replace("&amp;", "&")},
    )
    assert response.status_code == 303 and response.headers["Location"].startswith("/mount/")


@pytest.mark.parametrize(
    "data",
    [
        b"\x80\x04]r\xff\xff\xff\x7f.",  # LONG_BINPUT: a memo index of 2**31 - 1
        b"\x80\x04\x95\xff\xff\xff\xff\xff\xff\x00\x00N.",  # FRAME of 2**56 bytes
        b"\x80\x05\x96\x02\x00\x00\x00\x00\x00\x00\x00xy.",  # BYTEARRAY8
    ],
)
def test_display_decoder_refuses_pickles_that_ask_for_more_than_they_hold(data: bytes) -> None:
    """A corrupt length or memo index must not make the web process allocate gigabytes;
    the child's address space is capped so that a regression fails instead of swapping."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from minirq.display_values import loads_for_display\n"
        f"print(repr(loads_for_display({data!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "not a readable pickle" in result.stdout
    assert "MemoryError" not in result.stdout and result.stderr == ""
