"""Job functions of ``bench/limits.py`` (importable by its worker processes)."""

from __future__ import annotations

import time

from minirq import get_current_job

RUNNING = "bench:limits:running"
PEAKS = "bench:limits:peaks"
STARTS = "bench:limits:starts"


def hold(seconds: float) -> None:
    """Count this job as running for ``seconds``, and record its start on Redis's clock."""
    job = get_current_job()
    assert job is not None
    connection = job.connection
    with connection.pipeline(transaction=False) as pipe:
        pipe.incr(RUNNING)
        pipe.rpush(STARTS, str(job.record.started_ms))
        running, _ = pipe.execute()
    connection.rpush(PEAKS, running)
    if seconds:
        time.sleep(seconds)
    connection.decr(RUNNING)
