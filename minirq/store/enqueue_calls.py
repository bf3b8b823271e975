"""The calls that write new jobs: ``enqueue.lua``, ``enqueue_many.lua`` (several
enqueues onto one queue in one step) and ``schedule.lua``, each a typed function whose
parameters mirror its script's header; re-exported by :mod:`.calls` with the others."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..defaults import MAX_DURATION_S
from ..keys import Keys
from .record import flat, text_or_none
from .runner import Call


def _flag(value: bool) -> str:
    return "1" if value else "0"


def script_ttl(value: int | None) -> int:
    """A duration as the scripts take it: bounded, ``0`` for none."""
    if value is None:
        return 0
    return max(-1, min(int(value), MAX_DURATION_S))


@dataclass(frozen=True)
class EnqueueReply:
    """What ``enqueue.lua`` or ``schedule.lua`` answered."""

    code: int  # 1 queued or scheduled, 2 deferred, 0 refused
    status: str  # the live job's status when refused
    queue: str  # the live job's queue when refused

    @property
    def refused(self) -> bool:
        return self.code == 0


def _may_name_a_hash(args: list[Any], index: int) -> list[Any] | None:
    """The arguments of a resend: a hash of a generated id is then looked for, since
    the first send may have written it."""
    if args[index] == "1":
        return None
    resend = list(args)
    resend[index] = "1"
    return resend


_QUEUED = EnqueueReply(1, "", "")


def _enqueue_reply(reply: Any) -> EnqueueReply:
    if reply[0] == 1 and len(reply) < 3:
        return _QUEUED
    code = int(reply[0])
    status = text_or_none(reply[1]) or "" if len(reply) > 1 else ""
    queue = text_or_none(reply[2]) or "" if len(reply) > 2 and code == 0 else ""
    return EnqueueReply(code, status, queue)


@functools.lru_cache(maxsize=256)
def _queue_keys(keys: Keys, queue: str) -> tuple[str, str, str, str]:
    """The keys of ``queue`` an enqueue names (its list, the set of queue names, its wake
    channel and deferred registry), spelled once per queue rather than per job."""
    return (
        keys.queue(queue),
        keys.queues,
        keys.wake_channel(queue),
        keys.registry("deferred", queue),
    )


def enqueue(
    keys: Keys,
    *,
    job_id: str,
    queue: str,
    at_front: bool,
    ttl_s: int | None,
    op_token: str,
    allow_failure: bool,
    id_chosen: bool,
    parent_ids: Sequence[str],
    fields: Mapping[str, bytes],
) -> Call[EnqueueReply]:
    script_keys = [keys.job(job_id), *_queue_keys(keys, queue), keys.dependencies(job_id)]
    for parent_id in parent_ids:
        script_keys += [keys.job(parent_id), keys.dependents(parent_id)]
    args = [
        job_id,
        queue,
        _flag(at_front),
        script_ttl(ttl_s),
        op_token,
        _flag(allow_failure),
        keys.prefix,
        _flag(id_chosen),
        len(parent_ids),
        *parent_ids,
        *flat(fields),
    ]
    return Call("enqueue", script_keys, args, _enqueue_reply, _may_name_a_hash(args, 7))


_DEFERRED = EnqueueReply(2, "", "")
# A batch's reply codes, one digit per job, when none was refused (see enqueue_many.lua).
_BY_CODE = {ord("1"): _QUEUED, ord("2"): _DEFERRED}


def _enqueue_replies(reply: Any) -> list[EnqueueReply]:
    if isinstance(reply, bytes):
        return [_BY_CODE[code] for code in reply]
    return [_enqueue_reply(r) for r in reply]


class BatchedEnqueue(NamedTuple):
    """One job of an :func:`enqueue_many` call: what :func:`enqueue` takes for it."""

    job_id: str
    op_token: str
    at_front: bool
    allow_failure: bool
    id_chosen: bool
    ttl_s: int | None
    parent_ids: Sequence[str]
    fields: Mapping[str, bytes]


def enqueue_many(
    keys: Keys, queue: str, jobs: Iterable[BatchedEnqueue]
) -> Call[list[EnqueueReply]]:
    """Several enqueues onto ``queue`` as one step (``enqueue_many.lua``): all or none.

    The queue's keys are sent once, and each job's keys are built by the script from the
    prefix, so a job costs its own values only."""
    args: list[Any] = [queue, keys.prefix, "0", 0]
    count = 0
    for job in jobs:
        flags = (1 if job.at_front else 0) + (2 if job.allow_failure else 0)
        if job.id_chosen:
            flags += 4
        ttl = 0 if job.ttl_s is None else script_ttl(job.ttl_s)
        fields = job.fields
        args += (job.job_id, job.op_token, flags, ttl, len(job.parent_ids), len(fields))
        if job.parent_ids:
            args += job.parent_ids
        for pair in fields.items():
            args += pair
        count += 1
    args[3] = count
    resend = list(args)
    resend[2] = "1"
    return Call("enqueue_many", list(_queue_keys(keys, queue)), args, _enqueue_replies, resend)


def schedule(
    keys: Keys,
    *,
    job_id: str,
    queue: str,
    due_ms: int | None,
    delay_ms: int,
    ttl_s: int | None,
    op_token: str,
    id_chosen: bool,
    fields: Mapping[str, bytes],
) -> Call[EnqueueReply]:
    script_keys = [
        keys.job(job_id),
        keys.registry("scheduled", queue),
        keys.queues,
        keys.scheduler_wake,
    ]
    args = [
        job_id,
        queue,
        "" if due_ms is None else due_ms,
        delay_ms,
        script_ttl(ttl_s),
        op_token,
        keys.prefix,
        _flag(id_chosen),
        *flat(fields),
    ]
    return Call("schedule", script_keys, args, _enqueue_reply, _may_name_a_hash(args, 7))
