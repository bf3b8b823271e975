"""One RQ job, as read from RQ's Redis, turned into the job ``import-rq`` writes.

:func:`convert` never raises: a job that cannot be carried over exactly comes back as a
:class:`Refusal` whose reason a person can act on, and stays in RQ. A function that
cannot be imported here is not a reason: the workers may have it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .callables import is_job_id
from .callbacks import Callback, set_callbacks
from .defaults import DEFAULT_JOB_TIMEOUT_S, JOB_ID_MAX_LENGTH
from .exceptions import MinirqError
from .retry import Repeat, Retry, set_retry_options
from .rq_payload import RQPayloadError, convert_call, convert_meta
from .serializers import Serializer
from .store.import_calls import ImportedJob, RQRaw
from .store.record import JobRecord, encode_record
from .store.rq_record import RQ_STATUSES, RQJob, decode_rq_job, failure_text

# RQ's place -> the statuses RQ gives a job there, and what minirq writes for each.
PLACE_STATUSES: dict[str, dict[str | None, str]] = {
    "queued": {"queued": "queued", "created": "queued", None: "queued"},
    "scheduled": {"scheduled": "scheduled", "queued": "scheduled"},
    "deferred": {"deferred": "deferred"},
    "failed": {"failed": "failed", "stopped": "stopped"},
}
NO_TRACEBACK = "failed in RQ; RQ kept no traceback"


@dataclass(frozen=True)
class Place:
    """Where RQ keeps an id: a queue's list or one of its registries."""

    queue: str
    state: str  # queued, scheduled, deferred or failed
    key: str

    @property
    def is_list(self) -> bool:
        return self.state == "queued"


@dataclass(frozen=True)
class Refusal:
    """A job left in RQ, and why."""

    place: Place
    job_id: str
    reason: str


@dataclass(frozen=True)
class Converted:
    """A job ready for the import scripts, with what its deferred parents are in RQ."""

    job: ImportedJob
    rq_job: RQJob


def _score_ms(score: float) -> str:
    if math.isinf(score):
        return "+inf"
    return str(int(score * 1000))


def _retry(record: JobRecord, rq_job: RQJob) -> None:
    left = rq_job.retries_left
    if left is not None and left > 0:
        budget = left + max(0, rq_job.number_of_retries or 0)
        set_retry_options(record, Retry(budget, rq_job.retry_intervals or 0), None)
        record.retries_left = left
    if rq_job.repeats_left is not None and rq_job.repeats_left > 0:
        set_retry_options(record, None, Repeat(rq_job.repeats_left, rq_job.repeat_intervals or 0))


def _record(
    rq_job: RQJob, place: Place, status: str, serializer: Serializer, raw: RQRaw
) -> JobRecord:
    call = convert_call(rq_job.data, serializer)
    record = JobRecord(
        func=call.func_name,
        data=call.data,
        instance=call.has_instance,
        origin=place.queue,
        status=status,
        created_ms=rq_job.created_ms,
        enqueued_ms=rq_job.enqueued_ms if status == "queued" else None,
        timeout_s=rq_job.timeout_s if rq_job.timeout_s is not None else DEFAULT_JOB_TIMEOUT_S,
        description=rq_job.description,
        meta=convert_meta(rq_job.meta, serializer),
        dependency_ids=rq_job.dependency_ids if status == "deferred" else (),
        allow_failure=rq_job.allow_dependency_failures,
        enqueue_at_front=rq_job.enqueue_at_front,
    )
    if status == "queued" and record.enqueued_ms is None:
        record.enqueued_ms = rq_job.created_ms
    if rq_job.result_ttl_s is not None:
        record.result_ttl_s = rq_job.result_ttl_s
    if rq_job.failure_ttl_s is not None:
        record.failure_ttl_s = rq_job.failure_ttl_s
    if rq_job.ttl_s is not None and rq_job.ttl_s > 0:
        record.ttl_s = rq_job.ttl_s
    if status in ("failed", "stopped"):
        record.started_ms, record.ended_ms = rq_job.started_ms, rq_job.ended_ms
        record.exc = failure_text(raw.results) or rq_job.exc_info or NO_TRACEBACK
    _retry(record, rq_job)
    set_callbacks(
        record,
        {kind: Callback(name, timeout) for kind, (name, timeout) in rq_job.callbacks.items()},
    )
    return record


def _reason(rq_job: RQJob, place: Place, raw: RQRaw) -> tuple[str | None, str]:
    """Why ``rq_job`` cannot be imported (``None`` if it can), and the status to write."""
    if not raw.fields:
        return "RQ has no hash for it (it expired or was deleted)", ""
    if not is_job_id(rq_job.job_id):
        return (
            f"its id is not one minirq takes (1 to {JOB_ID_MAX_LENGTH} of A-Z a-z 0-9 _ . : -)",
            "",
        )
    if rq_job.problem is not None:
        return f"its RQ hash is broken: {rq_job.problem}", ""
    if not rq_job.created_at:
        return "its RQ hash has no created_at, which tells one RQ job of this id from another", ""
    if rq_job.status is not None and rq_job.status not in RQ_STATUSES:
        return f"its status {rq_job.status[:40]!r} is not one RQ 2.12 has", ""
    status = PLACE_STATUSES[place.state].get(rq_job.status)
    if status is None:
        return f"its status is {rq_job.status!r}, yet RQ keeps it in its {place.state} set", ""
    if rq_job.has_webhooks:
        return "it uses RQ's webhooks, which minirq does not have", ""
    return None, status


def convert(
    job_id: str, place: Place, score: float, raw: RQRaw, serializer: Serializer
) -> Converted | Refusal:
    """The job to write for RQ's ``job_id`` found in ``place`` (with its score there)."""
    rq_job = decode_rq_job(job_id, raw.fields)
    reason, status = _reason(rq_job, place, raw)
    if reason is not None:
        return Refusal(place, job_id, reason)
    try:
        record = _record(rq_job, place, status, serializer, raw)
    except RQPayloadError as exc:
        return Refusal(place, job_id, str(exc))
    except MinirqError as exc:
        return Refusal(place, job_id, f"its options do not carry over: {exc}")
    job = ImportedJob(
        job_id=job_id,
        queue=place.queue,
        status=status,
        score=_score_ms(score) if status in ("scheduled", "failed", "stopped") else "",
        pttl_ms=raw.pttl_ms if raw.pttl_ms > 0 else 0,
        created_at=rq_job.created_at,
        rq_place=place.key,
        rq_place_is_list=place.is_list,
        allow_failure=rq_job.allow_dependency_failures,
        parents=[],
        fields=encode_record(record),
    )
    return Converted(job, rq_job)


__all__ = ["PLACE_STATUSES", "Converted", "Place", "Refusal", "convert"]
