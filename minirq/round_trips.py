"""Fewer round trips for an executor that runs many jobs at once (the async worker): the
outcomes that ended together recorded in one round trip, the next fetch riding along in
the script call of the last one. (The
jobs for several free slots are taken in one round trip by the loop's ``take_jobs``.)
Each call stays its own atomic step, with its own run token, exactly as when sent alone;
part of :class:`~minirq.AsyncWorker`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from . import recorder, store
from .fetcher import FetcherMixin
from .job import Job
from .store import Call

logger = logging.getLogger("minirq.worker")


class RoundTripsMixin(FetcherMixin):
    name: str
    current_job: Job | None
    _free_slots: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # While outcomes that ended together are recorded: their calls, sent together.
        self._batch: list[tuple[Job, Call[int]]] | None = None

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
            # The last recording and the fetch in one script call (see store.chain).
            calls[-1] = store.chain(calls[-1], self._fetch_call_for(queues))
        answers = runner.run_many(calls)
        if fetch:
            chained = answers.pop()
            recorded, fetched = (chained, chained) if isinstance(chained, Exception) else chained
            answers.append(recorded)
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
