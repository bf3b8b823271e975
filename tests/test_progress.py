"""Progress reported from inside a running job, visible from outside at once."""

from __future__ import annotations

import pytest
import redis

from minirq import InvalidJobOperation, Job, JobStatus, Queue, Worker
from tests import feature_fixtures as ff
from tests.fixtures import add


def test_progress_from_a_forked_job(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(ff.report_progress, 4)
    Worker([queue], connection=connection).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert job.progress == (1.0, "step 4 of 4")
    assert Job.fetch(job.id, connection=connection).meta["progress"] == 1.0


def test_progress_visible_while_running(
    connection: redis.Redis, queue: Queue, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    job = queue.enqueue(ff.progress_then_wait, 30)
    worker = ff.start_worker(minirq_command, subprocess_env, "default")
    try:
        assert ff.wait_until(lambda: job.progress, what="progress") == (0.25, "a quarter")
        assert job.get_status() == JobStatus.STARTED
    finally:
        ff.stop_process(worker)


@pytest.mark.parametrize("fraction", [-0.1, 1.5, "half", True, float("nan")])
def test_bad_progress_is_refused(connection: redis.Redis, queue: Queue, fraction: object) -> None:
    job = queue.enqueue(add, 1, 2)
    with pytest.raises(InvalidJobOperation, match=r"0\.0 to 1\.0"):
        job.set_progress(fraction)  # type: ignore[arg-type]
    assert job.progress is None
