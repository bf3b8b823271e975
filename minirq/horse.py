"""Running one job and capturing its outcome, in this process or in a forked work-horse.

The work-horse only runs the job: it never talks to Redis on the worker's behalf. It sends
its outcome to the parent over a pipe, and the parent records it.
"""

from __future__ import annotations

import gc
import os
import pickle
import select
import signal
import traceback
from collections.abc import Callable

from . import hooks
from .callbacks import run_exception_handlers, run_failure_callback, run_success_callback
from .exceptions import RetryJob, ShutdownRequested
from .job import Job
from .job_attributes import JobStatus
from .meta_writes import take_unwritten
from .outcome import Outcome
from .process import die_with_parent, job_timeout, load_libc, watch_parent
from .retry import requested_retry

__all__ = [
    "Outcome",
    "decode_outcome",
    "describe_exit",
    "die_with_parent",
    "failure_outcome",
    "fork_child",
    "fork_horse",
    "job_timeout",
    "load_libc",
    "run_in_child",
    "run_job",
    "success_outcome",
    "watch_parent",
]

# Why a work-horse may have died of a signal, for the failure reason.
_SIGNAL_HINTS = {
    signal.SIGKILL: "often the out-of-memory killer, or a kill -9",
    signal.SIGSEGV: "a crash in native code, such as a C extension",
    signal.SIGABRT: "an abort in native code",
    signal.SIGBUS: "a crash in native code, or a truncated memory-mapped file",
    signal.SIGTERM: "terminated from outside the worker",
}


def run_job(job: Job, max_result_bytes: int) -> Outcome:
    """Run ``job`` here, within its timeout, and capture its result or traceback (and
    the meta it saved that Redis was away to take, for the worker to write)."""
    try:
        outcome = _run_job(job, max_result_bytes)
    finally:
        unwritten = take_unwritten(job.id)
    outcome.unwritten_meta = unwritten
    return outcome


def _run_job(job: Job, max_result_bytes: int) -> Outcome:
    try:
        with job_timeout(job.timeout):
            value = job.perform()
    except ShutdownRequested:
        raise
    except BaseException as exc:
        return failure_outcome(job, exc)
    return success_outcome(job, value, max_result_bytes)


def failure_outcome(job: Job, exc: BaseException) -> Outcome:
    """The outcome of a run that raised ``exc``: its traceback, after
    the ``on_failure`` callback and the exception handlers ran; a :class:`RetryJob`
    asks for a retry instead."""
    text = "".join(traceback.format_exception(exc))
    if isinstance(exc, RetryJob):
        return _retry_requested(exc, text)
    outcome = Outcome(False, exc_type=type(exc).__name__, traceback=text)
    outcome.callback_error = _after_failure(job, exc)
    return outcome


def success_outcome(job: Job, value: object, max_result_bytes: int) -> Outcome:
    """The outcome of a run that returned ``value``: its serialized result, after the
    ``on_success`` callback ran (or a failure if it cannot be stored)."""
    request = requested_retry(value, job.record)
    if request is not None:
        return _retry_requested(request, f"RetryJob: {request}\n")
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
    job.record.status = JobStatus.FINISHED.value  # what on_success sees, as in RQ
    return Outcome(True, result=data, callback_error=run_success_callback(job, value))


def _after_failure(job: Job, exc: BaseException) -> str | None:
    """Run the job's ``on_failure`` callback, then the worker's exception handlers."""
    job.record.status = JobStatus.FAILED.value  # what they see, as in RQ
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


def fork_child(freeze_gc: bool = True) -> int:
    """Fork a child of a worker, set up as every one is: it dies with the worker and
    leaves stopping to it. Returns 0 in the child and the child's pid in the parent; the
    child must leave by ``os._exit``. The one place a worker forks (horses, a pool's
    horses, callbacks in a child)."""
    parent_pid = os.getpid()
    load_libc()
    hooks.run("before_fork")
    if freeze_gc:
        # Objects that exist now are never collected in the child, so its garbage
        # collector does not write to (and copy) the memory pages it shares with us.
        gc.freeze()
    pid = os.fork()
    if pid != 0:
        if freeze_gc:
            gc.unfreeze()
        return pid
    try:  # pragma: no cover - runs in the child
        die_with_parent(parent_pid)
        # The parent decides how to stop: Ctrl+C in a terminal, and SIGTERM from Heroku,
        # honcho or systemd, reach the whole group, and must not kill the job.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    return 0


def report_run(job: Job, max_result_bytes: int, write_fd: int) -> None:
    """In a horse: run ``job`` within its hooks and write its outcome to ``write_fd``
    (closed after), where the worker reads it."""
    with hooks.around_job(job):
        outcome = run_job(job, max_result_bytes)
    payload = pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    with os.fdopen(write_fd, "wb") as pipe:
        pipe.write(payload)


def fork_horse(job: Job, max_result_bytes: int) -> tuple[int, int]:
    """Fork a work-horse that runs ``job``; returns its pid and the pipe to read from."""
    read_fd, write_fd = os.pipe()
    pid = fork_child()
    if pid != 0:
        os.close(write_fd)
        return pid, read_fd
    exit_code = 1
    try:
        os.close(read_fd)
        hooks.run("horse_start")
        report_run(job, max_result_bytes, write_fd)
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


def run_in_child(
    func: Callable[[], str | None], tick: Callable[[], None], every_s: float
) -> str | None:
    """Run ``func`` in a forked child and return what it returns, calling ``tick`` every
    ``every_s`` seconds meanwhile: the parent keeps renewing its leases however long
    ``func`` (a callback) takes. A child that dies without answering gives its reason."""
    read_fd, write_fd = os.pipe()
    pid = fork_child(freeze_gc=False)
    if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
        exit_code = 1
        try:
            os.close(read_fd)
            hooks.run("horse_start")
            payload = pickle.dumps(func())
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
            exit_code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(exit_code)
    os.close(write_fd)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([read_fd], [], [], every_s)
            if not ready:
                tick()
                continue
            chunk = os.read(read_fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_fd)
        _, status = os.waitpid(pid, 0)
    try:
        answer = pickle.loads(b"".join(chunks))
    except Exception:
        return f"the callback process died: {describe_exit(status)}"
    return answer if isinstance(answer, str) or answer is None else None
