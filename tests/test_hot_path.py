"""The per-job path stays as cheap as before the store layer (issue 11): what a first send
of enqueue, fetch and finish costs inside Redis, and the resends that stand in for the
lookups a first send skips."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

from minirq import JobStatus, Queue, SimpleWorker, WorkerPool, store
from minirq.job_operations import new_token
from minirq.keys import Keys
from minirq.options import JobOptions
from minirq.store import calls
from tests import fixtures
from tests.conftest import RedisServer

KEYS = Keys()


def _commands(connection: redis.Redis, step: Callable[[], object]) -> dict[str, int]:
    """The commands Redis ran during ``step`` (those inside scripts included)."""

    def counts() -> dict[str, int]:
        stats = connection.info("commandstats")
        return {name.removeprefix("cmdstat_"): int(row["calls"]) for name, row in stats.items()}

    before = counts()
    step()
    after = counts()
    ran = {name: n - before.get(name, 0) for name, n in after.items()}
    return {name: n for name, n in ran.items() if n and name != "info"}


def _fetch(worker: str, token: str, resend: bool = False) -> store.Call[calls.Fetched]:
    call = calls.fetch(KEYS, queues=["default"], lease_ms=30_000, worker=worker, run_token=token)
    return call.resent() if resend else call


def test_an_enqueue_of_a_drawn_id_runs_four_commands(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    queue.enqueue(fixtures.add, 0, 0)  # scripts loaded, queue known
    ran = _commands(connection, lambda: queue.enqueue(fixtures.add, 1, 2))
    assert sum(ran.values()) <= 4, ran
    assert "hmget" not in ran


def test_a_fetch_and_finish_run_no_receipt_commands(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    runner = store.runner_for(connection)

    def fetch_and_finish() -> None:
        job = queue.enqueue(fixtures.add, 1, 2)
        token = new_token()
        fetched = runner.run(_fetch("w", token))
        assert fetched.job_id == job.id.encode()
        finish = calls.finish(
            KEYS, queue="default", job_id=job.id, run_token=token, result_ttl_s=60, result=b"3"
        )
        assert runner.run(finish) == 1

    fetch_and_finish()  # scripts loaded, queue known
    ran = _commands(connection, fetch_and_finish)
    for name, n in _commands(connection, lambda: queue.enqueue(fixtures.add, 1, 2)).items():
        ran[name] -= n
    assert not {"get", "set", "del"} & set(ran), ran
    # 13, plus the worker record's TYPE (and HSET when it exists) that keep the record's
    # state true in the same step as the lease.
    assert sum(ran.values()) <= 15, ran


def test_a_resent_fetch_answers_the_job_its_first_run_leased(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    first, second = (queue.enqueue(fixtures.add, i, 1) for i in (1, 2))
    runner = store.runner_for(connection)
    token = new_token()
    assert runner.run(_fetch("w", token)).job_id == first.id.encode()  # its reply "lost"
    again = runner.run(_fetch("w", token, resend=True))
    assert (again.index, again.job_id) == (1, first.id.encode())
    assert dict(again.fields)[b"run"] == token.encode()
    assert queue.job_ids == [second.id]


def test_a_resent_fetch_whose_first_run_took_nothing_takes_the_next_job(
    connection: redis.Redis,
) -> None:
    queue = Queue(connection=connection)
    first, second = (queue.enqueue(fixtures.add, i, 1) for i in (1, 2))
    runner = store.runner_for(connection)
    runner.run(_fetch("other", new_token()))  # another run holds `first`
    again = runner.run(_fetch("w", new_token(), resend=True))
    assert again.job_id == second.id.encode()
    assert queue.job_ids == []
    assert sorted(queue.started_job_registry.get_job_ids()) == sorted([first.id, second.id])


def test_a_job_enqueued_again_by_its_caller_is_queued_once(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.add, 1, 2)
    queue.enqueue_job(job)
    assert connection.lrange(queue.key, 0, -1) == [job.id.encode()]


def test_a_job_scheduled_again_by_its_caller_is_scheduled_once(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    job = queue.create_job(fixtures.add, (1, 2), {}, JobOptions())
    queue.schedule_job(job, None, delay_ms=60_000)
    queue.schedule_job(job, None, delay_ms=60_000)
    assert queue.scheduled_job_registry.get_job_ids() == [job.id]
    assert connection.llen(queue.key) == 0


def test_a_pool_asks_for_the_next_job_as_it_records_one(
    connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue = Queue(connection=connection)
    queue.enqueue(fixtures.add, 0, 0)
    WorkerPool([queue], connection=connection, size=1).work(burst=True)  # scripts loaded
    jobs = [queue.enqueue(fixtures.add, i, 1) for i in range(12)]
    sends: list[list[str]] = []
    send = store.Runner._send

    def counted(runner: store.Runner, calls: Any) -> list[Any]:
        sends.append([call.script for call in calls])
        return send(runner, calls)

    monkeypatch.setattr(store.Runner, "_send", counted)
    WorkerPool([queue], connection=connection, size=1).work(burst=True)
    assert [job.return_value() for job in jobs] == [i + 1 for i in range(12)]
    # Start-up and the first fetch, then each recording carries the next fetch: one
    # script call per job, where a fetch apart would make two.
    assert sends.count(["finish+fetch"]) >= len(jobs) - 1, str(sends)
    assert len(sends) <= len(jobs) + 6, str(sends)


def test_a_recording_with_the_next_fetch_is_one_script_call(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    runner = store.runner_for(connection)
    first = queue.enqueue(fixtures.add, 1, 2)
    token = new_token()
    assert runner.run(_fetch("w", token)).job_id == first.id.encode()

    def finish_and_fetch() -> None:
        nonlocal first, token
        following = queue.enqueue(fixtures.add, 2, 3)
        finish = calls.finish(
            KEYS, queue="default", job_id=first.id, run_token=token, result_ttl_s=60, result=b"3"
        )
        token = new_token()
        recorded, fetched = runner.run(store.chain(finish, _fetch("w", token)))
        assert (recorded, fetched.job_id) == (1, following.id.encode())
        assert first.get_status(refresh=True) == JobStatus.FINISHED
        first = following

    finish_and_fetch()  # the chain's script loaded
    ran = _commands(connection, finish_and_fetch)
    for name, n in _commands(connection, lambda: queue.enqueue(fixtures.add, 1, 2)).items():
        ran[name] -= n
    # One EVALSHA and one reading of the clock for both steps: 15 sent apart.
    assert ran["evalsha"] == 1 and ran["time"] == 1, ran
    assert sum(ran.values()) <= 13, ran
    assert queue.fetch_job(first.id) is not None


def test_a_pool_with_max_jobs_leaves_the_rest_queued(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(fixtures.add, i, 1) for i in range(5)]
    WorkerPool([queue], connection=connection, size=1).work(max_jobs=3)
    assert [job.get_status() for job in jobs].count(JobStatus.FINISHED) == 3
    assert queue.job_ids == [job.id for job in jobs[3:]]
    assert queue.started_job_registry.count == 0


@pytest.mark.parametrize(
    "token", ["tøken", b"t\xffk", 12, 1.5, bytearray(b"tok"), memoryview(b"tok")]
)
def test_the_runner_sends_every_argument_type_redis_py_takes(
    connection: redis.Redis, token: Any
) -> None:
    stored = token if isinstance(token, (str, int, float)) else bytes(token)
    key = KEYS.reaper_lock
    connection.set(key, stored)
    released = store.runner_for(connection).run(calls.unlock(KEYS, lock_key=key, token=token))
    assert released is True
    assert connection.exists(key) == 0


def test_a_client_with_another_encoding_sends_text_as_its_commands_do(
    redis_server: RedisServer,
) -> None:
    client = redis.Redis(port=redis_server.port, encoding="latin-1")
    key = KEYS.reaper_lock
    client.set(key, "é")
    assert store.runner_for(client).run(calls.unlock(KEYS, lock_key=key, token="é")) is True
    client.close()


def test_a_finished_job_keeps_its_tokens_in_few_bytes(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(fixtures.add, i, 1) for i in range(20)]
    SimpleWorker([queue], connection=connection).work(burst=True)
    tokens = set()
    for job in jobs:
        stored = connection.hgetall(job.key)
        assert stored[b"status"] == b"finished"
        # Two tokens in every job hash: each byte of them is paid by every job kept.
        assert len(stored[b"op"]) + len(stored[b"run"]) <= 16
        tokens |= {stored[b"op"], stored[b"run"]}
    assert len(tokens) == 2 * len(jobs)


def test_a_step_of_a_chain_that_fails_is_its_answer_and_the_next_still_runs(
    connection: redis.Redis,
) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.add, 1, 2)
    finish = calls.finish(
        KEYS, queue="default", job_id="gone", run_token="t", result_ttl_s=60, result=b""
    )
    broken = store.Call("finish", finish.keys, [*finish.args[:2], "not a ttl", *finish.args[3:]])
    recorded, fetched = store.runner_for(connection).run(
        store.chain(broken, _fetch("w", new_token()))
    )
    assert isinstance(recorded, redis.ResponseError) and "bad result ttl" in str(recorded)
    assert fetched.job_id == job.id.encode()
    gone, fetched_none = store.runner_for(connection).run(
        store.chain(finish, _fetch("w", new_token()))
    )
    assert (gone, fetched_none.index) == (-1, 0)


def test_a_chain_needs_two_calls() -> None:
    with pytest.raises(ValueError, match="at least two"):
        store.chain(_fetch("w", "t"))
