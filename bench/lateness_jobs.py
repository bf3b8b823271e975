"""The job of ``bench/lateness.py``: importable by minirq's and RQ's workers alike."""

from __future__ import annotations

import time


def started_at() -> float:
    """The wall-clock time at which the job started running (epoch seconds)."""
    return time.time()
