"""Running a job in the enqueuing process (``Queue(is_async=False)``), recorded by the
worker's recorder: the same calls, built in one place."""

from __future__ import annotations

import traceback

from . import recorder, store
from .callbacks import record_callback_error, run_failure_callback, run_success_callback
from .job import Job, JobStatus, new_token
from .outcome import Outcome
from .retry import requested_retry

# The retry plan of a job run in the enqueuing process: none.
RUN_ONCE = ("", 0)


def run_sync(job: Job, queue_name: str) -> Job:
    """Run ``job`` here now, record its outcome and return it, as RQ does: a job that
    raised comes back ``failed``, with the traceback in ``job.exc_info``. A job that asks
    for a retry (returning ``Retry(...)`` or a :class:`RetryJob`, or raising the latter)
    fails too, since a job runs once here."""
    record = job.record
    record.status = JobStatus.STARTED.value
    record.enqueued_ms = record.started_ms = record.created_ms
    record.worker = "sync"
    record.run_token = f"sync:{new_token()}"
    store.jobs.start_sync(job.connection, job.keys, job.id, queue_name, job.fields)
    runner = store.runner_for(job.connection)
    try:
        value = job.perform()
        request = requested_retry(value, record)
        if request is not None:
            raise request
    except Exception as exc:
        failed = Outcome(False, exc_type=type(exc).__name__, traceback=traceback.format_exc())
        # Sync mode runs a job once: no retry is planned, the failure is final.
        runner.run(recorder.failure_call(job.keys, job, queue_name, failed, retry=RUN_ONCE))
        callback_error = run_failure_callback(job, type(exc), exc, exc.__traceback__)
        if callback_error:
            record_callback_error(job.connection, job, callback_error)
        job.refresh()
        return job
    finished = Outcome(True, result=job._encode(value, "the result"))
    runner.run(recorder.finish_call(job.keys, job, queue_name, finished))
    callback_error = run_success_callback(job, value)
    if callback_error:
        record_callback_error(job.connection, job, callback_error)
    if job.result_ttl != 0:
        job.refresh()
    return job
