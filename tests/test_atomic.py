"""Smaller holes closed on the way (issue 11, item 12): the reaper's lock is released by
compare-and-delete, a callback error and a delete with dependents are one step each, and
dead code is gone.

A race needs another process at the worst instant; each test makes it happen there by
acting from inside the call, whichever way the call reaches Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import redis

import minirq
import minirq.queue
import minirq.worker
from minirq import Job, JobStatus, Queue
from minirq.callbacks import record_callback_error
from minirq.reaper import reap_expired_leases
from tests import fixtures


def _before_script(
    monkeypatch: pytest.MonkeyPatch, script: str, action: Callable[[], None]
) -> None:
    """Run ``action`` just before the store sends ``script`` (where there is a store)."""
    try:
        from minirq.store.runner import Runner
    except ImportError:
        return

    run = Runner.run

    def run_after_action(self: Runner, call: Any) -> Any:
        if call.script == script:
            action()
        return run(self, call)

    monkeypatch.setattr(Runner, "run", run_after_action)


def _after_command(
    monkeypatch: pytest.MonkeyPatch, connection: redis.Redis, name: str, action: Callable[[], None]
) -> None:
    """Run ``action`` just after ``connection.<name>()`` answers (a client-side check
    followed by a write is where a race gets in)."""
    original = getattr(connection, name)

    def answer_then_act(*args: Any, **kwargs: Any) -> Any:
        answer = original(*args, **kwargs)
        action()
        return answer

    monkeypatch.setattr(connection, name, answer_then_act)


def test_the_reaper_never_releases_a_lock_another_process_took(
    connection: redis.Redis, queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    queue.enqueue(fixtures.add, 1, 2)
    lock = queue.keys.reaper_lock

    def taken_over() -> None:
        # The reaper's lock expired while it worked, and another process took it.
        redis.Redis(connection_pool=connection.connection_pool).set(lock, "other")

    _before_script(monkeypatch, "unlock", taken_over)
    _after_command(monkeypatch, connection, "get", taken_over)
    reap_expired_leases(connection, queue.keys)
    assert connection.get(lock) == b"other"


def test_a_callback_error_is_not_recorded_on_a_job_deleted_meanwhile(
    connection: redis.Redis, queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = queue.enqueue(fixtures.add, 1, 2)

    def deleted() -> None:
        connection.delete(job.key)

    _before_script(monkeypatch, "callback_error", deleted)
    _after_command(monkeypatch, connection, "exists", deleted)
    record_callback_error(connection, job, "on_success failed")
    assert not connection.exists(job.key), "a hash holding only callback_exc was left"


def test_delete_with_dependents_takes_a_dependent_added_meanwhile(
    connection: redis.Redis, queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = queue.enqueue(fixtures.add, 1, 2)
    queue.enqueue(fixtures.add, 2, 3, depends_on=parent, job_id="first-child")
    late: list[str] = []

    def dependent_added() -> None:
        if not late:
            late.append("late-child")
            queue.enqueue(fixtures.add, 3, 4, depends_on=parent, job_id="late-child")

    _before_script(monkeypatch, "delete", dependent_added)
    _after_command(monkeypatch, connection, "smembers", dependent_added)
    parent.delete(delete_dependents=True)
    for job_id in (parent.id, "first-child", "late-child"):
        assert not connection.exists(queue.keys.job(job_id)), job_id
    assert queue.deferred_job_registry.get_job_ids() == []


def test_delete_without_dependents_leaves_them_deferred(
    connection: redis.Redis, queue: Queue
) -> None:
    parent = queue.enqueue(fixtures.add, 1, 2)
    child = queue.enqueue(fixtures.add, 2, 3, depends_on=parent)
    parent.delete()
    assert not parent.exists()
    assert child.get_status() == JobStatus.DEFERRED
    assert parent.id not in queue.job_ids


def test_dead_code_is_gone() -> None:
    assert not hasattr(minirq, "ConnectionFailed")
    assert "ConnectionFailed" not in minirq.__all__
    assert not hasattr(minirq.queue, "JOB_OPTION_NAMES")
    assert not hasattr(Job, "_queue")
    # Aliases the worker module kept for other modules.
    assert not hasattr(minirq.worker, "_REDIS_ERRORS")
    assert "reap_expired_leases" not in minirq.worker.__all__
