"""The fetcher: takes the next job under a lease, one run token per fetch (kept until a
reply comes back, so a fetch sent again after a lost reply answers the same job), and
lets the next fetch ride in the round trip that records an outcome; part of
:class:`~minirq.base_worker.BaseWorker`."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import redis

from . import recorder, store
from .callables import is_job_id
from .job import Job, new_token
from .outages import REDIS_ERRORS
from .presence import WorkerState
from .queue import Queue
from .store import Call, calls
from .store.record import field_name, text_or_none

logger = logging.getLogger("minirq.worker")

Fetched = tuple[Job, Queue]
# Absent from a job's hash when the job was enqueued without a result_ttl.
_RESULT_TTL_FIELD = field_name("result_ttl_s").encode()


class FetcherMixin:
    @property
    def stop_requested(self) -> bool:
        raise NotImplementedError

    connection: redis.Redis
    keys: Any
    name: str
    lease_s: float
    allowed_modules: tuple[str, ...] | None
    _fetch_ahead: bool
    _fetched_ahead: tuple[Fetched | None] | None
    _fetch_token: str | None
    _fetch_tokens: list[str] | None
    _reported_keys: set[str]
    _call_redis: Any
    _fetchable_queues: Any
    _fail_broken: Any
    _requeue_interrupted: Any
    _submit: Any
    running_jobs: Any
    took_from: Any
    job_class: type[Job]
    default_result_ttl: int | None
    #: When a job held back by its limit may start (``time.monotonic()``), from the last
    #: fetch; ``None`` when none was held back. An idle worker wakes then at the latest.
    _limit_wait_until: float | None = None
    #: Queue name -> its default limit as stored, read with the paused queues.
    _queue_limit_texts: Mapping[str, str] = MappingProxyType({})
    #: Whether the job handed over last came with the recording of the one before (the
    #: worker goes from job to job) rather than after a wait or a fetch of its own.
    _took_ahead = False

    def take_job(self) -> Fetched | None:
        """Take the next job to run; a job whose stored data is broken fails right here."""
        while True:
            fetched = self._send_fetch()
            if fetched is None or not self._failed_as_broken(*fetched):
                return fetched

    def _failed_as_broken(self, job: Job, queue: Queue) -> bool:
        """Fail ``job`` if it cannot (or may not) be run; returns whether it did."""
        problem = recorder.broken_job_reason(job, self.allowed_modules)
        if problem is None:
            return False
        logger.error("%s: job %s failed: %s", queue.name, job.id, problem)
        self._fail_broken(job, queue, problem)
        return True

    def _send_fetch(self) -> Fetched | None:
        queues = self._fetchable_queues()
        if not queues:
            return None
        return self._job_from_reply(
            store.runner_for(self.connection).run(self._fetch_call_for(queues)), queues
        )

    def _fetch_call_for(self, queues: list[Queue]) -> Call[calls.Fetched]:
        """The fetch call for ``queues``, under the token of the fetch under way: a token
        left by a fetch that got no answer may have leased a job, so it is sent as a
        resend, which looks for that job first."""
        first = self._fetch_token is None
        if self._fetch_token is None:
            self._fetch_token = new_token()
        call = self._fetch_call_with(queues, self._fetch_token, show_if_empty=True)
        return call if first else call.resent()

    def _fetch_call_with(
        self, queues: list[Queue], run_token: str, show_if_empty: bool
    ) -> Call[calls.Fetched]:
        # What the worker's record shows if the queues are empty: the fetch writes it in
        # the same step, so that the record never lags behind the work.
        running = self.running_jobs()
        return calls.fetch(
            self.keys,
            queues=[q.name for q in queues],
            lease_ms=int(self.lease_s * 1000),
            worker=self.name,
            run_token=run_token,
            state_if_empty=(WorkerState.BUSY if running else WorkerState.IDLE)
            if show_if_empty
            else "",
            job_if_empty=running[0].id if running else "",
            queue_limits=self._queue_limit_texts,
        )

    def take_jobs(self, count: int) -> list[Fetched]:
        """Take up to ``count`` jobs in one round trip: ``count`` fetch steps, each
        leasing one job under its own run token, as :meth:`take_job` does. Jobs whose
        stored data is broken fail here. The tokens are kept until a reply comes back, so
        that the steps sent again after a lost reply answer the jobs the first ones took."""
        queues = self._fetchable_queues()
        if not queues or count < 1:
            return []
        first = self._fetch_tokens is None
        if self._fetch_tokens is None or len(self._fetch_tokens) != count:
            self._fetch_tokens = [new_token() for _ in range(count)]
        batch = [
            # Only the first step writes the record when it finds the queues empty: a
            # later one finding them empty must not show idle a job the first one took.
            self._fetch_call_with(queues, token, show_if_empty=i == 0)
            for i, token in enumerate(self._fetch_tokens)
        ]
        if not first:
            batch = [call.resent() for call in batch]
        replies = store.runner_for(self.connection).run_many(batch)
        self._fetch_tokens = None
        taken: list[Fetched] = []
        error: Exception | None = None
        for reply in replies:
            if isinstance(reply, Exception):
                error = error or reply
                continue
            fetched = self._job_from_reply(reply, queues)
            if fetched is not None and not self._failed_as_broken(*fetched):
                taken.append(fetched)
        if error is not None and not taken:
            raise error
        return taken

    def _job_from_reply(self, reply: calls.Fetched, queues: list[Queue]) -> Fetched | None:
        """The job a fetch call took from ``queues``, if any."""
        self._fetch_token = None
        self._limit_wait_until = (
            None if reply.limit_wait_ms < 0 else time.monotonic() + reply.limit_wait_ms / 1000
        )
        for dropped_id in reply.dropped:
            text = text_or_none(dropped_id)
            if text is not None and is_job_id(text):
                logger.warning(
                    "job %s was queued but its data is gone (expired or deleted); skipped", text
                )
            else:
                logger.warning("%r was queued but is not a job id; skipped", dropped_id)
        self._report_broken_keys(reply.broken_keys)
        if not reply.index:
            return None
        queue = queues[reply.index - 1]
        # The lease is renewed in the started registry of the job's origin, so a hash that
        # lost its origin field must still name the queue it came from.
        reply.fields.setdefault(b"origin", queue.name.encode())
        job = self.job_class.from_fields(
            text_or_none(reply.job_id) or "",
            reply.fields,
            self.connection,
            queue.serializer,
            self.keys.prefix,
        )
        if self.default_result_ttl is not None and _RESULT_TTL_FIELD not in reply.fields:
            job.record.result_ttl_s = self.default_result_ttl
        self.took_from(queue)
        return job, queue

    def _report_broken_keys(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key not in self._reported_keys:
                self._reported_keys.add(key)
                logger.error(
                    "%s: %s is not of the type minirq expects, or holds a value it cannot "
                    "read; skipped",
                    self.name,
                    key,
                )

    def _fetched_ahead_or_now(self) -> Fetched | None:
        """The job fetched along with the last outcome, else one fetched now."""
        if self._fetched_ahead is not None:
            (fetched,), self._fetched_ahead = self._fetched_ahead, None
            if fetched is None or not self._call_redis(
                lambda: self._failed_as_broken(*fetched), "recording a failure"
            ):
                self._took_ahead = fetched is not None
                return fetched
        self._took_ahead = False
        taken: Fetched | None = self._call_redis(self.take_job, "fetching a job", until_stop=True)
        return taken

    def _jobs_ahead_or_now(self, want: int) -> list[Fetched]:
        """Up to ``want`` jobs: the one fetched along with the last outcome, else as
        many as wanted in one round trip (an executor with free slots takes them in one
        step each, all sent at once)."""
        jobs: list[Fetched] = []
        if self._fetched_ahead is not None or want == 1:
            fetched = self._fetched_ahead_or_now()
            if fetched is None:
                return jobs
            jobs.append(fetched)
        if len(jobs) < want:
            more = want - len(jobs)
            jobs += self._call_redis(lambda: self.take_jobs(more), "fetching jobs", until_stop=True)
        return jobs

    def _hand_over(self, fetched: Fetched, rest: list[Fetched]) -> None:
        """Hand a job to the executor, ``rest`` being the jobs of its batch still to
        hand over: if the executor fails, they go back at the front of their queues (the
        reaper recovers any that cannot); the ride-along fetch ends either way."""
        try:
            self._submit(*fetched)
        except BaseException:
            for job, queue in rest:
                try:
                    self._call_redis(
                        lambda job=job, queue=queue: self._requeue_interrupted(job, queue),
                        "putting a fetched job back",
                    )
                except Exception:
                    logger.error("%s: job %s stays leased; the reaper will recover it",
                                 self.name, job.id)  # fmt: skip
            raise
        finally:
            self._fetch_ahead = False

    def _put_back_fetched_ahead(self) -> None:
        """Put a job fetched for a next round that will not come back at the front."""
        if self._fetched_ahead is None:
            return
        (fetched,), self._fetched_ahead = self._fetched_ahead, None
        if fetched is not None:
            job, queue = fetched
            try:
                self._call_redis(
                    lambda: self._requeue_interrupted(job, queue), "putting a fetched job back"
                )
            except REDIS_ERRORS:
                logger.error(
                    "%s: job %s stays leased; the reaper will recover it", self.name, job.id
                )

    def _record(self, call: Call[int]) -> int:
        """Send the call that records an outcome, and the next fetch with it when the
        loop wants another job: one script call running both steps, each as it runs
        alone (see :func:`~minirq.store.runner.chain`)."""
        runner = store.runner_for(self.connection)
        queues = self._fetchable_queues() if self._fetch_ahead else []
        if not queues or self.stop_requested or self._fetched_ahead is not None:
            return runner.run(call)
        recorded, fetched = runner.run(store.chain(call, self._fetch_call_for(queues)))
        if not isinstance(fetched, Exception):
            taken = self._job_from_reply(fetched, queues)
            # Only a job taken is kept: finding the queues empty, the loop looks again
            # itself before it waits for work.
            if taken is not None:
                self._fetched_ahead = (taken,)
        if isinstance(recorded, Exception):
            raise recorded
        return int(recorded)
