"""The prefork pool's horses and the framed pipes between them and the parent."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import struct
from dataclasses import dataclass, field

from .job import Job
from .queue import Queue

_HEADER = struct.Struct("!I")
_READ_CHUNK = 1 << 20


@dataclass
class _Horse:
    """A forked child, the pipes to talk to it, and the job it runs (if any)."""

    pid: int
    to_horse: int  # parent writes job assignments here
    from_horse: int  # parent reads outcomes here
    jobs_done: int = 0
    job: Job | None = None
    queue: Queue | None = None
    started: float = 0.0
    kill_at: float = float("inf")
    buffer: bytearray = field(default_factory=bytearray)

    @property
    def busy(self) -> bool:
        return self.job is not None


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _rss_bytes() -> int:
    """This process's resident memory."""
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        # Peak rather than current, where /proc is missing (macOS reports bytes).
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, _READ_CHUNK))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes | None:
    header = _read_exactly(fd, _HEADER.size)
    if header is None:
        return None
    return _read_exactly(fd, _HEADER.unpack(header)[0])
