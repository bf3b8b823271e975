"""Job totals: counted in memory by workers, added to Redis with the heartbeat."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from minirq import Queue, SimpleWorker
from minirq.keys import Keys
from minirq.stats import JobStatsRecorder, bucket_field, read_job_stats
from tests import fixtures


def test_bucket_field_takes_the_smallest_bucket_holding_the_duration() -> None:
    assert bucket_field(0) == "le:0.005"
    assert bucket_field(5) == "le:0.005"
    assert bucket_field(6) == "le:0.01"
    assert bucket_field(1000) == "le:1"
    assert bucket_field(10**7) == "le:+Inf"


def test_worker_totals_reach_redis(connection: redis.Redis) -> None:
    queue = Queue("mail", connection=connection)
    queue.enqueue(fixtures.add, 1, 2)
    queue.enqueue(fixtures.add, 3, 4)
    queue.enqueue(fixtures.div_by_zero)
    SimpleWorker([queue], connection=connection).work(burst=True)
    totals = read_job_stats(connection, Keys(), ["mail", "other"])
    assert (totals["mail"].processed, totals["mail"].failed) == (3, 1)
    assert totals["mail"].buckets[-1] == (float("inf"), 3)
    counts = [n for _, n in totals["mail"].buckets]
    assert counts == sorted(counts)  # cumulative
    assert totals["other"].processed == 0 and totals["other"].buckets[-1][1] == 0


class _Pipe:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def hincrby(self, *args: Any) -> None:
        self.calls.append(args)


def test_counts_are_kept_when_the_heartbeat_fails() -> None:
    recorder = JobStatsRecorder()
    recorder.observe("q", 20, ok=False)
    keys = Keys()
    with pytest.raises(redis.ConnectionError), recorder.flush_into(_Pipe(), keys):
        raise redis.ConnectionError("gone")
    recorder.observe("q", 20, ok=True)
    pipe = _Pipe()
    with recorder.flush_into(pipe, keys):
        pass
    assert sorted(pipe.calls) == sorted(
        [
            (keys.job_stats("q"), "processed", 2),
            (keys.job_stats("q"), "failed", 1),
            (keys.job_stats("q"), "duration_sum_ms", 40),
            (keys.job_stats("q"), "le:0.025", 2),
        ]
    )
    empty = _Pipe()
    with recorder.flush_into(empty, keys):
        pass
    assert empty.calls == []
