"""Limits: validation at the edge, and the fetch step holding jobs back, against the
session's real Redis (several worker processes: tests/test_limits_processes.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import redis

from minirq import ConfigurationError, JobStatus, Limit, Queue, SimpleWorker
from minirq.job import Job, new_token
from minirq.keys import Keys
from minirq.limits import decode_limit, parse_rate
from minirq.store import calls, runner_for
from tests import fixtures
from tests.limit_fixtures import STARTS, hold_slot

KEYS = Keys()


def _fetch(
    connection: redis.Redis,
    queues: list[str],
    *,
    token: str | None = None,
    lease_ms: int = 30_000,
    **options: Any,
) -> calls.Fetched:
    token = token or new_token()
    call = calls.fetch(
        KEYS, queues=queues, lease_ms=lease_ms, worker="w", run_token=token, **options
    )
    return runner_for(connection).run(call)


def _taken(connection: redis.Redis, queues: list[str], **options: Any) -> str:
    return _fetch(connection, queues, **options).job_id.decode()


def _finish(connection: redis.Redis, job_id: str, queue: str = "default") -> int:
    token = connection.hget(KEYS.job(job_id), "run")
    assert token is not None
    call = calls.finish(
        KEYS, queue=queue, job_id=job_id, run_token=token.decode(), result_ttl_s=60, result=b"1"
    )
    return runner_for(connection).run(call)


# -- the edge --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "count", "window_ms"),
    [("100/m", 100, 60_000), ("50/s", 50, 1000), ("1000/h", 1000, 3_600_000),
     ("10/5s", 10, 5000), ("1/d", 1, 86_400_000), ("3/250ms", 3, 250), (" 7 / 2m ", 7, 120_000)],
)  # fmt: skip
def test_the_rate_grammar(rate: str, count: int, window_ms: int) -> None:
    assert parse_rate(rate) == (count, window_ms)
    limit = Limit("k", rate=rate)
    assert (limit.rate_count, limit.rate_window_ms) == (count, window_ms)
    decoded, problem = decode_limit(limit.encoded())
    assert problem is None and decoded is not None
    assert (decoded.rate_count, decoded.rate_window_ms) == (count, window_ms)


@pytest.mark.parametrize(
    ("rate", "problem"),
    [("100", "expected '<count>/<window>'"), ("0/s", "the count must be 1"),
     ("10/0s", "the window must be more than zero"), ("1/y", "expected"),
     ("1/8d", "at most 7 days"),
     ("100001/s", "the count must be 1 to 100000"), ("-1/s", "expected"), ("1.5/s", "expected"),
     ("100/m\n", "expected"), ("\u0661/s", "expected"), (100, "must be a string")],
)  # fmt: skip
def test_a_bad_rate_is_refused_with_its_problem(rate: Any, problem: str) -> None:
    with pytest.raises(ConfigurationError, match="rate") as raised:
        Limit("k", rate=rate)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("options", "problem"),
    [({"key": "", "concurrency": 1}, "invalid limit key"),
     ({"key": "a b", "concurrency": 1}, "invalid limit key"),
     ({"key": "a:b", "concurrency": 1}, "invalid limit key"),
     ({"key": "x" * 65, "concurrency": 1}, "invalid limit key"),
     ({"key": "ok\n", "concurrency": 1}, "invalid limit key"),
     ({"key": 5, "concurrency": 1}, "invalid limit key"),
     ({"key": "k", "concurrency": 0}, "invalid concurrency 0"),
     ({"key": "k", "concurrency": -2}, "invalid concurrency"),
     ({"key": "k", "concurrency": True}, "invalid concurrency"),
     ({"key": "k", "concurrency": 1.5}, "invalid concurrency"),
     ({"key": "k", "concurrency": "5"}, "invalid concurrency"),
     ({"key": "k", "concurrency": 100_001}, "invalid concurrency"),
     ({"key": "k"}, "limits nothing")],
)  # fmt: skip
def test_a_bad_limit_is_refused_with_its_problem(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Limit(**options)
    assert problem in str(raised.value)


@pytest.mark.parametrize("bad", ["stripe", 5, {"key": "stripe"}])
def test_enqueue_refuses_what_is_not_a_limit_and_writes_nothing(
    connection: redis.Redis, bad: Any
) -> None:
    queue = Queue(connection=connection)
    with pytest.raises(ConfigurationError, match=r"limit must be a minirq\.Limit"):
        queue.enqueue(fixtures.add, 1, 2, limit=bad)
    with pytest.raises(ConfigurationError, match=r"limit must be a minirq\.Limit"):
        queue.enqueue_call(fixtures.add, (1, 2), limit=bad)
    good = Queue.prepare_data(fixtures.add, (1, 2), limit=Limit("k", concurrency=1))
    with pytest.raises(ConfigurationError, match=r"limit must be a minirq\.Limit"):
        queue.enqueue_many([good, Queue.prepare_data(fixtures.add, (1, 2), limit=bad)])
    with pytest.raises(ConfigurationError, match=r"a queue's limit must be a minirq\.Limit"):
        Queue("payments", connection=connection, limit=bad)
    assert connection.dbsize() == 0


def test_a_stored_limit_that_is_not_one_is_named() -> None:
    for text in ["x|0||", "x|||", "x||5|", "x|3||\n", "a b|1||", "x|1|1|0", "x|\u0661||"]:
        limit, problem = decode_limit(text)
        assert limit is None and problem, text


def test_a_job_keeps_its_limit(connection: redis.Redis) -> None:
    limit = Limit("stripe", concurrency=5, rate="100/m")
    job = Queue(connection=connection).enqueue(fixtures.add, 1, 2, limit=limit)
    assert Job.fetch(job.id, connection).limit == limit
    assert Queue(connection=connection).enqueue(fixtures.add, 1, 2).limit is None


# -- the fetch step --------------------------------------------------------------------


def test_a_job_over_its_concurrency_waits_in_place_and_lets_the_next_through(
    connection: redis.Redis,
) -> None:
    queue = Queue(connection=connection)
    limit = Limit("api", concurrency=2)
    limited = [queue.enqueue(fixtures.add, i, 0, limit=limit) for i in range(4)]
    free = queue.enqueue(fixtures.add, 9, 9)
    assert [_taken(connection, ["default"]) for _ in range(3)] == [
        limited[0].id,
        limited[1].id,
        free.id,
    ]
    held = _fetch(connection, ["default"])
    assert held.index == 0 and held.limit_wait_ms > 0
    assert queue.job_ids == [limited[2].id, limited[3].id]
    assert connection.zcard(KEYS.limit_slots("api")) == 2
    assert _finish(connection, limited[0].id) == 1
    assert connection.zcard(KEYS.limit_slots("api")) == 1
    assert connection.hget(KEYS.job(limited[0].id), "limit_slot") is None
    assert _taken(connection, ["default"]) == limited[2].id
    assert queue.job_ids == [limited[3].id]


def test_a_job_held_back_does_not_block_another_queue(connection: redis.Redis) -> None:
    first, second = Queue("first", connection=connection), Queue("second", connection=connection)
    limit = Limit("api", concurrency=1)
    running = first.enqueue(fixtures.add, 0, 0, limit=limit)
    waiting = first.enqueue(fixtures.add, 1, 0, limit=limit)
    other = second.enqueue(fixtures.add, 2, 0)
    assert _taken(connection, ["first", "second"]) == running.id
    assert _taken(connection, ["first", "second"]) == other.id
    assert first.job_ids == [waiting.id]


@pytest.mark.parametrize("step", ["fail", "requeue", "reap", "delete"])
def test_each_end_of_a_run_gives_its_slot_back_in_the_same_step(
    connection: redis.Redis, step: str
) -> None:
    queue = Queue(connection=connection)
    job = queue.enqueue(fixtures.add, 1, 2, limit=Limit("api", concurrency=1))
    token = new_token()
    _fetch(connection, ["default"], token=token, lease_ms=1 if step == "reap" else 30_000)
    assert connection.zrange(KEYS.limit_slots("api"), 0, -1) == [job.id.encode()]
    runner = runner_for(connection)
    woken = connection.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    woken.subscribe(KEYS.limits_wake_channel)
    woken.get_message(timeout=1)
    if step == "fail":
        fail = calls.fail(
            KEYS, queue="default", job_id=job.id, run_token=token, traceback="t",
            failure_ttl_s=60, retry="", retries_left=0, status="failed",
        )  # fmt: skip
        runner.run(fail)
    elif step == "requeue":
        requeue = calls.requeue(
            KEYS, queue="default", registry="started", job_id=job.id, at_front=True,
            run_token=token, op_token=new_token(),
        )  # fmt: skip
        runner.run(requeue)
    elif step == "reap":
        reap = calls.reap(
            KEYS, queues=["default"], max_orphanings=3, limit=10, default_failure_ttl_s=60
        )
        while connection.zscore(KEYS.registry("started", "default"), job.id) is not None:
            runner.run(reap)
    else:
        job.delete()
    assert connection.exists(KEYS.limit_slots("api")) == 0
    assert connection.hget(KEYS.job(job.id), "limit_slot") is None
    assert woken.get_message(timeout=5) is not None
    woken.close()


def test_a_slot_whose_lease_ran_out_is_free_again(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    limit = Limit("api", concurrency=1)
    lost = queue.enqueue(fixtures.add, 0, 0, limit=limit)
    waiting = queue.enqueue(fixtures.add, 1, 0, limit=limit)
    assert _taken(connection, ["default"], lease_ms=30) == lost.id
    # Nobody renews the lease: the slot is free once it has run out, reaper or not.
    while (fetched := _fetch(connection, ["default"])).index == 0:
        assert 0 <= fetched.limit_wait_ms <= 30
    assert fetched.job_id.decode() == waiting.id


def test_a_heartbeat_moves_the_slot_with_the_lease(connection: redis.Redis) -> None:
    job = Queue(connection=connection).enqueue(fixtures.add, 0, 0, limit=Limit("a", concurrency=1))
    token = new_token()
    _fetch(connection, ["default"], token=token, lease_ms=1000)
    before = connection.zscore(KEYS.limit_slots("a"), job.id)
    renew = calls.renew(KEYS, lease_ms=600_000, runs=[("default", job.id, token)])
    assert runner_for(connection).run(renew) == []
    after = connection.zscore(KEYS.limit_slots("a"), job.id)
    assert before is not None and after is not None and after > before + 500_000
    assert after == connection.zscore(KEYS.registry("started", "default"), job.id)


def test_a_rate_holds_starts_to_its_window(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(fixtures.add, i, 0, limit=Limit("mail", rate="3/m")) for i in range(4)]
    assert [_taken(connection, ["default"]) for _ in range(3)] == [j.id for j in jobs[:3]]
    held = _fetch(connection, ["default"])
    assert held.index == 0 and 0 < held.limit_wait_ms <= 60_000
    assert connection.zcard(KEYS.limit_starts("mail")) == 3
    assert 0 < connection.pttl(KEYS.limit_starts("mail")) <= 60_000
    # Finishing frees no rate: the window does.
    for job in jobs[:3]:
        _finish(connection, job.id)
    assert _fetch(connection, ["default"]).index == 0


def test_the_scan_is_bounded(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    limit = Limit("api", concurrency=1)
    jobs = [queue.enqueue(fixtures.add, i, 0, limit=limit) for i in range(6)]
    free = queue.enqueue(fixtures.add, 9, 9)
    assert _taken(connection, ["default"]) == jobs[0].id
    # Five held-back jobs before the free one: a scan depth of 5 does not reach it.
    assert _fetch(connection, ["default"], scan_depth=5).index == 0
    assert _taken(connection, ["default"], scan_depth=6) == free.id
    assert queue.job_ids == [j.id for j in jobs[1:]]


def test_a_queue_default_applies_to_jobs_without_their_own(connection: redis.Redis) -> None:
    queue = Queue("payments", connection=connection, limit=Limit("pay", concurrency=1))
    assert queue.limit == Limit("pay", concurrency=1)
    assert Queue("payments", connection=connection).limit == queue.limit
    defaults = {"payments": Limit("pay", concurrency=1).encoded()}
    first, second = (queue.enqueue(fixtures.add, i, 0) for i in range(2))
    own = queue.enqueue(fixtures.add, 2, 0, limit=Limit("own", concurrency=1))
    assert _taken(connection, ["payments"], queue_limits=defaults) == first.id
    assert _taken(connection, ["payments"], queue_limits=defaults) == own.id
    assert _fetch(connection, ["payments"], queue_limits=defaults).index == 0
    queue.set_limit(None)
    assert queue.limit is None
    assert _taken(connection, ["payments"]) == second.id


@pytest.mark.parametrize("listening", ["its queue", "every queue"])
def test_a_worker_follows_its_queues_default(connection: redis.Redis, listening: str) -> None:
    queue = Queue("payments", connection=connection, limit=Limit("pay", rate="2/300ms"))
    jobs = [queue.enqueue(hold_slot, 0) for _ in range(5)]
    worker = SimpleWorker([queue] if listening == "its queue" else [], connection=connection)
    worker.work(burst=True)
    assert all(j.get_status() == JobStatus.FINISHED for j in jobs)
    starts = sorted(int(s) for s in connection.lrange(STARTS, 0, -1))
    assert all(sum(1 for t in starts if s <= t < s + 300) <= 2 for s in starts)
    assert starts[-1] - starts[0] >= 600


# -- broken data -----------------------------------------------------------------------


@pytest.mark.parametrize("stored", [b"\xff\xfe", b"api|0||", b"nonsense", b"api||5|"])
def test_a_broken_limit_fails_its_job_alone_with_one_log_line(
    connection: redis.Redis, stored: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue(connection=connection)
    broken = queue.enqueue(fixtures.add, 1, 1, limit=Limit("api", concurrency=1))
    connection.hset(KEYS.job(broken.id), "limit", stored)
    good = queue.enqueue(fixtures.add, 2, 2, limit=Limit("api", concurrency=1))
    with caplog.at_level(logging.INFO, logger="minirq"):
        SimpleWorker([queue], connection=connection).work(burst=True)
    assert good.get_status() == JobStatus.FINISHED
    assert broken.get_status() == JobStatus.FAILED
    assert "'limit' field" in (Job.fetch(broken.id, connection).exc_info or "")
    assert len([r for r in caplog.records if broken.id in r.getMessage()]) == 1
    assert connection.exists(KEYS.limit_slots("api")) == 0


def test_a_broken_queue_default_holds_its_jobs_and_is_logged_once(
    connection: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue("payments", connection=connection)
    connection.hset(KEYS.queue_limits, "payments", b"pay|0||")
    held = queue.enqueue(fixtures.add, 1, 1)
    own = queue.enqueue(fixtures.add, 2, 2, limit=Limit("own", concurrency=1))
    other = Queue("other", connection=connection).enqueue(fixtures.add, 3, 3)
    worker = SimpleWorker([queue, "other"], connection=connection)
    with caplog.at_level(logging.ERROR, logger="minirq"):
        worker.work(burst=True)
        worker._refresh_pause_state()
    assert own.get_status() == JobStatus.FINISHED and other.get_status() == JobStatus.FINISHED
    assert held.get_status() == JobStatus.QUEUED and queue.job_ids == [held.id]
    assert len([r for r in caplog.records if "default limit" in r.getMessage()]) == 1


def test_limit_state_of_the_wrong_type_holds_its_jobs_only(
    connection: redis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    queue = Queue(connection=connection)
    connection.set(KEYS.limit_slots("api"), "not a sorted set")
    held = queue.enqueue(fixtures.add, 1, 1, limit=Limit("api", concurrency=1))
    free = queue.enqueue(fixtures.add, 2, 2)
    with caplog.at_level(logging.ERROR, logger="minirq"):
        SimpleWorker([queue], connection=connection).work(burst=True)
    assert free.get_status() == JobStatus.FINISHED
    assert held.get_status() == JobStatus.QUEUED
    assert KEYS.limit_slots("api") in caplog.text


# -- workers ---------------------------------------------------------------------------


def test_a_burst_worker_waits_for_the_window_instead_of_leaving(connection: redis.Redis) -> None:
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(hold_slot, 0, limit=Limit("mail", rate="3/250ms")) for _ in range(7)]
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert all(j.get_status() == JobStatus.FINISHED for j in jobs)
    starts = sorted(int(s) for s in connection.lrange(STARTS, 0, -1))
    assert len(starts) == 7
    assert all(sum(1 for t in starts if s <= t < s + 250) <= 3 for s in starts)


def test_the_scripts_spell_the_limit_keys_as_keys_does(connection: redis.Redis) -> None:
    prefixed = Keys("{app}")
    queue = Queue(connection=connection, prefix="{app}")
    queue.enqueue(fixtures.add, 1, 1, limit=Limit("api", concurrency=1, rate="5/s"))
    call = calls.fetch(prefixed, queues=["default"], lease_ms=1000, worker="w", run_token="t")
    assert runner_for(connection).run(call).index == 1
    assert connection.type(prefixed.limit_slots("api")) == b"zset"
    assert connection.type(prefixed.limit_starts("api")) == b"zset"
    assert connection.hget(prefixed.limits, "api") == b"api|1|5|1000"


@pytest.mark.timeout(20)
def test_an_idle_worker_wakes_when_a_held_back_job_may_start(
    connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Idle workers otherwise look again once a second: make that an hour, so that only the
    # time the fetch gave, or a slot given back, can wake this worker within the timeout.
    monkeypatch.setattr("minirq.control.IDLE_WAIT_S", 3600)
    queue = Queue(connection=connection)
    jobs = [queue.enqueue(hold_slot, 0, limit=Limit("mail", rate="1/300ms")) for _ in range(3)]
    # A long lease puts housekeeping (a third of it) out of reach too.
    worker = SimpleWorker([queue], connection=connection, lease_s=600)
    pubsub = connection.pubsub()  # type: ignore[no-untyped-call]
    worker._subscribe_to_wake_ups(pubsub)
    assert KEYS.limits_wake_channel.encode() in pubsub.channels
    pubsub.close()
    worker.work(burst=True)
    assert all(j.get_status() == JobStatus.FINISHED for j in jobs)
