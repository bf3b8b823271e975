"""RQ's @job decorator: f.delay(...) enqueues f with the decorator's options."""

from __future__ import annotations

import pytest
import redis

from minirq import ConfigurationError, InvalidJobError, JobStatus, Queue, Retry, SimpleWorker
from minirq.decorators import job
from tests import fixtures


def test_delay_enqueues_on_the_named_queue(connection: redis.Redis) -> None:
    add = job("low", connection=connection, timeout=60, result_ttl=30)(fixtures.add)
    queued = add.delay(2, b=3)
    low = Queue("low", connection=connection)
    assert low.job_ids == [queued.id]
    assert (queued.args, queued.kwargs, queued.timeout, queued.result_ttl) == (
        (2,),
        {"b": 3},
        60,
        30,
    )
    SimpleWorker([low], connection=connection).work(burst=True)
    assert queued.get_status() == JobStatus.FINISHED
    assert queued.return_value() == 5
    assert add(1, 1) == 2  # still a plain function


def test_enqueue_alias_job_id_at_front_and_depends_on(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection)
    say = job(queue, retry=Retry(max=2), meta={"team": "a"})(fixtures.say_hello)
    first = say.enqueue("Ann", job_id="first")
    child = say.delay("Bo", depends_on=first)
    front = say.delay("Cy", at_front=True)
    assert first.id == "first"
    assert child.dependency_ids == ["first"]
    assert queue.job_ids == [front.id, "first"]
    assert child.get_status() == JobStatus.DEFERRED
    assert first.meta == {"team": "a"} and first.retries_left == 2


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"timeout": "soon"}, ConfigurationError, "job_timeout"),
        ({"retry": 3}, ConfigurationError, "retry must be a Retry"),
        ({"meta": [1]}, InvalidJobError, "meta must be a dict"),
        ({"depends_on": 5}, InvalidJobError, "depends_on"),
    ],
)
def test_bad_options_fail_when_decorating(
    connection: redis.Redis, options: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        job("default", connection=connection, **options)  # type: ignore[arg-type]
    assert connection.dbsize() == 0


def test_a_bad_queue_name_fails_when_decorating(connection: redis.Redis) -> None:
    with pytest.raises(ConfigurationError, match="queue name"):
        job("", connection=connection)
