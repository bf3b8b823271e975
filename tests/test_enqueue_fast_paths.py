"""The shortcuts of an enqueue without options write exactly what the general path
writes, and a plain function's name follows the function as it is now."""

from __future__ import annotations

import dataclasses
import types

import pytest
import redis

from minirq import InvalidFunctionError, Job, Queue
from minirq.callables import function_name
from minirq.options import NO_OPTIONS, JobOptions, prepare_data
from minirq.store.record import JobRecord, blank_record, encode_record
from tests import fixtures


def test_a_blank_record_reads_as_a_record_of_defaults() -> None:
    blank, full = blank_record(), JobRecord()
    assert blank == full
    for field in dataclasses.fields(JobRecord):
        assert getattr(blank, field.name) == getattr(full, field.name), field.name
    blank.extra["x"] = b"1"
    assert blank_record().extra == {} and blank_record().problems == {}


def test_a_blank_record_encodes_what_is_set_on_it_as_a_full_one_does() -> None:
    values = {
        "func": "m.f", "data": b"x", "origin": "q", "status": "queued", "created_ms": 5,
        "timeout_s": 180, "result_ttl_s": 500, "ttl_s": None, "instance": False,
        "dependency_ids": ("a", "b"), "description": "d",
    }  # fmt: skip
    blank = blank_record()
    for name, value in values.items():
        setattr(blank, name, value)
    assert encode_record(blank) == encode_record(JobRecord(**values))


def test_prepare_data_without_options_shares_no_options() -> None:
    data = prepare_data(fixtures.add, [1, 2], {"b": 3})
    assert data.options is NO_OPTIONS
    assert (data.args, data.kwargs) == ((1, 2), {"b": 3})
    assert prepare_data(fixtures.add, at_front=0).options is NO_OPTIONS  # equal to none
    given = prepare_data(fixtures.add, at_front=True, unique=False, description="d")
    assert given.options == JobOptions(at_front=True, description="d")


def test_a_job_without_options_is_stored_as_one_with_options_that_change_nothing(
    queue: Queue, connection: redis.Redis
) -> None:
    """NO_OPTIONS builds its record without the option checks; a job given options equal
    to the defaults takes the general path. Both hashes hold the same fields."""
    plain = queue.enqueue_many([prepare_data(fixtures.add, (1, 2))])[0]
    general = queue.enqueue_many([prepare_data(fixtures.add, (1, 2), at_front=0)])[0]
    assert prepare_data(fixtures.add, at_front=0).options is NO_OPTIONS
    spelled_out = queue.enqueue(fixtures.add, 1, 2, job_timeout=180, description=None)

    def stored(job: Job) -> dict[bytes, bytes]:
        varying = {b"op", b"created_ms", b"enqueued_ms"}
        return {k: v for k, v in connection.hgetall(job.key).items() if k not in varying}

    assert stored(plain) == stored(general) == stored(spelled_out)


def _renamed_copy(func: types.FunctionType, module: str) -> types.FunctionType:
    copy = types.FunctionType(func.__code__, func.__globals__, func.__name__)
    copy.__qualname__ = func.__qualname__
    copy.__module__ = module
    return copy


def test_a_function_s_name_follows_its_module_and_names() -> None:
    func = _renamed_copy(fixtures.add, "tests.fixtures")
    assert function_name(func) == ("tests.fixtures.add", None)
    func.__module__ = "tests.elsewhere"
    assert function_name(func) == ("tests.elsewhere.add", None)
    func.__qualname__ = "Helpers.add"
    assert function_name(func) == ("tests.elsewhere.Helpers.add", None)
    func.__module__ = "__main__"
    with pytest.raises(InvalidFunctionError, match="__main__"):
        function_name(func)


def test_a_function_s_name_follows_its_code() -> None:
    func = _renamed_copy(fixtures.add, "tests.fixtures")
    assert function_name(func) == ("tests.fixtures.add", None)

    def generator() -> types.GeneratorType:  # type: ignore[type-arg]
        yield 1

    func.__code__ = generator.__code__.replace(co_name="add")
    with pytest.raises(InvalidFunctionError, match="generator function"):
        function_name(func)


def test_functions_that_are_refused_are_refused_every_time(queue: Queue) -> None:
    nested = fixtures.nested_function_factory()
    for _ in range(2):
        with pytest.raises(InvalidFunctionError, match="inside another function"):
            queue.enqueue(nested)
    assert queue.count == 0
