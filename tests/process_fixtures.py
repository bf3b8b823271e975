"""Job functions for tests/test_process_behaviour.py (importable by work-horses)."""

from __future__ import annotations

from minirq import get_current_job
from minirq.store.record import text_or_none


def my_worker_record() -> list[str]:
    """The state and job that this job's worker's record shows while the job runs."""
    job = get_current_job()
    assert job is not None and job.worker_name is not None
    state, current = job.connection.hmget(job.keys.worker(job.worker_name), ["state", "job"])
    return [text_or_none(state) or "", text_or_none(current) or ""]
