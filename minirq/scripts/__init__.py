"""The Lua scripts behind every state transition, registered once per connection.

Each ``.lua`` file in this folder starts with a comment listing its KEYS and ARGV. A
``lib_*.lua`` file is a library, not a script: a line ``-- @include lib_name`` in a script
is replaced by its text when the script is loaded.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import weakref
from importlib import resources
from typing import Any

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

SCRIPT_NAMES: tuple[str, ...] = (
    "enqueue",
    "fetch",
    "finish",
    "fail",
    "requeue",
    "reap",
    "cancel",
    "empty",
    "empty_registry",
    # scheduling
    "schedule",
    "move_due",
    "scheduler_lease",
    "cron_fire",
    "repeat",
)
# Scripts of the job features (dependencies, unique jobs).
SCRIPT_NAMES += ("enqueue_checked",)

_INCLUDE_RE = re.compile(r"^-- @include (lib_\w+)$", re.MULTILINE)

_SOURCES: dict[str, str] = {}


def script_source(name: str) -> str:
    """The text of ``<name>.lua``."""
    if name not in _SOURCES:
        text = resources.files(__package__).joinpath(f"{name}.lua").read_text()
        _SOURCES[name] = _INCLUDE_RE.sub(lambda m: script_source(m.group(1)), text)
    return _SOURCES[name]


class Scripts:
    """The registered scripts of one connection; each call is one ``EVALSHA``."""

    def __init__(self, connection: redis.Redis) -> None:
        self._connection = connection
        # Plain clients over a plain pool take the direct path (see _send); others
        # (single-connection clients, fakeredis, custom pools) go through redis-py.
        self._direct = (
            type(connection) is redis.Redis
            and type(connection.connection_pool) is redis.ConnectionPool
            and getattr(connection.connection_pool, "cache", None) is None
            and getattr(connection, "connection", None) is None
        )
        self._local = threading.local()
        self._scripts: dict[str, Script] = {
            name: connection.register_script(script_source(name)) for name in SCRIPT_NAMES
        }

    def run(
        self,
        name: str,
        keys: list[str],
        args: list[Any],
        client: Any = None,
    ) -> Any:
        """Run script ``name``; ``client`` may be a pipeline to batch calls."""
        if client is None and self._direct:
            try:
                (reply,) = self._send([(name, keys, args)])
            except (redis.ConnectionError, redis.TimeoutError):
                reply = NoScriptError()  # rerun below, with redis-py's retries
            if not isinstance(reply, NoScriptError):
                if isinstance(reply, Exception):
                    raise reply
                return reply
        return self._scripts[name](keys=keys, args=args, client=client)

    def _send(self, calls: list[tuple[str, list[str], list[Any]]]) -> list[Any]:
        """EVALSHA each call on this thread's connection in one write; the replies (or
        the errors Redis returned) in order.

        This is redis-py's own pipeline reduced to what scripts need: its per-command
        bookkeeping costs about as much as a local round trip, and these are the calls
        made for every job.
        """
        conn = self._own_connection()
        try:
            commands = [
                ("EVALSHA", self._scripts[name].sha, len(keys), *keys, *args)
                for name, keys, args in calls
            ]
            conn.send_packed_command(conn.pack_commands(commands))
            replies: list[Any] = []
            for _ in calls:
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            # A reply may be half read: start afresh (send reconnects) rather than misread.
            conn.disconnect()
            raise

    def _own_connection(self) -> Any:
        """A connection this thread keeps, taken from the client's pool once per process.

        Taking a connection from redis-py's pool and giving it back for each call costs
        as much again as the bookkeeping _send avoids. Kept per thread, it needs no lock;
        a forked child (a work-horse) takes its own instead of sharing its parent's
        socket; and it still belongs to the pool, so closing the client closes it (the
        next call reconnects).
        """
        pid = os.getpid()
        own: tuple[int, Any] | None = getattr(self._local, "connection", None)
        if own is None or own[0] != pid:
            own = (pid, self._connection.connection_pool.get_connection())
            self._local.connection = own
            # The pool never gets it back, so it does not close it when it is collected
            # (client and scripts refer to each other): close it with these scripts.
            weakref.finalize(self, own[1].disconnect)
        return own[1]

    def run_many(self, calls: list[tuple[str, list[str], list[Any]]]) -> list[Any]:
        """Run several scripts in one round trip, each still its own atomic step.

        Returns each script's reply, or the exception it raised, in order. Unlike
        ``run(client=pipeline)`` this does not ask ``SCRIPT EXISTS`` first (a second round
        trip): a script Redis has forgotten (restart, ``SCRIPT FLUSH``) did not run, so it
        is simply run again on its own.
        """
        replies: list[Any] | None = None
        if self._direct:
            # On a connection error the calls are sent again below, with redis-py's retries.
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                replies = self._send(calls)
        if replies is None:
            with self._connection.pipeline(transaction=False) as pipe:
                for name, keys, args in calls:
                    pipe.evalsha(self._scripts[name].sha, len(keys), *keys, *args)
                replies = pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):
                name, keys, args = calls[i]
                try:
                    replies[i] = self.run(name, keys, args)
                except redis.ResponseError as exc:
                    replies[i] = exc
        return replies


def scripts_for(connection: redis.Redis) -> Scripts:
    """The :class:`Scripts` of a connection, registered on first use."""
    scripts: Scripts | None = getattr(connection, "_minirq_scripts", None)
    if scripts is None:
        scripts = Scripts(connection)
        connection._minirq_scripts = scripts  # type: ignore[attr-defined]
    return scripts
