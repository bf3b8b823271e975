"""Running the Lua scripts of ``minirq/scripts/``: one ``EVALSHA`` per call.

Each ``.lua`` file starts with a comment listing its KEYS and ARGV; ``calls.py`` has one
typed function per script that builds a :class:`Call` from those parameters. A
``lib_*.lua`` file is a library: a line ``-- @include lib_name`` in a script is replaced
by its text.

A call is never re-sent blindly: every script recognises a second run of the same step
(by the job's run token, an operation token or the state it finds), so a call whose reply
was lost (a timeout, a dropped connection) is sent once more on a fresh connection, and
the answer of that second run is the answer of the step.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any, Generic, TypeVar

import redis
from redis.exceptions import NoScriptError
from redis.utils import HIREDIS_AVAILABLE

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None = None
if HIREDIS_AVAILABLE:  # redis-py packs with it too (text as UTF-8, whatever the encoding)
    from hiredis import pack_command as _hiredis_pack

T = TypeVar("T")

SCRIPTS_PACKAGE = "minirq.scripts"
CHAIN_SEPARATOR = "+"
_INCLUDE_RE = re.compile(r"^-- @include (lib_\w+)$", re.MULTILINE)
_SOURCES: dict[str, str] = {}
_LOST_REPLY = (redis.ConnectionError, redis.TimeoutError)
# Connections a runner keeps between calls (the others go back to the pool).
_KEPT_IDLE = 4


def script_names() -> list[str]:
    """Every script (not library) in ``minirq/scripts/``."""
    folder = resources.files(SCRIPTS_PACKAGE)
    return sorted(
        entry.name[:-4]
        for entry in folder.iterdir()
        if entry.name.endswith(".lua") and not entry.name.startswith("lib_")
    )


def script_source(name: str) -> str:
    """The text of ``<name>.lua``, libraries included; for a chain of scripts
    (``finish+fetch``, see :func:`chain`), the script that runs them in turn."""
    if name not in _SOURCES:
        if CHAIN_SEPARATOR in name:
            _SOURCES[name] = _chained_source(name.split(CHAIN_SEPARATOR))
        else:
            text = _read_script(name)
            _SOURCES[name] = _INCLUDE_RE.sub(lambda m: script_source(m.group(1)), text)
    return _SOURCES[name]


def _read_script(name: str) -> str:
    return resources.files(SCRIPTS_PACKAGE).joinpath(f"{name}.lua").read_text()


# Runs the steps of a chain in turn. ARGV starts with, per step, its number of keys and
# of arguments; each step gets its share of KEYS and ARGV as it would alone. An error
# in one step is that step's answer and does not keep the next from running, as when
# the calls are sent one after another.
_CHAIN_RUN = """
local replies, key_at, arg_at = {}, 0, 2 * #steps
for s = 1, #steps do
  local key_count, arg_count = tonumber(ARGV[2 * s - 1]), tonumber(ARGV[2 * s])
  local keys, args = {}, {}
  for i = 1, key_count do
    keys[i] = KEYS[key_at + i]
  end
  for i = 1, arg_count do
    args[i] = ARGV[arg_at + i]
  end
  key_at, arg_at = key_at + key_count, arg_at + arg_count
  local ok, reply = pcall(steps[s], keys, args)
  if not ok then
    if type(reply) ~= 'table' or not reply.err then
      reply = redis.error_reply(tostring(reply))
    end
  elseif reply == nil then
    reply = false
  end
  replies[s] = reply
end
return replies
"""


def _chained_source(names: list[str]) -> str:
    """One script running the scripts ``names`` in turn, each step exactly as it runs
    alone (its body becomes a function of its own KEYS and ARGV). The libraries they
    include are included once, before the steps, so that the steps share one reading
    of Redis's clock (lib_time.lua)."""
    libraries: list[str] = []
    steps: list[str] = []
    for name in names:
        text = _read_script(name)
        libraries += [lib for lib in _INCLUDE_RE.findall(text) if lib not in libraries]
        body = _INCLUDE_RE.sub("", text)
        steps.append(f"steps[{len(steps) + 1}] = function(KEYS, ARGV)\n{body}\nend\n")
    header = f"-- The scripts {', '.join(names)} run in turn as one atomic call.\n"
    included = "".join(script_source(lib) for lib in libraries)
    return header + included + "local steps = {}\n" + "".join(steps) + _CHAIN_RUN


@functools.cache
def sha_of(name: str) -> str:
    """The SHA1 that ``EVALSHA`` names ``<name>.lua`` by."""
    return hashlib.sha1(script_source(name).encode()).hexdigest()


def _identity(reply: Any) -> Any:
    return reply


@dataclass(frozen=True)
class Call(Generic[T]):
    """One script call, ready to send; ``parse`` turns the raw reply into its answer.

    ``resend_args``, when given, are the arguments of the same call sent again after a
    lost reply: they tell the script to look for the trace of a first run that it need
    not look for on a first send (that look costs commands on every call).
    """

    script: str
    keys: list[str]
    args: list[Any]
    parse: Callable[[Any], T] = _identity
    resend_args: list[Any] | None = None

    def resent(self) -> Call[T]:
        """This call as sent again after a lost reply."""
        if self.resend_args is None:
            return self
        return Call(self.script, self.keys, self.resend_args, self.parse)


def chain(*steps: Call[Any]) -> Call[list[Any]]:
    """The calls ``steps`` as one call: one ``EVALSHA`` that runs each step's script in
    turn, as one atomic step made of steps that each do exactly what they do alone
    (the next fetch after recording an outcome: one script call instead of two). Its
    answer is each step's answer, or the exception it raised, in order. Sent again after
    a lost reply, every step is sent as it would be again alone."""
    if len(steps) < 2:
        raise ValueError("a chain has at least two calls")
    # Built for every job a worker records: plain loops, no intermediate calls.
    keys: list[str] = []
    counts: list[Any] = []
    args: list[Any] = []
    resend_counts: list[Any] = []
    resend_args: list[Any] = []
    resent = False
    for step in steps:
        keys += step.keys
        counts += (len(step.keys), len(step.args))
        args += step.args
        again = step.args if step.resend_args is None else step.resend_args
        resent = resent or step.resend_args is not None
        resend_counts += (len(step.keys), len(again))
        resend_args += again
    return Call(
        CHAIN_SEPARATOR.join([step.script for step in steps]),
        keys,
        counts + args,
        _ChainAnswers(steps),
        resend_counts + resend_args if resent else None,
    )


class _ChainAnswers:
    """Parses a chain's reply: each step's answer, or the exception it raised."""

    __slots__ = ("steps",)

    def __init__(self, steps: Sequence[Call[Any]]) -> None:
        self.steps = steps

    def __call__(self, reply: Any) -> list[Any]:
        answers: list[Any] = []
        for step, answer in zip(self.steps, reply, strict=True):
            if not isinstance(answer, Exception):
                try:
                    answer = step.parse(answer)
                except Exception as exc:
                    answer = exc
            answers.append(answer)
        return answers


class Runner:
    """The registered scripts of one client; each call is one ``EVALSHA``."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        # Plain clients over a plain pool take the direct path (see _send); others
        # (single-connection clients, fakeredis, custom pools) go through redis-py.
        self._direct = (
            type(connection) is redis.Redis
            and type(connection.connection_pool) is redis.ConnectionPool
            and getattr(connection.connection_pool, "cache", None) is None
            and getattr(connection, "connection", None) is None
        )
        # hiredis packs a command in a quarter of redis-py's time (which calls it too,
        # after a pass of its own over the arguments).
        self._pack = _hiredis_pack
        self._sha: dict[str, str] = {}
        # Connections taken from the client's pool and free for the next call (see _take).
        self._idle: list[Any] = []
        self._idle_pid = os.getpid()
        max_connections = getattr(connection.connection_pool, "max_connections", None)
        self._max = (
            max_connections
            if isinstance(max_connections, int) and max_connections < 2**31 - 1
            else None
        )
        # One slot per connection this runner holds (in a call or idle): with a bounded
        # pool, a call waits for a slot instead of failing with "Too many connections".
        self._slots = threading.BoundedSemaphore(self._max) if self._max else None
        self._kept = _KEPT_IDLE if self._max is None else min(_KEPT_IDLE, self._max - 1)

    def sha(self, name: str) -> str:
        if name not in self._sha:
            self._sha[name] = sha_of(name)
        return self._sha[name]

    def run(self, call: Call[T]) -> T:
        """Run one call; raises what the script raised."""
        (reply,) = self._replies([call])
        if isinstance(reply, Exception):
            raise reply
        return call.parse(reply)

    def run_many(self, calls: Sequence[Call[Any]]) -> list[Any]:
        """Run several calls in one round trip, each still its own atomic step.

        Returns each call's answer, or the exception it raised, in order.
        """
        answers: list[Any] = []
        for call, reply in zip(calls, self._replies(calls), strict=True):
            if isinstance(reply, Exception):
                answers.append(reply)
                continue
            try:
                answers.append(call.parse(reply))
            except Exception as exc:
                answers.append(exc)
        return answers

    def join(self, pipe: Any, calls: Sequence[Call[Any]]) -> None:
        """Queue ``calls`` in a caller's redis-py pipeline, to run when the caller executes
        it; their replies are among its results, raw. A pipeline that WATCHes runs commands
        at once until MULTI, so its transaction is started first."""
        if getattr(pipe, "watching", False) and not pipe.explicit_transaction:
            pipe.multi()
        self.ensure_loaded({call.script for call in calls})
        for call in calls:
            self.add_to(pipe, call)

    def add_to(self, pipe: Any, call: Call[Any]) -> None:
        """Queue ``call`` in a redis-py pipeline (a MULTI or not); its reply is raw."""
        pipe.evalsha(self.sha(call.script), len(call.keys), *call.keys, *call.args)

    def load(self, name: str) -> None:
        self.connection.script_load(script_source(name))

    def ensure_loaded(self, names: set[str]) -> None:
        """Make sure Redis knows these scripts, before they are sent inside a MULTI
        (where a forgotten script would fail alone at EXEC, after the others ran)."""
        ordered = sorted(names)
        known = self.connection.script_exists(*(self.sha(n) for n in ordered))
        for name, present in zip(ordered, known, strict=True):
            if not present:
                self.load(name)

    def _replies(self, calls: Sequence[Call[Any]]) -> list[Any]:
        try:
            replies = self._send(calls)
        except _LOST_REPLY:
            # The calls may have run: each script recognises its own second run.
            calls = [call.resent() for call in calls]
            replies = self._send(calls)
        for i, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):
                # Redis forgot the script (restart, SCRIPT FLUSH): it did not run.
                self.load(calls[i].script)
                replies[i] = self._send([calls[i]])[0]
        return replies

    def _send(self, calls: Sequence[Call[Any]]) -> list[Any]:
        if not self._direct:
            with self.connection.pipeline(transaction=False) as pipe:
                for call in calls:
                    self.add_to(pipe, call)
                return list(pipe.execute(raise_on_error=False))
        return self._send_direct(calls)

    def _send_direct(self, calls: Sequence[Call[Any]]) -> list[Any]:
        """EVALSHA each call in one write on a pooled connection, free again after.

        This is redis-py's own pipeline reduced to what scripts need: its per-command
        bookkeeping costs about as much as a local round trip, and these are the calls
        made for every job. Threads never hold more connections than run calls at once,
        nor more than a bounded pool allows.
        """
        return self._send_on(self._take(), calls)

    def _take(self) -> Any:
        """A connection for one call. Taking one from redis-py's pool and giving it back
        costs as much as a local round trip, so a few are kept here between calls
        (never one per thread: the others go back to the pool). In a forked child they
        are dropped, not closed: the parent still uses them."""
        if self._idle_pid != os.getpid():
            self._idle, self._idle_pid = [], os.getpid()
            self._slots = threading.BoundedSemaphore(self._max) if self._max else None
        try:
            return self._idle.pop()
        except IndexError:
            pass
        if self._slots is not None:
            self._slots.acquire()
        try:
            return self.connection.connection_pool.get_connection()
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise

    def _give_back(self, conn: Any) -> None:
        if len(self._idle) < self._kept and conn.pid == os.getpid():
            self._idle.append(conn)
            return
        self.connection.connection_pool.release(conn)
        if self._slots is not None and conn.pid == os.getpid():
            self._slots.release()

    def _packed(self, conn: Any, commands: list[tuple[Any, ...]]) -> Any:
        if self._pack is not None:
            try:
                return [b"".join([self._pack(command) for command in commands])]
            except TypeError:
                pass  # an argument hiredis does not take (redis-py says which)
        return conn.pack_commands(commands)

    def _send_on(self, conn: Any, calls: Sequence[Call[Any]]) -> list[Any]:
        try:
            commands = [
                ("EVALSHA", self.sha(c.script), len(c.keys), *c.keys, *c.args) for c in calls
            ]
            conn.send_packed_command(self._packed(conn, commands))
            replies: list[Any] = []
            for _ in calls:
                try:
                    replies.append(conn.read_response())
                except redis.ResponseError as exc:
                    replies.append(exc)
            return replies
        except BaseException:
            # A reply may be half read: start afresh rather than misread the next one.
            conn.disconnect()
            raise
        finally:
            self._give_back(conn)


def runner_for(connection: redis.Redis) -> Runner:
    """The :class:`Runner` of a client, made on first use."""
    runner: Runner | None = getattr(connection, "_minirq_runner", None)
    if runner is None:
        runner = Runner(connection)
        connection._minirq_runner = runner  # type: ignore[attr-defined]
    return runner
