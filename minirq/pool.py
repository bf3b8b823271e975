"""A prefork pool: N work-horses forked once and reused for many jobs.

The parent is an ordinary worker: it alone talks to Redis (fetch with a lease, record
outcomes, heartbeats that renew the lease of every running job, housekeeping) and hands
each fetched job to an idle horse over a pipe. A horse runs jobs one after another and
is replaced after ``max_jobs_per_child`` jobs or once it uses ``max_memory_per_child_mb``.
A job that outlives its timeout is stopped by killing its horse; a job that crashes its
horse fails alone and the horse is replaced. Shutdown works as in :class:`Worker`.

The pool is an executor of capacity N for the loop of :class:`BaseWorker`: it has no
loop of its own.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import select
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

import redis

from . import hooks
from .base_worker import BaseWorker
from .callbacks import horse_callback_allowance_s
from .commands import JOB_STOPPED
from .defaults import HORSE_KILL_GRACE_S, IDLE_WAIT_S
from .exceptions import ConfigurationError
from .horse import Outcome, describe_exit, fork_child, run_in_child, run_job
from .job import Job
from .outages import REDIS_ERRORS
from .pool_pipes import _HEADER, _READ_CHUNK, _Horse, _kill, _read_frame, _rss_bytes, _write_all
from .presence import WorkerState
from .queue import Queue
from .serializers import Serializer

logger = logging.getLogger("minirq.pool")

DEFAULT_POOL_SIZE = 2


class WorkerPool(BaseWorker):
    """Runs jobs in ``size`` (RQ: ``num_workers``; default 2) long-lived work-horses.

    ``max_jobs_per_child`` recycles a horse after that many jobs, and
    ``max_memory_per_child_mb`` once its resident memory reaches that many megabytes
    after a job (``None``: never). Other parameters are those of :class:`Worker`.
    """

    def __init__(
        self,
        queues: Queue | str | Iterable[Queue | str] | None = None,
        connection: redis.Redis | None = None,
        name: str | None = None,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
        *,
        size: int | None = None,
        num_workers: int | None = None,
        max_jobs_per_child: int | None = None,
        max_memory_per_child_mb: float | None = None,
        **kwargs: Any,
    ) -> None:
        # num_workers is RQ's name for the size.
        size = size if size is not None else num_workers or DEFAULT_POOL_SIZE
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ConfigurationError(f"a pool needs at least one horse, not size={size!r}")
        if max_jobs_per_child is not None and max_jobs_per_child < 1:
            raise ConfigurationError(
                f"max_jobs_per_child must be 1 or more, not {max_jobs_per_child!r}"
            )
        if max_memory_per_child_mb is not None and max_memory_per_child_mb <= 0:
            raise ConfigurationError(
                f"max_memory_per_child_mb must be more than 0, not {max_memory_per_child_mb!r}"
            )
        super().__init__(queues, connection, name, serializer, prefix, **kwargs)
        self.size = size
        self.capacity = size
        self.max_jobs_per_child = max_jobs_per_child
        self.max_memory_per_child_mb = max_memory_per_child_mb
        self._horses: list[_Horse] = []
        self._wake_r = self._wake_w = -1

    def start(self, burst: bool = False, logging_level: str | int | None = None) -> bool:
        """RQ's name for :meth:`work`."""
        return self.work(burst=burst, logging_level=logging_level)

    # -- the executor the loop of BaseWorker.work drives: N horses ----------------------

    fetches_ahead = True

    def _start_executor(self) -> None:
        self._open_wake_pipe()
        self._subscribe_unless_stopping()
        for _ in range(self.size):
            self._spawn()

    def _stop_executor(self) -> None:
        self._stop_horses()
        self._close_wake_pipe()

    def _free_slots(self) -> int:
        return sum(1 for h in self._horses if not h.busy)

    def _executor_busy(self) -> bool:
        return any(h.busy for h in self._horses)

    def _submit(self, job: Job, queue: Queue) -> None:
        self._dispatch(job, queue)

    def _wait_for_event(self, watch_queues: bool) -> None:
        self._wait(watch_queues)

    def _subscribe_unless_stopping(self) -> None:
        try:
            self._call_redis(self._subscribe, "subscribing to wake-ups", until_stop=True)
        except REDIS_ERRORS:
            if not self.stop_requested:
                raise

    def _open_wake_pipe(self) -> None:
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)

    def _close_wake_pipe(self) -> None:
        if self._wake_r >= 0:
            os.close(self._wake_r)
            os.close(self._wake_w)
        self._wake_r = self._wake_w = -1

    def request_stop(self, force: bool = False) -> None:
        super().request_stop(force)
        # Wake the main loop out of select() so that it acts on the request at once.
        if self._wake_w >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_w, b"x")

    def running_jobs(self) -> list[Job]:
        return [h.job for h in self._horses if h.job is not None] + self._job_fetched_ahead()

    def run_callback(self, func: Callable[[], str | None]) -> str | None:
        # In a child, so that the other horses' leases are renewed however long it takes.
        return run_in_child(func, self._try_heartbeat, self.heartbeat_interval_s)

    # -- waiting -----------------------------------------------------------------------

    def _wait(self, watch_queues: bool) -> None:
        """Block until a horse reports, a stop is requested, an enqueue wakes an idle
        horse, or a heartbeat, housekeeping or kill deadline is due."""
        now = time.monotonic()
        deadline = min(
            [now + IDLE_WAIT_S, self._next_heartbeat, self._next_housekeeping]
            + [h.kill_at for h in self._horses]
        )
        if self._stop_requested_at is not None:
            deadline = min(deadline, self._stop_requested_at + self.shutdown_timeout_s)
        fds = [self._wake_r] + [h.from_horse for h in self._horses]
        pubsub_fd = None
        if watch_queues and any(not h.busy for h in self._horses):
            if self._limit_wait_until is not None:
                deadline = min(deadline, self._limit_wait_until)
            pubsub_fd = self._wake_up_fd()
            if pubsub_fd is None:
                # Without a subscription, look at the queues again soon instead.
                deadline = min(deadline, now + 0.1)
            else:
                fds.append(pubsub_fd)
        ready, _, _ = select.select(fds, [], [], max(0.0, deadline - now))
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 64)
        for horse in list(self._horses):
            if horse.from_horse in ready:
                self._read_from(horse)
        now = time.monotonic()
        for horse in list(self._horses):
            if horse.busy and now >= horse.kill_at:
                self._kill_for_timeout(horse)

    # -- horses ------------------------------------------------------------------------

    def _spawn(self) -> _Horse:
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        pid = fork_child()
        if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
            os.close(to_w)
            os.close(from_r)
            self._horse_main(to_r, from_w)
        os.close(to_r)
        os.close(from_w)
        horse = _Horse(pid=pid, to_horse=to_w, from_horse=from_r)
        self._horses.append(horse)
        return horse

    def _horse_main(self, read_fd: int, write_fd: int) -> None:
        exit_code = 1
        try:
            for other in self._horses:
                os.close(other.to_horse)
                os.close(other.from_horse)
            os.close(self._wake_r)
            os.close(self._wake_w)
            hooks.run("horse_start")
            while True:
                message = _read_frame(read_fd)
                if message is None:
                    exit_code = 0
                    break
                job_id, queue_index, fields = pickle.loads(message)
                queue = self.queues[queue_index]
                job = Job.from_fields(
                    job_id, fields, self.connection, queue.serializer, self.keys.prefix
                )
                with hooks.around_job(job):
                    outcome = run_job(job, self.max_result_bytes)
                payload = pickle.dumps((outcome, _rss_bytes()), protocol=pickle.HIGHEST_PROTOCOL)
                _write_all(write_fd, _HEADER.pack(len(payload)) + payload)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(exit_code)

    def _dispatch(self, job: Job, queue: Queue) -> None:
        horse = next(h for h in self._horses if not h.busy)
        self._log_job_start(job, queue)
        message = pickle.dumps(
            (job.id, self.queues.index(queue), job.fields), protocol=pickle.HIGHEST_PROTOCOL
        )
        horse.job, horse.queue = job, queue
        horse.started = time.monotonic()
        grace_s = HORSE_KILL_GRACE_S + horse_callback_allowance_s(job)
        horse.kill_at = horse.started + job.timeout + grace_s if job.timeout > 0 else float("inf")
        self.state = WorkerState.BUSY
        try:
            _write_all(horse.to_horse, _HEADER.pack(len(message)) + message)
        except OSError:
            # The horse died while idle; the job has not started, so it goes back first.
            self._settle(horse, None)
            self._replace(horse)

    def _read_from(self, horse: _Horse) -> None:
        try:
            chunk = os.read(horse.from_horse, _READ_CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            self._on_horse_died(horse)
            return
        horse.buffer += chunk
        while len(horse.buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack_from(horse.buffer)
            if len(horse.buffer) < _HEADER.size + length:
                return
            data = bytes(horse.buffer[_HEADER.size : _HEADER.size + length])
            del horse.buffer[: _HEADER.size + length]
            outcome, rss = pickle.loads(data)
            horse.jobs_done += 1
            self._settle(horse, outcome)
            if self._should_recycle(horse, rss):
                self._replace(horse)

    def _should_recycle(self, horse: _Horse, rss_bytes: int) -> bool:
        if self.max_jobs_per_child is not None and horse.jobs_done >= self.max_jobs_per_child:
            logger.info(
                "%s: horse %d ran %d jobs; replacing it", self.name, horse.pid, horse.jobs_done
            )
            return True
        limit = self.max_memory_per_child_mb
        if limit is not None and rss_bytes >= limit * 1024 * 1024:
            logger.info(
                "%s: horse %d uses %.1f MB (limit %s MB); replacing it",
                self.name,
                horse.pid,
                rss_bytes / 1024 / 1024,
                limit,
            )
            return True
        return False

    def _settle(self, horse: _Horse, outcome: Outcome | None) -> None:
        """Record the outcome of the horse's job (``None``: interrupted, requeue it)."""
        job, queue = horse.job, horse.queue
        horse.job = horse.queue = None
        horse.kill_at = float("inf")
        if not any(h.busy for h in self._horses):
            self.state = WorkerState.IDLE
        if job is None or queue is None:
            return
        if outcome is None:
            self._call_redis(
                lambda: self._requeue_interrupted(job, queue), "putting an interrupted job back"
            )
            return
        elapsed_ms = int((time.monotonic() - horse.started) * 1000)
        self._record_outcome(job, queue, outcome, elapsed_ms)

    def _on_horse_died(self, horse: _Horse) -> None:
        _, status = os.waitpid(horse.pid, 0)
        if horse.busy and horse.job is not None and horse.job.id == self._stop_job_id:
            # Killed by a stop-job command before it reported (see _on_stop_job).
            self._settle(horse, Outcome.failure(JOB_STOPPED, "stopped by a stop-job command"))
        elif horse.busy:
            self._settle(horse, Outcome.failure("WorkHorseDied", describe_exit(status)))
        else:
            logger.warning(
                "%s: idle horse %d died: %s", self.name, horse.pid, describe_exit(status)
            )
        self._replace(horse, reap=False)

    def _on_stop_job(self, job: Job) -> None:
        # Its pipe then ends: an outcome it reported just before is read and stands,
        # else _on_horse_died records the job stopped.
        for horse in self._horses:
            if horse.job is not None and horse.job.id == job.id:
                _kill(horse.pid)

    def _kill_for_timeout(self, horse: _Horse) -> None:
        job = horse.job
        assert job is not None
        _kill(horse.pid)
        self._settle(
            horse,
            Outcome.failure(
                "JobTimeoutException",
                f"job exceeded its timeout of {job.timeout} s and its work-horse was killed",
            ),
        )
        self._replace(horse)

    def _replace(self, horse: _Horse, reap: bool = True) -> None:
        """Retire ``horse`` and, unless the pool is stopping, fork a fresh one."""
        self._retire(horse, reap)
        if not self.stop_requested:
            self._spawn()

    def _retire(self, horse: _Horse, reap: bool = True) -> None:
        self._horses.remove(horse)
        # Closing its command pipe tells an idle horse to exit; a busy one is killed first.
        os.close(horse.to_horse)
        os.close(horse.from_horse)
        if reap:
            os.waitpid(horse.pid, 0)

    def _interrupt_all(self) -> None:
        """Kill every busy horse and put its job back at the front of its queue."""
        for horse in list(self._horses):
            if horse.busy:
                _kill(horse.pid)
                self._settle(horse, None)

    def _stop_horses(self) -> None:
        for horse in list(self._horses):
            if horse.busy:
                # Only reached when the loop failed (an exception): do not lose the job.
                _kill(horse.pid)
                with contextlib.suppress(Exception):
                    self._settle(horse, None)
            self._retire(horse)
