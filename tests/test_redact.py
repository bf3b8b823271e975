"""Passwords never print: every URL form, kwargs reprs, error paths, and a real server whose
password holds the characters that used to cut it short."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from minirq import ConfigurationError, Queue
from minirq.cli import main
from minirq.config import load_settings
from minirq.connection import connect, redact_url
from tests import fixtures
from tests.conftest import ROOT, RedisServer

SECRET = "s3cret"

# (text holding SECRET, a part of it that must stay visible)
URL_FORMS = [
    (f"REDIS://:{SECRET}@h", "@h"),
    (f"Redis://:{SECRET}@h:6379/0", "@h:6379/0"),
    (f"redis://:p@{SECRET}@h", "@h"),
    (f"redis://:{SECRET}@ssw0rd@h/1", "@h/1"),
    (f"redis://:pa/{SECRET}@h", "@h"),
    (f"redis://:{SECRET}/x?y#z@h:1/2", "@h:1/2"),
    (f"redis://user:{SECRET}@h", "redis://user:"),
    (f"rediss://default:{SECRET}@h:6380/0?ssl_cert_reqs=none", "ssl_cert_reqs=none"),
    (f"unix://:{SECRET}@/run/redis@main.sock?db=1", "/run/redis@main.sock?db=1"),
    (f"unix:///run/redis.sock?db=0&password={SECRET}", "unix:///run/redis.sock?db=0"),
    (f"unix:///run/redis.sock?PASSWORD={SECRET}&db=2", "&db=2"),
    (f"redis+sentinel://:{SECRET}@s1:26379,s2/mymaster/3", "@s1:26379,s2/mymaster/3"),
    (f"rediss+sentinel://app:x@s1/m?sentinel_password={SECRET}&db=1", "&db=1"),
    (f"failed: 'redis://:{SECRET}@h/0' refused", "' refused"),
    (f'Error 111 "redis://u:{SECRET}@h" x', '@h" x'),
    (f"Redis(host='h', password='{SECRET}', db=0)", "db=0"),
    (f"{{'host': 'h', 'password': \"{SECRET}\"}}", "'host': 'h'"),
    (f"{{'sentinel_password': '{SECRET}'}}", "sentinel_password"),
]


@pytest.mark.parametrize(("text", "kept"), URL_FORMS)
def test_redact_masks_every_form(text: str, kept: str) -> None:
    shown = redact_url(text)
    assert SECRET not in shown
    assert kept in shown and "***" in shown


@pytest.mark.parametrize(
    "text",
    [
        "redis://localhost:6379/0",
        "unix:///run/redis-server@main.sock?db=0",
        "rediss://user@h:6380",
        "no URL here, password rotation done",
    ],
)
def test_redact_leaves_text_without_secrets_alone(text: str) -> None:
    assert redact_url(text) == text


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{SECRET}@h:port/0",
        f"redis://:pa/{SECRET}@h:x/0",
        f"REDIS://:{SECRET}@h:99999",
        f"redis://:{SECRET}@h/abc",
        f"redis://:{SECRET}@h/0?db=one",
        f"redis+sentinel://:{SECRET}@/mymaster",
        f"redis+sentinel://:{SECRET}@s1/mymaster?colour=blue",
        f"nosuch://:{SECRET}@h",
        f"unix://:{SECRET}@/tmp/r.sock?db=x",
    ],
)
def test_connect_errors_never_show_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        connect(url)
    assert SECRET not in str(info.value)
    assert "invalid Redis URL" in str(info.value)


def test_a_password_connect_was_given_is_masked_anywhere() -> None:
    # As if redis-py or a job echoed the password on its own, outside any URL.
    connect("redis://:Zq9-unusual@127.0.0.1:1/0")
    assert redact_url("AUTH failed for Zq9-unusual (x)") == "AUTH failed for *** (x)"


def test_settings_repr_hides_the_password() -> None:
    settings = load_settings({"redis_url": f"redis://:pa/{SECRET}@h/0"}, environ={})
    assert SECRET not in repr(settings) and "prefix='minirq'" in repr(settings)


@pytest.fixture(scope="module")
def locked_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RedisServer, str]]:
    """A redis-server whose password holds '/', '@', '?' and ':'."""
    server = RedisServer(tmp_path_factory.mktemp("locked"))
    password = "pa/ss@wo?rd:" + SECRET
    with redis.Redis(port=server.port) as admin:
        # Set after start: RedisServer checks that the server answers without a password.
        admin.config_set("requirepass", password)
    yield server, password
    server.stop()


@pytest.mark.parametrize("scheme", ["redis", "REDIS"])
def test_password_with_url_characters_authenticates(
    locked_server: tuple[RedisServer, str], scheme: str
) -> None:
    server, password = locked_server
    client = connect(f"{scheme}://:{password}@127.0.0.1:{server.port}/0")
    try:
        assert client.ping()
    finally:
        client.close()


def test_cli_output_never_shows_the_password(locked_server: tuple[RedisServer, str]) -> None:
    server, password = locked_server
    good = f"redis://:{password}@127.0.0.1:{server.port}/0"
    with redis.Redis(port=server.port, password=password) as client:
        client.flushall()
        Queue(connection=client).enqueue(fixtures.div_by_zero)
    runs = [
        ["worker", "--burst", "-u", good, "--logging-level", "DEBUG"],
        ["worker", "--burst", "--log-format", "json", "-u", good.replace(SECRET, "wrong1")],
        ["info", "-u", good],
        ["info", "-u", good.replace(str(server.port), "1")],
        ["info", "-u", good.replace("/0", "/99")],
        ["pause", "nosuch", "-u", good],
        ["worker", "--burst", "-u", good.replace(f":{password}@", "")],
    ]
    for args in runs:
        result = subprocess.run(
            [sys.executable, "-m", "minirq", *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
        text = result.stdout + result.stderr
        for fragment in (password, SECRET, "wrong1", "pa/ss", "wo?rd"):
            assert fragment not in text, (args, text)
        assert "Traceback" not in text, text
        assert result.returncode == (0 if args == runs[0] or args == runs[2] else 1), text
    assert "Redis redis://:***@127.0.0.1" in runs_output(["info", "-u", good])


def runs_output(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_info_output_shows_the_url_masked(tmp_path: Path, redis_url: str) -> None:
    text = runs_output(["info", "-u", redis_url])
    assert text.splitlines()[0] == f"Redis {redis_url}, prefix minirq"


def test_an_unexpected_error_keeps_its_traceback_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    (tmp_path / "cron_echoing_url.py").write_text(
        f"def register(scheduler):\n    raise RuntimeError('cannot use redis://:pa/{SECRET}@h/0')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = CliRunner().invoke(
        main, ["scheduler", "--burst", "--cron-module", "cron_echoing_url", "-u", redis_url]
    )
    assert result.exit_code == 1
    assert "Traceback" in result.output and "RuntimeError: cannot use redis://:***@h/0" in (
        result.output
    )
    assert SECRET not in result.output
