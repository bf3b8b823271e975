"""minirq.hooks: each event runs in the process the docs say, around real forks."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from minirq import (
    ConfigurationError,
    JobStatus,
    Queue,
    SimpleWorker,
    Worker,
    WorkerPool,
    hooks,
    send_stop_job_command,
)
from tests import fixtures

LOG_KEY = "test:hooks"


@pytest.fixture
def recorded(redis_url: str) -> Iterator[Callable[[], list[tuple[str, int, str]]]]:
    """Registers a hook for every event that appends (event, pid, job id) to a Redis list,
    from whatever process runs it; yields a reader of that list."""

    def recorder(event: str) -> Callable[..., None]:
        def hook(*args: Any) -> None:
            client = redis.Redis.from_url(redis_url)
            job_id = args[0].id if args else ""
            client.rpush(LOG_KEY, f"{event} {os.getpid()} {job_id}")
            client.close()

        return hook

    registered = [(event, recorder(event)) for event in hooks.EVENTS]
    for event, hook in registered:
        hooks.register(event, hook)

    def read() -> list[tuple[str, int, str]]:
        client = redis.Redis.from_url(redis_url)
        rows = [raw.decode().split(" ") for raw in client.lrange(LOG_KEY, 0, -1)]
        client.close()
        return [(event, int(pid), job_id) for event, pid, job_id in rows]

    yield read
    for event, hook in registered:
        hooks.unregister(event, hook)


def test_forking_worker_runs_each_hook_in_its_process(
    connection: redis.Redis, queue: Queue, recorded: Callable[[], list[tuple[str, int, str]]]
) -> None:
    jobs = [queue.enqueue(fixtures.add, i, 1) for i in range(3)]
    Worker([queue], connection=connection).work(burst=True)
    assert all(job.get_status() == JobStatus.FINISHED for job in jobs)
    rows = recorded()
    parent = os.getpid()
    forks = [pid for event, pid, _ in rows if event == "before_fork"]
    # The worker forks its fork server; the server forks one horse per job, and one
    # ahead of it: the spare horse forked for a next job that did not come, which exits
    # unused. Each before_fork runs in the process that forks.
    server = forks[1]
    assert forks == [parent] + [server] * 4 and server != parent
    assert ("horse_start", server, "") not in rows
    # A spare's rehearsal while it waits (minirq.horse_ahead) runs no hook.
    assert {job_id for event, _, job_id in rows if event.endswith("_job")} == {
        job.id for job in jobs
    }
    for job in jobs:
        mine = [(event, pid) for event, pid, job_id in rows if job_id == job.id]
        assert [event for event, _ in mine] == ["before_job", "after_job"]
        horse = mine[0][1]
        assert horse != parent and mine[1][1] == horse
        # The horse was started (after the fork) before it ran the job.
        assert rows.index(("horse_start", horse, "")) < rows.index(("before_job", horse, job.id))


def test_pool_forks_once_per_horse_and_wraps_every_job(
    connection: redis.Redis, queue: Queue, recorded: Callable[[], list[tuple[str, int, str]]]
) -> None:
    jobs = [queue.enqueue(fixtures.add, i, 1) for i in range(6)]
    WorkerPool([queue], connection=connection, size=2).work(burst=True)
    assert all(job.get_status() == JobStatus.FINISHED for job in jobs)
    rows = recorded()
    parent = os.getpid()
    assert [(e, pid) for e, pid, _ in rows if e == "before_fork"] == [("before_fork", parent)] * 2
    horses = {pid for e, pid, _ in rows if e == "horse_start"}
    assert len(horses) == 2 and parent not in horses
    for job in jobs:
        mine = [(event, pid) for event, pid, job_id in rows if job_id == job.id]
        assert [event for event, _ in mine] == ["before_job", "after_job"]
        assert mine[0][1] == mine[1][1] and mine[0][1] in horses


def test_simple_worker_wraps_jobs_in_its_own_process_without_forking(
    connection: redis.Redis, queue: Queue, recorded: Callable[[], list[tuple[str, int, str]]]
) -> None:
    ok = queue.enqueue(fixtures.add, 1, 2)
    failing = queue.enqueue(fixtures.div_by_zero)
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert failing.get_status() == JobStatus.FAILED
    me = os.getpid()
    assert recorded() == [
        ("before_job", me, ok.id),
        ("after_job", me, ok.id),
        ("before_job", me, failing.id),
        ("after_job", me, failing.id),
    ]


def test_sync_queue_runs_no_hook(
    connection: redis.Redis, recorded: Callable[[], list[tuple[str, int, str]]]
) -> None:
    Queue("default", connection=connection, is_async=False).enqueue(fixtures.add, 1, 2)
    assert recorded() == []


def _broken_hook(*args: Any) -> None:
    raise RuntimeError("hook broke")


def test_a_raising_hook_is_logged_and_the_job_still_runs(
    connection: redis.Redis, queue: Queue, caplog: pytest.LogCaptureFixture
) -> None:
    hooks.register("before_job", _broken_hook)
    try:
        job = queue.enqueue(fixtures.add, 2, 2)
        with caplog.at_level(logging.ERROR, logger="minirq.hooks"):
            SimpleWorker([queue], connection=connection).work(burst=True)
    finally:
        hooks.unregister("before_job", _broken_hook)
    assert job.get_status() == JobStatus.FINISHED and job.return_value() == 4
    assert "the before_job hook" in caplog.text and "hook broke" in caplog.text


def test_register_refuses_unknown_events_and_non_callables_and_dedupes() -> None:
    with pytest.raises(ConfigurationError, match="unknown hook event 'before_froks'"):
        hooks.register("before_froks", _broken_hook)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="must be callable"):
        hooks.register("after_job", "not callable")  # type: ignore[arg-type]
    assert _broken_hook not in hooks.registered("after_job")
    hooks.register("after_job", _broken_hook)
    hooks.register("after_job", _broken_hook)
    try:
        assert hooks.registered("after_job").count(_broken_hook) == 1
    finally:
        hooks.unregister("after_job", _broken_hook)
    assert _broken_hook not in hooks.registered("after_job")


def record_stopped_pid(job: Any, connection: redis.Redis) -> None:
    """An on_stopped callback that logs the process it runs in."""
    connection.rpush(LOG_KEY, f"on_stopped {os.getpid()} {job.id}")


def test_the_child_running_an_on_stopped_callback_gets_the_fork_hooks(
    connection: redis.Redis, queue: Queue, recorded: Callable[[], list[tuple[str, int, str]]]
) -> None:
    job = queue.enqueue(fixtures.sleep_for, 30, on_stopped=record_stopped_pid)

    def stop_once_running() -> None:
        # Once the job itself runs (its before_job hook), not merely once it is taken: a
        # worker hears a stop at once, and would kill a horse still starting up.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(e == "before_job" for e, _, _ in recorded()):
            time.sleep(0.02)
        send_stop_job_command(connection, job.id)

    stopper = threading.Thread(target=stop_once_running)
    stopper.start()
    Worker([queue], connection=connection).work(burst=True)
    stopper.join()
    assert job.get_status() == JobStatus.STOPPED
    rows = recorded()
    parent = os.getpid()
    # The fork server (by the worker), the job's horse (by the server), the callback's
    # child (by the worker) and the spare forked ahead of a next job (by the server, once
    # the job ended: it came to a waiting worker).
    forks = [pid for event, pid, _ in rows if event == "before_fork"]
    server = forks[1]
    assert forks == [parent, server, parent, server] and server != parent
    (callback_pid,) = [pid for event, pid, _ in rows if event == "on_stopped"]
    assert callback_pid != parent
    started = [pid for event, pid, _ in rows if event == "horse_start"]
    # (The spare, given no job at the end of the burst, may be gone before its hook ran.)
    assert len(started) in (2, 3) and callback_pid == started[1]
    assert rows.index(("horse_start", callback_pid, "")) < rows.index(
        ("on_stopped", callback_pid, job.id)
    )
