"""Job functions of the benchmark, importable by both libraries' workers."""

from __future__ import annotations


def noop() -> None:
    """A job that does nothing, so that a figure measures the queue, not the job."""
