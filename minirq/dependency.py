"""Job dependencies: a job that waits, deferred, until the jobs it depends on are done.

``queue.enqueue(f, depends_on=parent)`` takes a :class:`~minirq.job.Job`, an id, a list
of them, or a :class:`Dependency`. The parents are checked in the same Lua step that saves
the job (``scripts/enqueue.lua``): with every parent finished it is queued at once, else
it is saved as ``deferred`` in its queue's deferred registry. The step that finishes the
last parent (``finish.lua``, or ``fail.lua`` with ``allow_failure``) enqueues it, also
across queues. A parent that no longer exists counts as done (it finished and was deleted).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .callables import validate_job_id
from .exceptions import InvalidJobDependency

if TYPE_CHECKING:
    from .store.record import JobRecord


def _job_id_of(item: Any) -> str:
    """The id of a job given as a job (anything with a text ``id``) or as its id."""
    job_id = item if isinstance(item, str) else getattr(item, "id", None)
    if not isinstance(job_id, str) or isinstance(item, bytes):
        raise InvalidJobDependency(f"depends_on takes jobs or job ids, not {type(item).__name__}")
    return validate_job_id(job_id)


def _is_single(value: Any) -> bool:
    return isinstance(value, str) or isinstance(getattr(value, "id", None), str)


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
        jobs: Any,
        allow_failure: bool = False,
        enqueue_at_front: bool = False,
    ) -> None:
        items: list[Any] = [jobs] if _is_single(jobs) else _as_list(jobs)
        if not items:
            raise InvalidJobDependency("Dependency(jobs=...) needs at least one job or job id")
        ids: list[str] = []
        for item in items:
            job_id = _job_id_of(item)
            if job_id not in ids:
                ids.append(job_id)
        object.__setattr__(self, "job_ids", tuple(ids))
        object.__setattr__(self, "allow_failure", bool(allow_failure))
        object.__setattr__(self, "enqueue_at_front", bool(enqueue_at_front))


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, bytes | dict) or not isinstance(value, Iterable):
        raise InvalidJobDependency(
            f"depends_on takes a job, a job id, a list of them or a Dependency, "
            f"not {type(value).__name__}"
        )
    return list(value)


def to_dependency(depends_on: Any) -> Dependency | None:
    """The :class:`Dependency` for a ``depends_on`` value; ``None`` for none or ``[]``.

    A list may mix jobs, ids and :class:`Dependency` objects, as in RQ: the job waits
    for all of them, and ``allow_failure`` or ``enqueue_at_front`` set on any of the
    Dependency objects applies to the whole."""
    if depends_on is None or isinstance(depends_on, Dependency):
        return depends_on
    if _is_single(depends_on):
        return Dependency(depends_on)
    items = _as_list(depends_on)
    if not items:
        return None
    parts = [item for item in items if isinstance(item, Dependency)]
    if not parts:
        return Dependency(items)
    jobs: list[Any] = []
    for item in items:
        jobs += item.job_ids if isinstance(item, Dependency) else [item]
    return Dependency(
        jobs,
        allow_failure=any(part.allow_failure for part in parts),
        enqueue_at_front=any(part.enqueue_at_front for part in parts),
    )


def set_dependency(record: JobRecord, dependency: Dependency, job_id: str | None) -> None:
    """Record ``dependency`` on a job being built."""
    if job_id is not None and job_id in dependency.job_ids:
        raise InvalidJobDependency(f"job {job_id} cannot depend on itself")
    record.dependency_ids = dependency.job_ids
    record.allow_failure = dependency.allow_failure
    record.enqueue_at_front = dependency.enqueue_at_front
