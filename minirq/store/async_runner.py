"""Running the same script calls from asyncio code, on a ``redis.asyncio`` client.

The calls are those of :mod:`.calls`, built the same way; each is one ``EVALSHA``, sent
on a connection taken from the client's pool (never through redis-py's own retries), a
lost reply answered by sending the call once more (each script recognises its own
second run), a forgotten script loaded and the call sent again, as
:class:`~minirq.store.runner.Runner` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import redis
import redis.asyncio
from redis.exceptions import NoScriptError
from redis.utils import HIREDIS_AVAILABLE

from ..keys import Keys
from . import calls
from .calls import BatchedEnqueue, EnqueueReply
from .jobs import refused_batch_error
from .runner import Call, script_source, sha_of

T = TypeVar("T")

_hiredis_pack: Callable[[tuple[Any, ...]], bytes] | None = None
if HIREDIS_AVAILABLE:  # a quarter of redis-py's packing time, as in the sync runner
    from hiredis import pack_command as _hiredis_pack

_LOST_REPLY = (redis.ConnectionError, redis.TimeoutError)
_KEPT_IDLE = 4


class AsyncRunner:
    """The registered scripts of one ``redis.asyncio`` client; each call one ``EVALSHA``."""

    def __init__(self, connection: redis.asyncio.Redis) -> None:
        self.connection = connection
        # Connections kept between calls: taking one from redis-py's pool (its lock, its
        # readiness check) costs more than the call. Only over an unbounded pool, whose
        # other users can then never run short of connections.
        self._idle: list[Any] = []
        max_connections = getattr(connection.connection_pool, "max_connections", None)
        self._kept = (
            _KEPT_IDLE
            if not isinstance(max_connections, int) or (max_connections >= 2**31 - 1)
            else 0
        )

    async def run(self, call: Call[T]) -> T:
        """Run one call; raises what the script raised."""
        try:
            reply = await self._send(call)
        except _LOST_REPLY:
            # The call may have run: its script recognises its own second run.
            call = call.resent()
            reply = await self._send(call)
        if isinstance(reply, NoScriptError):
            # Redis forgot the script (restart, SCRIPT FLUSH): it did not run.
            await self.connection.script_load(script_source(call.script))
            reply = await self._send(call)
        if isinstance(reply, Exception):
            raise reply
        return call.parse(reply)

    async def _send(self, call: Call[Any]) -> Any:
        pool = self.connection.connection_pool
        if self._idle:
            conn = self._idle.pop()
        else:
            conn = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            command = ("EVALSHA", sha_of(call.script), len(call.keys), *call.keys, *call.args)
            await conn.send_packed_command(_pack(conn, command))
            try:
                return await conn.read_response()
            except redis.ResponseError as exc:
                return exc
        except BaseException:
            # A reply may be half read (or cancelled midway): start afresh (a connection
            # kept idle disconnected connects again when next used).
            await conn.disconnect()
            raise
        finally:
            if len(self._idle) < self._kept:
                self._idle.append(conn)
            else:
                await pool.release(conn)

    async def enqueue_batch(
        self, keys: Keys, queue: str, jobs: list[BatchedEnqueue]
    ) -> list[EnqueueReply]:
        """:func:`minirq.store.jobs.enqueue_batch` from asyncio code: the jobs as one
        ``enqueue_many.lua`` step, all or none, refused while a live job has one of the
        ids."""
        try:
            return await self.run(calls.enqueue_many(keys, queue, jobs))
        except redis.ResponseError as exc:
            raise refused_batch_error(exc) from exc


def _pack(conn: Any, command: tuple[Any, ...]) -> Any:
    if _hiredis_pack is not None:
        try:
            return _hiredis_pack(command)
        except TypeError:
            pass  # an argument hiredis does not take (redis-py says which)
    return conn.pack_command(*command)


def async_runner_for(connection: redis.asyncio.Redis) -> AsyncRunner:
    """The :class:`AsyncRunner` of a client, made on first use."""
    runner: AsyncRunner | None = getattr(connection, "_minirq_async_runner", None)
    if runner is None:
        runner = AsyncRunner(connection)
        connection._minirq_async_runner = runner  # type: ignore[attr-defined]
    return runner
