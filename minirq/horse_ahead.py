"""Fork ahead: the forking Worker's next work-horse, forked before its job is known.

A fork costs the worker about a millisecond, and the new horse its own start-up; a horse
forked while the previous job runs, or while the worker waits for work, takes both off
the path from a job's fetch to its run. That spare horse is set up as every horse is
(:func:`~minirq.horse.fork_child`: it dies with the worker, the collector's objects are
frozen first) and waits on a pipe for exactly one job: it runs it, reports its outcome on
its own pipe as a horse forked for the job does, and exits. It is never reused, so every
job still runs in a fresh process. A spare that gets no job (the worker stops) exits when
its pipe closes; one that died while waiting is reaped and replaced.

Where there is a fork server (:mod:`minirq.fork_server`, on Linux), it forks the spares
and reaps every horse it forked, so that no living horse shares the worker's memory pages;
a server that dies is replaced, and without one the worker forks its horses itself.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import pickle
import signal
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from . import hooks
from .fork_server import ForkServer, ForkServerGone, killed_with_server
from .horse import describe_exit, fork_child, fork_horse, report_run, run_job
from .job import Job
from .pool_pipes import _HEADER, _read_frame, _write_all
from .serializers import Serializer

logger = logging.getLogger("minirq.worker")


@dataclass
class _Spare:
    pid: int | None  # None: forked by the fork server, its pid not read yet
    to_horse: int  # the one job goes here
    from_horse: int  # its outcome comes back here
    server: ForkServer | None = None  # the fork server that forked it, if one did


class ForkAhead:
    """At most one spare horse of a forking worker, and how a job gets a horse.

    ``serializers`` are those of the worker's queues: a job names its own by index, so a
    spare builds the job exactly as the worker holds it.
    """

    def __init__(
        self,
        connection: redis.Redis,
        prefix: str,
        serializers: Sequence[Serializer],
        max_result_bytes: int,
    ) -> None:
        self.connection = connection
        self.prefix = prefix
        self.serializers = list(serializers)
        self.max_result_bytes = max_result_bytes
        self._spare: _Spare | None = None
        # The module of the last job run: a spare imports it while it waits, as the next
        # job most likely needs it (an import is the largest part of a horse's start-up).
        self._warm_module: str | None = None
        self.server: ForkServer | None = None

    def start_server(self) -> None:
        """Fork the fork server that forks the spares from now on (where there is one)."""
        if self.server is None:
            self.server = ForkServer.start(self._spare_from_server)

    def wait_horse(self, pid: int) -> tuple[int, Any]:
        """Wait for a horse to end: its ``waitpid`` status and rusage."""
        if self.server is not None and self.server.is_horse(pid):
            return self.server.wait_exit(pid)
        try:
            _, status, rusage = os.wait4(pid, 0)
        except ChildProcessError:
            # A horse of a fork server already replaced: it died with that server.
            return killed_with_server()
        return status, rusage

    def is_server_horse(self, pid: int) -> bool:
        return self.server is not None and self.server.is_horse(pid)

    def forget_horse(self, pid: int) -> None:
        """A horse of the fork server's reported: its exit status is not wanted."""
        if self.server is not None:
            self.server.forget(pid)

    def ensure_spare(self) -> None:
        """Fork a spare horse unless one waits already. A fork that fails (no memory,
        too many processes) is logged: the next job then forks its own horse."""
        if self._spare is not None:
            return
        server = self.server
        if server is not None and not server.gone:
            try:
                to_w, from_r = server.request_horse(self._warm_module)
            except ForkServerGone:
                pass
            else:
                self._spare = _Spare(None, to_w, from_r, server)
                return
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        try:
            pid = fork_child()
        except OSError as exc:
            for fd in (to_r, to_w, from_r, from_w):
                os.close(fd)
            logger.warning("could not fork a spare work-horse: %s", exc)
            return
        if pid == 0:  # pragma: no cover - runs in the child, which leaves by os._exit
            os.close(to_w)
            os.close(from_r)
            self._spare_main(to_r, from_w)
        os.close(to_r)
        os.close(from_w)
        self._spare = _Spare(pid, to_w, from_r)

    def start(self, job: Job) -> tuple[int, int]:
        """Start ``job`` in a horse: the spare if one waits and can take it, else one
        forked for it now. Returns the horse's pid and the pipe its outcome comes on."""
        self._remember_module(job.func_name)
        spare, self._spare = self._spare, None
        index = next((i for i, s in enumerate(self.serializers) if s is job.serializer), None)
        if spare is not None and spare.server is not None:
            spare.pid = spare.server.take_pid() if spare.pid is None else spare.pid
            if spare.pid is None or spare.server.gone:
                self._discard(spare)
                spare = None
        if spare is not None and spare.pid is not None and index is not None:
            message = pickle.dumps((job.id, job.fields, index), protocol=pickle.HIGHEST_PROTOCOL)
            try:
                _write_all(spare.to_horse, _HEADER.pack(len(message)) + message)
            except OSError:
                self._discard(spare)
            else:
                os.close(spare.to_horse)
                return spare.pid, spare.from_horse
        elif spare is not None:
            self._discard(spare)
        return fork_horse(job, self.max_result_bytes)

    def reap_if_dead(self) -> None:
        """Reap a spare that died while waiting (killed from outside), replace a fork
        server that died; never waits."""
        self._replace_server_if_gone()
        spare = self._spare
        if spare is None or spare.pid is None:
            return
        if spare.server is not None:
            ended = spare.server.poll_exit(spare.pid)
            done, status = (spare.pid, ended[0]) if ended is not None else (0, 0)
        else:
            try:
                done, status = os.waitpid(spare.pid, os.WNOHANG)
            except ChildProcessError:
                done, status = spare.pid, 0
        if done:
            logger.warning("spare work-horse %d died while waiting: %s", spare.pid,
                           describe_exit(status))  # fmt: skip
            self._spare = None
            _close_both(spare)

    def close(self) -> None:
        """Let the spare, if any, exit (it was given no job) and reap it."""
        spare, self._spare = self._spare, None
        if spare is not None:
            self._discard(spare)
        server, self.server = self.server, None
        if server is not None:
            server.close()

    def _replace_server_if_gone(self) -> None:
        server = self.server
        if server is None:
            return
        server.read_reports()
        if not server.gone:
            return
        logger.warning("the fork server %d ended; starting another", server.pid)
        if self._spare is not None and self._spare.server is server:
            _close_both(self._spare)
            self._spare = None
        server.close()
        self.server = ForkServer.start(self._spare_from_server)

    def _discard(self, spare: _Spare) -> None:
        # Given no job, it has nothing to lose; killed, it cannot keep the worker waiting
        # (its pipe closing would end it too, unless a hook or an import holds it up).
        _close_both(spare)
        if spare.server is not None and spare.pid is None:
            spare.pid = spare.server.take_pid()
        if spare.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(spare.pid, signal.SIGKILL)
        if spare.server is not None:
            spare.server.forget(spare.pid)  # the server reaps it
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(spare.pid, 0)

    def _remember_module(self, func_name: str) -> None:
        module, dot, _ = func_name.rpartition(".")
        self._warm_module = module if dot else None

    def _spare_from_server(
        self, read_fd: int, write_fd: int, warm_module: str | None
    ) -> None:  # pragma: no cover - runs in a horse the fork server forked
        self._warm_module = warm_module
        self._spare_main(read_fd, write_fd)

    def _spare_main(self, read_fd: int, write_fd: int) -> None:  # pragma: no cover - child
        exit_code = 1
        try:
            hooks.run("horse_start")
            if self._warm_module is not None:
                # A module that fails to import here fails the job that needs it, later.
                with contextlib.suppress(Exception):
                    importlib.import_module(self._warm_module)
            self._rehearse()
            message = _read_frame(read_fd)
            if message is None:
                exit_code = 0
                return
            job_id, fields, index = pickle.loads(message)
            job = Job.from_fields(
                job_id, fields, self.connection, self.serializers[index], self.prefix
            )
            report_run(job, self.max_result_bytes, write_fd)
            exit_code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(exit_code)

    def _rehearse(self) -> None:  # pragma: no cover - runs in the child
        """Take a job that does nothing through the path a job takes in this horse, while
        it waits: a forked process copies each memory page it shares with the worker on
        its first write to it (reference counts are writes), and most of the pages the
        job's path writes are copied now instead of once the job has arrived. Nothing of
        it leaves the horse: no hook runs, nothing is sent."""
        serializer = self.serializers[0] if self.serializers else None
        if serializer is None:
            return
        with contextlib.suppress(Exception):
            fields = {
                b"func": REHEARSAL_FUNC.encode(),
                b"data": serializer.dumps(((), {})),
                b"origin": b"",
                b"status": b"started",
            }
            job = Job.from_fields("rehearsal", fields, self.connection, serializer, self.prefix)
            pickle.dumps(run_job(job, self.max_result_bytes), protocol=pickle.HIGHEST_PROTOCOL)


def rehearsal() -> None:
    """The function of the job a spare horse rehearses with (see ForkAhead._rehearse)."""


REHEARSAL_FUNC = f"{__name__}.rehearsal"


def _close_both(spare: _Spare) -> None:
    for fd in (spare.to_horse, spare.from_horse):
        with contextlib.suppress(OSError):
            os.close(fd)


class ForkAheadMixin:
    """The forking :class:`~minirq.Worker`'s horses, each forked ahead of its job: a
    spare is kept while the worker waits for work and forked again while each job runs."""

    connection: redis.Redis
    keys: Any
    queues: list[Any]
    max_result_bytes: int
    stop_requested: bool
    _fetch_ahead: bool
    _took_ahead: bool
    _exiting_horses: list[int]
    _spares: ForkAhead | None = None

    #: Whether each job's horse is forked ahead of it (a subclass that starts its horses
    #: another way sets this to ``False``).
    forks_ahead = True

    @property
    def _fork_ahead(self) -> ForkAhead:
        if self._spares is None:
            serializers = [queue.serializer for queue in self.queues]
            self._spares = ForkAhead(
                self.connection, self.keys.prefix, serializers, self.max_result_bytes
            )
        return self._spares

    def _keep_a_spare(self) -> None:
        """Reap a spare that died; fork one unless one waits (or the worker stops)."""
        self._fork_ahead.reap_if_dead()
        if self.forks_ahead and not self.stop_requested:
            self._fork_ahead.ensure_spare()

    def _start_horse(self, job: Job) -> tuple[int, int]:
        """Start the work-horse of ``job``: its pid and the pipe it reports on. It is the
        spare forked ahead when one waits. While the worker goes from job to job, the
        next spare is forked while this job runs, so that the fork is off the path to
        the next one; a job that came to a waiting worker has the machine to itself at
        first (a fork now would hold the CPU its horse is woken on), and the next spare
        is forked once it ends, before the worker waits again."""
        started = self._fork_ahead.start(job)
        if self.forks_ahead and self._fetch_ahead and self._took_ahead:
            self._fork_ahead.ensure_spare()
        return started

    def _start_executor(self) -> None:
        if self.forks_ahead:
            self._fork_ahead.start_server()

    def _stop_executor(self) -> None:
        self._fork_ahead.close()

    def _wait_horse(self, pid: int) -> tuple[int, Any]:
        """Wait for a horse to end (the fork server reaps those it forked)."""
        return self._fork_ahead.wait_horse(pid)

    def _horse_reported(self, pid: int) -> None:
        """A horse reported its outcome and exits: reaped later, by the fork server if it
        forked it, else before the next fork."""
        if self._fork_ahead.is_server_horse(pid):
            self._fork_ahead.forget_horse(pid)
        else:
            self._exiting_horses.append(pid)
