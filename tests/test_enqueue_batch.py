"""enqueue_many.lua: the queue's keys once, the ids pushed together at the end, and the
same queue, hashes and wake-ups as the jobs enqueued one by one."""

from __future__ import annotations

import pytest
import redis

from minirq import Job, JobStatus, Queue
from minirq.store import calls
from minirq.store.runner import runner_for, script_source
from tests import fixtures


def _hashes(connection: redis.Redis, queue: Queue, ids: list[str]) -> list[dict[bytes, bytes]]:
    """Each job's hash without the fields that differ from run to run."""
    varying = {b"op", b"created_ms", b"enqueued_ms"}
    return [
        {k: v for k, v in connection.hgetall(queue.keys.job(i)).items() if k not in varying}
        for i in ids
    ]


def test_a_batch_queues_as_the_same_enqueues_one_by_one(connection: redis.Redis) -> None:
    """Ids pushed at the front and at the back, interleaved, end up where one enqueue
    after another puts them; ttl, timeouts and the hashes match too."""
    fronts = [False, True, False, True, True, False]
    options = [{"job_id": f"j{i}", "at_front": front} for i, front in enumerate(fronts)]
    options[2]["ttl"] = 60
    options[3]["job_timeout"] = 7
    one = Queue("one", connection=connection)
    for i, option in enumerate(options):
        one.enqueue(fixtures.add, i, i, **option)
    alone = _hashes(connection, one, [f"j{i}" for i in range(6)])
    ttl = connection.ttl(one.keys.job("j2"))
    order = [i.decode() for i in connection.lrange(one.key, 0, -1)]
    connection.flushdb()
    many = Queue("one", connection=connection)
    many.enqueue_many(
        [
            Queue.prepare_data(fixtures.add, (i, i), timeout=opt.pop("job_timeout", None), **opt)
            for i, opt in enumerate(options)
        ]
    )
    assert [i.decode() for i in connection.lrange(many.key, 0, -1)] == order
    assert order == ["j4", "j3", "j1", "j0", "j2", "j5"]
    assert _hashes(connection, many, [f"j{i}" for i in range(6)]) == alone
    assert 0 < connection.ttl(many.keys.job("j2")) <= 60 and 0 < ttl <= 60
    assert connection.ttl(many.keys.job("j0")) == -1
    assert connection.smembers(many.keys.queues) == {b"one"}


def test_a_batch_larger_than_one_push_keeps_its_order(queue: Queue) -> None:
    """Ids are pushed a slice at a time (Lua's unpack takes a few thousand values at
    most): a batch of thousands still lands whole and in order."""
    jobs = queue.enqueue_many([Queue.prepare_data(fixtures.add, (i, 0)) for i in range(2500)])
    assert queue.job_ids == [job.id for job in jobs]
    assert Job.fetch(jobs[-1].id, connection=queue.connection).args == (2499, 0)


@pytest.mark.parametrize("batched", [True, False])
def test_enqueues_wake_idle_workers_only_onto_an_empty_queue(
    queue: Queue, connection: redis.Redis, batched: bool
) -> None:
    pubsub = connection.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(queue.keys.wake_channel(queue.name))
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    for batch in range(2):
        if batched:
            queue.enqueue_many([Queue.prepare_data(fixtures.add, (i, batch)) for i in range(3)])
        else:
            for i in range(3):
                queue.enqueue(fixtures.add, i, batch, at_front=i == 1)
    wakes = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        wakes.append(message)
    pubsub.close()
    assert len(wakes) == 1
    assert queue.count == 6


def test_a_batch_of_only_deferred_jobs_pushes_nothing(queue: Queue) -> None:
    parent = queue.enqueue(fixtures.add, 1, 1)
    jobs = queue.enqueue_many(
        [Queue.prepare_data(fixtures.add, (i, 0), depends_on=parent) for i in range(2)]
    )
    assert [job.get_status() for job in jobs] == [JobStatus.DEFERRED] * 2
    assert queue.job_ids == [parent.id]
    assert sorted(queue.deferred_job_registry.get_job_ids()) == sorted(j.id for j in jobs)


@pytest.mark.parametrize(
    ("position", "value", "message"),
    [
        (3, "x", "bad job count"),
        (6, "1.5", "bad arguments for job 1"),
        (6, "8", "bad arguments for job 1"),
        (7, "-", "bad arguments for job 1"),
        (9, "9", "do not add up"),
    ],
)
def test_bad_batch_arguments_fail_the_call_and_write_nothing(
    queue: Queue, connection: redis.Redis, position: int, value: str, message: str
) -> None:
    job = queue.create_job(fixtures.add, (1, 2))
    call = calls.enqueue_many(queue.keys, queue.name, [queue.batched_enqueue_of(job, False)])
    call.args[position] = value
    with pytest.raises(redis.ResponseError, match=message):
        runner_for(connection).run(call)
    assert connection.keys("*") == []


def test_a_batch_answers_in_one_string_unless_one_is_refused(
    queue: Queue, connection: redis.Redis
) -> None:
    parent = queue.enqueue(fixtures.add, 1, 1, job_id="parent")
    queued = queue.create_job(fixtures.add, (1, 2))
    waiting = queue.create_job(fixtures.add, (1, 2), depends_on=parent)
    batch = [queue.batched_enqueue_of(job, False) for job in (queued, waiting)]
    call = calls.enqueue_many(queue.keys, queue.name, batch)
    raw = connection.eval(script_source("enqueue_many"), len(call.keys), *call.keys, *call.args)
    assert raw == b"12"
    assert call.parse(b"12") == [calls.EnqueueReply(1, "", ""), calls.EnqueueReply(2, "", "")]
    again = queue.create_job(fixtures.add, (1, 2), job_id="parent")
    refused = calls.enqueue_many(queue.keys, queue.name, [queue.batched_enqueue_of(again, False)])
    assert runner_for(connection).run(refused) == [calls.EnqueueReply(0, "queued", queue.name)]
