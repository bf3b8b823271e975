"""What happened to one run of a job, as a work-horse reports it to its parent. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .exceptions import RetryJob


@dataclass
class Outcome:
    """What happened to one run of a job."""

    ok: bool
    result: bytes | None = None
    exc_type: str | None = None
    traceback: str | None = None
    # Traceback text of a callback or exception handler that failed (see callbacks.py).
    callback_error: str | None = None
    # Set when the job raised or returned RetryJob: (delay_s, max_retries).
    retry_request: tuple[float | None, int | None] | None = None

    def retry_job(self) -> RetryJob | None:
        """The :class:`RetryJob` the job raised or returned, if any."""
        if self.retry_request is None:
            return None
        delay_s, max_retries = self.retry_request
        return RetryJob(delay_s=delay_s, max_retries=max_retries)

    @classmethod
    def failure(cls, exc_type: str, message: str) -> Outcome:
        return cls(False, exc_type=exc_type, traceback=f"{exc_type}: {message}\n")
