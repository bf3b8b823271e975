"""The scheduler in a child process of a worker (``work(with_scheduler=True)``)."""

from __future__ import annotations

import logging
import os
import signal
import time

import redis

from .process import die_with_parent
from .scheduler import Scheduler

logger = logging.getLogger("minirq.scheduler")
# A worker restarts its scheduler process no more often than this.
_RESTART_DELAY_S = 1.0


class SchedulerProcess:
    """A :class:`Scheduler` in a forked child process, for ``work(with_scheduler=True)``.

    A child process rather than a thread: a forking worker must not fork work-horses
    from a multi-threaded process, and a step of the worker's own loop would stall
    scheduling for as long as a job runs. The child dies with its parent, and the parent
    restarts it if it dies.
    """

    def __init__(self, connection: redis.Redis, prefix: str, worker_name: str) -> None:
        self.connection = connection
        self.prefix = prefix
        self.worker_name = worker_name
        self.pid: int | None = None
        self._restart_at = 0.0

    def start(self) -> SchedulerProcess:
        parent_pid = os.getpid()
        pid = os.fork()
        if pid:
            self.pid = pid
            logger.info("%s: scheduler running in process %d", self.worker_name, pid)
            return self
        exit_code = 1
        try:
            die_with_parent(parent_pid)
            # Ctrl+C in a terminal reaches the whole group; the worker decides when we stop.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            Scheduler(
                self.connection, prefix=self.prefix, name=f"{self.worker_name}:scheduler"
            ).run(stop_signals=(signal.SIGTERM,))
            exit_code = 0
        except BaseException:
            logger.exception("the scheduler process failed")
        finally:
            os._exit(exit_code)

    def ensure_running(self) -> None:
        """Restart the child if it has died (at most once a second)."""
        if self.pid is not None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if not pid:
                return
            logger.error(
                "%s: the scheduler process ended (status %d); restarting it",
                self.worker_name,
                status,
            )
            self.pid = None
            self._restart_at = time.monotonic() + _RESTART_DELAY_S
        if time.monotonic() >= self._restart_at:
            self.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the child (it releases its lease), killing it after ``timeout_s``."""
        self._restart_at = float("inf")
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
