"""Job dependencies: a job that waits, deferred, until the jobs it depends on are done.

``queue.enqueue(f, depends_on=parent)`` takes a :class:`~minirq.job.Job`, an id, a list
of them, or a :class:`Dependency`. The parents are checked in the same Lua step that saves
the job (``scripts/enqueue_checked.lua``): with every parent finished it is queued at once,
else it is saved as ``deferred`` in its queue's deferred registry. The step that finishes
the last parent (``finish.lua``, or ``fail.lua`` with ``allow_failure``) enqueues it, also
across queues. A parent that no longer exists counts as done (it finished and was deleted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .exceptions import DuplicateJobError, InvalidJobError
from .job import Job, validate_job_id
from .keys import REGISTRY_KINDS
from .scripts import scripts_for
from .utils import decode, now_ms

if TYPE_CHECKING:
    from .queue import Queue


@dataclass(frozen=True, init=False)
class Dependency:
    """The jobs a job waits for, and how.

    ``allow_failure``: also go on when a parent fails or is stopped.
    ``enqueue_at_front``: once released, push the job at the front of its queue.
    Raises :class:`InvalidJobError` for an empty list or anything but jobs and ids.
    """

    job_ids: tuple[str, ...]
    allow_failure: bool
    enqueue_at_front: bool

    def __init__(
        self,
        jobs: Job | str | Iterable[Job | str],
        allow_failure: bool = False,
        enqueue_at_front: bool = False,
    ) -> None:
        items: list[Any] = [jobs] if isinstance(jobs, Job | str) else _as_list(jobs)
        if not items:
            raise InvalidJobError("Dependency(jobs=...) needs at least one job or job id")
        ids: list[str] = []
        for item in items:
            job_id = item.id if isinstance(item, Job) else item
            if not isinstance(job_id, str):
                raise InvalidJobError(
                    f"depends_on takes jobs or job ids, not {type(item).__name__}"
                )
            validate_job_id(job_id)
            if job_id not in ids:
                ids.append(job_id)
        object.__setattr__(self, "job_ids", tuple(ids))
        object.__setattr__(self, "allow_failure", bool(allow_failure))
        object.__setattr__(self, "enqueue_at_front", bool(enqueue_at_front))


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, bytes | dict) or not isinstance(value, Iterable):
        raise InvalidJobError(
            f"depends_on takes a job, a job id, a list of them or a Dependency, "
            f"not {type(value).__name__}"
        )
    return list(value)


def to_dependency(depends_on: Any) -> Dependency | None:
    """The :class:`Dependency` for a ``depends_on`` value; ``None`` for none or ``[]``."""
    if depends_on is None or isinstance(depends_on, Dependency):
        return depends_on
    if not isinstance(depends_on, Job | str) and not _as_list(depends_on):
        return None
    return Dependency(depends_on)


def dependency_fields(dependency: Dependency, job_id: str | None) -> dict[str, str]:
    """The job hash fields that record ``dependency``."""
    if job_id is not None and job_id in dependency.job_ids:
        raise InvalidJobError(f"job {job_id} cannot depend on itself")
    fields = {"dependency_ids": ",".join(dependency.job_ids)}
    if dependency.allow_failure:
        fields["allow_failure"] = "1"
    if dependency.enqueue_at_front:
        fields["enqueue_at_front"] = "1"
    return fields


def needs_checked_enqueue(job: Job) -> bool:
    """Whether ``job`` must be enqueued by ``enqueue_checked.lua`` (unique or dependent)."""
    fields = job._fields
    return "dependency_ids" in fields or "unique" in fields


def run_checked_enqueue(
    queue: Queue, job: Job, at_front: bool, flat_fields: list[Any], client: Any = None
) -> Any:
    """Run ``enqueue_checked.lua`` for ``job``; without a pipeline, apply its answer."""
    keys = queue.keys
    parent_ids = job.dependency_ids
    script_keys = [
        job.key,
        queue.key,
        keys.queues,
        keys.wake_channel(queue.name),
        keys.registry("deferred", queue.name),
        keys.dependencies(job.id),
    ]
    for parent_id in parent_ids:
        script_keys += [keys.job(parent_id), keys.dependents(parent_id)]
    result = scripts_for(queue.connection).run(
        "enqueue_checked",
        keys=script_keys,
        args=[
            job.id,
            queue.name,
            "1" if at_front else "0",
            job.ttl or 0,
            "1" if job.replaces_existing else "0",
            "1" if "unique" in job._fields else "0",
            now_ms(),
            "1" if job.allow_dependency_failures else "0",
            len(parent_ids),
            *parent_ids,
            *flat_fields,
        ],
        client=client,
    )
    if client is None:
        apply_enqueue_result(job, result)
    return result


def apply_enqueue_result(job: Job, result: Any) -> None:
    """Update ``job`` from what ``enqueue_checked.lua`` answered.

    Raises :class:`DuplicateJobError` if the job was refused as a duplicate.
    """
    code, status = int(result[0]), decode(result[1])
    if code == 0:
        raise DuplicateJobError(
            f"job {job.id} is already {status}: unique=True refuses a second enqueue while "
            "a job with that id is queued, scheduled, deferred or running"
        )
    if code == 2:
        job._fields["status"] = b"deferred"
        job._fields.pop("enqueued_ms", None)


def delete_with_dependents(job: Job) -> None:
    """Delete ``job`` and every job that depends on it, directly or not, in one MULTI."""
    connection, keys = job.connection, job.keys
    ids: list[str] = [job.id]
    seen = {job.id}
    index = 0
    while index < len(ids):
        for member in connection.smembers(keys.dependents(ids[index])):
            child = decode(member) or ""
            if child not in seen:
                seen.add(child)
                ids.append(child)
        index += 1
    with connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hget(keys.job(job_id), "origin")
        origins = [decode(o) for o in pipe.execute()]
    with connection.pipeline(transaction=True) as pipe:
        for job_id, origin in zip(ids, origins, strict=True):
            if origin:
                pipe.lrem(keys.queue(origin), 0, job_id)
                for kind in REGISTRY_KINDS:
                    pipe.zrem(keys.registry(kind, origin), job_id)
            pipe.delete(keys.job(job_id), keys.dependents(job_id), keys.dependencies(job_id))
        pipe.execute()
