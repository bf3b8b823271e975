from __future__ import annotations

import os

import pytest
import redis

from minirq import Queue
from minirq.store import Call, calls, runner_for
from tests import fixtures


def _empty_call(queue: Queue) -> Call[int]:
    return calls.empty(queue.keys, queue=queue.name, batch=100)


def test_scripts_forgotten_by_redis_are_loaded_again(queue: Queue, connection: redis.Redis) -> None:
    queue.enqueue(fixtures.say_hello)
    connection.script_flush()
    queue.enqueue(fixtures.say_hello)
    connection.script_flush()
    assert runner_for(connection).run_many([_empty_call(queue), _empty_call(queue)]) == [2, 0]


def test_a_dropped_connection_is_replaced(queue: Queue, connection: redis.Redis) -> None:
    queue.enqueue(fixtures.say_hello)
    connection.client_kill_filter(_type="normal", skipme=True)
    queue.enqueue(fixtures.say_hello)
    connection.close()
    queue.enqueue(fixtures.say_hello)
    assert queue.count == 3


def test_errors_come_back_in_place(queue: Queue, connection: redis.Redis) -> None:
    bad: Call[int] = Call("empty", [queue.key], [queue.keys.job_prefix, "not a number"])
    first, second = runner_for(connection).run_many([bad, _empty_call(queue)])
    assert isinstance(first, redis.ResponseError)
    assert second == 0
    with pytest.raises(redis.ResponseError):
        runner_for(connection).run(bad)


def test_a_forked_child_uses_its_own_connection(queue: Queue, connection: redis.Redis) -> None:
    queue.enqueue(fixtures.say_hello)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child leaves by os._exit
        code = 1
        try:
            queue.enqueue(fixtures.say_hello)
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    queue.enqueue(fixtures.say_hello)
    assert queue.count == 3
