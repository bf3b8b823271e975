"""Helpers for the store tests: a TCP proxy that loses replies, a process clock that is
off, and jobs that sleep in callbacks."""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from minirq import Job


class ReplyLosingProxy:
    """A TCP proxy in front of Redis (loopback only) that can lose one reply: armed with
    a command name, it forwards the next request holding that name, waits for Redis to
    answer it (so the command ran), then closes the client's connection without passing
    the answer on. New connections are forwarded as usual."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._armed: bytes | None = None
        self._lock = threading.Lock()
        self.dropped = 0
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def lose_next_reply_to(self, command: bytes) -> None:
        with self._lock:
            self._armed = command

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client: socket.socket, server: socket.socket) -> None:
        with contextlib.closing(client), contextlib.closing(server):
            while True:
                ready = _readable([client, server])
                if ready is None:
                    return
                if server in ready:
                    data = server.recv(1 << 16)
                    if not data:
                        return
                    client.sendall(data)
                if client in ready:
                    data = client.recv(1 << 16)
                    if not data:
                        return
                    server.sendall(data)
                    if self._take_armed(data):
                        # Let Redis run it and answer, then lose the answer.
                        server.settimeout(5)
                        server.recv(1 << 16)
                        self.dropped += 1
                        return

    def _take_armed(self, data: bytes) -> bool:
        with self._lock:
            if self._armed is not None and self._armed in data.upper():
                self._armed = None
                return True
        return False


def _readable(socks: list[socket.socket]) -> list[socket.socket] | None:
    try:
        ready, _, _ = select.select(socks, [], [], 5)
    except (OSError, ValueError):
        return None
    return ready


@contextlib.contextmanager
def reply_losing_proxy(redis_port: int) -> Iterator[ReplyLosingProxy]:
    proxy = ReplyLosingProxy(redis_port)
    try:
        yield proxy
    finally:
        proxy.close()


def skew_process_clock(monkeypatch: pytest.MonkeyPatch, offset_s: float) -> None:
    """Make this process's wall clock ``offset_s`` seconds off (negative: behind)."""
    real_time, real_time_ns = time.time, time.time_ns
    offset_ns = int(offset_s * 1e9)
    monkeypatch.setattr(time, "time", lambda: real_time() + offset_s)
    monkeypatch.setattr(time, "time_ns", lambda: real_time_ns() + offset_ns)


def in_child(func: Callable[[], Any]) -> int:
    """Run ``func`` in a forked child (which leaves with os._exit); returns its pid."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves by os._exit
        code = 1
        try:
            func()
            code = 0
        finally:
            os._exit(code)
    return pid


def wait_for(predicate: Callable[[], Any], what: str, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def sleepy_stopped_callback(job: Job, connection: redis.Redis) -> None:
    """An on_stopped callback slower than a short lease."""
    time.sleep(4)
