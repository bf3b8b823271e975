"""Fewer round trips for an executor that runs many jobs at once (the async worker): the
jobs for several free slots taken in one round trip, and the outcomes that ended together
recorded in one, the next fetch riding along. Each call stays its own atomic step, with
its own run token, exactly as when sent alone; part of :class:`~minirq.AsyncWorker`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from . import recorder, store
from .fetcher import Fetched, FetcherMixin
from .job import Job
from .queue import Queue
from .store import Call

logger = logging.getLogger("minirq.worker")

# Most jobs taken in one round trip for free slots.
FETCH_BATCH = 50


class RoundTripsMixin(FetcherMixin):
    name: str
    current_job: Job | None
    _free_slots: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Jobs fetched along with another for a free slot: leased, not yet submitted.
        self._prefetched: list[Fetched] = []
        # While outcomes that ended together are recorded: their calls, sent together.
        self._batch: list[tuple[Job, Call[int]]] | None = None

    def prefetched_jobs(self) -> list[Job]:
        """The jobs taken ahead whose leases heartbeats must renew."""
        return [job for job, _ in self._prefetched]

    def take_job(self) -> Fetched | None:
        """The next job for a free slot: with several slots free, as many jobs are taken
        in one round trip (each leased by a fetch of its own), the others kept for the
        next calls; they are leased, renewed by heartbeats and put back if unused."""
        if self._prefetched:
            return self._prefetched.pop(0)
        wanted = min(self._free_slots(), FETCH_BATCH)
        queues = self._fetchable_queues()
        if wanted < 2 or not queues:
            return super().take_job()
        calls = [self._fetch_call_for(queues) for _ in range(wanted)]
        taken: list[Fetched] = []
        for reply in store.runner_for(self.connection).run_many(calls):
            if isinstance(reply, Exception):
                raise reply
            fetched = self._job_from_reply(reply, queues)
            if fetched is not None and not self._failed_as_broken(*fetched):
                taken.append(fetched)
        self._prefetched = taken[1:]
        return taken[0] if taken else None

    def _fetch_call_for(self, queues: list[Queue]) -> Call[Any]:
        # A batch needs a token per fetch; the one kept for a resend is the last one's.
        # A batch whose reply is lost twice leaves its jobs leased to runs nobody holds:
        # the reaper puts them back once their leases run out.
        self._fetch_token = None
        return super()._fetch_call_for(queues)

    def _put_back_prefetched(self) -> None:
        # In reverse: each goes to the front, so they keep their order.
        for job, origin in reversed(self._prefetched):
            with contextlib.suppress(Exception):
                self._call_redis(
                    lambda job=job, origin=origin: self._requeue_interrupted(job, origin),
                    "putting a fetched job back",
                )
        self._prefetched = []

    @contextlib.contextmanager
    def recording_together(self) -> Iterator[None]:
        """Within the block, outcomes are recorded as usual but their calls are held;
        they are sent at its end in one round trip (with the next fetch)."""
        self._batch = []
        try:
            yield
        finally:
            batch, self._batch = self._batch, None
        if batch:
            self._call_redis(lambda: self._record_batch(batch), "recording results")

    def _record(self, call: Call[int]) -> int:
        if self._batch is None:
            return super()._record(call)
        # Sent with the others by _record_batch, which says what was not recorded.
        assert self.current_job is not None
        self._batch.append((self.current_job, call))
        return 1

    def _record_batch(self, batch: list[tuple[Job, Call[int]]]) -> None:
        runner = store.runner_for(self.connection)
        queues = self._fetchable_queues() if self._fetch_ahead else []
        fetch = not self.stop_requested and self._fetched_ahead is None and bool(queues)
        calls: list[Call[Any]] = [call for _, call in batch]
        if fetch:
            calls.append(self._fetch_call_for(queues))
        answers = runner.run_many(calls)
        if fetch:
            fetched = answers.pop()
            if not isinstance(fetched, Exception):
                taken = self._job_from_reply(fetched, queues)
                if taken is not None:
                    self._fetched_ahead = (taken,)
        for (job, call), answer in zip(batch, answers, strict=True):
            if isinstance(answer, Exception):
                logger.error("%s: job %s could not be recorded: %s", self.name, job.id, answer)
                continue
            finished = call.script != "fail"
            if not (finished and answer == -1 and job.result_ttl == 0):
                recorder.log_not_recorded(job, "finished" if finished else "failed", answer)
