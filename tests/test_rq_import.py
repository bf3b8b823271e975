"""``minirq import-rq``: RQ 2.12's backlog (written by real RQ, see tests/rq_backlog/)
moves into minirq's layout, each job once, and runs on a real minirq worker."""

from __future__ import annotations

import pickle
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from minirq import Job, Queue
from minirq.cli import main
from minirq.exceptions import ConfigurationError
from minirq.rq_import import ImportReport, import_rq
from minirq.store import import_calls

from .conftest import ROOT, RedisServer
from .rq_import_fixtures import backlog, load_backlog, rq_data, write_rq_job

# What each job of the backlog becomes in minirq, by its role in generate.py.
EXPECTED_STATUS = {
    "add": "queued",
    "greet": "queued",
    "day_of": "queued",
    "method": "queued",
    "options": "queued",
    "front": "queued",
    "json": "queued",
    "due": "scheduled",
    "future": "scheduled",
    "parent": "queued",
    "child": "deferred",
    "failed": "failed",
    "retrying": "scheduled",
}
LEFT_IN_RQ = ("finished", "canceled")


@pytest.fixture
def source(redis_server: RedisServer, connection: redis.Redis) -> Iterator[redis.Redis]:
    """RQ's Redis: another database of the test server (so not the same one)."""
    client = redis.Redis(port=redis_server.port, db=1)
    yield client
    client.close()


def rq_keys(client: redis.Redis) -> set[str]:
    return {key.decode() for key in client.keys("rq:*") if not key.startswith(b"rq:worker:")}


def snapshot(client: redis.Redis) -> dict[bytes, bytes]:
    return {key: client.dump(key) for key in client.keys("*")}  # type: ignore[misc]


def test_the_backlog_was_written_by_rq_2_12() -> None:
    document = backlog()
    assert document["rq_version"] == "2.12.0"
    assert set(document["ids"]) == set(EXPECTED_STATUS) | set(LEFT_IN_RQ)


def test_every_state_moves_from_another_redis(source: redis.Redis, connection: redis.Redis) -> None:
    ids = load_backlog(source)
    report = import_rq(source, connection)

    assert not report.same_redis
    assert report.refused == []
    for role, status in EXPECTED_STATUS.items():
        job = Job.fetch(ids[role], connection=connection)
        assert job.get_status() == status, role
        assert not source.exists(f"rq:job:{ids[role]}"), role
    assert report.moved_total == len(EXPECTED_STATUS)
    assert report.moved[("default", "queued")] == 5
    assert report.left_alone == {("done", "finished"): 1, ("default", "canceled"): 1}
    for role in LEFT_IN_RQ:
        assert source.exists(f"rq:job:{ids[role]}")
    # RQ's order is kept; the job RQ put at the front stays first.
    low = Queue("low", connection=connection)
    assert low.job_ids == [ids["front"], ids["options"]]
    # Every option RQ stored comes along.
    options = Job.fetch(ids["options"], connection=connection)
    assert options.meta == {"source": "rq"}
    assert options.description == "ten plus twenty"
    assert (options.record.result_ttl_s, options.record.retries_left) == (600, 2)
    assert options.record.on_success is not None and "noted_success" in options.record.on_success
    assert 0 < connection.ttl("minirq:job:custom-id-1") <= 10 * 365 * 24 * 3600
    failed = Job.fetch(ids["failed"], connection=connection)
    assert "this job always fails" in (failed.exc_info or "")
    assert Job.fetch(ids["child"], connection=connection).dependency_ids == [ids["parent"]]
    assert connection.hlen("minirq:rqimport:ledger") == 0


def test_the_same_database_moves_each_job_in_one_step(connection: redis.Redis) -> None:
    ids = load_backlog(connection)
    report = import_rq(connection, connection)

    assert report.same_redis and report.moved_total == len(EXPECTED_STATUS)
    for role, status in EXPECTED_STATUS.items():
        assert Job.fetch(ids[role], connection=connection).get_status() == status
        assert not connection.exists(f"rq:job:{ids[role]}")
    assert not connection.exists(f"rq:results:{ids['failed']}")
    assert not connection.exists(f"rq:job::{ids['child']}:dependencies")
    assert not connection.exists("minirq:rqimport:ledger")


def test_minirq_prefix_rq_on_rq_s_own_database_is_refused(connection: redis.Redis) -> None:
    load_backlog(connection)
    before = snapshot(connection)
    with pytest.raises(ConfigurationError, match="prefix 'rq'"):
        import_rq(connection, connection, prefix="rq")
    assert snapshot(connection) == before


def test_a_dry_run_writes_nothing(source: redis.Redis, connection: redis.Redis) -> None:
    load_backlog(source)
    before_source, before_target = snapshot(source), snapshot(connection)
    report = import_rq(source, connection, dry_run=True)
    assert report.dry_run and report.moved_total == len(EXPECTED_STATUS)
    assert snapshot(source) == before_source
    assert snapshot(connection) == before_target == {}


def test_a_rerun_after_a_crash_between_the_two_steps_duplicates_nothing(
    source: redis.Redis, connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = load_backlog(source)

    def crash(job: Any) -> Any:
        raise redis.ConnectionError("RQ's Redis went away")

    with monkeypatch.context() as patched:
        patched.setattr(import_calls, "rq_release", crash)
        with pytest.raises(redis.ConnectionError):
            import_rq(source, connection)
    # The first batch (RQ's default queue) is now in both places, noted in the ledger.
    first = [ids[r] for r in ("add", "greet", "day_of", "method", "parent")]
    for job_id in first:
        assert source.exists(f"rq:job:{job_id}") and connection.exists(f"minirq:job:{job_id}")
    # A minirq worker ran one of them meanwhile, and its result_ttl=0 deleted it.
    Job.fetch(ids["add"], connection=connection).delete()

    report = import_rq(source, connection)

    assert report.already[("default", "queued")] == 5
    assert report.moved_total == len(EXPECTED_STATUS) - 5
    assert not connection.exists(f"minirq:job:{ids['add']}")
    assert Queue("default", connection=connection).job_ids == first[1:]
    for role in EXPECTED_STATUS:
        assert not source.exists(f"rq:job:{ids[role]}")
    assert connection.hlen("minirq:rqimport:ledger") == 0


def test_a_rerun_after_a_crash_midway_on_one_database_moves_the_rest_once(
    connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = load_backlog(connection)
    calls_made = []
    real_move = import_calls.rq_move

    def move_then_crash(keys: Any, job: Any) -> Any:
        if len(calls_made) == 3:
            raise redis.ConnectionError("the importer died")
        calls_made.append(job.job_id)
        return real_move(keys, job)

    monkeypatch.setattr("minirq.rq_import.BATCH", 1)
    with monkeypatch.context() as patched:
        patched.setattr(import_calls, "rq_move", move_then_crash)
        with pytest.raises(redis.ConnectionError):
            import_rq(connection, connection)
    assert len(calls_made) == 3
    report = import_rq(connection, connection)
    assert report.moved_total == len(EXPECTED_STATUS) - 3
    queued = Queue("default", connection=connection).job_ids
    assert sorted(queued) == sorted(ids[r] for r in ("add", "greet", "day_of", "method", "parent"))
    for role in EXPECTED_STATUS:
        assert not connection.exists(f"rq:job:{ids[role]}")


def test_a_second_run_finds_nothing_left_to_move(
    source: redis.Redis, connection: redis.Redis
) -> None:
    load_backlog(source)
    import_rq(source, connection)
    before = snapshot(connection)
    report = import_rq(source, connection)
    assert report.moved_total == 0 and report.refused == []
    assert snapshot(connection) == before


def _reasons(report: ImportReport) -> dict[str, str]:
    return {refusal.job_id: refusal.reason for refusal in report.refused}


def test_bad_rq_jobs_are_reported_and_left_where_they_are(
    source: redis.Redis, connection: redis.Redis
) -> None:
    write_rq_job(source, "good")
    write_rq_job(source, "garbage", data=b"\x00\xffnot a pickle at all")
    write_rq_job(source, "deflated-garbage", data=zlib.compress(b"\x80\x05junk"))
    write_rq_job(source, "not-a-call", data=zlib.compress(pickle.dumps([1, 2])))
    write_rq_job(source, "odd-status", status="lost-in-space")
    write_rq_job(source, "wrong-place", status="finished")
    write_rq_job(source, "bad-timeout", timeout="soon")
    write_rq_job(source, "hooked", webhooks='[{"url": "https://example.invalid"}]')
    write_rq_job(source, "with space")
    source.rpush("rq:queue:default", "no-hash", b"\xff\xfe")
    source.hset("rq:job:no-created", mapping={"status": "queued", "data": rq_data("m.f")})
    source.rpush("rq:queue:default", "no-created")

    report = import_rq(source, connection)

    assert report.moved_total == 1
    assert Job.fetch("good", connection=connection).get_status() == "queued"
    reasons = _reasons(report)
    assert "not a readable pickle" in reasons["garbage"]
    assert "not a readable pickle" in reasons["deflated-garbage"]
    assert "(function, instance, args, kwargs)" in reasons["not-a-call"]
    assert "'lost-in-space' is not one RQ 2.12 has" in reasons["odd-status"]
    assert "'finished', yet RQ keeps it in its queued set" in reasons["wrong-place"]
    assert "'timeout' field is not a whole number" in reasons["bad-timeout"]
    assert "webhooks" in reasons["hooked"]
    assert "id is not one minirq takes" in reasons["with space"]
    assert "no hash" in reasons["no-hash"]
    assert "not UTF-8" in reasons["b'\\xff\\xfe'"]
    assert "created_at" in reasons["no-created"]
    for job_id in ("garbage", "odd-status", "wrong-place", "hooked", "with space"):
        assert source.exists(f"rq:job:{job_id}")
        assert not connection.exists(f"minirq:job:{job_id}")
    assert len(source.lrange("rq:queue:default", 0, -1)) == len(reasons)


class WritesAFile:
    """Unpickling this creates a file: the import must never do it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (open, (self.path, "w"))


def test_the_import_never_unpickles_rq_s_bytes(
    source: redis.Redis, connection: redis.Redis, tmp_path: Path
) -> None:
    marker = tmp_path / "unpickled"
    write_rq_job(
        source, "booby-trap", data=rq_data("tests.rq_import_jobs.add", WritesAFile(str(marker)), 1)
    )
    report = import_rq(source, connection)
    assert report.moved_total == 1
    assert not marker.exists()

    write_rq_job(
        source,
        "booby-trap-2",
        data=rq_data("tests.rq_import_jobs.add", WritesAFile(str(marker)), 1),
    )
    report = import_rq(source, connection, serializer="json")
    assert "open" in _reasons(report)["booby-trap-2"]
    assert not marker.exists()


def test_with_the_json_serializer_only_plain_arguments_move(
    source: redis.Redis, connection: redis.Redis
) -> None:
    ids = load_backlog(source)
    report = import_rq(source, connection, serializer="json", queues=["default", "jsonq"])
    reasons = _reasons(report)
    assert "datetime.datetime object" in reasons[ids["day_of"]]
    assert "Counter object" in reasons[ids["method"]]
    job = Job.fetch(ids["greet"], connection=connection, serializer="json")
    assert (job.args, job.kwargs) == (("ada",), {"punctuation": "!"})
    assert Job.fetch(ids["json"], connection=connection, serializer="json").args == (7, 8)
    assert source.exists(f"rq:job:{ids['day_of']}")


def test_an_id_a_live_minirq_job_has_is_refused(
    source: redis.Redis, connection: redis.Redis
) -> None:
    ids = load_backlog(source)
    Queue("other", connection=connection).enqueue(
        "tests.rq_import_jobs.add", 1, 1, job_id=ids["options"]
    )
    report = import_rq(source, connection, queues=["low"])
    assert (
        "a live minirq job has this id (queued in queue 'other')"
        in _reasons(report)[ids["options"]]
    )
    assert source.exists(f"rq:job:{ids['options']}")
    assert Job.fetch(ids["options"], connection=connection).origin == "other"


def test_a_deferred_job_whose_parent_is_not_brought_over_stays_in_rq(
    source: redis.Redis, connection: redis.Redis
) -> None:
    ids = load_backlog(source)
    # The child's queue is imported, but its parent's (RQ's 'default') is re-homed to a
    # queue this import does not take.
    source.hset(f"rq:job:{ids['parent']}", "origin", "elsewhere")
    source.lrem("rq:queue:default", 0, ids["parent"])
    source.rpush("rq:queue:elsewhere", ids["parent"])
    source.sadd("rq:queues", "rq:queue:elsewhere")
    report = import_rq(source, connection, queues=["default"])
    assert f"waits for job {ids['parent']}" in _reasons(report)[ids["child"]]
    assert source.exists(f"rq:job:{ids['child']}")


def test_the_imported_jobs_run_on_a_minirq_worker(
    source: redis.Redis,
    connection: redis.Redis,
    subprocess_env: dict[str, str],
    minirq_command: list[str],
) -> None:
    ids = load_backlog(source)
    import_rq(source, connection)
    subprocess.run(
        [*minirq_command, "worker", "--burst", "default", "low", "jsonq", "failing"],
        env=subprocess_env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=60,
    )
    results = {
        role: Job.fetch(ids[role], connection=connection).return_value()
        for role in ("add", "greet", "day_of", "method", "options", "front", "json", "due",
                     "parent", "child")
    }  # fmt: skip
    assert results == {
        "add": 5, "greet": "hello ada!", "day_of": "2024-02-29", "method": 42, "options": 30,
        "front": 1, "json": 15, "due": 2, "parent": 8, "child": 10,
    }  # fmt: skip
    assert Job.fetch(ids["future"], connection=connection).get_status() == "scheduled"
    assert Job.fetch(ids["failed"], connection=connection).get_status() == "failed"


# -- the command -------------------------------------------------------------------------


def test_the_command_prints_what_moved_and_what_did_not(
    redis_server: RedisServer, source: redis.Redis, connection: redis.Redis
) -> None:
    load_backlog(source)
    write_rq_job(source, "garbage", queue="low", data=b"junk")
    result = CliRunner().invoke(
        main,
        ["import-rq", "--from", f"redis://127.0.0.1:{redis_server.port}/1", "-u",
         redis_server.url, "--queues", "low,failing", "-q", "jsonq"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "moved 5 job(s)" in result.output
    assert "  low: 2 queued" in result.output
    assert "  failing: 1 failed" in result.output
    assert "not moved, left in RQ: 1 job(s)" in result.output
    assert "low queued garbage: its data is not a readable pickle" in result.output
    assert not source.exists("rq:job:custom-id-1")


def test_the_command_refuses_an_unknown_queue_and_writes_nothing(
    redis_server: RedisServer, source: redis.Redis, connection: redis.Redis
) -> None:
    load_backlog(source)
    before = snapshot(source)
    result = CliRunner().invoke(
        main,
        ["import-rq", "--from", f"redis://127.0.0.1:{redis_server.port}/1", "-u",
         redis_server.url, "-q", "nosuch"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "RQ's Redis has no queue named 'nosuch' (its queues: default, done," in result.output
    assert snapshot(source) == before and snapshot(connection) == {}


def test_the_command_refuses_an_empty_queue_name(redis_server: RedisServer) -> None:
    result = CliRunner().invoke(
        main, ["import-rq", "--from", redis_server.url, "-u", redis_server.url, "-q", "a,,b"]
    )
    assert result.exit_code == 2
    assert "a queue name is empty" in result.output
