"""The fork server: a small child of a forking worker that forks the worker's horses.

A fork leaves the two processes sharing their memory pages until one of them writes to
a page, which then faults and is copied; in Python even reading an object writes its
reference count. A horse forked by the worker shares the worker's pages while it lives,
and every function the worker runs meanwhile pays those faults (about ten times slower,
``bench/profile_drain.py cow``). The server is forked once, when the worker starts to
work; the horses are its children, so that the worker's pages are shared with no living
horse again (the server itself touches few of them).

The worker makes each horse's two pipes and hands the horse's ends to the server with
``SCM_RIGHTS`` over a unix socket: it then talks to the horse directly, and kills it
itself (same user). The server answers each request with the horse's pid and reports
each horse it reaps: its ``waitpid`` status and rusage. A horse dies with the server
(``PR_SET_PDEATHSIG``) and the server with the worker, so a worker that is killed leaves
no process behind. Linux only (elsewhere the worker forks its horses itself).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import pickle
import resource
import select
import signal
import socket
import sys
import traceback
from collections.abc import Callable
from typing import Any

from .horse import fork_child

logger = logging.getLogger("minirq.worker")

#: What runs in a horse the server forked: given the pipe its one job comes on, the pipe
#: its outcome goes to, and the module to import while it waits; it leaves by os._exit.
HorseMain = Callable[[int, int, "str | None"], None]

_MESSAGE_BYTES = 1 << 16
# The exit statuses kept for horses the worker still watches (it reads them one by one).
_KEPT_EXITS = 256
# The status a horse has when its server died: the kernel killed it (PR_SET_PDEATHSIG).
_KILLED_WITH_SERVER = signal.SIGKILL.value


class ForkServerGone(Exception):
    """The fork server died or stopped answering."""


class ForkServer:
    """The worker's end of its fork server."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self._sock = sock
        self._pending: collections.deque[int | None] = collections.deque()
        self._replies = 0
        self._horses: set[int] = set()
        self._exits: collections.OrderedDict[int, tuple[int, Any]] = collections.OrderedDict()
        self.gone = False

    @classmethod
    def start(cls, horse_main: HorseMain) -> ForkServer | None:
        """Fork a server whose horses run ``horse_main``; ``None`` where there is none
        (not Linux, or the fork failed: logged)."""
        if not sys.platform.startswith("linux"):
            return None
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            pid = fork_child()
        except OSError as exc:
            ours.close()
            theirs.close()
            logger.warning("could not fork the fork server: %s; forking horses here", exc)
            return None
        if pid == 0:  # pragma: no cover - runs in the server, which leaves by os._exit
            ours.close()
            _serve(theirs, horse_main)
        theirs.close()
        return cls(pid, ours)

    def request_horse(self, warm_module: str | None) -> tuple[int, int]:
        """Ask for a horse; returns the worker's ends of its pipes (to it, from it). Its
        pid is :meth:`take_pid`'s answer, read when needed."""
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        try:
            payload = pickle.dumps(warm_module)
            socket.send_fds(self._sock, [payload], [to_r, from_w])
        except OSError as exc:
            for fd in (to_w, from_r):
                os.close(fd)
            self._lost(exc)
            raise ForkServerGone(str(exc)) from None
        finally:
            os.close(to_r)
            os.close(from_w)
        self._pending.append(None)
        return to_w, from_r

    def take_pid(self) -> int | None:
        """The pid of the oldest horse asked for and not yet taken, waiting for the
        server's answer; ``None`` if the server could not fork it or is gone."""
        if not self._pending:
            return None
        while self._pending[0] is None and not self.gone:
            self._read_one(block=True)
        return self._pending.popleft() or None

    def is_horse(self, pid: int) -> bool:
        return pid in self._horses

    def poll_exit(self, pid: int) -> tuple[int, Any] | None:
        """The ``waitpid`` status and rusage of a horse that has exited, else ``None``."""
        self.read_reports()
        return self._take_exit(pid)

    def wait_exit(self, pid: int) -> tuple[int, Any]:
        """Wait for a horse's end: its ``waitpid`` status and rusage (a SIGKILL, the
        kernel's, if the server died first)."""
        while pid not in self._exits and not self.gone:
            self._read_one(block=True)
        found = self._take_exit(pid)
        if found is not None:
            return found
        self._horses.discard(pid)
        return killed_with_server()

    def forget(self, pid: int) -> None:
        """No exit status is wanted for this horse (it reported its outcome)."""
        self._horses.discard(pid)
        self._exits.pop(pid, None)

    def read_reports(self) -> None:
        """Take in what the server sent, without waiting; notices that it is gone."""
        while not self.gone and self._read_one(block=False):
            pass
        if not self.gone:
            with contextlib.suppress(ChildProcessError):
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self._lost(None)

    def close(self) -> None:
        """Stop the server (its idle horses die with it) and reap it."""
        self._sock.close()
        self.gone = True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)

    def _take_exit(self, pid: int) -> tuple[int, Any] | None:
        found = self._exits.pop(pid, None)
        if found is not None:
            self._horses.discard(pid)
        return found

    def _read_one(self, block: bool) -> bool:
        if not block and not select.select([self._sock], [], [], 0)[0]:
            return False
        try:
            data = self._sock.recv(_MESSAGE_BYTES)
        except OSError as exc:
            self._lost(exc)
            return False
        if not data:
            self._lost(None)
            return False
        try:
            message = pickle.loads(data)
        except Exception:
            logger.warning("the fork server sent an unreadable message; skipped")
            return True
        self._take(message)
        return True

    def _take(self, message: Any) -> None:
        kind = message[0]
        if kind in ("forked", "failed"):
            pid = message[1] if kind == "forked" else None
            if kind == "failed":
                logger.warning("the fork server could not fork a work-horse: %s", message[1])
            elif isinstance(pid, int):
                self._horses.add(pid)
            # The oldest request without an answer gets this one (they come in order).
            for index, known in enumerate(self._pending):
                if known is None:
                    self._pending[index] = pid if pid is not None else 0  # 0: none
                    break
        elif kind == "exited":
            _, pid, status, rusage = message
            if pid in self._horses:
                self._exits[pid] = (status, rusage)
                while len(self._exits) > _KEPT_EXITS:
                    self._exits.popitem(last=False)

    def _lost(self, exc: OSError | None) -> None:
        if self.gone:
            return
        self.gone = True
        # Unanswered requests will never be: their horses were not forked.
        self._pending = collections.deque(p if p is not None else 0 for p in self._pending)
        self._sock.close()
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, os.WNOHANG)


def killed_with_server() -> tuple[int, Any]:
    """The ``waitpid`` status (a SIGKILL: the kernel's) and an empty rusage of a horse
    whose fork server died before reporting its end."""
    return _KILLED_WITH_SERVER, resource.struct_rusage((0.0, 0.0) + (0,) * 14)


def _serve(sock: socket.socket, horse_main: HorseMain) -> None:  # pragma: no cover - server
    """The server's loop: fork a horse per request, report every horse it reaps; end
    when the worker closes its end."""
    exit_code = 1
    try:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_r, False)
        os.set_blocking(wake_w, False)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
        while True:
            ready, _, _ = select.select([sock.fileno(), wake_r], [], [])
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_r, 4096)
            if sock.fileno() in ready:
                payload, fds, _, _ = socket.recv_fds(sock, _MESSAGE_BYTES, 2)
                if not payload:
                    exit_code = 0
                    return
                _fork_one(sock, payload, fds, (wake_r, wake_w), horse_main)
            _report_exits(sock)
    except ConnectionError:
        exit_code = 0  # the worker is gone, or closed its end with reports unread
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(exit_code)


def _fork_one(
    sock: socket.socket,
    payload: bytes,
    fds: list[int],
    own_fds: tuple[int, int],
    horse_main: HorseMain,
) -> None:  # pragma: no cover - runs in the server
    try:
        warm_module = pickle.loads(payload)
        if len(fds) != 2:
            raise ValueError(f"a request came with {len(fds)} descriptors, not 2")
        pid = fork_child()
    except Exception as exc:
        for fd in fds:
            os.close(fd)
        sock.send(pickle.dumps(("failed", f"{type(exc).__name__}: {exc}")))
        return
    if pid == 0:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in own_fds:
            os.close(fd)
        sock.close()
        horse_main(fds[0], fds[1], warm_module)
        os._exit(1)
    for fd in fds:
        os.close(fd)
    sock.send(pickle.dumps(("forked", pid)))


def _report_exits(sock: socket.socket) -> None:  # pragma: no cover - runs in the server
    while True:
        try:
            pid, status, rusage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        sock.send(pickle.dumps(("exited", pid, status, rusage), protocol=pickle.HIGHEST_PROTOCOL))
