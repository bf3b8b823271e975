"""Running one job and capturing its outcome, in this process or in a forked work-horse.

The work-horse only runs the job: it never talks to Redis on the worker's behalf. It sends
its outcome to the parent over a pipe, and the parent records it.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType

from . import hooks
from .callbacks import run_exception_handlers, run_failure_callback, run_success_callback
from .defaults import PARENT_CHECK_S
from .exceptions import JobTimeoutException, RetryJob, ShutdownRequested
from .job import Job

_PR_SET_PDEATHSIG = 1

# Why a work-horse may have died of a signal, for the failure reason.
_SIGNAL_HINTS = {
    signal.SIGKILL: "often the out-of-memory killer, or a kill -9",
    signal.SIGSEGV: "a crash in native code, such as a C extension",
    signal.SIGABRT: "an abort in native code",
    signal.SIGBUS: "a crash in native code, or a truncated memory-mapped file",
    signal.SIGTERM: "terminated from outside the worker",
}


@dataclass
class Outcome:
    """What happened to one run of a job."""

    ok: bool
    result: bytes | None = None
    exc_type: str | None = None
    traceback: str | None = None
    # Traceback text of a callback or exception handler that failed (see callbacks.py).
    callback_error: str | None = None
    # Set when the job raised or returned RetryJob: (delay_s, max_retries).
    retry_request: tuple[float | None, int | None] | None = None

    def retry_job(self) -> RetryJob | None:
        """The :class:`RetryJob` the job raised or returned, if any."""
        if self.retry_request is None:
            return None
        delay_s, max_retries = self.retry_request
        return RetryJob(delay_s=delay_s, max_retries=max_retries)

    @classmethod
    def failure(cls, exc_type: str, message: str) -> Outcome:
        return cls(False, exc_type=exc_type, traceback=f"{exc_type}: {message}\n")


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


def run_job(job: Job, max_result_bytes: int) -> Outcome:
    """Run ``job`` here, within its timeout, and capture its result or traceback."""
    try:
        with job_timeout(job.timeout):
            value = job.perform()
    except ShutdownRequested:
        raise
    except RetryJob as exc:
        return _retry_requested(exc, traceback.format_exc())
    except BaseException as exc:
        outcome = Outcome(False, exc_type=type(exc).__name__, traceback=traceback.format_exc())
        outcome.callback_error = _after_failure(job, exc)
        return outcome
    if isinstance(value, RetryJob):
        return _retry_requested(value, f"RetryJob: {value}\n")
    try:
        data = job.serializer.dumps(value)
    except Exception as exc:
        return Outcome.failure(
            "SerializationError",
            f"the job returned {type(value).__name__} {_short(value)}, which cannot be "
            f"serialized: {type(exc).__name__}: {exc}",
        )
    if len(data) > max_result_bytes:
        return Outcome.failure(
            "ResultTooLarge",
            f"the result is {len(data)} bytes, above the limit of {max_result_bytes} bytes; "
            "store large results elsewhere and return a reference",
        )
    return Outcome(True, result=data, callback_error=run_success_callback(job, value))


def _after_failure(job: Job, exc: BaseException) -> str | None:
    """Run the job's ``on_failure`` callback, then the worker's exception handlers."""
    errors = [
        run_failure_callback(job, type(exc), exc, exc.__traceback__),
        run_exception_handlers(job, type(exc), exc, exc.__traceback__),
    ]
    return "\n".join(e for e in errors if e) or None


def _retry_requested(request: RetryJob, text: str) -> Outcome:
    return Outcome(
        False,
        exc_type="RetryJob",
        traceback=text,
        retry_request=(request.delay_s, request.max_retries),
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


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


def fork_horse(job: Job, max_result_bytes: int) -> tuple[int, int]:
    """Fork a work-horse that runs ``job``; returns its pid and the pipe to read from."""
    parent_pid = os.getpid()
    load_libc()
    read_fd, write_fd = os.pipe()
    # Objects that exist now are never collected in the horse, so its garbage collector
    # does not write to (and copy) the memory pages it shares with the parent.
    hooks.run("before_fork")
    gc.freeze()
    pid = os.fork()
    if pid != 0:
        gc.unfreeze()
        os.close(write_fd)
        return pid, read_fd
    exit_code = 1
    try:
        os.close(read_fd)
        die_with_parent(parent_pid)
        # The parent decides how to stop: Ctrl+C in a terminal, and SIGTERM from Heroku,
        # honcho or systemd, reach the whole group, and must not kill the job.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        hooks.run("horse_start")
        with hooks.around_job(job):
            outcome = run_job(job, max_result_bytes)
        payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(payload)
        exit_code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(exit_code)


def decode_outcome(data: bytes) -> Outcome | None:
    """The outcome a horse wrote, or ``None`` if it wrote nothing whole."""
    if not data:
        return None
    try:
        outcome = pickle.loads(data)
    except Exception:
        return None
    return outcome if isinstance(outcome, Outcome) else None


def describe_exit(status: int) -> str:
    """A sentence on how a work-horse ended, from its ``waitpid`` status."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            sig = signal.Signals(number)
            name = sig.name
        except ValueError:
            sig, name = None, f"signal {number}"
        hint = _SIGNAL_HINTS.get(sig) if sig is not None else None
        text = f"the work-horse was killed by {name} (signal {number})"
        return f"{text}: {hint}" if hint else text
    if os.WIFEXITED(status):
        return (
            f"the work-horse exited with code {os.WEXITSTATUS(status)} before reporting a "
            "result (os._exit() or a crash in the job?)"
        )
    return f"the work-horse ended with status {status}"
