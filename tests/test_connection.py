"""Connections: URL forms, TLS against a real TLS redis-server, Sentinel against a real one."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from minirq import ConfigurationError, Job, Queue, SimpleWorker
from minirq.connection import (
    connect,
    get_connection_kwargs,
    parse_connection,
    parse_sentinel_url,
    redact_url,
)
from tests import fixtures
from tests.conftest import RedisServer, free_port


def test_sentinel_url_with_several_hosts_and_defaults() -> None:
    parsed = parse_sentinel_url("redis+sentinel://s1:26380,s2,[::1]:26381/mymaster")
    assert parsed.hosts == (("s1", 26380), ("s2", 26379), ("::1", 26381))
    assert parsed.service_name == "mymaster"
    assert parsed.db == 0 and parsed.password is None and not parsed.ssl


def test_sentinel_url_with_credentials_db_and_tls() -> None:
    parsed = parse_sentinel_url(
        "rediss+sentinel://app:p%40ss@s1:26379/mymaster/3?sentinel_password=sp&socket_timeout=5"
    )
    assert (parsed.username, parsed.password, parsed.sentinel_password) == ("app", "p@ss", "sp")
    assert parsed.db == 3 and parsed.ssl
    assert parsed.options == {"socket_timeout": "5"}


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+sentinel:///mymaster", "at least one host"),
        ("redis+sentinel://s1:99999/mymaster", "port '99999'"),
        ("redis+sentinel://s1:x/mymaster", "port 'x'"),
        ("redis+sentinel://s1", "/service_name"),
        ("redis+sentinel://s1/a/b/c", "/service_name"),
        ("redis+sentinel://s1/mymaster/zero", "database 'zero'"),
        ("redis+sentinel://s1,/mymaster", "empty host"),
        ("redis://s1/0", "not a Sentinel URL"),
    ],
)
def test_bad_sentinel_urls_are_refused_by_name(url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        parse_sentinel_url(url)


def test_connect_names_bad_sentinel_option_and_hides_password() -> None:
    with pytest.raises(ConfigurationError) as info:
        connect("redis+sentinel://:secret@s1/mymaster?colour=blue")
    assert "unknown option 'colour'" in str(info.value)
    assert "secret" not in str(info.value)


def test_redact_url_masks_every_password_form() -> None:
    assert redact_url("redis://:pw@h:6379/0") == "redis://:***@h:6379/0"
    assert redact_url("rediss://user:pw@h:6379") == "rediss://user:***@h:6379"
    assert (
        redact_url("redis+sentinel://:pw@a,b/m?sentinel_password=sp&db=1")
        == "redis+sentinel://:***@a,b/m?sentinel_password=***&db=1"
    )
    assert redact_url("failed: redis://:pw@h/0 refused") == "failed: redis://:***@h/0 refused"


def test_bad_certificate_switch_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MINIRQ_REDIS_SSL_CERT_REQS", "nope")
    with pytest.raises(ConfigurationError, match="SSL_CERT_REQS 'nope': choose one of"):
        connect("rediss://localhost:6380/0")
    monkeypatch.delenv("MINIRQ_REDIS_SSL_CERT_REQS")
    with pytest.raises(ConfigurationError, match="ssl_cert_reqs in the URL 'off': choose one of"):
        connect("rediss://localhost:6380/0?ssl_cert_reqs=off")
    with pytest.raises(ConfigurationError, match=r"'/no/such/ca\.pem': no such file"):
        connect("rediss://localhost:6380/0", ssl_ca_certs="/no/such/ca.pem")


# -- TLS against a real redis-server ----------------------------------------------------


class TLSRedis:
    def __init__(self, workdir: Path) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.fail("openssl is not installed; .ci/run installs it with apt-get")
        self.cert = workdir / "cert.pem"
        key = workdir / "key.pem"
        # A self-signed certificate, as Heroku Redis serves.
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-keyout", str(key), "-out", str(self.cert), "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True,
            capture_output=True,
            timeout=60,
        )  # fmt: skip
        self.port = free_port()
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "--port", "0", "--tls-port", str(self.port), "--bind", "127.0.0.1",
             "--tls-cert-file", str(self.cert), "--tls-key-file", str(key),
             "--tls-ca-cert-file", str(self.cert), "--tls-auth-clients", "no",
             "--save", "", "--dir", str(workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url + "?ssl_cert_reqs=none")
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.02)
        client.close()

    @property
    def url(self) -> str:
        return f"rediss://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSRedis]:
    server = TLSRedis(tmp_path_factory.mktemp("tls"))
    yield server
    server.stop()


def test_tls_refuses_a_self_signed_certificate_by_default(
    tls_redis: TLSRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MINIRQ_REDIS_SSL_CERT_REQS", raising=False)
    with pytest.raises(redis.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        connect(tls_redis.url).ping()


def test_tls_with_checks_switched_off_in_the_url(tls_redis: TLSRedis) -> None:
    assert connect(tls_redis.url + "?ssl_cert_reqs=none").ping()


def test_tls_with_checks_switched_off_in_the_environment(
    tls_redis: TLSRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MINIRQ_REDIS_SSL_CERT_REQS", "none")
    assert connect(tls_redis.url).ping()


def test_tls_verified_against_a_trusted_ca(tls_redis: TLSRedis) -> None:
    assert connect(tls_redis.url, ssl_cert_reqs="required", ssl_ca_certs=str(tls_redis.cert)).ping()


def test_a_job_runs_over_tls_through_the_command_line(
    tls_redis: TLSRedis, subprocess_env: dict[str, str], minirq_command: list[str]
) -> None:
    connection = connect(tls_redis.url + "?ssl_cert_reqs=none")
    connection.flushall()
    job = Queue(connection=connection).enqueue(fixtures.add, 2, 3)
    env = {**subprocess_env, "REDIS_URL": tls_redis.url, "MINIRQ_REDIS_SSL_CERT_REQS": "none"}
    result = subprocess.run(
        [*minirq_command, "worker", "--burst"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert Job.fetch(job.id, connection=connection).return_value() == 5


# -- Sentinel ---------------------------------------------------------------------------


@pytest.fixture
def sentinel_port(redis_server: RedisServer, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor mymaster 127.0.0.1 {redis_server.port} 1\n"
    )
    binary = shutil.which("redis-server")
    assert binary is not None
    process = subprocess.Popen(
        [binary, str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()
        yield port
    finally:
        process.terminate()
        process.wait(10)


def test_a_job_runs_through_a_sentinel_url(
    sentinel_port: int, connection: redis.Redis, redis_server: RedisServer
) -> None:
    via_sentinel = connect(f"redis+sentinel://127.0.0.1:{sentinel_port}/mymaster/0")
    job = Queue(connection=via_sentinel).enqueue(fixtures.add, 4, 5)
    SimpleWorker(["default"], connection=via_sentinel).work(burst=True)
    assert Job.fetch(job.id, connection=connection).return_value() == 9


@pytest.mark.parametrize(
    ("url", "password", "sentinel_password"),
    [
        ("redis+sentinel://:pa/ss@s1/mymaster", "pa/ss", None),
        ("redis+sentinel://:p@s?s@s1:26380/mymaster/2", "p@s?s", None),
        ("redis+sentinel://s1/mymaster?sentinel_password=a@b", None, "a@b"),
    ],
)
def test_sentinel_passwords_holding_url_characters_are_read_whole(
    url: str, password: str | None, sentinel_password: str | None
) -> None:
    parsed = parse_sentinel_url(url)
    assert (parsed.password, parsed.sentinel_password) == (password, sentinel_password)
    assert parsed.hosts[0][0] == "s1" and parsed.service_name == "mymaster"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://:pa/ss@h:1/2", {"password": "pa/ss", "host": "h", "port": 1, "db": 2}),
        ("REDIS://u:p@ss@h", {"username": "u", "password": "p@ss", "host": "h"}),
        ("Rediss://:a?b#c@h:6380", {"password": "a?b#c", "host": "h", "port": 6380}),
        ("redis://:x%2Fy@h/3", {"password": "x/y", "db": 3}),
        ("redis://h:6379/5/", {"host": "h", "db": 5}),
        ("redis://h/0?password=a@b", {"password": "a@b", "host": "h", "db": 0}),
        (
            "unix://:pw@/run/redis@main.sock?db=4",
            {"password": "pw", "path": "/run/redis@main.sock", "db": 4},
        ),
    ],
)
def test_urls_are_read_as_meant(url: str, expected: dict[str, object]) -> None:
    kwargs = connect(url).connection_pool.connection_kwargs
    assert {k: kwargs.get(k) for k in expected} == expected


def test_get_connection_kwargs_rebuild_a_client(connection: redis.Redis) -> None:
    kwargs = get_connection_kwargs(connection)
    assert "maint_notifications_pool_handler" not in kwargs
    assert all(type(value) is not object for value in kwargs.values())
    client_class, connection_class, same = parse_connection(connection)
    rebuilt = client_class(connection_pool=redis.ConnectionPool(connection_class, **same))
    assert rebuilt.ping()
    rebuilt.close()
