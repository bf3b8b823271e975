"""Enqueue a few demo jobs every second so that `make run` shows jobs flowing.

Run: python -m examples.demo.producer [--count N]   (REDIS_URL picks the server,
MINIRQ_PREFIX the key prefix; `make run` sets it to ``minirq-demo``)
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import time

from minirq import Queue, connect

from .tasks import resize_image, send_email

# Demo results are worth a glance, not a year of Redis memory.
RESULT_TTL_S = 120
FAILURE_TTL_S = 600


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=0, help="stop after N jobs (0: never)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between batches")
    options = parser.parse_args()
    connection = connect()
    prefix = os.environ.get("MINIRQ_PREFIX") or None
    images = Queue("images", connection=connection, prefix=prefix)
    emails = Queue("default", connection=connection, prefix=prefix)
    ttls = {"result_ttl": RESULT_TTL_S, "failure_ttl": FAILURE_TTL_S}
    for n in itertools.count(1):
        if n % 2:
            width = random.choice([320, 640, 1280])
            job = images.enqueue(resize_image, f"photo-{n}.jpg", width, **ttls)
        else:
            job = emails.enqueue(
                send_email, f"user{n}@example.com", subject=f"Welcome #{n}", **ttls
            )
        print(f"enqueued {job.description} as {job.id} on {job.origin}", flush=True)
        if options.count and n >= options.count:
            return
        time.sleep(options.interval)


if __name__ == "__main__":
    main()
