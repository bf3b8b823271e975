"""One typed function per Lua script: its parameters mirror the script's KEYS and ARGV
header, and it returns a :class:`~minirq.store.runner.Call` for a runner to send (alone,
several in one round trip, or inside a MULTI).

Key names come from :class:`~minirq.keys.Keys`; callers speak in queue names and ids.
The scheduler's scripts have theirs in :mod:`.scheduling_calls`. ``tests/test_store.py``
reads every script's header and checks that each function here
passes exactly the keys and arguments it declares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..defaults import LIMIT_SCAN_DEPTH, MAX_DURATION_S
from ..keys import Keys
from .enqueue_calls import EnqueueReply, _flag, enqueue, enqueue_many, schedule, script_ttl
from .record import flat, split_saved, text_or_none
from .runner import Call

__all__ = ["EnqueueReply", "enqueue", "enqueue_many", "schedule", "script_ttl"]


@dataclass(frozen=True)
class Fetched:
    """What ``fetch.lua`` took: the queue's index (0: nothing), the raw id and fields;
    ``limit_wait_ms`` is -1 unless a job was held back by its limit, else the time until
    one may start (a slot given back earlier publishes on ``keys.limits_wake_channel``)."""

    index: int
    job_id: bytes
    fields: dict[bytes, bytes]
    dropped: list[bytes]
    broken_keys: list[str]
    limit_wait_ms: int = -1


def _fetched(reply: Any) -> Fetched:
    index, job_id, pairs, dropped, broken, limit_wait_ms = reply
    fields = dict(zip(pairs[::2], pairs[1::2], strict=True))
    return Fetched(
        int(index),
        job_id,
        fields,
        list(dropped),
        [text_or_none(k) or repr(k) for k in broken],
        int(limit_wait_ms),
    )


def fetch(
    keys: Keys,
    *,
    queues: Sequence[str],
    lease_ms: int,
    worker: str,
    run_token: str,
    state_if_empty: str = "idle",
    job_if_empty: str = "",
    scan_depth: int = LIMIT_SCAN_DEPTH,
    queue_limits: Mapping[str, str] | None = None,
) -> Call[Fetched]:
    """``queue_limits``: queue name -> its default limit as stored (see
    :meth:`minirq.limits.Limit.encoded`), for the queues that have one."""
    script_keys = [keys.worker(worker)]
    for name in queues:
        script_keys += [keys.queue(name), keys.registry("started", name)]
    args: list[Any] = [
        lease_ms,
        worker,
        run_token,
        keys.job_prefix,
        state_if_empty,
        job_if_empty,
    ]
    defaults = queue_limits or {}
    limits = [keys.prefix, scan_depth, *(defaults.get(name, "") for name in queues)]
    return Call("fetch", script_keys, [*args, "0", *limits], _fetched, [*args, "1", *limits])


def int_reply(reply: Any) -> int:
    return int(reply)


def finish(
    keys: Keys,
    *,
    queue: str,
    job_id: str,
    run_token: str,
    result_ttl_s: int,
    result: bytes,
) -> Call[int]:
    script_keys = [
        keys.job(job_id),
        keys.registry("started", queue),
        keys.registry("finished", queue),
        keys.result_channel(job_id),
    ]
    args = [job_id, run_token, script_ttl(result_ttl_s), result, keys.prefix]
    return Call("finish", script_keys, args, int_reply)


def fail(
    keys: Keys,
    *,
    queue: str,
    job_id: str,
    run_token: str,
    traceback: str,
    failure_ttl_s: int,
    retry: str,
    retries_left: int,
    status: str,
    retry_at_front: bool = False,
    retries_max: int = 0,
) -> Call[int]:
    """``retry``: ``""`` to fail for good, ``"now"``, or a delay in milliseconds;
    ``retries_max``: the retries the job has in all, written when retrying."""
    script_keys = [
        keys.job(job_id),
        keys.registry("started", queue),
        keys.registry("failed", queue),
        keys.queue(queue),
        keys.registry("scheduled", queue),
        keys.wake_channel(queue),
        keys.scheduler_wake,
        keys.result_channel(job_id),
    ]
    args = [
        job_id,
        run_token,
        traceback,
        script_ttl(failure_ttl_s),
        retry,
        retries_left,
        status,
        keys.prefix,
        _flag(retry_at_front),
        retries_max,
    ]
    return Call("fail", script_keys, args, int_reply)


def repeat(
    keys: Keys,
    *,
    queue: str,
    job_id: str,
    run_token: str,
    result: bytes,
    when: str,
    repeats_left: int,
) -> Call[int]:
    """``when``: ``"now"`` or a delay in milliseconds before the next run."""
    script_keys = [
        keys.job(job_id),
        keys.registry("started", queue),
        keys.queue(queue),
        keys.registry("scheduled", queue),
        keys.wake_channel(queue),
        keys.scheduler_wake,
        keys.result_channel(job_id),
    ]
    return Call("repeat", script_keys, [job_id, run_token, result, when, repeats_left], int_reply)


def _bool(reply: Any) -> bool:
    return bool(int(reply))


def requeue(
    keys: Keys,
    *,
    queue: str,
    registry: str,
    job_id: str,
    at_front: bool,
    run_token: str,
    op_token: str,
) -> Call[bool]:
    script_keys = [
        keys.job(job_id),
        keys.registry(registry, queue),
        keys.queue(queue),
        keys.wake_channel(queue),
    ]
    return Call("requeue", script_keys, [job_id, _flag(at_front), run_token, op_token], _bool)


def cancel(
    keys: Keys,
    *,
    queue: str,
    job_id: str,
    ttl_s: int,
    enqueue_dependents: bool,
    op_token: str,
    remove_from_dependencies: bool = False,
) -> Call[bool]:
    script_keys = [
        keys.job(job_id),
        keys.queue(queue),
        keys.registry("scheduled", queue),
        keys.registry("deferred", queue),
        keys.registry("canceled", queue),
        keys.dependencies(job_id),
    ]
    args = [
        job_id,
        script_ttl(ttl_s),
        _flag(enqueue_dependents),
        keys.prefix,
        op_token,
        _flag(remove_from_dependencies),
    ]
    return Call("cancel", script_keys, args, _bool)


def _texts(reply: Any) -> list[str]:
    return [text_or_none(i) or repr(i) for i in reply]


def renew(keys: Keys, *, lease_ms: int, runs: Sequence[tuple[str, str, str]]) -> Call[list[str]]:
    """Renew the leases of ``runs`` (queue, job id, run token); answers the ids lost."""
    script_keys = [keys.registry("started", queue) for queue, _, _ in runs]
    args: list[Any] = [lease_ms, keys.job_prefix]
    for _, job_id, token in runs:
        args += [job_id, token]
    return Call("renew", script_keys, args, _texts)


@dataclass(frozen=True)
class Reaped:
    requeued: list[str]
    failed: list[str]
    broken_keys: list[str]


def _reaped(reply: Any) -> Reaped:
    requeued, failed, broken = reply
    return Reaped(_texts(requeued), _texts(failed), _texts(broken))


def reap(
    keys: Keys,
    *,
    queues: Sequence[str],
    max_orphanings: int,
    limit: int,
    default_failure_ttl_s: int,
) -> Call[Reaped]:
    script_keys: list[str] = []
    for name in queues:
        script_keys += [
            keys.registry("started", name),
            keys.queue(name),
            keys.registry("failed", name),
            keys.wake_channel(name),
        ]
    args = [
        keys.job_prefix,
        max_orphanings,
        limit,
        default_failure_ttl_s,
        keys.prefix,
        MAX_DURATION_S,
        keys.result_channel_prefix,
    ]
    return Call("reap", script_keys, args, _reaped)


def save(keys: Keys, *, job_id: str, fields: Mapping[str, bytes]) -> Call[int]:
    """Store a new job whole, or write the :data:`~.record.SAVED_ATTRS` of a stored one."""
    changeable, rest = split_saved(fields)
    args = [len(changeable), *flat(changeable), *flat(rest)]
    return Call("save", [keys.job(job_id)], args, int_reply)


def wait_result(keys: Keys, *, job_id: str) -> Call[dict[bytes, bytes]]:
    """Mark the job as waited on and read its hash (empty when it is gone)."""
    return Call("wait_result", [keys.job(job_id)], [], _hash_reply)


def _hash_reply(reply: Any) -> dict[bytes, bytes]:
    return dict(zip(reply[::2], reply[1::2], strict=True))


def empty(keys: Keys, *, queue: str, batch: int) -> Call[int]:
    return Call("empty", [keys.queue(queue)], [keys.job_prefix, batch], int_reply)


def empty_registry(keys: Keys, *, registry: str, queue: str, batch: int) -> Call[int]:
    return Call(
        "empty_registry", [keys.registry(registry, queue)], [keys.job_prefix, batch], int_reply
    )


def unlock(keys: Keys, *, lock_key: str, token: str) -> Call[bool]:
    """Release ``lock_key`` (one of ``keys``' lock names) if ``token`` still holds it."""
    return Call("unlock", [lock_key], [token], _bool)


def callback_error(keys: Keys, *, job_id: str, text: str) -> Call[bool]:
    return Call("callback_error", [keys.job(job_id)], [text], _bool)


def delete(keys: Keys, *, job_id: str, with_dependents: bool, remove_from_queue: bool) -> Call[int]:
    args = [job_id, keys.prefix, _flag(with_dependents), _flag(remove_from_queue)]
    return Call("delete", [keys.job(job_id)], args, int_reply)
