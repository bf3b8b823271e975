"""Enqueue a job and wait for its result; enqueue one that fails and show its traceback.

Run a worker in one terminal and this script in another, both from this folder:

    cd examples/basic
    minirq worker          # terminal 1 (REDIS_URL picks the Redis; default localhost:6379)
    python main.py         # terminal 2
"""

from __future__ import annotations

import sys
import time

from tasks import count_words, parse_price

from minirq import Job, JobStatus, Queue, connect

DONE = (JobStatus.FINISHED, JobStatus.FAILED)


def wait_for(job: Job, timeout_s: float = 30.0) -> JobStatus:
    """Poll until the job has finished or failed."""
    deadline = time.monotonic() + timeout_s
    while (status := job.get_status()) not in DONE:
        if time.monotonic() > deadline:
            sys.exit(f"job {job.id} is still {status} after {timeout_s:g} s: is a worker running?")
        time.sleep(0.05)
    assert status is not None
    return status


def main() -> None:
    queue = Queue(connection=connect())

    job = queue.enqueue(count_words, "the quick brown fox jumps over the lazy dog")
    print(f"enqueued {job.description} as {job.id}")
    wait_for(job)
    print(f"result: {job.return_value()} words")

    job = queue.enqueue(parse_price, "twelve")
    print(f"enqueued {job.description} as {job.id}")
    status = wait_for(job)
    job.refresh()  # get_status() reads only the status; reload the rest of the job
    print(f"status: {status.value}; the traceback the worker recorded:")
    print(job.exc_info)
    print(f"requeue it with: minirq requeue --queue {queue.name} {job.id}")


if __name__ == "__main__":
    main()
