"""The recorder: the store calls that record what happened to one run of a job.

Shared by every worker and by nothing else; each call presents the run's token, so a
run that lost its lease (reaped, or another run of the same worker name) records nothing.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from .callables import not_allowed_reason
from .callbacks import CALLBACK_KINDS, stored_callback
from .commands import JOB_STOPPED
from .defaults import DEFAULT_FAILURE_TTL_S
from .job import Job, JobStatus
from .keys import Keys
from .outcome import Outcome
from .retry import job_retry, plan_repeat, plan_retry, retry_budget
from .store import Call, calls

if TYPE_CHECKING:
    from collections.abc import Sequence

logger = logging.getLogger("minirq.worker")

NOT_RECORDED = {
    0: "its lease had passed to another run",
    -1: "the job no longer exists",
}


def broken_job_reason(job: Job, allowed_modules: Sequence[str] | None = None) -> str | None:
    """Why a fetched job cannot be run, or ``None`` if it looks whole: fields that did
    not decode, a missing function, or a function (or callback) outside the allowlist.
    Imports nothing."""
    problem = job.record.runnable_problem()
    if problem is not None:
        return problem
    if not job.func_name:
        return "its stored data has no function name (the 'func' field is empty)"
    reason = not_allowed_reason(job.func_name, allowed_modules)
    if reason is not None:
        return reason
    for kind in CALLBACK_KINDS:
        try:
            stored = stored_callback(job.record, kind)
        except ValueError as exc:
            return str(exc)
        if stored is not None:
            reason = not_allowed_reason(stored[0], allowed_modules, f"{kind} callback")
            if reason is not None:
                return reason
    return None


def success_call(keys: Keys, job: Job, queue_name: str, outcome: Outcome) -> Call[int]:
    """The call that records a successful run: finished, or sent back by its Repeat."""
    plan = plan_repeat(job.record)
    if plan is not None:
        when, repeats_left = plan
        return calls.repeat(
            keys,
            queue=queue_name,
            job_id=job.id,
            run_token=job.run_token,
            result=outcome.result or b"",
            when=when,
            repeats_left=repeats_left,
        )
    return finish_call(keys, job, queue_name, outcome)


def finish_call(keys: Keys, job: Job, queue_name: str, outcome: Outcome) -> Call[int]:
    """The call that files a successful run as finished."""
    return calls.finish(
        keys,
        queue=queue_name,
        job_id=job.id,
        run_token=job.run_token,
        result_ttl_s=job.result_ttl,
        result=outcome.result or b"",
    )


def failure_call(
    keys: Keys, job: Job, queue_name: str, outcome: Outcome, retry: tuple[str, int] | None = None
) -> Call[int]:
    """The call that records a failed run: failed (or stopped) for good, or retried."""
    stopped = outcome.exc_type == JOB_STOPPED
    if retry is None:
        retry = ("", 0) if stopped else plan_retry(job.record, outcome.retry_job())
    settings = job_retry(job.record)
    return calls.fail(
        keys,
        queue=queue_name,
        job_id=job.id,
        run_token=job.run_token,
        traceback=outcome.traceback or "",
        failure_ttl_s=job.failure_ttl,
        retry=retry[0],
        retries_left=retry[1],
        status=JobStatus.STOPPED.value if stopped else JobStatus.FAILED.value,
        retry_at_front=settings is not None and settings.enqueue_at_front,
        retries_max=retry_budget(job.record, outcome.retry_job()) if retry[0] else 0,
    )


def broken_call(keys: Keys, job: Job, queue_name: str, problem: str) -> Call[int]:
    """The call that fails a job that cannot be run at all."""
    return calls.fail(
        keys,
        queue=queue_name,
        job_id=job.id,
        run_token=job.run_token,
        traceback=f"InvalidJobError: {problem}\n",
        failure_ttl_s=DEFAULT_FAILURE_TTL_S,
        retry="",
        retries_left=0,
        status=JobStatus.FAILED.value,
    )


def interrupted_call(keys: Keys, job: Job, queue_name: str) -> Call[bool]:
    """The call that puts a run cut short by a shutdown back at the front of its queue."""
    return calls.requeue(
        keys,
        queue=queue_name,
        registry="started",
        job_id=job.id,
        at_front=True,
        run_token=job.run_token,
        op_token=f"interrupted:{job.run_token}",
    )


def log_not_recorded(job: Job, what: str, answer: int) -> None:
    """One warning when a run's outcome was not recorded (2: recorded already, fine)."""
    reason = NOT_RECORDED.get(answer)
    if reason is not None:
        logger.warning("job %s %s, but %s; it was not recorded", job.id, what, reason)
