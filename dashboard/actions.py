"""What the dashboard's buttons do; each change of a job is one atomic minirq step."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast

import redis

from minirq import Job, JobStatus, store
from minirq.commands import send_shutdown_command, send_stop_job_command
from minirq.exceptions import InvalidJobError, InvalidJobOperation, NoSuchJobError
from minirq.job import validate_job_id
from minirq.registry import ScheduledJobRegistry
from minirq.store import calls

from .data import REGISTRIES, WRONG_TYPE, Source, queue_names
from .present import text
from .workers import read_workers

# Jobs moved or deleted per round trip by the bulk actions.
BATCH = 500
MAX_BULK_IDS = 1000
EMPTIABLE = ("queued", "scheduled", "deferred", "finished", "failed", "canceled")


class ActionError(Exception):
    """An action refused, with the HTTP status that says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def load_job(source: Source, job_id: str) -> Job:
    """The job ``job_id``; :class:`ActionError` 400 for a bad id, 404 if it is gone."""
    try:
        validate_job_id(job_id)
        return Job.fetch(job_id, source.connection, source.serializer, source.prefix)
    except InvalidJobError as exc:
        raise ActionError(400, str(exc)) from None
    except NoSuchJobError:
        # A key that exists but is no hash reads as no job: say what it is instead.
        if source.connection.exists(source.keys.job(job_id)):
            raise ActionError(409, f"job {job_id}: {WRONG_TYPE}") from None
        raise ActionError(404, f"no job with id {job_id!r}") from None
    except redis.ResponseError:
        raise ActionError(409, f"job {job_id}: {WRONG_TYPE}") from None


def requeue(source: Source, job_id: str) -> Job:
    job = load_job(source, job_id)
    try:
        return job.requeue()
    except InvalidJobOperation as exc:
        raise ActionError(409, str(exc)) from None


def cancel(source: Source, job_id: str) -> Job:
    job = load_job(source, job_id)
    try:
        source.queue(job.origin).cancel_job(job)
    except InvalidJobOperation as exc:
        raise ActionError(409, str(exc)) from None
    return job


def enqueue_now(source: Source, job_id: str) -> Job:
    """Move a scheduled job onto its queue now instead of at its due time."""
    job = load_job(source, job_id)
    if job.status != JobStatus.SCHEDULED:
        raise ActionError(
            409, f"job {job_id} is {job.status or 'gone'}; only scheduled jobs can be enqueued now"
        )
    registry = ScheduledJobRegistry(queue=source.queue(job.origin))
    try:
        # As the scheduler would: a job enqueued with at_front goes to the front.
        return registry.requeue(job, at_front=job.record.at_front)
    except InvalidJobOperation:
        raise ActionError(
            409, f"job {job_id} is no longer scheduled (the scheduler may have enqueued it)"
        ) from None


def delete(source: Source, job_id: str) -> Job:
    """Delete a job that is not running (a running job is stopped, not deleted)."""
    job = load_job(source, job_id)
    if job.status == JobStatus.STARTED:
        raise ActionError(
            409, f"job {job_id} is running; it can be deleted once it has finished or failed"
        )
    job.delete()
    return job


def stop(source: Source, job_id: str) -> Job:
    """Tell the worker running the job to stop it; the job ends ``stopped``."""
    job = load_job(source, job_id)
    try:
        send_stop_job_command(source.connection, job_id, prefix=source.prefix)
    except NoSuchJobError:
        raise ActionError(404, f"no job with id {job_id!r}") from None
    except InvalidJobOperation as exc:
        raise ActionError(409, str(exc)) from None
    return job


def shutdown_worker(source: Source, name: str) -> None:
    """Ask worker ``name`` to stop taking jobs and exit after its current one (warm)."""
    if name not in {w["name"] for w in read_workers(source)}:
        raise ActionError(404, f"no live worker named {name!r}")
    if not send_shutdown_command(source.connection, name, prefix=source.prefix):
        raise ActionError(
            409, f"worker {name} is not listening for commands (it may be stopping already)"
        )


ACTIONS: dict[str, Callable[[Source, str], Job]] = {
    "requeue": requeue,
    "delete": delete,
    "cancel": cancel,
    "enqueue-now": enqueue_now,
    "stop": stop,
}
# The actions a list of selected jobs may apply.
BULK_ACTIONS = ("requeue", "delete", "cancel", "enqueue-now")


def bulk(source: Source, action: str, ids: Sequence[Any]) -> dict[str, Any]:
    """Apply one action to many jobs; each job's outcome is reported, none stops the rest."""
    if action not in BULK_ACTIONS:
        raise ActionError(400, f"unknown action {action!r}; choose one of {sorted(BULK_ACTIONS)}")
    if not isinstance(ids, list | tuple) or not ids:
        raise ActionError(400, "give a non-empty list of job ids in 'ids'")
    if len(ids) > MAX_BULK_IDS:
        raise ActionError(400, f"at most {MAX_BULK_IDS} ids per request, got {len(ids)}")
    if not all(isinstance(i, str) for i in ids):
        raise ActionError(400, "every id in 'ids' must be a string")
    done: list[str] = []
    errors: dict[str, str] = {}
    for job_id in dict.fromkeys(ids):
        try:
            ACTIONS[action](source, job_id)
            done.append(job_id)
        except ActionError as exc:
            errors[job_id] = exc.message
    return {"action": action, "done": done, "errors": errors}


def require_queue(source: Source, name: str) -> None:
    if not source.connection.sismember(source.keys.queues, name):
        raise ActionError(404, f"no queue named {name!r}")


def empty(source: Source, queue: str, registry: str) -> int:
    """Delete every job of a queue in one state, in batches; returns how many."""
    require_queue(source, queue)
    if registry not in EMPTIABLE:
        raise ActionError(
            400,
            f"cannot empty {registry!r}: choose one of {', '.join(EMPTIABLE)} "
            "(running jobs are never deleted)"
            if registry in REGISTRIES
            else f"unknown registry {registry!r}; choose one of {', '.join(EMPTIABLE)}",
        )
    if registry == "queued":
        return source.queue(queue).empty()
    runner = store.runner_for(source.connection)
    total = 0
    while True:
        removed = runner.run(
            calls.empty_registry(source.keys, registry=registry, queue=queue, batch=BATCH)
        )
        total += removed
        if removed == 0:
            return total


def requeue_failed(source: Source, queue: str) -> int:
    """Requeue every failed job of ``queue``, a batch of scripts per round trip."""
    require_queue(source, queue)
    keys = source.keys
    failed_key = keys.registry("failed", queue)
    runner = store.runner_for(source.connection)
    # Bounded by the size at the start, so that jobs failing meanwhile cannot keep it going.
    rounds = -(-int(source.connection.zcard(failed_key)) // BATCH)
    moved = 0
    for _ in range(rounds):
        ids = [
            text(i) for i in cast(list[bytes], source.connection.zrange(failed_key, 0, BATCH - 1))
        ]
        if not ids:
            break
        replies = runner.run_many(
            [
                calls.requeue(
                    keys,
                    queue=queue,
                    registry="failed",
                    job_id=job_id,
                    at_front=False,
                    run_token="",
                    op_token=uuid.uuid4().hex,
                )
                for job_id in ids
            ]
        )
        moved += sum(1 for r in replies if r is True)
    return moved


def pause(source: Source, queue: str) -> None:
    """Make workers skip ``queue`` until it is resumed."""
    require_queue(source, queue)
    source.queue(queue).pause()


def resume(source: Source, queue: str) -> None:
    require_queue(source, queue)
    source.queue(queue).resume()


def requeue_all_failed(source: Source) -> int:
    return sum(requeue_failed(source, name) for name in queue_names(source))
