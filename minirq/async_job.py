"""A job seen from asyncio code: what :class:`~minirq.AsyncQueue` wrote, with async reads."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import redis
import redis.asyncio

from .exceptions import NoSuchJobError
from .job import Job, JobStatus
from .keys import Keys
from .results import Result
from .serializers import Serializer, resolve_serializer
from .store import calls
from .store.async_runner import async_runner_for
from .store.record import decode_record

# How long subscribing to a result channel may take before the wait goes on regardless.
SUBSCRIBE_WAIT_S = 2.0


def sync_twin(connection: redis.asyncio.Redis) -> redis.Redis:
    """A sync client for the same server, database and credentials as ``connection``:
    the one :class:`Job` objects carry (it connects only if one of their sync methods
    is called; :class:`AsyncQueue` and :class:`AsyncJob` never do)."""
    options = connection.connection_pool.connection_kwargs
    return redis.Redis(
        host=options.get("host", "localhost"),
        port=options.get("port", 6379),
        db=options.get("db", 0),
        username=options.get("username"),
        password=options.get("password"),
        unix_socket_path=options.get("path"),
    )


class AsyncJob:
    """A job as :class:`~minirq.AsyncQueue` returns it.

    Attributes read the state loaded (``job`` is the :class:`Job` holding it, for its
    other read-only attributes); :meth:`refresh`, :meth:`get_status`,
    :meth:`return_value` and :meth:`latest_result` read Redis without blocking.
    """

    def __init__(self, job: Job, connection: redis.asyncio.Redis) -> None:
        self.job = job
        self.connection = connection

    def __repr__(self) -> str:
        return f"<AsyncJob {self.id} {self.func_name} {self.job.record.status}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncJob) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def keys(self) -> Keys:
        return self.job.keys

    @property
    def serializer(self) -> Serializer:
        return self.job.serializer

    @property
    def origin(self) -> str:
        return self.job.origin

    @property
    def func_name(self) -> str:
        return self.job.func_name

    @property
    def exc_info(self) -> str | None:
        """The traceback text of the last failure loaded, if any."""
        return self.job.exc_info

    @classmethod
    async def fetch(
        cls,
        job_id: str,
        connection: redis.asyncio.Redis,
        serializer: Serializer | str | None = None,
        prefix: str | None = None,
    ) -> AsyncJob | None:
        """The stored job with that id, or ``None`` if there is none."""
        keys = Keys(prefix)
        fields = await _load(connection, keys, job_id)
        if not fields:
            return None
        job = Job.from_fields(
            job_id, fields, sync_twin(connection), resolve_serializer(serializer), keys.prefix
        )
        return cls(job, connection)

    async def refresh(self) -> None:
        """Load the job's state again; raises :class:`NoSuchJobError` if it is gone."""
        fields = await _load(self.connection, self.keys, self.id)
        if not fields:
            raise NoSuchJobError(f"no job with id {self.id!r}")
        self.job = Job.from_fields(
            self.id, fields, self.job.connection, self.serializer, self.keys.prefix
        )

    async def get_status(self, refresh: bool = True) -> JobStatus | None:
        """The job's status; ``None`` if the job no longer exists."""
        if refresh:
            try:
                await self.refresh()
            except NoSuchJobError:
                return None
        return self.job.status

    async def return_value(self, refresh: bool = True) -> Any:
        """What the job returned once it finished, else ``None``."""
        if refresh:
            try:
                await self.refresh()
            except NoSuchJobError:
                return None
        return self.job.return_value(refresh=False)

    async def latest_result(self, timeout: float = 0) -> Result | None:
        """The outcome of the job's latest run (a :class:`~minirq.results.Result`), or
        ``None`` before one; with ``timeout`` seconds, wait up to that long for it.

        The wait is :meth:`Job.latest_result`'s: subscribed to the job's result channel,
        the job is marked as waited on and read in one step, and the step that records
        its outcome publishes there; it wakes then, without polling."""
        if not timeout or timeout <= 0:
            return self._result(await _load(self.connection, self.keys, self.id))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        subscription = self.connection.pubsub()
        try:
            await subscription.subscribe(self.keys.result_channel(self.id))
            await _subscribed(subscription, min(timeout, SUBSCRIBE_WAIT_S))
            runner = async_runner_for(self.connection)
            fields = await runner.run(calls.wait_result(self.keys, job_id=self.id))
            result = self._result(fields)
            while result is None:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return None
                message = await subscription.get_message(timeout=remaining)
                if message is not None and message.get("type") == "message":
                    result = self._result(await _load(self.connection, self.keys, self.id))
            return result
        finally:
            with contextlib.suppress(Exception):
                await subscription.aclose()  # type: ignore[no-untyped-call]

    def _result(self, fields: Mapping[Any, Any]) -> Result | None:
        if not fields:
            return None
        return Result.from_record(self.id, decode_record(fields), self.serializer)


async def _subscribed(subscription: Any, timeout_s: float) -> None:
    """Wait for Redis to confirm the subscription: a message published from then on
    reaches it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (remaining := deadline - loop.time()) > 0:
        message = await subscription.get_message(timeout=remaining)
        if message is not None and message.get("type") == "subscribe":
            return


async def _load(connection: redis.asyncio.Redis, keys: Keys, job_id: str) -> dict[Any, Any]:
    """The job's hash, as ``HGETALL`` gives it (empty if gone, or not a hash)."""
    try:
        return dict(await connection.hgetall(keys.job(job_id)))
    except redis.ResponseError:
        return {}
