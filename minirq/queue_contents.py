"""What a queue holds: its queued ids and jobs, their positions, emptying it. Mixed into
:class:`~minirq.Queue`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import store
from .exceptions import InvalidJobOperation
from .job import Job, JobStatus
from .store import calls

if TYPE_CHECKING:
    import redis

    from .keys import Keys
    from .serializers import Serializer

_EMPTY_BATCH = 1000


class QueueContents:
    """The queued jobs of one queue (mixed into :class:`~minirq.Queue`)."""

    name: str
    key: str
    keys: Keys
    connection: redis.Redis
    serializer: Serializer

    @property
    def count(self) -> int:
        """How many jobs are queued (not counting scheduled, deferred or running ones)."""
        return int(self.connection.llen(self.key))

    def __len__(self) -> int:
        return self.count

    def is_empty(self) -> bool:
        """Whether no job is queued."""
        return self.count == 0

    def get_job_ids(self, offset: int = 0, length: int = -1) -> list[str]:
        end = -1 if length < 0 else offset + length - 1
        return store.jobs.ids(self.connection.lrange(self.key, offset, end))

    @property
    def job_ids(self) -> list[str]:
        return self.get_job_ids()

    def get_jobs(self, offset: int = 0, length: int = -1) -> list[Job]:
        jobs = Job.fetch_many(
            self.get_job_ids(offset, length), self.connection, self.serializer, self.keys.prefix
        )
        return [job for job in jobs if job is not None]

    @property
    def jobs(self) -> list[Job]:
        return self.get_jobs()

    def fetch_job(self, job_id: str) -> Job | None:
        """The job with that id if it belongs to this queue, else ``None``."""
        job = Job.fetch_many([job_id], self.connection, self.serializer, self.keys.prefix)[0]
        if job is None or job.origin != self.name:
            return None
        return job

    def get_job_position(self, job_or_id: Job | str) -> int | None:
        """The 0-based place of a job in this queue (0 is taken next), or ``None`` when
        it is not queued here."""
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        position = self.connection.lpos(self.key, job_id)
        return None if position is None else int(position)  # type: ignore[arg-type]

    def remove(self, job_or_id: Job | str) -> int:
        """Take a queued job off this queue; returns 1, or 0 when it was not queued here.

        Where RQ leaves the job's hash in no registry at all, minirq files it as
        canceled (in :attr:`canceled_job_registry`), so it stays visible and can be
        requeued: no job is lost."""
        job_id = job_or_id.id if isinstance(job_or_id, Job) else job_or_id
        job = self.fetch_job(job_id)
        if job is None or job.record.status != JobStatus.QUEUED.value:
            return 0
        try:
            job.cancel()
        except InvalidJobOperation:
            return 0
        return 1

    def empty(self) -> int:
        """Delete every queued job of this queue; returns how many were deleted."""
        total = 0
        runner = store.runner_for(self.connection)
        while True:
            deleted = runner.run(calls.empty(self.keys, queue=self.name, batch=_EMPTY_BATCH))
            total += deleted
            if deleted == 0:
                return total
