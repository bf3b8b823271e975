"""The reaper: recovers jobs whose worker died, so that no job waits forever under a lease.

Workers and schedulers call it during their housekeeping; a short lock keeps one scanner
at a time. Lease deadlines are compared with Redis's clock inside the script.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

import redis

from ..defaults import DEFAULT_FAILURE_TTL_S, DEFAULT_MAX_ORPHANINGS, REAPER_LOCK_MS
from ..keys import Keys
from . import calls
from .jobs import queue_names
from .runner import runner_for

logger = logging.getLogger("minirq.worker")
# Keys already reported as broken, so that each is logged once per process.
_reported: set[str] = set()


def reap_expired_leases(
    connection: redis.Redis,
    keys: Keys,
    max_orphanings: int = DEFAULT_MAX_ORPHANINGS,
    limit: int = 1000,
    also: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """Recover jobs whose worker stopped renewing their lease, in every known queue and
    in the queues ``also`` names (the caller's own, known or not).

    Runs under a short lock so that only one process scans at a time. Returns the ids
    put back on their queues and the ids sent to failed.
    """
    names = list(dict.fromkeys([*queue_names(connection, keys), *also]))
    if not names:
        return [], []
    token = uuid.uuid4().hex
    if not connection.set(keys.reaper_lock, token, nx=True, px=REAPER_LOCK_MS):
        return [], []
    runner = runner_for(connection)
    try:
        reaped = runner.run(
            calls.reap(
                keys,
                queues=names,
                max_orphanings=max_orphanings,
                limit=limit,
                default_failure_ttl_s=DEFAULT_FAILURE_TTL_S,
            )
        )
    finally:
        runner.run(calls.unlock(keys, lock_key=keys.reaper_lock, token=token))
    for key in reaped.broken_keys:
        if key not in _reported:
            _reported.add(key)
            logger.error("%s is not of the type minirq expects; the reaper skips it", key)
    for job_id in reaped.requeued:
        logger.warning("job %s lost its worker; put back at the front of its queue", job_id)
    for job_id in reaped.failed:
        logger.error("job %s lost its worker too many times; sent to failed", job_id)
    return reaped.requeued, reaped.failed
