"""Enqueue a few demo jobs every second so that `make run` shows jobs flowing.

Run: python -m examples.demo.producer [--count N]   (REDIS_URL picks the server)
"""

from __future__ import annotations

import argparse
import itertools
import random
import time

from minirq import Queue, connect

from .tasks import resize_image, send_email


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=0, help="stop after N jobs (0: never)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between batches")
    options = parser.parse_args()
    connection = connect()
    images = Queue("images", connection=connection)
    emails = Queue("default", connection=connection)
    for n in itertools.count(1):
        if n % 2:
            job = images.enqueue(resize_image, f"photo-{n}.jpg", random.choice([320, 640, 1280]))
        else:
            job = emails.enqueue(send_email, f"user{n}@example.com", subject=f"Welcome #{n}")
        print(f"enqueued {job.description} as {job.id} on {job.origin}", flush=True)
        if options.count and n >= options.count:
            return
        time.sleep(options.interval)


if __name__ == "__main__":
    main()
