"""RQ's exception names: in minirq's tree, and caught where minirq raises its own."""

from __future__ import annotations

import pytest
import redis

from minirq import Group, Queue, exceptions
from minirq.exceptions import (
    InvalidJobDependency,
    InvalidJobOperation,
    InvalidJobOperationError,
    MinirqError,
    NoSuchGroupError,
    NoSuchJobError,
    TimeoutFormatError,
)
from tests import fixtures

RQ_NAMES = [
    "NoSuchJobError", "NoSuchGroupError", "DeserializationError", "InvalidJobDependency",
    "DuplicateJobError", "InvalidJobOperationError", "InvalidJobOperation", "DequeueTimeout",
    "TimeoutFormatError", "AbandonedJobError", "SchedulerNotFound",
    "DuplicateSchedulerError", "StopRequested",
]  # fmt: skip


@pytest.mark.parametrize("name", RQ_NAMES)
def test_every_rq_error_name_is_a_minirq_error(name: str) -> None:
    assert issubclass(getattr(exceptions, name), MinirqError)


def test_control_flow_names_stay_base_exceptions() -> None:
    assert not issubclass(exceptions.JobTimeoutException, Exception)
    assert issubclass(exceptions.JobTimeoutException, exceptions.BaseTimeoutException)
    assert InvalidJobOperationError is InvalidJobOperation


def test_a_bad_timeout_raises_timeout_format_error(queue: Queue) -> None:
    with pytest.raises(TimeoutFormatError, match="job_timeout"):
        queue.enqueue(fixtures.add, 1, 2, job_timeout="soon")


def test_a_bad_dependency_raises_invalid_job_dependency(queue: Queue) -> None:
    with pytest.raises(InvalidJobDependency, match="depends_on"):
        queue.enqueue(fixtures.add, 1, 2, depends_on=5)


def test_a_missing_group_raises_no_such_group_error(connection: redis.Redis) -> None:
    with pytest.raises(NoSuchGroupError) as raised:
        Group.fetch("nope", connection=connection)
    assert isinstance(raised.value, NoSuchJobError)
