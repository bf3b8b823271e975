"""An asyncio executor: one process, one event loop, up to ``concurrency`` jobs at once.

The worker's own thread runs the loop of :meth:`BaseWorker.work` as every worker does:
it alone talks to Redis (fetch under a lease, record outcomes, heartbeats that renew the
lease of every running job, commands, housekeeping). The event loop runs on a thread of
its own and only runs jobs (:mod:`minirq.async_runs`): each fetched job becomes a task
there, and a task that ends hands its outcome back through a queue and a wake-up pipe,
so the worker's thread, waiting in ``select``, records it at once. Plain functions run
in a bounded pool of threads, never on the loop.

A timeout cancels the job's task (``JobTimeoutException``); a job that ignores the
cancellation is failed anyway once its timeout and a grace have passed. A stop-job
command cancels its task (``stopped``). SIGTERM stops fetching, lets running jobs finish
within the shutdown timeout, then cancels the rest and puts them back at the front of
their queues, as the other workers do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import queue
import select
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import redis

from .async_runs import DaemonThreadPool, run_job_async
from .base_worker import BaseWorker, logger
from .callbacks import horse_callback_allowance_s
from .commands import JOB_STOPPED
from .defaults import HORSE_KILL_GRACE_S, IDLE_WAIT_S
from .exceptions import ConfigurationError
from .job import Job
from .outcome import Outcome
from .presence import WorkerState
from .queue import Queue
from .round_trips import RoundTripsMixin
from .serializers import Serializer

DEFAULT_CONCURRENCY = 10
# Threads for plain (sync) functions and callbacks, unless the worker is given a number.
DEFAULT_SYNC_THREADS = 8
# How long stopping the worker waits for the event loop to wind down.
LOOP_STOP_WAIT_S = 5.0


@dataclass(eq=False)
class _Run:
    job: Job
    queue: Queue
    started: float
    # Past this the worker fails the job itself, whatever its task does.
    give_up_at: float
    # The run's task, once it is on the loop.
    task: asyncio.Task[None] | None = None
    # Why the run was cancelled: "stop" (a stop-job command), "interrupt" (shutdown) or
    # "timeout" (given up on).
    cancelled_for: str = ""
    outcome: list[Outcome | None] = field(default_factory=list)


class AsyncWorker(RoundTripsMixin, BaseWorker):
    """Runs up to ``concurrency`` jobs at once on one asyncio event loop.

    ``async def`` functions (and functions returning an awaitable) run as tasks of the
    loop; plain functions run in a pool of ``sync_threads`` threads (default
    ``min(concurrency, 8)``). Other parameters are those of :class:`Worker`. Code that
    blocks inside an ``async def`` job (``time.sleep``, a blocking client) blocks every
    job of the worker: use the async client, or a plain function.
    """

    fetches_ahead = True

    def __init__(
        self,
        queues: Queue | str | Iterable[Queue | str] | None = None,
        connection: redis.Redis | None = None,
        name: str | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        sync_threads: int | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(concurrency, int) or isinstance(concurrency, bool) or concurrency < 1:
            raise ConfigurationError(f"concurrency must be 1 or more, not {concurrency!r}")
        if sync_threads is not None and (
            not isinstance(sync_threads, int) or isinstance(sync_threads, bool) or sync_threads < 1
        ):
            raise ConfigurationError(f"sync_threads must be 1 or more, not {sync_threads!r}")
        super().__init__(queues, connection, name, serializer, prefix, **kwargs)
        self.concurrency = self.capacity = concurrency
        self.sync_threads = sync_threads or min(concurrency, DEFAULT_SYNC_THREADS)
        self._runs: dict[str, _Run] = {}
        self._ended: queue.SimpleQueue[_Run] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: threading.Thread | None = None
        self._threads: DaemonThreadPool | None = None
        self._wake_r = self._wake_w = -1
        # Runs taken in this turn of the loop, not yet handed to the event loop.
        self._taken: list[_Run] = []
        # Set by the loop's thread once it wrote to the wake-up pipe, cleared by the
        # worker's before it reads the ended runs: one write wakes it for many runs.
        self._wake_pending = False

    # -- the executor the loop of BaseWorker.work drives ---------------------------------

    def _start_executor(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._threads = DaemonThreadPool(self.sync_threads)
        loop = asyncio.new_event_loop()
        loop.set_exception_handler(self._on_loop_error)
        self._loop = loop
        self._loop_thread = threading.Thread(
            target=loop.run_forever, name="minirq-event-loop", daemon=True
        )
        self._loop_thread.start()

    def _stop_executor(self) -> None:
        for run in list(self._runs.values()):
            # Only reached with runs left when the loop failed (an exception): put
            # them back rather than lose them.
            self._cancel(run, "interrupt")
            with contextlib.suppress(Exception):
                self._settle(run, None)
        if self._loop is not None and self._loop_thread is not None:
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_wind_down(), self._loop).result(LOOP_STOP_WAIT_S)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._loop_thread.join(LOOP_STOP_WAIT_S)
            if not self._loop_thread.is_alive():
                self._loop.close()
        self._loop = self._loop_thread = None
        if self._threads is not None:
            self._threads.shutdown(wait=False)
            self._threads = None
        if self._wake_r >= 0:
            os.close(self._wake_r)
            os.close(self._wake_w)
        self._wake_r = self._wake_w = -1

    def _on_loop_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """What the event loop reports (a task of a job's own that failed unseen, a task
        abandoned at exit) goes to the worker's log, in one line."""
        logger.warning(
            "%s: event loop: %s",
            self.name,
            context.get("message", "an error"),
            exc_info=context.get("exception"),
        )

    def _free_slots(self) -> int:
        return self.capacity - len(self._runs)

    def _executor_busy(self) -> bool:
        return bool(self._runs)

    def _submit(self, job: Job, queue: Queue) -> None:
        assert self._loop is not None and self._threads is not None
        self._log_job_start(job, queue)
        now = time.monotonic()
        give_up_s = job.timeout + HORSE_KILL_GRACE_S + horse_callback_allowance_s(job)
        run = _Run(job, queue, now, now + give_up_s if job.timeout > 0 else float("inf"))
        self._runs[job.run_token] = run
        self.state = WorkerState.BUSY
        # Started on the loop with the others taken in this turn (see _start_taken): one
        # wake-up of the loop's thread for them all.
        self._taken.append(run)

    def _start_taken(self) -> None:
        if self._taken and self._loop is not None:
            taken, self._taken = self._taken, []
            self._loop.call_soon_threadsafe(self._start_on_loop, taken)

    def _start_on_loop(self, runs: list[_Run]) -> None:
        assert self._loop is not None and self._threads is not None
        for run in runs:
            run.task = self._loop.create_task(self._drive(run, self._threads))
            run.task.add_done_callback(functools.partial(self._task_done, run))

    def _task_done(self, run: _Run, task: asyncio.Task[None]) -> None:
        """A task cancelled before its first step never ran _drive: report it here."""
        if task.cancelled() and not run.outcome:
            run.outcome.append(self._cancelled_outcome(run))
            self._ended.put(run)
            self._wake()

    @staticmethod
    def _cancelled_outcome(run: _Run) -> Outcome | None:
        if run.cancelled_for == "stop":
            return Outcome.failure(JOB_STOPPED, "stopped by a stop-job command")
        return None

    def _wait_for_event(self, watch_queues: bool) -> None:
        """Block until a task ends, a stop is requested, an enqueue wakes a free slot,
        or a heartbeat, command poll, housekeeping or give-up deadline is due."""
        self._start_taken()
        now = time.monotonic()
        deadlines = [now + IDLE_WAIT_S, self._next_heartbeat, self._next_housekeeping]
        deadlines += [run.give_up_at for run in self._runs.values()]
        if self._runs:
            deadlines.append(self._next_command_poll)
        if self._stop_requested_at is not None:
            deadlines.append(self._stop_requested_at + self.shutdown_timeout_s)
        deadline = min(deadlines)
        fds = [self._wake_r]
        if watch_queues and self._free_slots() > 0:
            if self._limit_wait_until is not None:
                deadline = min(deadline, self._limit_wait_until)
            pubsub_fd = self._wake_up_fd()
            if pubsub_fd is None:
                deadline = min(deadline, now + 0.1)
            else:
                fds.append(pubsub_fd)
        if self._ended.empty():
            select.select(fds, [], [], max(0.0, deadline - now))
        with contextlib.suppress(BlockingIOError):
            os.read(self._wake_r, 4096)
        self._wake_pending = False
        self._record_ended()
        self._give_up_on_overdue()

    def _interrupt_all(self) -> None:
        """Past the shutdown timeout: cancel every running job and put it back at the
        front of its queue."""
        for run in list(self._runs.values()):
            self._cancel(run, "interrupt")
            self._settle(run, None)

    def running_jobs(self) -> list[Job]:
        return [run.job for run in self._runs.values()] + self._job_fetched_ahead()

    def request_stop(self, force: bool = False) -> None:
        super().request_stop(force)
        self._wake()

    # -- runs ----------------------------------------------------------------------------

    async def _drive(self, run: _Run, threads: DaemonThreadPool) -> None:
        """The task of one run: run it, then hand its outcome to the worker's thread.

        Runs on the loop's thread, as :meth:`_cancel_on_loop` does: a run cancelled
        before its task started is seen here, one cancelled later through its task."""
        outcome: Outcome | None
        if run.cancelled_for:
            outcome = self._cancelled_outcome(run)
        else:
            try:
                outcome = await run_job_async(
                    run.job, self.max_result_bytes, threads, lambda: run.cancelled_for == "stop"
                )
            except BaseException as exc:  # never leave the worker waiting for an outcome
                outcome = Outcome.failure(type(exc).__name__, f"the run broke: {exc}")
        run.outcome.append(outcome)
        self._ended.put(run)
        if not self._wake_pending:
            self._wake_pending = True
            self._wake()

    def _wake(self) -> None:
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    def _record_ended(self) -> None:
        """Record the outcomes of the runs that ended, all in one round trip (with the
        next fetch riding along) when several ended together."""
        ended = []
        while True:
            try:
                run = self._ended.get_nowait()
            except queue.Empty:
                break
            if self._runs.get(run.job.run_token) is run:
                ended.append(run)
        if len(ended) < 2:
            for run in ended:
                self._settle(run, run.outcome[0])
            return
        with self.recording_together():
            for run in ended:
                self._settle(run, run.outcome[0])

    def _settle(self, run: _Run, outcome: Outcome | None) -> None:
        """Record a run's outcome (``None``: interrupted, put it back); once per run."""
        if self._runs.pop(run.job.run_token, None) is None:
            return
        if not self._runs:
            self.state = WorkerState.IDLE
        if outcome is None:
            self._call_redis(
                lambda: self._requeue_interrupted(run.job, run.queue),
                "putting an interrupted job back",
            )
            return
        elapsed_ms = int((time.monotonic() - run.started) * 1000)
        self.current_job = run.job
        try:
            self._record_outcome(run.job, run.queue, outcome, elapsed_ms)
        finally:
            self.current_job = None

    def _cancel(self, run: _Run, reason: str) -> None:
        run.cancelled_for = reason
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed already
                self._loop.call_soon_threadsafe(self._cancel_on_loop, run)

    @staticmethod
    def _cancel_on_loop(run: _Run) -> None:
        if run.task is not None:
            run.task.cancel()

    def _on_stop_job(self, job: Job) -> None:
        for run in self._runs.values():
            if run.job.id == job.id:
                self._cancel(run, "stop")
                # A job that ignores the cancellation is recorded stopped after a grace.
                run.give_up_at = min(run.give_up_at, time.monotonic() + HORSE_KILL_GRACE_S)

    def _give_up_on_overdue(self) -> None:
        """Fail runs still going well past their timeout: their task ignored being
        cancelled, or blocking code holds the loop (their outcome, if any, is dropped)."""
        now = time.monotonic()
        for run in list(self._runs.values()):
            if now < run.give_up_at:
                continue
            logger.error(
                "%s: job %s did not stop when it was cancelled; recording it anyway",
                self.name,
                run.job.id,
            )
            if run.cancelled_for == "stop":
                outcome = Outcome.failure(
                    JOB_STOPPED, "stopped by a stop-job command (it ignored the cancellation)"
                )
            else:
                self._cancel(run, "timeout")
                outcome = Outcome.failure(
                    "JobTimeoutException",
                    f"job exceeded its timeout of {run.job.timeout} s and did not stop when "
                    "its task was cancelled",
                )
            self._settle(run, outcome)


async def _wind_down() -> None:
    """Cancel the tasks still on the loop (runs given up on, already recorded) and let
    them end, so that closing the loop leaves none pending."""
    this = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not this]
    for task in tasks:
        task.cancel()
    await asyncio.wait(tasks, timeout=LOOP_STOP_WAIT_S / 2) if tasks else None
    await asyncio.get_running_loop().shutdown_asyncgens()
