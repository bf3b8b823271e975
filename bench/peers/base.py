"""What every library module of the benchmark provides, and the job's completion mark.

A job of every library calls :func:`mark`: it appends ``"<pid> <ppid>\\n"`` to the file or
FIFO named by ``BENCH_SIGNAL``, one ``write`` of a few bytes (atomic with ``O_APPEND``
and on a pipe). The measuring process reads these lines, so every library is timed by the
same observer, at the moment its job ran, without polling Redis.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

BENCH = Path(__file__).resolve().parent.parent
SIGNAL_ENV = "BENCH_SIGNAL"
URL_ENV = "BENCH_REDIS_URL"
GO_ENV = "BENCH_GO"
QUEUE_NAME = "bench"

_fd = -1
_fd_pid = -1


def mark() -> None:
    """Say that a job ran: one write, on a descriptor opened once per process."""
    _write(b"%d %d\n" % (os.getpid(), os.getppid()))


def _write(line: bytes) -> None:
    global _fd, _fd_pid
    pid = os.getpid()
    if pid != _fd_pid:
        _fd = os.open(os.environ[SIGNAL_ENV], os.O_WRONLY | os.O_APPEND)
        _fd_pid = pid
    os.write(_fd, line)


# The async figure's job: it sleeps this long on the event loop, and marks its start
# ("S <enqueued at> <started at>", wall-clock seconds of this machine) and its end
# ("E <ended at>"), so that the observer reads enqueue->start and the drain's end.
ASYNC_SLEEP_S = 0.1


async def sleep_job(enqueued_at: float) -> None:
    """The body of every library's async job: mark, sleep on the loop, mark."""
    _write(b"S %r %r\n" % (enqueued_at, time.time()))
    await asyncio.sleep(ASYNC_SLEEP_S)
    _write(b"E %r\n" % time.time())


def barrier() -> None:
    """In a worker started by the benchmark's own launcher: say it is ready, then wait
    until every process of the set-up is, so that none starts on the queue ahead."""
    go = os.environ.get(GO_ENV)
    if not go:
        return
    with open(go + ".ready", "a") as ready:
        ready.write("ready\n")
    while not os.path.exists(go):
        time.sleep(0.001)


def redis_url() -> str:
    """The private Redis of the run, for modules that build their app at import time."""
    return os.environ.get(URL_ENV, "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class Setup:
    """How to start one set-up of workers.

    ``argv`` starts it (run with ``bench/`` as the working directory and on ``PYTHONPATH``),
    ``instances`` times; ``processes`` is how many processes run jobs in all; ``identity``
    says what tells them apart in a mark: ``"pid"``, or ``"ppid"`` when each job runs in a
    fresh child of that process. ``barrier`` says that its processes call :func:`barrier`
    (only the benchmark's own launcher can; a library's command line starts at once).
    ``poll_s`` is the library's documented polling interval
    when its idle worker polls (the latency figure spreads its enqueues over that interval,
    so that no set-up is always caught at the same phase).
    """

    argv: list[str]
    processes: int
    identity: str = "pid"
    instances: int = 1
    poll_s: float = 0.0
    barrier: bool = False
    env: dict[str, str] = field(default_factory=dict)


def python(*args: str) -> list[str]:
    """A command line running this venv's Python."""
    return [sys.executable, *args]


def console_script(name: str, *args: str) -> list[str]:
    """A command line running a console script installed in this venv."""
    return [str(Path(sys.executable).parent / name), *args]


class AsyncProducer(Protocol):
    """Enqueues the async figure's job (:func:`sleep_job`) as the library's docs show,
    from asyncio code on ``loop``."""

    loop: asyncio.AbstractEventLoop

    async def enqueue_sleeper(self, enqueued_at: float) -> None: ...

    def close(self) -> None: ...


def send_together(producer: AsyncProducer, n: int) -> None:
    """Enqueue ``n`` of the async figure's jobs at once (``asyncio.gather``), as a web app
    does under load; each job carries the time its enqueue began."""

    async def one() -> None:
        await producer.enqueue_sleeper(time.time())

    async def all_of_them() -> None:
        await asyncio.gather(*(one() for _ in range(n)))

    producer.loop.run_until_complete(all_of_them())


class Producer(Protocol):
    """Enqueues no-op jobs the way the library's documentation shows."""

    bulk: str | None  # the bulk API's name, or None when the library has none

    def send(self) -> None: ...

    def send_many(self, n: int) -> None: ...

    def close(self) -> None: ...
