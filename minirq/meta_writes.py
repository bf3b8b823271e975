"""Meta written by a running job (``save_meta``, ``set_progress``): best effort while
Redis is away.

Progress is a report, not part of the job's work: a write that finds Redis unreachable
keeps the value (the latest one wins), a background thread writes it once Redis answers,
and a value still unwritten when the job ends travels with its outcome, for the worker to
write when Redis is back. Outside a running job a write raises as any other would.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import redis

from . import store
from .keys import Keys

logger = logging.getLogger("minirq.worker")

_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
# Retries of an unwritten value start this far apart and back off to the longest.
_FIRST_RETRY_S = 0.1
_LONGEST_RETRY_S = 2.0


@dataclass
class _Unwritten:
    connection: redis.Redis
    keys: Keys
    job_id: str
    data: bytes


_lock = threading.Lock()
_unwritten: _Unwritten | None = None
_retrier: threading.Thread | None = None


def save_running_meta(connection: redis.Redis, keys: Keys, job_id: str, data: bytes) -> None:
    """Write the running job's meta now, or keep it for later if Redis is away."""
    global _unwritten
    with _lock:
        _unwritten = _Unwritten(connection, keys, job_id, data)
        if _write_unwritten():
            return
    logger.warning("job %s: Redis unreachable; its meta will be written when it is back", job_id)
    _start_retrier()


def take_unwritten(job_id: str) -> bytes | None:
    """The meta of ``job_id`` not yet written (the job has ended), and stop retrying."""
    global _unwritten
    with _lock:
        pending, _unwritten = _unwritten, None
    if pending is None or pending.job_id != job_id:
        return None
    return pending.data


def _write_unwritten() -> bool:
    """Write the kept value (the caller holds the lock); whether nothing is left."""
    global _unwritten
    pending = _unwritten
    if pending is None:
        return True
    try:
        store.jobs.save_field(
            pending.connection, pending.keys, pending.job_id, "meta", pending.data
        )
    except _REDIS_ERRORS:
        return False
    _unwritten = None
    return True


def _start_retrier() -> None:
    global _retrier
    with _lock:
        if _retrier is not None and _retrier.is_alive():
            return
        _retrier = threading.Thread(target=_retry_until_written, name="minirq-meta", daemon=True)
        _retrier.start()


def _retry_until_written() -> None:
    delay = _FIRST_RETRY_S
    while True:
        time.sleep(delay)
        with _lock:
            if _write_unwritten():
                return
        delay = min(delay * 2, _LONGEST_RETRY_S)


__all__ = ["save_running_meta", "take_unwritten"]
