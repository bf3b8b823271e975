"""Job functions for the scheduling tests; module-level so that forked horses import them."""

from __future__ import annotations

import time
from pathlib import Path

from minirq import Retry, RetryJob, get_current_job


def record(path: str, tag: str = "") -> str:
    """Append this job's id, tag and start time (epoch ms) to ``path``."""
    job = get_current_job()
    job_id = job.id if job else "-"
    with open(path, "a") as handle:
        handle.write(f"{job_id} {tag} {time.time_ns() // 1_000_000}\n")
    return job_id


def _runs(path: str) -> int:
    file = Path(path)
    return len(file.read_text().splitlines()) if file.exists() else 0


def fail_until(path: str, successes_after: int) -> int:
    """Record a run; raise until ``successes_after`` runs were recorded before this one."""
    runs = _runs(path)
    record(path)
    if runs < successes_after:
        raise RuntimeError(f"failing run {runs + 1}")
    return runs + 1


def raise_retry(path: str, times: int, delay_s: float | None = None) -> str:
    """Ask for a retry by raising RetryJob, the first ``times`` runs."""
    runs = _runs(path)
    record(path)
    if runs < times:
        raise RetryJob("not ready yet", delay_s=delay_s)
    return "done"


def return_retry(path: str, times: int, delay_s: float | None = None) -> object:
    """Ask for a retry by returning RetryJob, the first ``times`` runs."""
    runs = _runs(path)
    record(path)
    if runs < times:
        return RetryJob("come back later", delay_s=delay_s)
    return "done"


def return_rq_retry(path: str, times: int, max_retries: int = 3, interval: int = 0) -> object:
    """Ask for a retry in RQ's form, returning ``Retry(...)``, the first ``times`` runs."""
    runs = _runs(path)
    record(path)
    if runs < times:
        return Retry(max=max_retries, interval=interval)
    return "done"


async def return_rq_retry_async(path: str, times: int) -> object:
    """``return_rq_retry`` as a coroutine function (RQ's ``Retry`` returned by an awaited job)."""
    return return_rq_retry(path, times)


def always_fail() -> None:
    raise ValueError("always fails")


def append_tag(path: str, tag: str) -> None:
    with open(path, "a") as handle:
        handle.write(f"{tag}\n")


def tagged_fail_until(path: str, tag: str, failures: int) -> str:
    """Append ``tag`` to ``path``; raise for the first ``failures`` runs."""
    file = Path(path)
    seen = file.read_text().splitlines().count(tag) if file.exists() else 0
    append_tag(path, tag)
    if seen < failures:
        raise RuntimeError(f"{tag} fails run {seen + 1}")
    return tag
