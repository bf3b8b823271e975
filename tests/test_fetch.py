from __future__ import annotations

import pytest
import redis

from minirq import Job, Queue, SimpleWorker, Worker
from minirq.worker import BaseWorker
from tests import fixtures


@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker])
def test_running_job_sees_its_own_run(
    worker_class: type[BaseWorker], queue: Queue, connection: redis.Redis
) -> None:
    job = queue.enqueue(fixtures.describe_current_run)
    worker = worker_class([queue], connection=connection)
    worker.work(burst=True)
    seen = job.return_value()
    stored = Job.fetch(job.id, connection=connection)
    assert seen["status"] == "started"
    assert seen["worker"] == worker.name
    assert seen["started_at"] == stored.started_at
    assert seen["attempts"] == 1
