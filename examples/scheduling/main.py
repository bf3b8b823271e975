"""Delayed jobs, a job at a set time, a cron entry, and retries with back-off.

Run a worker with its scheduler in one terminal and this script in another:

    cd examples/scheduling
    minirq worker --with-scheduler     # terminal 1
    python main.py                     # terminal 2
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from tasks import fetch_prices, remind, tick

from minirq import Job, JobStatus, Queue, Retry, Scheduler, connect

DONE = (JobStatus.FINISHED, JobStatus.FAILED)


def wait_for(job: Job, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while job.get_status() not in DONE:
        if time.monotonic() > deadline:
            sys.exit(f"job {job.id} did not end: is `minirq worker --with-scheduler` running?")
        time.sleep(0.02)
    job.refresh()


def lateness_ms(job: Job, due: datetime) -> int:
    assert job.started_at is not None
    return int((job.started_at - due).total_seconds() * 1000)


def main() -> None:
    connection = connect()
    queue = Queue(connection=connection)
    scheduler = Scheduler(connection=connection)

    due_in = datetime.now(UTC) + timedelta(seconds=2)
    later = queue.enqueue_in(timedelta(seconds=2), remind, "two seconds later")
    due_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=3)
    at = queue.enqueue_at(due_at, remind, f"at {due_at:%H:%M:%S} UTC")
    print(f"scheduled {later.id} in 2 s and {at.id} at {due_at:%H:%M:%S} UTC")

    # Six fields, seconds last: every second. Registering the same name again updates it.
    scheduler.cron("* * * * * *", tick, name="tick")
    print("cron entry 'tick' runs every second")

    flaky = queue.enqueue(
        fetch_prices, "https://prices.example", retry=Retry(max=3, backoff="exponential", base=0.5)
    )
    print(f"enqueued {flaky.id}, which fails twice, with 3 retries after 0.5 s and 1 s")

    wait_for(later)
    print(f"{later.return_value()!r} started {lateness_ms(later, due_in)} ms after it was due")
    wait_for(at)
    print(f"{at.return_value()!r} started {lateness_ms(at, due_at)} ms after it was due")
    wait_for(flaky)
    print(f"{flaky.return_value()!r} after {flaky.attempts} attempts")

    (entry,) = [e for e in scheduler.entries() if e.name == "tick"]
    print(f"cron entry 'tick' last ran at {entry.last_run}, job {entry.last_job_id}")
    scheduler.remove("tick")
    print("removed the cron entry")


if __name__ == "__main__":
    main()
