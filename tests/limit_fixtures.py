"""Job functions for the limits tests, module-level so that worker processes import them.

Each job writes what it saw to Redis (the test server), so that the tests assert from
Redis-side records, never from timing: ``running`` is incremented when a job starts and
decremented when it ends, and each start appends the value it reached (its peak) and
the start time the fetch step recorded on Redis's clock.
"""

from __future__ import annotations

import time

from minirq import get_current_job
from minirq.job import Job

RUNNING = "test:limits:running"
PEAKS = "test:limits:peaks"
STARTS = "test:limits:starts"
HUNG = "test:limits:hung"


def _current() -> Job:
    job = get_current_job()
    assert job is not None
    return job


def hold_slot(seconds: float) -> int:
    """Count this job as running for ``seconds``; returns how many ran when it started."""
    job = _current()
    connection = job.connection
    running = int(connection.incr(RUNNING))
    with connection.pipeline(transaction=False) as pipe:
        pipe.rpush(PEAKS, running)
        pipe.rpush(STARTS, str(job.record.started_ms))
        pipe.execute()
    time.sleep(seconds)
    connection.decr(RUNNING)
    return running


def hang_on_first_run() -> str:
    """Hang (until the worker is killed) the first time; return at once once recovered."""
    job = _current()
    if job.orphaned_count == 0:
        job.connection.set(HUNG, job.id)
        time.sleep(120)
    return "recovered"
