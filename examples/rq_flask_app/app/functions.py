"""The work the queue does, away from the web request."""

import os
import time

from minirq import get_current_job

WORK_SECONDS = float(os.getenv("WORK_SECONDS", "2"))


def slow_echo(payload):
    """Pretend to work for a while, then report the payload with the job's times."""
    job = get_current_job()
    time.sleep(WORK_SECONDS)
    return {
        "job_id": job.id,
        "enqueued_at": job.enqueued_at.isoformat(),
        "started_at": job.started_at.isoformat(),
        "input": payload,
    }
