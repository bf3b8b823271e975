"""Reads of job hashes and registries, and the few job writes that are not transitions
(meta, the sync-mode start). Every id and name read here is decoded without raising:
one that is not text is skipped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import redis

from ..callables import is_job_id
from ..exceptions import InvalidJobError
from ..keys import REGISTRY_KINDS, Keys
from . import calls
from .calls import BatchedEnqueue, EnqueueReply
from .record import field_name, int_or_none, text_or_none
from .runner import Call, runner_for

RawFields = dict[bytes, bytes]


def load(connection: redis.Redis, keys: Keys, job_id: str) -> RawFields:
    """The hash of ``job_id`` (empty if it is gone, or is not a hash)."""
    try:
        return cast(RawFields, connection.hgetall(keys.job(job_id)))
    except redis.ResponseError:
        return {}


def load_many(connection: redis.Redis, keys: Keys, job_ids: Iterable[str]) -> list[RawFields]:
    """The hashes of ``job_ids`` in one round trip (empty for those gone)."""
    ids = list(job_ids)
    if not ids:
        return []
    with connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hgetall(keys.job(job_id))
        results = pipe.execute(raise_on_error=False)
    return [r if isinstance(r, dict) else {} for r in results]


def load_field(connection: redis.Redis, keys: Keys, job_id: str, attr: str) -> bytes | None:
    """One field of a job's hash, by its :class:`~minirq.store.record.JobRecord` name."""
    try:
        return cast(bytes | None, connection.hget(keys.job(job_id), field_name(attr)))
    except redis.ResponseError:
        return None


def save_field(connection: redis.Redis, keys: Keys, job_id: str, attr: str, value: bytes) -> None:
    """Write one field of a job that exists (an annotation such as meta, not a move)."""
    connection.hset(keys.job(job_id), field_name(attr), value)


def worker_heartbeat_ms(connection: redis.Redis, keys: Keys, worker_name: str) -> int | None:
    """When the worker last reported (epoch ms), from the record presence.py writes;
    ``None`` for no such worker."""
    try:
        return int_or_none(connection.hget(keys.worker(worker_name), "last_heartbeat"))
    except redis.ResponseError:
        return None


def exists(connection: redis.Redis, keys: Keys, job_id: str) -> bool:
    return bool(connection.exists(keys.job(job_id)))


def start_sync(
    connection: redis.Redis, keys: Keys, job_id: str, queue: str, fields: Mapping[str, bytes]
) -> None:
    """Save a job as started by the calling process itself (``is_async=False``)."""
    with connection.pipeline(transaction=True) as pipe:
        pipe.delete(keys.job(job_id))
        pipe.hset(keys.job(job_id), mapping=dict(fields))  # type: ignore[arg-type]
        pipe.sadd(keys.queues, queue)
        pipe.zadd(keys.registry("started", queue), {job_id: "+inf"})
        pipe.execute()


def ids(raw: Iterable[Any]) -> list[str]:
    """Ids read from a list, set or sorted set; members that are not ids are skipped."""
    found = []
    for member in raw:
        text = text_or_none(member)
        if text is not None and is_job_id(text):
            found.append(text)
    return found


def names(raw: Iterable[Any]) -> list[str]:
    """Names (queues, workers, groups) read from a set; members not text are skipped."""
    return sorted(t for t in (text_or_none(m) for m in raw) if t)


def queue_names(connection: redis.Redis, keys: Keys) -> list[str]:
    """Every queue name in the set of queues."""
    try:
        return names(connection.smembers(keys.queues))
    except redis.ResponseError:
        return []


def delete(
    connection: redis.Redis,
    keys: Keys,
    job_id: str,
    with_dependents: bool = False,
    remove_from_queue: bool = True,
) -> int:
    """Delete a job (and, ``with_dependents``, the jobs that wait for it) in one step."""
    call = calls.delete(
        keys, job_id=job_id, with_dependents=with_dependents, remove_from_queue=remove_from_queue
    )
    return runner_for(connection).run(call)


def record_callback_error(connection: redis.Redis, keys: Keys, job_id: str, text: str) -> bool:
    """Store a failed callback's traceback on a job that still exists, in one step."""
    return runner_for(connection).run(calls.callback_error(keys, job_id=job_id, text=text))


def registry_ids(
    connection: redis.Redis, key: str, start: int = 0, end: int = -1, desc: bool = False
) -> list[str]:
    try:
        return ids(connection.zrange(key, start, end, desc=desc))
    except redis.ResponseError:
        return []


def server_time_ms(connection: redis.Redis) -> int:
    """Redis's own clock, epoch milliseconds."""
    seconds, micros = connection.time()
    return int(seconds) * 1000 + int(micros) // 1000


def delete_queue(connection: redis.Redis, keys: Keys, queue: str) -> None:
    """Remove a queue's list and registries, and its name from the set of queues."""
    with connection.pipeline() as pipe:
        pipe.delete(keys.queue(queue), *(keys.registry(k, queue) for k in REGISTRY_KINDS))
        pipe.srem(keys.queues, queue)
        pipe.execute()


_LIVE = ("queued", "scheduled", "deferred", "started")
WRITE_ATTEMPTS = 10
# What a batch of enqueues reads of each job hash before writing, in this order.
STATUS_FIELDS = ("status", "origin", "op")


def write_all(
    connection: redis.Redis,
    keys: Keys,
    job_ids: list[str],
    enqueue_calls: list[Call[EnqueueReply]],
    extra: Callable[[Any], None],
) -> list[EnqueueReply]:
    """Run enqueue calls and ``extra`` commands as one MULTI transaction: all of them
    or none. While a live job has one of the ids nothing runs, and the answer for that id
    is a refusal naming where the live job is. A batch that already ran (its reply was
    lost) is recognised by the jobs' operation tokens. (Without ``extra``, use
    :func:`enqueue_batch`: one script call.)"""
    runner = runner_for(connection)
    runner.ensure_loaded({c.script for c in enqueue_calls})
    job_keys = [keys.job(i) for i in job_ids]
    for _ in range(WRITE_ATTEMPTS):
        with connection.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(*job_keys)  # type: ignore[no-untyped-call]
                with connection.pipeline(transaction=False) as reads:
                    for key in job_keys:
                        reads.hmget(key, *STATUS_FIELDS)
                    rows = reads.execute(raise_on_error=False)
                answer = batch_answer_before_writing(job_keys, rows, enqueue_calls)
                if answer is not None:
                    return answer
                pipe.multi()
                for call in enqueue_calls:
                    runner.add_to(pipe, call)
                extra(pipe)
                replies = pipe.execute()
            except redis.WatchError:
                continue
        return [call.parse(reply) for call, reply in zip(enqueue_calls, replies, strict=False)]
    raise redis.WatchError("the jobs kept changing while they were being enqueued")


def enqueue_batch(
    connection: redis.Redis, keys: Keys, queue: str, jobs: list[BatchedEnqueue]
) -> list[EnqueueReply]:
    """Enqueue ``jobs`` onto ``queue`` as one ``enqueue_many.lua`` step: all of them or
    none (one script is atomic, so no MULTI is needed). While a live job has one of the
    ids nothing is written, and the answer for that id is a refusal naming where the live
    job is. Raises :class:`InvalidJobError` when one of the ids names a key that is not a
    job hash."""
    try:
        replies: list[EnqueueReply] = runner_for(connection).run(
            calls.enqueue_many(keys, queue, jobs)
        )
    except redis.ResponseError as exc:
        raise refused_batch_error(exc) from exc
    return replies


def refused_batch_error(exc: redis.ResponseError) -> Exception:
    """What to raise for an error of ``enqueue_many.lua``: :class:`InvalidJobError` when
    an id names a key that is not a job hash (nothing was written), else ``exc``."""
    if "is not a job hash" in str(exc):
        return InvalidJobError(f"{exc}; nothing was written".removeprefix("minirq: "))
    return exc


def batch_answer_before_writing(
    job_keys: list[str], rows: list[Any], enqueue_calls: list[Call[EnqueueReply]]
) -> list[EnqueueReply] | None:
    """What a batch of enqueues answers without writing, from the ``STATUS_FIELDS`` of
    each job key read under WATCH: the answers of a batch that already ran (its reply
    was lost), or refusals when a live job has one of the ids; ``None`` to write it.
    Raises :class:`InvalidJobError` for a key that is not a job hash."""
    found = []
    for key, row in zip(job_keys, rows, strict=True):
        if isinstance(row, Exception):
            raise InvalidJobError(f"{key} is not a job hash ({row}); nothing was written")
        status, origin, op = (text_or_none(v) for v in row)
        found.append((status or "", origin or "", op))
    ops = [c.args[4] for c in enqueue_calls]
    mine = [op is not None and op == token for (_, _, op), token in zip(found, ops, strict=True)]
    if all(mine):
        return [EnqueueReply(2 if s == "deferred" else 1, "", "") for s, _, _ in found]
    refused = [
        EnqueueReply(0, status, origin) if status in _LIVE and not ours else EnqueueReply(1, "", "")
        for (status, origin, _), ours in zip(found, mine, strict=True)
    ]
    return refused if any(r.refused for r in refused) else None
