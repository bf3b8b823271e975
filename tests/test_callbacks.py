"""Job callbacks and worker exception handlers, run by real workers."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from minirq import (
    Callback,
    ConfigurationError,
    InvalidFunctionError,
    JobStatus,
    Queue,
    SimpleWorker,
    Worker,
)
from tests import feature_fixtures as ff
from tests.fixtures import Calculator, CallableThing, add, div_by_zero, nested_function_factory


def calls(connection: redis.Redis, job_id: str) -> list[Any]:
    return [json.loads(x) for x in connection.lrange(f"test:callbacks:{job_id}", 0, -1)]


@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker])
def test_on_success_and_on_failure_get_rq_signatures(
    connection: redis.Redis, queue: Queue, worker_class: type[Worker]
) -> None:
    ok = queue.enqueue(add, 1, 2, on_success=ff.record_success, on_failure=ff.record_failure)
    bad = queue.enqueue(
        div_by_zero, on_success=ff.record_success, on_failure=Callback(ff.record_failure)
    )
    worker_class([queue], connection=connection).work(burst=True)
    assert calls(connection, ok.id) == [["success", 3]]
    assert calls(connection, bad.id) == [
        ["failure", "ZeroDivisionError", "division by zero", "traceback"]
    ]
    assert ok.get_status() == JobStatus.FINISHED
    assert bad.get_status() == JobStatus.FAILED


def test_dotted_path_callback(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(add, 2, 2, on_success="tests.feature_fixtures.record_success")
    Worker([queue], connection=connection).work(burst=True)
    assert calls(connection, job.id) == [["success", 4]]


def test_failing_callback_is_recorded_and_worker_goes_on(
    connection: redis.Redis, queue: Queue
) -> None:
    first = queue.enqueue(add, 1, 1, on_success=ff.broken_callback)
    failing = queue.enqueue(div_by_zero, on_failure=ff.broken_callback)
    after = queue.enqueue(add, 2, 2)
    Worker([queue], connection=connection).work(burst=True)
    first.refresh()
    assert first.get_status() == JobStatus.FINISHED
    assert first.return_value() == 2
    assert first.callback_exc is not None
    assert "on_success callback" in first.callback_exc
    assert "RuntimeError: callback broke" in first.callback_exc
    failing.refresh()
    assert failing.get_status() == JobStatus.FAILED
    assert failing.callback_exc is not None and "on_failure callback" in failing.callback_exc
    assert after.get_status() == JobStatus.FINISHED


def test_callback_timeout(connection: redis.Redis, queue: Queue) -> None:
    job = queue.enqueue(add, 1, 1, on_success=Callback(ff.slow_callback, timeout=1))
    Worker([queue], connection=connection).work(burst=True)
    job.refresh()
    assert job.get_status() == JobStatus.FINISHED
    assert job.callback_exc is not None and "JobTimeoutException" in job.callback_exc


def test_callbacks_are_validated_at_enqueue(connection: redis.Redis, queue: Queue) -> None:
    with pytest.raises(InvalidFunctionError, match="lambda"):
        queue.enqueue(add, 1, 2, on_success=lambda *a: None)
    with pytest.raises(InvalidFunctionError, match="inside another function"):
        queue.enqueue(add, 1, 2, on_failure=nested_function_factory())
    with pytest.raises(InvalidFunctionError, match="module-level function"):
        queue.enqueue(add, 1, 2, on_stopped=Calculator(1).plus)
    with pytest.raises(ConfigurationError, match="callback timeout"):
        Callback(ff.record_success, timeout="soon")
    with pytest.raises(InvalidFunctionError, match="not a dotted path"):
        queue.enqueue(add, 1, 2, on_success="nodots")
    assert connection.keys("*") == []


def test_exception_handlers_chain_stops_at_false(connection: redis.Redis, queue: Queue) -> None:
    queue.enqueue(div_by_zero)
    queue.enqueue(add, 1, 1)
    worker = Worker(
        [queue],
        connection=connection,
        exception_handlers=[
            ff.handler_broken,
            "tests.feature_fixtures.handler_log",
            ff.handler_stop_chain,
            ff.handler_never_reached,
        ],
    )
    worker.work(burst=True)
    assert connection.lrange("test:handlers", 0, -1) == [
        b"log:ZeroDivisionError:division by zero",
        b"stop",
    ]
    failed = queue.failed_job_registry.get_jobs()[0]
    assert failed.callback_exc is not None and "handler broke" in failed.callback_exc


def test_bad_exception_handler_is_refused(connection: redis.Redis, queue: Queue) -> None:
    with pytest.raises(ConfigurationError, match="cannot import exception handler"):
        Worker([queue], connection=connection, exception_handlers=["tests.nope.handler"])
    with pytest.raises(ConfigurationError, match="not callable"):
        Worker([queue], connection=connection, exception_handlers=[42])  # type: ignore[list-item]


def test_callbacks_run_in_sync_mode() -> None:
    import fakeredis

    connection = fakeredis.FakeRedis()
    queue = Queue(is_async=False, connection=connection)
    ok = queue.enqueue(add, 1, 2, on_success=ff.record_success)
    assert calls(connection, ok.id) == [["success", 3]]
    assert queue.enqueue(div_by_zero, job_id="bad", on_failure=ff.record_failure).is_failed
    assert calls(connection, "bad") == [
        ["failure", "ZeroDivisionError", "division by zero", "traceback"]
    ]


def test_cli_exception_handler_option(
    connection: redis.Redis, queue: Queue, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    import subprocess

    queue.enqueue(div_by_zero)
    base = [*minirq_command, "worker", "--burst"]
    done = subprocess.run(
        [
            *base,
            "--exception-handler",
            "tests.feature_fixtures.handler_stop_chain",
            "--exception-handler",
            "tests.feature_fixtures.handler_never_reached",
        ],
        env=subprocess_env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert connection.lrange("test:handlers", 0, -1) == [b"stop"]
    bad = subprocess.run(
        [*base, "--exception-handler", "tests.nope.handler"],
        env=subprocess_env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 1
    assert "cannot import exception handler 'tests.nope.handler'" in bad.stderr


@pytest.mark.parametrize("worker_class", [Worker, SimpleWorker])
def test_callbacks_see_the_outcome_status(
    connection: redis.Redis, queue: Queue, worker_class: type[Worker]
) -> None:
    ok = queue.enqueue(add, 1, 2, on_success=ff.record_status_on_success)
    bad = queue.enqueue(div_by_zero, on_failure=ff.record_status_on_failure)
    worker_class([queue], connection=connection).work(burst=True)
    assert calls(connection, ok.id) == [["status", "finished"]]
    assert calls(connection, bad.id) == [["status", "failed"]]
    assert ok.get_status() == JobStatus.FINISHED
    assert bad.get_status() == JobStatus.FAILED


def test_callbacks_must_be_functions(connection: redis.Redis, queue: Queue) -> None:
    for not_a_function in (ff.CallbackHolder.on_class, ff.CallbackHolder, CallableThing()):
        with pytest.raises(InvalidFunctionError, match="module-level function"):
            queue.enqueue(add, 1, 2, on_success=not_a_function)
        with pytest.raises(InvalidFunctionError, match="module-level function"):
            Callback(not_a_function)
    assert connection.keys("*") == []
    job = queue.enqueue(add, 1, 2, on_success=ff.CallbackHolder.on_static)
    other = queue.enqueue(add, 2, 2, on_success=print)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert calls(connection, job.id) == [["static", 3]]
    assert other.get_status() == JobStatus.FINISHED and other.callback_exc is None


def test_a_builtin_by_its_bare_name(connection: redis.Redis, queue: Queue) -> None:
    assert Callback("print").func is print
    assert Callback("print").func_name == "builtins.print"
    job = queue.enqueue("len", [1, 2, 3], on_success="print")
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert job.return_value() == 3
    assert job.get_status() == JobStatus.FINISHED and job.callback_exc is None
    with pytest.raises(InvalidFunctionError, match="not a dotted path"):
        queue.enqueue("no_such_builtin")
