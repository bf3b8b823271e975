"""Test fixtures: a private redis-server for the session, flushed between tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from minirq import Queue, SimpleWorker, Worker
from tests import rq_docs_fixtures

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server process on a free port, with its data in a temporary folder."""

    def __init__(self, workdir: Path, *extra_args: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.exit(
                "redis-server is not installed; `make test` installs it with apt-get", returncode=2
            )
        self.port = free_port()
        self.workdir = workdir
        self.args = [
            binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--dir",
            str(workdir),
            "--daemonize",
            "no",
            # DEBUG SLEEP stalls Redis in the lost-reply tests.
            "--enable-debug-command",
            "local",
            *extra_args,
        ]
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = redis.Redis(port=self.port)
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

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture
def connection(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def redis_url(redis_server: RedisServer, connection: redis.Redis) -> str:
    """The test server's URL, with the database flushed."""
    return redis_server.url


@pytest.fixture
def queue(connection: redis.Redis) -> Queue:
    return Queue("default", connection=connection)


@pytest.fixture
def simple_worker(connection: redis.Redis, queue: Queue) -> SimpleWorker:
    return SimpleWorker([queue], connection=connection)


@pytest.fixture
def fork_worker(connection: redis.Redis, queue: Queue) -> Worker:
    return Worker([queue], connection=connection)


@pytest.fixture
def subprocess_env(redis_url: str) -> dict[str, str]:
    """Environment for `minirq` subprocesses: the test Redis and this checkout importable."""
    env = dict(os.environ)
    env["REDIS_URL"] = redis_url
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture
def minirq_command() -> list[str]:
    return [sys.executable, "-m", "minirq"]


@pytest.fixture
def doc_env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """For RQ's documented usages, which write ``Redis()`` and ``Queue("name")``: both
    reach the test server, and the clients they make are closed after the test."""
    rq_docs_fixtures.set_up_environment(redis_url, monkeypatch)
    yield redis_url
    rq_docs_fixtures.close_connections()
