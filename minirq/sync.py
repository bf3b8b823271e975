"""Running a job in the enqueuing process (``Queue(is_async=False)``), recorded through
the same store steps as a worker's run."""

from __future__ import annotations

import traceback

from . import store
from .callbacks import record_callback_error, run_failure_callback, run_success_callback
from .job import Job, JobStatus, new_token
from .store import calls


def run_sync(job: Job, queue_name: str) -> Job:
    """Run ``job`` here now and record its outcome; an exception it raises is recorded
    on it and raised again."""
    record = job.record
    record.status = JobStatus.STARTED.value
    record.enqueued_ms = record.started_ms = record.created_ms
    record.worker = "sync"
    record.run_token = f"sync:{new_token()}"
    store.jobs.start_sync(job.connection, job.keys, job.id, queue_name, job.fields)
    runner = store.runner_for(job.connection)
    try:
        value = job.perform()
    except Exception as exc:
        runner.run(
            calls.fail(
                job.keys,
                queue=queue_name,
                job_id=job.id,
                run_token=record.run_token,
                traceback=traceback.format_exc(),
                failure_ttl_s=job.failure_ttl,
                retry="",
                retries_left=0,
                status=JobStatus.FAILED.value,
            )
        )
        callback_error = run_failure_callback(job, type(exc), exc, exc.__traceback__)
        if callback_error:
            record_callback_error(job.connection, job, callback_error)
        job.refresh()
        raise
    runner.run(
        calls.finish(
            job.keys,
            queue=queue_name,
            job_id=job.id,
            run_token=record.run_token,
            result_ttl_s=job.result_ttl,
            result=job._encode(value, "the result"),
        )
    )
    callback_error = run_success_callback(job, value)
    if callback_error:
        record_callback_error(job.connection, job, callback_error)
    if job.result_ttl != 0:
        job.refresh()
    return job
