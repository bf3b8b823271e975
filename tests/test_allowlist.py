"""Workers limited to an allowlist of modules (issue 11, item 9): a job or a callback
whose function is outside fails with "not allowed" and is never imported."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import redis

from minirq import ConfigurationError, Job, JobStatus, Queue, SimpleWorker, Worker, WorkerPool
from minirq.callables import not_allowed_reason
from minirq.worker import BaseWorker
from tests import fixtures

WORKERS = [Worker, SimpleWorker, WorkerPool]


@pytest.fixture
def mark(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "imported"
    monkeypatch.setenv("MINIRQ_PROBE_MARK", str(path))
    sys.modules.pop("tests.allowlist_probe", None)
    return path


@pytest.mark.parametrize("worker_class", WORKERS)
def test_a_job_outside_the_allowlist_fails_and_is_never_imported(
    connection: redis.Redis, queue: Queue, worker_class: type[BaseWorker], mark: Path
) -> None:
    outside = queue.enqueue("tests.allowlist_probe.run")
    inside = queue.enqueue(fixtures.add, 1, 2)
    worker_class([queue], connection=connection, allowed_modules=["tests.fixtures"]).work(
        burst=True
    )
    assert inside.get_status() == JobStatus.FINISHED
    failed = Job.fetch(outside.id, connection=connection)
    assert failed.get_status() == JobStatus.FAILED
    assert "not allowed" in (failed.exc_info or "")
    assert not mark.exists(), "the job's module was imported"


@pytest.mark.parametrize("worker_class", WORKERS)
@pytest.mark.parametrize("kind", ["on_success", "on_failure", "on_stopped"])
def test_a_callback_outside_the_allowlist_fails_its_job_unimported(
    connection: redis.Redis,
    queue: Queue,
    worker_class: type[BaseWorker],
    kind: str,
    mark: Path,
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2, **{kind: "tests.allowlist_probe.run"})
    worker_class([queue], connection=connection, allowed_modules=["tests.fixtures"]).work(
        burst=True
    )
    failed = Job.fetch(job.id, connection=connection)
    assert failed.get_status() == JobStatus.FAILED
    assert f"{kind} callback 'tests.allowlist_probe.run' is not allowed" in (failed.exc_info or "")
    assert not mark.exists()


def test_modules_below_an_allowed_one_are_allowed(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)
    SimpleWorker([queue], connection=connection, allowed_modules=["tests"]).work(burst=True)
    assert job.get_status() == JobStatus.FINISHED
    assert not_allowed_reason("myapp.jobs.x.f", ["myapp.jobs"]) is None
    assert not_allowed_reason("myapp.jobsx.f", ["myapp.jobs"]) is not None
    assert not_allowed_reason("myapp.f", ["myapp.jobs"]) is not None
    assert not_allowed_reason("os.system", ["tasks"]) is not None


def test_a_method_of_an_instance_cannot_be_checked_so_it_is_refused(
    connection: redis.Redis, queue: Queue
) -> None:
    job = queue.enqueue(fixtures.Calculator(1).plus, 2)
    SimpleWorker([queue], connection=connection, allowed_modules=["tests"]).work(burst=True)
    assert job.get_status() == JobStatus.FAILED
    assert "not allowed" in (Job.fetch(job.id, connection=connection).exc_info or "")


def test_an_allowlist_entry_must_be_a_module_name(connection: redis.Redis, queue: Queue) -> None:
    with pytest.raises(ConfigurationError, match="not a module name"):
        SimpleWorker([queue], connection=connection, allowed_modules=["my app"])
