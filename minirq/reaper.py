"""The reaper: recovers jobs whose worker died, so that no job waits forever under a lease.

Workers and schedulers call it during their housekeeping; a short lock keeps one scanner
at a time.
"""

from __future__ import annotations

import logging
import uuid

import redis

from .defaults import DEFAULT_FAILURE_TTL_S, DEFAULT_MAX_ORPHANINGS, REAPER_LOCK_MS
from .keys import Keys
from .scripts import scripts_for
from .utils import decode, iso_utc, now_ms

logger = logging.getLogger("minirq.worker")


def reap_expired_leases(
    connection: redis.Redis,
    keys: Keys,
    max_orphanings: int = DEFAULT_MAX_ORPHANINGS,
    limit: int = 1000,
) -> tuple[list[str], list[str]]:
    """Recover jobs whose worker stopped renewing their lease.

    Runs under a short lock so that only one process scans at a time. Returns the ids
    put back on their queues and the ids sent to failed.
    """
    token = uuid.uuid4().hex
    if not connection.set(keys.reaper_lock, token, nx=True, px=REAPER_LOCK_MS):
        return [], []
    try:
        names = sorted(decode(n) or "" for n in connection.smembers(keys.queues))
        script_keys: list[str] = []
        for name in names:
            script_keys += [
                keys.registry("started", name),
                keys.queue(name),
                keys.registry("failed", name),
                keys.wake_channel(name),
            ]
        if not script_keys:
            return [], []
        now = now_ms()
        requeued, failed = scripts_for(connection).run(
            "reap",
            script_keys,
            [
                now,
                keys.job_prefix,
                max_orphanings,
                iso_utc(now),
                limit,
                DEFAULT_FAILURE_TTL_S,
                keys.prefix,
            ],
        )
    finally:
        # Release the lock only if it is still ours.
        if connection.get(keys.reaper_lock) == token.encode():
            connection.delete(keys.reaper_lock)
    requeued_ids = [decode(i) or "" for i in requeued]
    failed_ids = [decode(i) or "" for i in failed]
    for job_id in requeued_ids:
        logger.warning("job %s lost its worker; put back at the front of its queue", job_id)
    for job_id in failed_ids:
        logger.error("job %s lost its worker too many times; sent to failed", job_id)
    return requeued_ids, failed_ids
