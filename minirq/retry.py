"""Retries of failed jobs and repeats of successful ones.

``queue.enqueue(f, retry=Retry(max=3, interval=[10, 30, 60]))`` runs ``f`` up to three more
times when it fails; ``repeat=Repeat(times=2, interval=60)`` runs it twice more after it
succeeds. The settings are stored on the job's hash (fields ``retry`` and ``repeat``, with
``retries_left`` and ``repeats_left`` counting down), so any worker applies them.

A job may also ask for a retry itself by raising or returning :class:`~minirq.RetryJob`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .defaults import RETRY_BACKOFF_BASE_S, RETRY_BACKOFF_CAP_S, RETRY_JOB_DEFAULT_MAX
from .exceptions import ConfigurationError, RetryJob

if TYPE_CHECKING:
    from .job import Job

BACKOFFS = ("exponential",)


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{what} must be a number of seconds, not {value!r}")
    if value != value or value < 0 or value == float("inf"):
        raise ConfigurationError(f"{what} must be zero or more seconds, not {value!r}")
    return float(value)


def _intervals(interval: Any, what: str) -> tuple[float, ...]:
    if isinstance(interval, Sequence) and not isinstance(interval, str | bytes):
        if not interval:
            raise ConfigurationError(f"{what} interval list must not be empty")
        return tuple(_seconds(v, f"{what} interval") for v in interval)
    return (_seconds(interval, f"{what} interval"),)


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(f"{what} must be an int of 1 or more, not {value!r}")
    return value


class Retry:
    """How often and when to retry a failing job.

    ``Retry(max=3)`` retries at once; ``interval`` is seconds before each retry, or a list
    of per-retry delays whose last one repeats (RQ's form). ``backoff="exponential"``
    waits ``base * 2**(n-1)`` seconds before retry ``n``, at most ``cap``; with ``jitter``
    each delay is drawn at random between half and all of it, so that jobs failing
    together do not retry together. Raises :class:`ConfigurationError` for bad arguments.
    """

    def __init__(
        self,
        max: int,
        interval: float | Sequence[float] = 0,
        *,
        backoff: str | None = None,
        base: float = RETRY_BACKOFF_BASE_S,
        cap: float = RETRY_BACKOFF_CAP_S,
        jitter: bool = False,
    ) -> None:
        self.max = _count(max, "Retry max")
        self.intervals = _intervals(interval, "Retry")
        if backoff is not None and backoff not in BACKOFFS:
            raise ConfigurationError(
                f"unknown Retry backoff {backoff!r}; use one of {', '.join(BACKOFFS)} or None"
            )
        if backoff is not None and self.intervals != (0.0,):
            raise ConfigurationError("give Retry either an interval or a backoff, not both")
        self.backoff = backoff
        self.base = _seconds(base, "Retry base")
        self.cap = _seconds(cap, "Retry cap")
        if not isinstance(jitter, bool):
            raise ConfigurationError(f"Retry jitter must be True or False, not {jitter!r}")
        self.jitter = jitter

    def __repr__(self) -> str:
        if self.backoff:
            return (
                f"Retry(max={self.max}, backoff={self.backoff!r}, base={self.base}, "
                f"cap={self.cap}, jitter={self.jitter})"
            )
        interval = self.intervals[0] if len(self.intervals) == 1 else list(self.intervals)
        return f"Retry(max={self.max}, interval={interval}, jitter={self.jitter})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Retry) and self.to_dict() == other.to_dict()

    def delay_s(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        if self.backoff == "exponential":
            delay = min(self.cap, self.base * 2.0 ** min(attempt - 1, 64))
        else:
            delay = self.intervals[min(attempt, len(self.intervals)) - 1]
        if self.jitter and delay > 0:
            delay = float((rng or random).uniform(delay / 2, delay))
        return delay

    def to_dict(self) -> dict[str, Any]:
        return {
            "max": self.max,
            "intervals": list(self.intervals),
            "backoff": self.backoff,
            "base": self.base,
            "cap": self.cap,
            "jitter": self.jitter,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Retry:
        return cls(
            data["max"],
            data["intervals"] if data.get("backoff") is None else 0,
            backoff=data.get("backoff"),
            base=data.get("base", RETRY_BACKOFF_BASE_S),
            cap=data.get("cap", RETRY_BACKOFF_CAP_S),
            jitter=bool(data.get("jitter", False)),
        )


class Repeat:
    """Run a successful job ``times`` more times, ``interval`` seconds apart.

    ``interval`` is seconds or a list of per-run delays whose last one repeats.
    Raises :class:`ConfigurationError` for bad arguments.
    """

    def __init__(self, times: int, interval: float | Sequence[float] = 0) -> None:
        self.times = _count(times, "Repeat times")
        self.intervals = _intervals(interval, "Repeat")

    def __repr__(self) -> str:
        interval = self.intervals[0] if len(self.intervals) == 1 else list(self.intervals)
        return f"Repeat(times={self.times}, interval={interval})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Repeat) and (self.times, self.intervals) == (
            other.times,
            other.intervals,
        )

    def delay_s(self, run: int) -> float:
        """Seconds to wait before repeat number ``run`` (1 for the first repeat)."""
        return self.intervals[min(run, len(self.intervals)) - 1]


def job_fields(retry: Any, repeat: Any) -> dict[str, str]:
    """The job hash fields that carry ``retry`` and ``repeat`` (validated)."""
    fields: dict[str, str] = {}
    if retry is not None:
        if not isinstance(retry, Retry):
            raise ConfigurationError(f"retry must be a Retry, not {type(retry).__name__}")
        fields["retry"] = json.dumps(retry.to_dict())
        fields["retries_left"] = str(retry.max)
    if repeat is not None:
        if not isinstance(repeat, Repeat):
            raise ConfigurationError(f"repeat must be a Repeat, not {type(repeat).__name__}")
        fields["repeat"] = json.dumps({"times": repeat.times, "intervals": list(repeat.intervals)})
        fields["repeats_left"] = str(repeat.times)
    return fields


def job_retry(job: Job) -> Retry | None:
    """The :class:`Retry` a job was enqueued with, if any."""
    data = job._fields.get("retry")
    return Retry.from_dict(json.loads(data)) if data else None


def job_repeat(job: Job) -> Repeat | None:
    """The :class:`Repeat` a job was enqueued with, if any."""
    data = job._fields.get("repeat")
    if not data:
        return None
    spec = json.loads(data)
    return Repeat(spec["times"], spec["intervals"])


def _int_field(job: Job, name: str) -> int | None:
    value = job._fields.get(name)
    return int(value) if value is not None else None


def attempts_started(job: Job) -> int:
    """How many times ``job`` has been started, counting a current run."""
    left = _int_field(job, "retries_left")
    if left is None:
        retried = 0
    else:
        retry = job_retry(job)
        retried = (retry.max if retry is not None else RETRY_JOB_DEFAULT_MAX) - left
    status = job._get("status")
    return retried + (0 if status in ("queued", "scheduled", "deferred", "canceled", None) else 1)


def plan_retry(
    job: Job, request: RetryJob | None, now_ms: int, rng: random.Random | None = None
) -> tuple[str, int]:
    """What to do with a failed run of ``job``: ``("", 0)`` to fail it for good,
    ``("now", n)`` to requeue it with ``n`` retries left, or ``(due_ms, n)`` to schedule
    its next attempt. ``request`` is the :class:`RetryJob` the job raised or returned."""
    retry = job_retry(job)
    left = _int_field(job, "retries_left")
    if retry is not None:
        budget = retry.max
    elif request is not None:
        budget = request.max_retries or RETRY_JOB_DEFAULT_MAX
    else:
        return "", 0
    if left is None:
        left = budget
    if left <= 0:
        return "", 0
    attempt = budget - left + 1
    if request is not None and request.delay_s is not None:
        delay = request.delay_s
    else:
        delay = retry.delay_s(attempt, rng) if retry is not None else 0.0
    if delay <= 0:
        return "now", left - 1
    return str(now_ms + round(delay * 1000)), left - 1


def plan_repeat(job: Job, now_ms: int) -> tuple[str, int] | None:
    """``("now", n)`` or ``(due_ms, n)`` if a successful ``job`` runs again, else ``None``."""
    repeat = job_repeat(job)
    if repeat is None:
        return None
    left = _int_field(job, "repeats_left")
    left = repeat.times if left is None else left
    if left <= 0:
        return None
    delay = repeat.delay_s(repeat.times - left + 1)
    if delay <= 0:
        return "now", left - 1
    return str(now_ms + round(delay * 1000)), left - 1


__all__ = ["Repeat", "Retry", "RetryJob", "job_repeat", "job_retry", "plan_repeat", "plan_retry"]
