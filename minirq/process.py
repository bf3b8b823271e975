"""Process helpers for forked children and timeouts. Pure: no Redis, no job objects."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType

from .defaults import PARENT_CHECK_S
from .exceptions import JobTimeoutException

_PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def job_timeout(seconds: int) -> Iterator[None]:
    """Raise :class:`JobTimeoutException` in the block once ``seconds`` have passed.

    Uses ``SIGALRM``, so it only works in the main thread; elsewhere it does nothing.
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise JobTimeoutException(f"job exceeded its timeout of {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class UnixSignalDeathPenalty:
    """RQ's name for the timeout a work-horse runs its job under, as a context manager:
    ``with UnixSignalDeathPenalty(5, JobTimeoutException, job_id=...):`` raises
    ``exception`` in the block after ``timeout`` seconds (``SIGALRM``; main thread only;
    0 or less: no limit)."""

    def __init__(
        self,
        timeout: float,
        exception: type[BaseException] = JobTimeoutException,
        job_id: str | None = None,
    ) -> None:
        self._timeout = timeout
        self._exception = exception
        self._job_id = job_id
        self._previous: object = None

    def __enter__(self) -> UnixSignalDeathPenalty:
        if self._timeout > 0:
            self._previous = signal.signal(signal.SIGALRM, self._on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self._timeout)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._timeout > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._previous)  # type: ignore[arg-type]

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        raise self._exception(f"Task exceeded maximum timeout value ({self._timeout} seconds)")


@functools.cache
def load_libc() -> ctypes.CDLL | None:
    """The C library (Linux), loaded once in the parent: loading it in every freshly
    forked horse would cost that horse milliseconds."""
    if not sys.platform.startswith("linux"):
        return None
    return ctypes.CDLL(None, use_errno=True)


def die_with_parent(parent_pid: int) -> None:
    """Make this process die with its parent: the kernel does it on Linux; elsewhere a
    thread notices that the parent changed (this process was re-parented) and exits."""
    libc = load_libc()
    if libc is not None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        watch_parent(parent_pid, PARENT_CHECK_S)
    if os.getppid() != parent_pid:
        os._exit(1)


def watch_parent(parent_pid: int, interval_s: float) -> threading.Thread:
    """Exit this process at once when its parent is no longer ``parent_pid``."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name="minirq-parent-watch", daemon=True)
    thread.start()
    return thread
