"""The typed calls of the scheduler's scripts (moving due jobs, its lease, cron firings),
each mirroring its script's KEYS/ARGV header as :mod:`.calls` does for the job steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..keys import Keys
from .calls import int_reply, script_ttl
from .record import flat, text_or_none
from .runner import Call


def move_due(keys: Keys, *, queue: str, lease: str, now_ms: int | None, batch: int) -> Call[int]:
    script_keys = [
        keys.scheduler_lease,
        keys.registry("scheduled", queue),
        keys.queue(queue),
        keys.wake_channel(queue),
    ]
    args = [lease, "" if now_ms is None else now_ms, batch, keys.job_prefix]
    return Call("move_due", script_keys, args, int_reply)


def _optional_text(reply: Any) -> str | None:
    return text_or_none(reply) if reply else None


def scheduler_lease(keys: Keys, *, action: str, value: str, lease_ms: int) -> Call[str | None]:
    return Call(
        "scheduler_lease",
        [keys.scheduler_lease, keys.scheduler_fence],
        [action, value, lease_ms],
        _optional_text,
    )


def cron_fire(
    keys: Keys,
    *,
    lease: str,
    entry: str,
    expected_ms: int,
    following_ms: int,
    slot_ms: int | None,
    slot_ttl_ms: int,
    job_id: str,
    queue: str,
    ttl_s: int | None,
    now_ms: int | None,
    fields: Mapping[str, bytes],
) -> Call[int]:
    script_keys = [
        keys.scheduler_lease,
        keys.cron_entries,
        keys.cron_entry(entry),
        keys.cron_slot(entry, slot_ms if slot_ms is not None else 0),
        keys.job(job_id),
        keys.queue(queue),
        keys.queues,
        keys.wake_channel(queue),
    ]
    args = [
        lease,
        entry,
        expected_ms,
        following_ms,
        "" if slot_ms is None else slot_ms,
        slot_ttl_ms,
        job_id,
        queue,
        script_ttl(ttl_s),
        "" if now_ms is None else now_ms,
        *flat(fields),
    ]
    return Call("cron_fire", script_keys, args, int_reply)
