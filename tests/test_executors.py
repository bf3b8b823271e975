"""One loop, several executors: the workers differ only in how they run jobs, and an
executor with a capacity above one plugs into the loop without touching it."""

from __future__ import annotations

import queue as queues
import threading
import time

import redis

from minirq import JobStatus, Queue, SimpleWorker, Worker, WorkerPool
from minirq.base_worker import BaseWorker
from minirq.horse import run_job
from minirq.job import Job
from minirq.outcome import Outcome
from tests import process_fixtures


class ThreadExecutorWorker(BaseWorker):
    """Runs up to three jobs at once in threads: only the executor methods are its own."""

    capacity = 3
    fetches_ahead = False

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._running: dict[str, Job] = {}
        self._ended: queues.Queue[tuple[Job, Queue, Outcome, float]] = queues.Queue()

    def running_jobs(self) -> list[Job]:
        return list(self._running.values())

    def _free_slots(self) -> int:
        return self.capacity - len(self._running)

    def _executor_busy(self) -> bool:
        return bool(self._running)

    def _submit(self, job: Job, queue: Queue) -> None:
        self._running[job.id] = job
        started = time.monotonic()

        def run() -> None:
            self._ended.put((job, queue, run_job(job, self.max_result_bytes), started))

        threading.Thread(target=run, daemon=True).start()

    def _wait_for_event(self, watch_queues: bool) -> None:
        try:
            job, queue, outcome, started = self._ended.get(timeout=0.2)
        except queues.Empty:
            return
        del self._running[job.id]
        self._record_outcome(job, queue, outcome, int((time.monotonic() - started) * 1000))


def test_the_workers_share_one_loop_and_differ_in_capacity(connection: redis.Redis) -> None:
    for cls in (Worker, SimpleWorker, WorkerPool, ThreadExecutorWorker):
        assert cls.work is BaseWorker.work
    assert Worker("q", connection=connection).capacity == 1
    assert SimpleWorker("q", connection=connection).capacity == 1
    assert WorkerPool("q", connection=connection, size=4).capacity == 4


def test_an_executor_of_capacity_three_runs_three_jobs_at_once(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(process_fixtures.meet, n) for n in range(6)]
    ThreadExecutorWorker([queue], connection=connection).work(burst=True)
    # Each job waits at a barrier of three: one at a time, the first would fail there.
    assert [job.get_status() for job in jobs] == [JobStatus.FINISHED] * 6
    assert [job.return_value() for job in jobs] == list(range(6))
