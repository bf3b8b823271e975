"""The calls of ``minirq import-rq``: one typed function per script (``rq_import``,
``rq_move``, ``rq_release``), and the reads of RQ's layout and of the import ledger.

RQ's keys come from :class:`~minirq.keys.RQKeys`, minirq's from
:class:`~minirq.keys.Keys`; callers speak in queue names and ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis

from ..keys import Keys, RQKeys
from .record import flat, text_or_none
from .runner import Call

RQ_KEYS = RQKeys()


@dataclass(frozen=True)
class ImportReply:
    """What ``rq_import.lua`` or ``rq_move.lua`` answered."""

    code: int  # 1 imported, 2 imported before, 0 refused (live id), 3 changed in RQ
    status: str  # the status written (1), or the live job's status (0)
    queue: str  # the live job's queue (0)


def _import_reply(reply: Any) -> ImportReply:
    code = int(reply[0])
    status = (text_or_none(reply[1]) or "") if len(reply) > 1 else ""
    queue = (text_or_none(reply[2]) or "") if len(reply) > 2 else ""
    return ImportReply(code, status, queue)


@dataclass(frozen=True)
class ImportedJob:
    """One job as the import scripts write it."""

    job_id: str
    queue: str
    status: str  # queued, scheduled, deferred, failed or stopped
    score: str  # due ms (scheduled), expiry ms or "+inf" (failed, stopped), else ""
    pttl_ms: int  # 0: no limit
    created_at: str  # RQ's, as stored
    rq_place: str  # RQ's key that holds the id
    rq_place_is_list: bool
    allow_failure: bool
    parents: Sequence[tuple[str, bool]]  # (id, done in RQ)
    fields: Mapping[str, bytes]


def _target_keys(keys: Keys, job: ImportedJob) -> list[str]:
    queue = job.queue
    return [
        keys.job(job.job_id),
        keys.queue(queue),
        keys.wake_channel(queue),
        keys.registry("scheduled", queue),
        keys.scheduler_wake,
        keys.registry("deferred", queue),
        keys.registry("failed", queue),
        keys.queues,
        keys.dependencies(job.job_id),
        keys.dependents(job.job_id),
    ]


def _rq_keys(job: ImportedJob) -> list[str]:
    return [
        RQ_KEYS.job(job.job_id),
        job.rq_place,
        RQ_KEYS.results(job.job_id),
        RQ_KEYS.dependencies(job.job_id),
        RQ_KEYS.dependents(job.job_id),
    ]


def _parent_keys(keys: Keys, job: ImportedJob) -> list[str]:
    found: list[str] = []
    for parent_id, _ in job.parents:
        found += [keys.job(parent_id), keys.dependents(parent_id)]
    return found


def _args(keys: Keys, job: ImportedJob) -> list[Any]:
    parents: list[Any] = []
    for parent_id, done in job.parents:
        parents += [parent_id, "1" if done else "0"]
    return [
        job.job_id,
        job.queue,
        job.status,
        job.score,
        max(0, job.pttl_ms),
        job.created_at,
        keys.prefix,
        "1" if job.rq_place_is_list else "0",
        "1" if job.allow_failure else "0",
        len(job.parents),
        *parents,
        *flat(job.fields),
    ]


def rq_import(keys: Keys, job: ImportedJob) -> Call[ImportReply]:
    """Write ``job`` here and note it in the ledger (RQ's Redis is another one)."""
    script_keys = [*_target_keys(keys, job), keys.rq_import_ledger, *_parent_keys(keys, job)]
    return Call("rq_import", script_keys, _args(keys, job), _import_reply)


def rq_move(keys: Keys, job: ImportedJob) -> Call[ImportReply]:
    """Move ``job`` from RQ's keys to minirq's on the same Redis database."""
    script_keys = [*_target_keys(keys, job), *_rq_keys(job), *_parent_keys(keys, job)]
    return Call("rq_move", script_keys, _args(keys, job), _import_reply)


def rq_release(job: ImportedJob) -> Call[int]:
    """Remove ``job`` from RQ's Redis, if RQ's copy is still the one imported."""
    args = [job.job_id, "1" if job.rq_place_is_list else "0", job.created_at]
    return Call("rq_release", _rq_keys(job), args, int)


# -- reads of RQ's layout ------------------------------------------------------------


def rq_queue_names(connection: redis.Redis) -> list[str]:
    """The queues RQ knows (its ``rq:queues`` set holds their keys), sorted."""
    names = set()
    for member in cast(set[bytes], connection.smembers(RQ_KEYS.queues)):
        text = text_or_none(member)
        if text and text.startswith(RQ_KEYS.queue_prefix):
            names.add(text[len(RQ_KEYS.queue_prefix) :])
    return sorted(names)


def rq_place_members(connection: redis.Redis, key: str, is_list: bool) -> list[tuple[bytes, float]]:
    """The raw ids of an RQ queue (score 0) or registry (with scores), in order."""
    try:
        if is_list:
            return [(m, 0.0) for m in cast(list[bytes], connection.lrange(key, 0, -1))]
        return cast(list[tuple[bytes, float]], connection.zrange(key, 0, -1, withscores=True))
    except redis.ResponseError:
        return []


@dataclass(frozen=True)
class RQRaw:
    """What RQ's Redis holds for one id: its hash, the hash's time to live (ms, -1: none)
    and the newest entries of its results stream."""

    fields: dict[Any, Any]
    pttl_ms: int
    results: Any


def rq_load_many(connection: redis.Redis, job_ids: Sequence[str]) -> list[RQRaw]:
    """RQ's hashes, their times to live and results streams, in one round trip."""
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hgetall(RQ_KEYS.job(job_id))
            pipe.pttl(RQ_KEYS.job(job_id))
            pipe.xrevrange(RQ_KEYS.results(job_id), "+", "-", count=10)
        replies = pipe.execute(raise_on_error=False)
    found = []
    for i in range(len(job_ids)):
        fields, pttl, results = replies[3 * i : 3 * i + 3]
        found.append(
            RQRaw(
                fields if isinstance(fields, dict) else {},
                pttl if isinstance(pttl, int) else -1,
                results if isinstance(results, list) else [],
            )
        )
    return found


def rq_statuses(connection: redis.Redis, job_ids: Sequence[str]) -> dict[str, str | None]:
    """The status field of RQ's jobs (``None`` for a job RQ does not have)."""
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hget(RQ_KEYS.job(job_id), "status")
        replies = pipe.execute(raise_on_error=False)
    return {
        job_id: text_or_none(reply) if isinstance(reply, bytes) else None
        for job_id, reply in zip(job_ids, replies, strict=True)
    }


def rq_count(connection: redis.Redis, key: str, is_list: bool) -> int:
    """How many ids an RQ list or registry holds (0 for a key of another type)."""
    try:
        return int(connection.llen(key) if is_list else connection.zcard(key))
    except redis.ResponseError:
        return 0


def target_statuses(
    connection: redis.Redis, keys: Keys, job_ids: Sequence[str]
) -> dict[str, tuple[str, str]]:
    """The status and queue of the minirq jobs among ``job_ids`` (for a dry run)."""
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.hmget(keys.job(job_id), "status", "origin")
        replies = pipe.execute(raise_on_error=False)
    found = {}
    for job_id, reply in zip(job_ids, replies, strict=True):
        if isinstance(reply, list) and reply[0] is not None:
            found[job_id] = (text_or_none(reply[0]) or "", text_or_none(reply[1]) or "")
    return found


# -- the import ledger -----------------------------------------------------------------


def forget_imported(connection: redis.Redis, keys: Keys, job_ids: Sequence[str]) -> None:
    """Drop ledger entries of jobs whose RQ copy is gone."""
    if job_ids:
        connection.hdel(keys.rq_import_ledger, *job_ids)


def ledger_ids(connection: redis.Redis, keys: Keys) -> list[str]:
    ids = []
    for member in cast(list[bytes], connection.hkeys(keys.rq_import_ledger)):
        text = text_or_none(member)
        if text is not None:
            ids.append(text)
    return ids


def rq_missing(connection: redis.Redis, job_ids: Sequence[str]) -> list[str]:
    """The ids among ``job_ids`` that RQ's Redis no longer has a hash for."""
    with connection.pipeline(transaction=False) as pipe:
        for job_id in job_ids:
            pipe.exists(RQ_KEYS.job(job_id))
        replies = pipe.execute(raise_on_error=False)
    return [job_id for job_id, there in zip(job_ids, replies, strict=True) if there == 0]


__all__ = [
    "ImportReply",
    "ImportedJob",
    "RQRaw",
    "forget_imported",
    "ledger_ids",
    "rq_count",
    "rq_import",
    "rq_load_many",
    "rq_missing",
    "rq_move",
    "rq_place_members",
    "rq_queue_names",
    "rq_release",
    "rq_statuses",
    "target_statuses",
]
