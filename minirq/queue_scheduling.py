"""Jobs enqueued to run later: ``enqueue_at``, ``enqueue_in`` and the step that writes a
scheduled job. Mixed into :class:`~minirq.Queue`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import store
from .exceptions import InvalidJobError
from .job import Job, JobStatus
from .options import check_unique, duplicate_error, explicit_call, pop_job_options
from .store import calls
from .store.calls import EnqueueReply
from .utils import delay_ms, due_ms_at

if TYPE_CHECKING:
    import redis

    from .keys import Keys


class QueueScheduling:
    """Scheduling jobs of one queue (mixed into :class:`~minirq.Queue`)."""

    name: str
    keys: Keys
    connection: redis.Redis
    is_async: bool
    create_job: Callable[..., Job]
    run_sync: Callable[[Job], Job]

    def enqueue_at(
        self, datetime: Any, f: Callable[..., Any] | str, *args: Any, **kwargs: Any
    ) -> Job:
        """Enqueue ``f(*args, **kwargs)`` to run at ``datetime``; job options as in
        :meth:`enqueue`.

        An aware datetime is honoured in its own zone; a naive one is local time, as
        ``datetime.now()`` gives. A time in the past runs as soon as a scheduler sees it.
        The job is saved with status ``scheduled`` in :attr:`scheduled_job_registry`; it
        never starts before its due time (on Redis's clock). Raises
        :class:`ConfigurationError` if ``datetime`` is not a datetime, and as
        :meth:`enqueue` for other bad input.
        """
        due = due_ms_at(datetime)
        options = pop_job_options(kwargs)
        args, kwargs = explicit_call(args, kwargs)
        return self.schedule_job(self.create_job(f, args, kwargs, options), due, options.at_front)

    def enqueue_in(
        self, time_delta: Any, f: Callable[..., Any] | str, *args: Any, **kwargs: Any
    ) -> Job:
        """Enqueue ``f(*args, **kwargs)`` to run after ``time_delta`` (a timedelta or
        seconds, counted on Redis's clock); as :meth:`enqueue_at` otherwise. Raises
        :class:`ConfigurationError` for a negative delay."""
        delay = delay_ms(time_delta, "time_delta")
        options = pop_job_options(kwargs)
        args, kwargs = explicit_call(args, kwargs)
        job = self.create_job(f, args, kwargs, options)
        return self.schedule_job(job, None, options.at_front, delay_ms=delay)

    def schedule_job(
        self,
        job: Job,
        due_ms: int | datetime | None,
        at_front: bool = False,
        *,
        delay_ms: int = 0,
        unique: bool = False,
    ) -> Job:
        """Write a job built by :meth:`create_job` to run at ``due_ms`` (epoch ms, or a
        datetime as in RQ's ``schedule_job(job, datetime)``), or ``delay_ms`` from now on
        Redis's clock when ``due_ms`` is ``None``. A live job with its id raises
        :class:`DuplicateJobError`, with or without ``unique=True`` (as in
        :meth:`enqueue_job`)."""
        if isinstance(due_ms, datetime):
            due_ms = due_ms_at(due_ms)
        if unique is not False:
            job.record.unique = check_unique(unique, job.id_chosen)
        call = self.schedule_call(job, due_ms, at_front, delay_ms=delay_ms)
        if not self.is_async:
            return self.run_sync(job)
        job.id_chosen = True  # from this send on, the id may name this job's own hash
        reply = store.runner_for(self.connection).run(call)
        if reply.refused:
            raise duplicate_error([job.id], [reply])
        return job

    def schedule_call(
        self, job: Job, due_ms: int | None, at_front: bool = False, *, delay_ms: int = 0
    ) -> store.Call[EnqueueReply]:
        """The call that schedules ``job`` (see :meth:`schedule_job`), not sent; raises
        :class:`InvalidJobError` for a job that cannot be scheduled."""
        if job.record.dependency_ids:
            raise InvalidJobError(
                "depends_on cannot be combined with enqueue_at or enqueue_in; enqueue the "
                "dependent with depends_on only, or schedule it from the parent"
            )
        job.record.status = JobStatus.SCHEDULED.value
        job.record.origin = self.name
        job.record.at_front = at_front
        return calls.schedule(
            self.keys,
            job_id=job.id,
            queue=self.name,
            due_ms=due_ms,
            delay_ms=delay_ms,
            ttl_s=job.ttl,
            op_token=job.op_token,
            id_chosen=job.id_chosen,
            fields=job.fields,
        )
