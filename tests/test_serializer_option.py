"""`minirq worker --serializer`: enqueuer and worker share a serializer."""

from __future__ import annotations

import subprocess

import redis

from minirq import JobStatus, Queue
from tests import feature_fixtures as ff
from tests.fixtures import add


def run_worker(command: list[str], env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [*command, "worker", "--burst", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def test_json_and_custom_serializers(
    connection: redis.Redis, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    q_json = Queue("j", connection=connection, serializer="json")
    job = q_json.enqueue(add, 2, 3)
    assert connection.hget(job.key, "data") == b"[[2,3],{}]"
    run_worker(minirq_command, subprocess_env, "j", "--serializer", "json")
    job = Queue("j", connection=connection, serializer="json").fetch_job(job.id) or job
    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == 5

    q_custom = Queue("c", connection=connection, serializer=ff.upper_json)
    custom = q_custom.enqueue(add, 4, 5)
    run_worker(
        minirq_command, subprocess_env, "c", "--serializer", "tests.feature_fixtures.upper_json"
    )
    assert custom.get_status() == JobStatus.FINISHED
    assert custom.return_value() == 9


def test_mismatched_serializer_fails_only_the_job(
    connection: redis.Redis, minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    job = Queue("j", connection=connection, serializer="json").enqueue(add, 1, 1)
    run_worker(minirq_command, subprocess_env, "j")  # pickle by default
    assert job.get_status() == JobStatus.FAILED


def test_unknown_serializer_is_a_clear_error(
    minirq_command: list[str], subprocess_env: dict[str, str]
) -> None:
    cases = [("yaml", "unknown serializer 'yaml'"), ("no.such.thing", "cannot import")]
    for value, message in cases:
        done = subprocess.run(
            [*minirq_command, "worker", "--burst", "--serializer", value],
            env=subprocess_env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 1
        assert message in done.stderr


def test_queue_serializer_by_name_dotted_path_or_object(connection: redis.Redis) -> None:
    import pytest

    from minirq import ConfigurationError, JSONSerializer, PickleSerializer, SimpleWorker
    from minirq.serializers import resolve_serializer

    assert resolve_serializer(None) is PickleSerializer
    assert resolve_serializer("pickle") is PickleSerializer
    assert Queue(connection=connection, serializer="json").serializer is JSONSerializer
    assert resolve_serializer("minirq.serializers.JSONSerializer") is JSONSerializer
    assert resolve_serializer(ff.upper_json) is ff.upper_json
    queue = Queue("c", connection=connection, serializer="tests.feature_fixtures.upper_json")
    assert queue.serializer is ff.upper_json
    job = queue.enqueue(add, 4, 5)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert job.return_value() == 9
    for bad, message in [
        ("yaml", "unknown serializer 'yaml'"),
        ("tests.feature_fixtures.nothing_here", "cannot import serializer"),
        ("tests.fixtures.add", "no dumps"),
        (object, "no dumps"),
    ]:
        with pytest.raises(ConfigurationError, match=message):
            resolve_serializer(bad)  # type: ignore[arg-type]
