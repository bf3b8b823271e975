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
from .exceptions import ConfigurationError, ShutDownImminentException, ShutdownRequested
from .horse import Outcome, decode_outcome, describe_exit, run_in_child, run_job
from .horse_ahead import ForkAheadMixin
from .job import Job
from .outages import REDIS_ERRORS
from .presence import WorkerInfo, WorkerState
from .recorder import broken_job_reason
from .spawned_horse import horse_spec, spawn_horse
from .utils import import_attribute
from .worker_records import DequeueStrategy, WorkerStatus


class Worker(ForkAheadMixin, BaseWorker):
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
        #: The running horse's pid, 0 between jobs (RQ's name).
        self.horse_pid = 0
        self._horse_killed = False

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

    def _between_jobs(self) -> None:
        self._reap_exiting_horses()
        self._keep_a_spare()

    def register_death(self) -> None:
        self._reap_exiting_horses(block=True)
        super().register_death()

    def run(self, job: Job) -> Outcome | None:
        self._reap_exiting_horses()
        pid, read_fd = self._start_horse(job)
        self.horse_pid, self._horse_killed = pid, False
        grace_s = HORSE_KILL_GRACE_S + horse_callback_allowance_s(job)
        kill_at = time.monotonic() + job.timeout + grace_s if job.timeout > 0 else float("inf")
        chunks: list[bytes] = []
        try:
            ending = self._supervise(job, pid, read_fd, kill_at, chunks)
        except BaseException:
            _kill(pid)
            self._wait_horse(pid)
            raise
        finally:
            os.close(read_fd)
            self.horse_pid = 0
        reported = decode_outcome(b"".join(chunks))
        if ending == "reported" and reported is not None:
            self._horse_reported(pid)
            return reported
        status, rusage = self._wait_horse(pid)
        if ending == "interrupted":
            return None
        if ending == "stopped":
            return reported or Outcome.failure(JOB_STOPPED, "stopped by a stop-job command")
        if self._horse_killed and reported is None:
            return Outcome.failure("WorkHorseKilled", "a kill-horse command killed the work-horse")
        if ending == "timeout":
            return Outcome.failure(
                "JobTimeoutException",
                f"job exceeded its timeout of {job.timeout} s and its work-horse was killed",
            )
        if reported is None and self.work_horse_killed_handler is not None:
            self._call_horse_killed_handler(job, pid, status, rusage)
        return reported or Outcome.failure("WorkHorseDied", describe_exit(status))

    def _call_horse_killed_handler(self, job: Job, pid: int, status: int, rusage: Any) -> None:
        """RQ's ``work_horse_killed_handler(job, retpid, ret_val, rusage)``, for a horse
        that died without reporting; one that raises is logged, the job fails anyway."""
        try:
            handler = self.work_horse_killed_handler
            if handler is not None:
                handler(job, pid, status, rusage)
        except Exception:
            logger.exception("%s: work_horse_killed_handler failed on job %s", self.name, job.id)

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

    def _on_kill_horse(self) -> None:
        if not self.horse_pid:
            logger.info("%s: kill-horse command ignored: no job is running", self.name)
            return
        logger.warning("%s: kill-horse command received; killing the work-horse", self.name)
        self._horse_killed = True
        _kill(self.horse_pid)

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


class SpawnWorker(Worker):
    """A :class:`Worker` whose work-horses are new interpreters started with
    ``os.posix_spawn`` instead of forks: for code that must not cross a fork, at the cost
    of starting Python (and importing the job's module) for every job. Leases, timeouts,
    stop commands and outcomes work as with :class:`Worker`; hooks registered in the
    worker do not run in the horse (see :mod:`minirq.spawned_horse`)."""

    # Its horses are spawned, not forked: no spare is forked ahead of them.
    forks_ahead = False

    def _start_horse(self, job: Job) -> tuple[int, int]:
        spec = horse_spec(job, self.connection, self.max_result_bytes, self.exception_handlers)
        return spawn_horse(spec)


class HerokuWorker(Worker):
    """A :class:`Worker` for platforms that send SIGTERM and kill soon after (Heroku
    gives 30 s): on SIGTERM it stops fetching and sends the running horse ``SIGRTMIN``;
    :class:`~minirq.exceptions.ShutDownImminentException` is raised inside the job
    ``imminent_shutdown_delay`` seconds later (at once with 0), so that its ``finally``
    blocks run, and the job goes back to the front of its queue (RQ fails it)."""

    imminent_shutdown_delay = 6

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.shutdown_timeout_s = self.imminent_shutdown_delay + HORSE_KILL_GRACE_S

    def _install_signal_handlers(self) -> None:
        super()._install_signal_handlers()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGRTMIN, _imminent_shutdown_handler(self.imminent_shutdown_delay))

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        first = not self.stop_requested
        super()._on_stop_signal(signum, frame)
        if first and self.horse_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.horse_pid, signal.SIGRTMIN)

    def run(self, job: Job) -> Outcome | None:
        outcome = super().run(job)
        # The signal may reach the horse before its job runs (it then dies unreported):
        # either way the shutdown ended the run, and the job goes back to its queue.
        exc_type = outcome.exc_type if outcome is not None else None
        died = self.stop_requested and exc_type == "WorkHorseDied"
        return None if died or exc_type == ShutDownImminentException.__name__ else outcome


def _imminent_shutdown_handler(delay_s: int) -> Callable[[int, FrameType | None], None]:
    """The SIGRTMIN handler a HerokuWorker's horses inherit (the worker ignores it): the
    first signal arms a timer that sends the second, which raises inside the job."""
    worker_pid = os.getpid()
    armed: list[bool] = []

    def handle(signum: int, frame: FrameType | None) -> None:
        if os.getpid() == worker_pid:
            return
        if armed or delay_s <= 0:
            raise ShutDownImminentException(f"shut down imminent (signal {signum})")
        armed.append(True)
        pid = os.getpid()
        timer = threading.Timer(delay_s, lambda: os.kill(pid, signal.SIGRTMIN))
        timer.daemon = True
        timer.start()

    return handle


class RoundRobinWorker(Worker):
    """A :class:`Worker` that takes its queues in turn: after a job from one queue, the
    next fetch starts at the queue after it (RQ's ``--dequeue-strategy round_robin``)."""

    default_dequeue_strategy = DequeueStrategy.ROUND_ROBIN


class RandomWorker(Worker):
    """A :class:`Worker` that tries its queues in a new random order for every fetch."""

    default_dequeue_strategy = DequeueStrategy.RANDOM


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


WORKER_CLASSES: dict[str, type[BaseWorker]] = {"fork": Worker, "simple": SimpleWorker}
NAMED_CLASSES: dict[str, type[BaseWorker]] = {
    cls.__name__: cls
    for cls in (Worker, SimpleWorker, SpawnWorker, HerokuWorker, RoundRobinWorker, RandomWorker)
}


def worker_class(name: str) -> type[BaseWorker]:
    """The worker class ``name`` names: ``fork``, ``simple``, a class name such as
    ``SimpleWorker``, or a dotted path (``myapp.workers.MyWorker``; RQ's own paths, such
    as ``rq.worker.SimpleWorker``, name minirq's class of that name). Raises
    :class:`ConfigurationError` for anything else."""
    found = WORKER_CLASSES.get(name) or NAMED_CLASSES.get(name)
    if found is not None:
        return found
    if "." not in name:
        raise ConfigurationError(
            f"unknown worker class {name!r}; choose one of "
            f"{', '.join(sorted(WORKER_CLASSES) + sorted(NAMED_CLASSES))} or give a dotted path"
        )
    module, _, attribute = name.rpartition(".")
    if module.split(".")[0] == "rq" and attribute in NAMED_CLASSES:
        return NAMED_CLASSES[attribute]
    try:
        cls = import_attribute(name)
    except Exception as exc:
        raise ConfigurationError(
            f"cannot import worker class {name!r}: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(cls, type) or not issubclass(cls, BaseWorker):
        raise ConfigurationError(f"{name} is not a minirq worker class (a BaseWorker subclass)")
    return cls


__all__: Sequence[str] = [
    "BaseWorker",
    "DequeueStrategy",
    "HerokuWorker",
    "RandomWorker",
    "RoundRobinWorker",
    "SimpleWorker",
    "SpawnWorker",
    "Worker",
    "WorkerInfo",
    "WorkerState",
    "WorkerStatus",
    "broken_job_reason",
    "worker_class",
]
