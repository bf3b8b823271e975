"""What a job can do once stored: its dependencies and dependents, progress, and the
operations (requeue, cancel, delete) that are each one store step; part of
:class:`~minirq.job.Job`."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

import redis

from . import store
from .callbacks import stored_callback
from .defaults import DEFAULT_CALLBACK_TIMEOUT_S
from .exceptions import InvalidJobError, InvalidJobOperation
from .job_attributes import STATUS_REGISTRY, JobStatus
from .keys import Keys
from .serializers import Serializer
from .store import calls
from .store.record import JobRecord, encode_record
from .utils import import_attribute

if TYPE_CHECKING:
    from .job import Job


def new_token() -> str:
    """A token naming one operation or one run of one job: 48 random bits, as 8
    URL-safe characters. A token is only ever compared with another of the same job, so
    this is plenty; every job hash keeps two, and 16 hex characters each pushed a
    finished job's hash into a larger allocation."""
    return base64.urlsafe_b64encode(os.urandom(6)).decode()


def new_job_id() -> str:
    """A new job id: a random (version 4) UUID as 32 hex digits, as ``uuid.uuid4().hex``
    gives, without building a ``UUID`` object (which costs three times as much)."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


class JobOperationsMixin:
    id: str
    connection: redis.Redis
    keys: Keys
    record: JobRecord
    serializer: Serializer
    meta: dict[str, Any]
    _meta: dict[str, Any] | None
    id_chosen: bool
    encode_meta: Any
    origin: str
    failure_ttl: int
    get_status: Any
    get_meta: Any
    save_meta: Any
    refresh: Any
    fetch_many: Any
    _op_token: str | None

    @property
    def op_token(self) -> str:
        """Names this job's enqueue: a second run of the same call after a lost reply is
        recognised by it. Drawn on first use (a job read back or fetched never needs one)."""
        if self._op_token is None:
            self._op_token = new_token()
        return self._op_token

    # -- dependencies, progress, callbacks ----------------------------------------------

    @property
    def dependency_ids(self) -> list[str]:
        """Ids of the jobs this job depends on (``depends_on``)."""
        return list(self.record.dependency_ids)

    @property
    def allow_dependency_failures(self) -> bool:
        return self.record.allow_failure

    @property
    def dependency(self) -> Job | None:
        """The first job this job depends on, if it still exists."""
        jobs = self.fetch_dependencies()
        return jobs[0] if jobs else None

    def fetch_dependencies(self) -> list[Job]:
        """The jobs this job depends on that still exist."""
        jobs = type(self).fetch_many(
            self.dependency_ids, self.connection, self.serializer, self.keys.prefix
        )
        return [job for job in jobs if job is not None]

    def dependencies_are_met(self, parent_job: Job | None = None) -> bool:
        """Whether every job this one depends on is done: finished (also failed or
        stopped, with ``allow_failure``) or gone. ``parent_job`` is accepted for RQ's
        signature; the state is read from Redis."""
        done = {JobStatus.FINISHED}
        if self.allow_dependency_failures:
            done |= {JobStatus.FAILED, JobStatus.STOPPED}
        parents = type(self).fetch_many(
            self.dependency_ids, self.connection, self.serializer, self.keys.prefix
        )
        return all(parent is None or parent.get_status(refresh=False) in done for parent in parents)

    @property
    def dependent_ids(self) -> list[str]:
        """Ids of the jobs deferred on this job that it has not released yet (one
        canceled without ``remove_from_dependencies`` included, as in RQ)."""
        members = self.connection.smembers(self.keys.dependents(self.id))
        return sorted(store.jobs.ids(members))

    def set_progress(self, fraction: float, message: str | None = None) -> None:
        """Record how far the running job is (0.0 to 1.0), visible from outside at once.

        Stored in :attr:`meta` as ``progress`` and ``progress_message``. Raises
        :class:`InvalidJobOperation` for a fraction outside 0..1 or not a number.
        """
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, int | float)
            or not 0.0 <= fraction <= 1.0
        ):
            raise InvalidJobOperation(
                f"progress must be a number from 0.0 to 1.0, not {fraction!r}"
            )
        if message is not None and not isinstance(message, str):
            raise InvalidJobOperation(f"progress message must be text, not {message!r}")
        self.meta["progress"] = float(fraction)
        if message is None:
            self.meta.pop("progress_message", None)
        else:
            self.meta["progress_message"] = message
        self.save_meta()

    @property
    def progress(self) -> tuple[float, str | None] | None:
        """``(fraction, message)`` as last saved by :meth:`set_progress`, else ``None``."""
        meta = self.get_meta()
        if "progress" not in meta:
            return None
        return float(meta["progress"]), meta.get("progress_message")

    @property
    def success_callback(self) -> Callable[..., Any] | None:
        """The function of the job's ``on_success`` callback (imported), or ``None``."""
        return self._callback_function("on_success")

    @property
    def failure_callback(self) -> Callable[..., Any] | None:
        return self._callback_function("on_failure")

    @property
    def stopped_callback(self) -> Callable[..., Any] | None:
        return self._callback_function("on_stopped")

    def _callback_function(self, kind: str) -> Callable[..., Any] | None:
        stored = stored_callback(self.record, kind)
        return None if stored is None else import_attribute(stored[0])

    @property
    def success_callback_timeout(self) -> int:
        """Seconds the ``on_success`` callback may run (the default without one)."""
        return self._callback_timeout("on_success")

    @property
    def failure_callback_timeout(self) -> int:
        return self._callback_timeout("on_failure")

    @property
    def stopped_callback_timeout(self) -> int:
        return self._callback_timeout("on_stopped")

    def _callback_timeout(self, kind: str) -> int:
        stored = stored_callback(self.record, kind)
        return DEFAULT_CALLBACK_TIMEOUT_S if stored is None else stored[1]

    @property
    def callback_exc(self) -> str | None:
        """The traceback of a callback or exception handler that failed on this job."""
        return self.record.callback_exc

    @property
    def group_id(self) -> str | None:
        return self.record.group_id

    # -- operations --------------------------------------------------------------------

    def requeue(self, at_front: bool = False) -> Self:
        """Put a failed, stopped or canceled job back on its queue.

        Raises :class:`InvalidJobOperation` for a job in any other state.
        """
        status = self.get_status()
        if status not in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            raise InvalidJobOperation(
                f"job {self.id} is {status or 'gone'}; only failed, stopped or canceled "
                "jobs can be requeued"
            )
        registry = STATUS_REGISTRY[status]
        moved = store.runner_for(self.connection).run(
            calls.requeue(
                self.keys,
                queue=self.origin,
                registry=registry,
                job_id=self.id,
                at_front=at_front,
                run_token="",
                op_token=new_token(),
            )
        )
        if not moved:
            raise InvalidJobOperation(f"job {self.id} is no longer in the {registry} registry")
        self.refresh()
        return self

    def save(self) -> None:
        """Write the job to Redis.

        A job not stored yet (built by :meth:`Job.create`) is stored whole, with status
        ``created`` and in no queue, until :meth:`Queue.enqueue_job` enqueues it. For a
        stored job this writes what a caller may change: ``meta``, ``description``, the
        timeout and the TTLs. Its state changes only through the steps that change it
        (enqueue, a run, cancel, requeue), so where RQ's ``save`` can overwrite what a
        worker recorded meanwhile, this one cannot.

        Raises :class:`InvalidJobError`, writing nothing, for a job with no function (one
        made by ``Job(id)`` rather than :meth:`Job.create` or :meth:`Job.fetch`).
        """
        if not self.record.func:
            raise InvalidJobError(
                f"job {self.id} has no function to store: build it with Job.create(func, ...) "
                "or load it with Job.fetch(id)"
            )
        if self._meta is not None:
            self.record.meta = self.encode_meta(self._meta)
        self.id_chosen = True  # from this send on, the id may name this job's own hash
        store.runner_for(self.connection).run(
            calls.save(self.keys, job_id=self.id, fields=encode_record(self.record))
        )

    def cancel(
        self,
        enqueue_dependents: bool = False,
        remove_from_dependencies: bool = False,
        *,
        pipeline: redis.client.Pipeline | None = None,
    ) -> None:
        """Cancel a queued, scheduled or deferred job: move it to the canceled registry.

        Its dependents stay deferred unless ``enqueue_dependents`` (as in RQ). A deferred
        job stays among its parents' :attr:`dependent_ids` unless
        ``remove_from_dependencies`` (as in RQ); a parent never enqueues a canceled job.
        Raises :class:`InvalidJobOperation` if the job is running or done.

        With ``pipeline`` (a redis-py pipeline of the job's connection) the cancel joins
        it and happens when you execute it, as an enqueue does; its reply there is 1, or 0
        for a job that could not be canceled (nothing is raised).
        """
        if not isinstance(enqueue_dependents, bool):
            raise InvalidJobOperation(
                f"enqueue_dependents must be True or False, not {type(enqueue_dependents).__name__}"
                "; give a pipeline as pipeline= (RQ's first argument is minirq's keyword)"
            )
        call = calls.cancel(
            self.keys,
            queue=self.origin,
            job_id=self.id,
            ttl_s=self.failure_ttl,
            enqueue_dependents=enqueue_dependents,
            op_token=new_token(),
            remove_from_dependencies=remove_from_dependencies,
        )
        if pipeline is not None:
            store.runner_for(self.connection).join(pipeline, [call])
            return
        done = store.runner_for(self.connection).run(call)
        if not done:
            raise InvalidJobOperation(
                f"job {self.id} is {self.get_status() or 'gone'}; only queued, scheduled or "
                "deferred jobs can be canceled"
            )
        self.refresh()

    def delete(self, remove_from_queue: bool = True, delete_dependents: bool = False) -> None:
        """Delete the job's hash and take its id out of its queue and every registry.

        Jobs that depend on it stay deferred (as in RQ); ``delete_dependents`` deletes
        them too, with their own dependents, in the same step.
        """
        store.jobs.delete(
            self.connection,
            self.keys,
            self.id,
            with_dependents=delete_dependents,
            remove_from_queue=remove_from_queue,
        )
