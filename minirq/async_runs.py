"""Running one job on an asyncio event loop, for :class:`~minirq.AsyncWorker`.

A coroutine function runs as a task of the loop; a plain function runs in a bounded pool
of threads, so that it never blocks the loop. The job's timeout cancels its task, and
the run then fails with ``JobTimeoutException`` (a thread cannot be killed: a plain
function past its timeout is failed at once and its thread runs on to its end, its
result thrown away). The ``on_success``/``on_failure`` callbacks (plain code of yours)
also run in the threads. Like a work-horse, a run never
talks to Redis for the worker: it gives an :class:`Outcome`, which the worker records.
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from .awaitables import is_async_callable
from .callbacks import stored_callback
from .commands import JOB_STOPPED
from .exceptions import JobTimeoutException
from .horse import failure_outcome, success_outcome
from .job import Job, running_as_current
from .meta_writes import take_unwritten
from .outcome import Outcome

T = TypeVar("T")


class DaemonThreadPool(Executor):
    """At most ``size`` threads that run what is submitted, in order.

    Unlike :class:`~concurrent.futures.ThreadPoolExecutor`, its threads are daemons:
    a plain job still running when the worker exits (past its timeout, or cut short by
    a shutdown) never holds the process open.
    """

    def __init__(self, size: int, name: str = "minirq-sync") -> None:
        if size < 1:
            raise ValueError("a thread pool needs at least one thread")
        self.size = size
        self.name = name
        self._work: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._idle = 0
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the thread pool is shut down")
            self._work.put((future, lambda: fn(*args, **kwargs)))
            if self._idle == 0 and len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._serve, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle -= 1
        return future

    def _serve(self) -> None:
        while (item := self._work.get()) is not None:
            future, call = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(call())
                except BaseException as exc:
                    future.set_exception(exc)
            with self._lock:
                self._idle += 1

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop taking work; the threads end once what they run returns (never waited
        for without ``wait``)."""
        with self._lock:
            self._closed = True
        for _ in self._threads:
            self._work.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


async def _in_thread(threads: Executor, func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in one of ``threads``, in a copy of this task's context."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(threads, contextvars.copy_context().run, func, *args)


async def run_job_async(
    job: Job, max_result_bytes: int, threads: Executor, stopped: Callable[[], bool]
) -> Outcome | None:
    """Run ``job`` on the running loop (a plain function in ``threads``) within its
    timeout, and capture its outcome.

    A cancellation of the run's task (a stop-job command, or a shutdown) gives the
    outcome of a stopped job when ``stopped()`` says so, else ``None``: the run was
    interrupted and its job goes back to its queue.
    """
    try:
        outcome = await _run(job, max_result_bytes, threads)
    except asyncio.CancelledError:
        if stopped():
            return Outcome.failure(JOB_STOPPED, "stopped by a stop-job command")
        return None
    finally:
        unwritten = take_unwritten(job.id)
    outcome.unwritten_meta = unwritten
    return outcome


async def _run(job: Job, max_result_bytes: int, threads: Executor) -> Outcome:
    timeout_s = job.timeout if job.timeout > 0 else None
    try:
        func = job.func
    except Exception as exc:
        return await _in_thread(threads, failure_outcome, job, exc)
    in_thread = not is_async_callable(func)
    try:
        async with asyncio.timeout(timeout_s) as deadline:
            if in_thread:
                value = await _in_thread(threads, job.perform)
            else:
                with running_as_current(job):
                    value = await func(*job.args, **job.kwargs)
        if deadline.expired():
            # The job caught the cancellation and returned anyway: it still ran too long.
            raise TimeoutError
    except TimeoutError as exc:
        failed: BaseException = exc
        if deadline.expired():
            failed = JobTimeoutException(_timeout_text(job, in_thread))
        return await _in_thread(threads, failure_outcome, job, failed)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        return await _in_thread(threads, failure_outcome, job, exc)
    if _has_success_callback(job):
        return await _in_thread(threads, success_outcome, job, value, max_result_bytes)
    # Only the result to serialize, no code of the user's: not worth a thread's round trip.
    return success_outcome(job, value, max_result_bytes)


def _has_success_callback(job: Job) -> bool:
    try:
        return stored_callback(job.record, "on_success") is not None
    except ValueError:
        return True  # a damaged one: success_outcome reports it, in a thread like any


def _timeout_text(job: Job, in_thread: bool) -> str:
    if in_thread:
        return (
            f"job exceeded its timeout of {job.timeout} s; it is a plain function, run in a "
            "thread, which cannot be stopped: the thread runs on and its result is dropped"
        )
    return f"job exceeded its timeout of {job.timeout} s and its task was cancelled"
