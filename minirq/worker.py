"""Workers: take jobs from queues in priority order, run them, record what happened.

``Worker`` forks a work-horse per job; ``SimpleWorker`` runs jobs in its own process.
Both hold a lease on the running job that their heartbeat renews, so a job whose worker
dies is recovered by the reaper instead of being lost. What they share is in
:mod:`minirq.base_worker`.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from . import hooks
from .base_worker import BaseWorker, logger
from .callbacks import horse_callback_allowance_s
from .commands import JOB_STOPPED
from .defaults import HORSE_KILL_GRACE_S
from .exceptions import ConfigurationError, ShutdownRequested
from .horse import Outcome, decode_outcome, describe_exit, run_in_child, run_job
from .horse_ahead import ForkAhead
from .job import Job
from .outages import REDIS_ERRORS
from .presence import WorkerInfo, WorkerState
from .recorder import broken_job_reason


class Worker(BaseWorker):
    """Runs each job in a forked work-horse, which it supervises.

    The parent keeps the Redis connection, renews the lease while the horse runs, kills
    the horse at its timeout and records the outcome; a horse that crashes fails only
    its own job.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Horses that reported their outcome and are exiting: reaped before the next fork,
        # so that the parent records the outcome while the kernel tears the horse down.
        self._exiting_horses: list[int] = []
        # The next horse, forked while a job runs or while the worker waits for work.
        self._fork_ahead = ForkAhead(
            self.connection,
            self.keys.prefix,
            [q.serializer for q in self.queues],
            self.max_result_bytes,
        )

    def _reap_exiting_horses(self, block: bool = False) -> None:
        """Collect the exit status of horses that reported (none lingers as <defunct>);
        without ``block``, only of those already gone, so the loop never waits here."""
        for pid in list(self._exiting_horses):
            try:
                done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self._exiting_horses.remove(pid)

    def _stop_executor(self) -> None:
        self._fork_ahead.close()

    #: Whether each job's horse is forked ahead of it (a subclass that starts its horses
    #: another way sets this to ``False``).
    forks_ahead = True

    def _between_jobs(self) -> None:
        self._reap_exiting_horses()
        self._fork_ahead.reap_if_dead()
        if self.forks_ahead and not self.stop_requested:
            # While waiting for work (or the first job's), so that a job finds its horse.
            self._fork_ahead.ensure_spare()

    def register_death(self) -> None:
        self._reap_exiting_horses(block=True)
        super().register_death()

    def run(self, job: Job) -> Outcome | None:
        self._reap_exiting_horses()
        pid, read_fd = self._fork_ahead.start(job)
        if self.forks_ahead and self._fetch_ahead:
            # While this job runs, so that the fork is off the path to the next one.
            self._fork_ahead.ensure_spare()
        grace_s = HORSE_KILL_GRACE_S + horse_callback_allowance_s(job)
        kill_at = time.monotonic() + job.timeout + grace_s if job.timeout > 0 else float("inf")
        chunks: list[bytes] = []
        try:
            ending = self._supervise(job, pid, read_fd, kill_at, chunks)
        except BaseException:
            _kill(pid)
            os.waitpid(pid, 0)
            raise
        finally:
            os.close(read_fd)
        reported = decode_outcome(b"".join(chunks))
        if ending == "reported" and reported is not None:
            self._exiting_horses.append(pid)
            return reported
        _, status = os.waitpid(pid, 0)
        if ending == "interrupted":
            return None
        if ending == "stopped":
            return reported or Outcome.failure(JOB_STOPPED, "stopped by a stop-job command")
        if ending == "timeout":
            return Outcome.failure(
                "JobTimeoutException",
                f"job exceeded its timeout of {job.timeout} s and its work-horse was killed",
            )
        return reported or Outcome.failure("WorkHorseDied", describe_exit(status))

    def _supervise(
        self, job: Job, pid: int, read_fd: int, kill_at: float, chunks: list[bytes]
    ) -> str:
        """Read the horse's report into ``chunks`` while renewing the lease; returns how
        it ended: "reported" (its pipe closed), "interrupted", "stopped" or "timeout"."""
        while True:
            now = time.monotonic()
            if self._shutdown_due():
                _kill(pid)
                return "interrupted"
            if now >= kill_at:
                _kill(pid)
                return "timeout"
            if now >= self._next_command_poll:
                self._poll_commands()
            if self._stop_job_id == job.id:
                _kill(pid)
                # The horse may have reported just before: then its outcome stands.
                while chunk := os.read(read_fd, 1 << 20):
                    chunks.append(chunk)
                return "stopped"
            if now >= self._next_heartbeat:
                self._try_heartbeat()
            if now >= self._next_housekeeping:
                self._reap_while_busy()
            wait = max(0.0, min(self._next_heartbeat, kill_at, now + 0.5) - now)
            ready, _, _ = select.select([read_fd], [], [], wait)
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    return "reported"
                chunks.append(chunk)

    def run_callback(self, func: Callable[[], str | None]) -> str | None:
        # In a child, so that heartbeats go on however long the callback takes.
        return run_in_child(func, self._try_heartbeat, self.heartbeat_interval_s)


class SimpleWorker(BaseWorker):
    """Runs each job in the worker's own process: faster, but a crash takes the worker."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._running_in_process = False
        self._timed_out = False
        # One heartbeat thread for the worker's whole run renews the lease while a job
        # runs in the main thread (starting a thread per job cost more than a no-op job).
        self._beater: threading.Thread | None = None
        self._stop_beating = threading.Event()
        self._heartbeat_lock = threading.Lock()
        self._in_callback = False

    def register_birth(self) -> None:
        super().register_birth()
        self._stop_beating.clear()
        self._beater = threading.Thread(
            target=self._beat_while_running, name="minirq-heartbeat", daemon=True
        )
        self._beater.start()

    def register_death(self) -> None:
        if self._beater is not None:
            self._stop_beating.set()
            self._beater.join()
            self._beater = None
        super().register_death()

    def heartbeat(self) -> None:
        with self._heartbeat_lock:
            super().heartbeat()

    def run_callback(self, func: Callable[[], str | None]) -> str | None:
        # The heartbeat thread renews leases while the callback runs in this thread.
        self._in_callback = True
        try:
            return func()
        finally:
            self._in_callback = False

    def run(self, job: Job) -> Outcome | None:
        self._running_in_process = True
        try:
            with hooks.around_job(job):
                return run_job(job, self.max_result_bytes)
        except ShutdownRequested:
            return None
        finally:
            self._running_in_process = False

    def _beat_while_running(self) -> None:
        timeout = 0.0
        while not self._stop_beating.wait(timeout):
            if self._running_in_process or self._in_callback:
                if self._running_in_process and self._shutdown_due() and not self._force_stop:
                    self._interrupt_job()
                now = time.monotonic()
                if now >= self._next_heartbeat:
                    try:
                        self.heartbeat()
                    except REDIS_ERRORS as exc:
                        self._redis_failed("renewing the lease of the running job", exc)
                        self._next_heartbeat = time.monotonic() + 1.0
                    else:
                        self._redis_ok()
                if now >= self._next_housekeeping:
                    self._reap_while_busy()
            # Wake at least twice a second to notice a shutdown timeout passing; between
            # jobs the main loop sends the heartbeats.
            timeout = min(0.5, max(0.05, self._next_heartbeat - time.monotonic()))

    def _interrupt_job(self) -> None:
        """Past the shutdown timeout: stop the job running in the main thread."""
        self._timed_out = True
        self.request_stop(force=True)
        main = threading.main_thread().ident
        if main is not None:
            # The signal interrupts even a blocking call; its handler raises in the job.
            signal.pthread_kill(main, signal.SIGTERM)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._timed_out:
            self._timed_out = False
            logger.warning(
                "%s: the shutdown timeout of %s s has passed; stopping the job",
                self.name,
                self.shutdown_timeout_s,
            )
            self._on_forced_stop()
            return
        super()._on_stop_signal(signum, frame)

    def _on_forced_stop(self) -> None:
        if self._running_in_process:
            raise ShutdownRequested()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


WORKER_CLASSES: dict[str, type[BaseWorker]] = {"fork": Worker, "simple": SimpleWorker}


def worker_class(name: str) -> type[BaseWorker]:
    try:
        return WORKER_CLASSES[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown worker class {name!r}; choose one of {sorted(WORKER_CLASSES)}"
        ) from None


__all__: Sequence[str] = [
    "BaseWorker",
    "SimpleWorker",
    "Worker",
    "WorkerInfo",
    "WorkerState",
    "broken_job_reason",
]
