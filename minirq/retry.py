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

from .defaults import (
    MAX_DURATION_S,
    RETRY_BACKOFF_BASE_S,
    RETRY_BACKOFF_CAP_S,
    RETRY_JOB_DEFAULT_MAX,
)
from .exceptions import ConfigurationError, ConfigurationTypeError, RetryJob

if TYPE_CHECKING:
    from .store.record import JobRecord

BACKOFFS = ("exponential",)


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationTypeError(f"{what} must be a number of seconds, not {value!r}")
    if value != value or value < 0 or value > MAX_DURATION_S:
        raise ConfigurationError(
            f"{what} must be zero or more seconds, at most {MAX_DURATION_S}, not {value!r}"
        )
    return float(value)


def _intervals(interval: Any, what: str) -> list[float]:
    if isinstance(interval, Sequence) and not isinstance(interval, str | bytes):
        if not interval:
            raise ConfigurationError(f"{what} interval list must not be empty")
        return [_seconds(v, f"{what} interval") for v in interval]
    return [_seconds(interval, f"{what} interval")]


def get_interval(count: int, intervals: Sequence[float] | float | None) -> float:
    """The delay before run ``count + 1`` of a retry or repeat (0 for the first): the
    ``count``-th of ``intervals``, the last one repeating; a single number is every
    delay, and ``None`` none (RQ's helper; an empty list raises ``IndexError``, as there)."""
    if intervals is None:
        return 0
    if isinstance(intervals, int | float):
        return intervals
    return intervals[min(count, len(intervals) - 1)]


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationTypeError(f"{what} must be an int of 1 or more, not {value!r}")
    if value < 1:
        raise ConfigurationError(f"{what} must be an int of 1 or more, not {value!r}")
    return value


class Retry:
    """How often and when to retry a failing job.

    ``Retry(max=3)`` retries at once; ``interval`` is seconds before each retry, or a list
    of per-retry delays whose last one repeats (RQ's form); with ``enqueue_at_front`` a
    retry goes to the front of the queue. ``backoff="exponential"``
    waits ``base * 2**(n-1)`` seconds before retry ``n``, at most ``cap``; with ``jitter``
    each delay is drawn at random between half and all of it, so that jobs failing
    together do not retry together. Raises :class:`ConfigurationError` for bad arguments.
    """

    def __init__(
        self,
        max: int,
        interval: float | Sequence[float] = 0,
        enqueue_at_front: bool = False,
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
        if backoff is not None and self.intervals != [0.0]:
            raise ConfigurationError("give Retry either an interval or a backoff, not both")
        self.backoff = backoff
        self.base = _seconds(base, "Retry base")
        self.cap = _seconds(cap, "Retry cap")
        if not isinstance(jitter, bool):
            raise ConfigurationError(f"Retry jitter must be True or False, not {jitter!r}")
        self.jitter = jitter
        if not isinstance(enqueue_at_front, bool):
            raise ConfigurationError(
                f"Retry enqueue_at_front must be True or False, not {enqueue_at_front!r}"
            )
        self.enqueue_at_front = enqueue_at_front

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

    get_interval = staticmethod(get_interval)

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
            "enqueue_at_front": self.enqueue_at_front,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Retry:
        return cls(
            data["max"],
            data["intervals"] if data.get("backoff") is None else 0,
            bool(data.get("enqueue_at_front", False)),
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

    get_interval = staticmethod(get_interval)

    def delay_s(self, run: int) -> float:
        """Seconds to wait before repeat number ``run`` (1 for the first repeat)."""
        return self.intervals[min(run, len(self.intervals)) - 1]


def set_retry_options(record: JobRecord, retry: Any, repeat: Any) -> None:
    """Record ``retry`` and ``repeat`` (validated) on a job being built."""
    if retry is not None:
        if not isinstance(retry, Retry):
            raise ConfigurationError(f"retry must be a Retry, not {type(retry).__name__}")
        record.retry = json.dumps(retry.to_dict())
        record.retries_left = retry.max
    if repeat is not None:
        if not isinstance(repeat, Repeat):
            raise ConfigurationError(f"repeat must be a Repeat, not {type(repeat).__name__}")
        record.repeat = json.dumps({"times": repeat.times, "intervals": list(repeat.intervals)})
        record.repeats_left = repeat.times


def job_retry(record: JobRecord) -> Retry | None:
    """The :class:`Retry` a job was enqueued with, if any (``None`` if it is unreadable)."""
    if not record.retry:
        return None
    try:
        return Retry.from_dict(json.loads(record.retry))
    except (ValueError, TypeError, KeyError, ConfigurationError):
        return None


def job_repeat(record: JobRecord) -> Repeat | None:
    """The :class:`Repeat` a job was enqueued with, if any (``None`` if it is unreadable)."""
    if not record.repeat:
        return None
    try:
        spec = json.loads(record.repeat)
        return Repeat(spec["times"], spec["intervals"])
    except (ValueError, TypeError, KeyError, ConfigurationError):
        return None


def requested_retry(value: Any, record: JobRecord) -> RetryJob | None:
    """The retry a job asked for by returning ``value``: a :class:`RetryJob`, or RQ's form
    ``Retry(max=..., interval=...)`` (its intervals give the delay of this attempt).
    ``None`` for any other value, which is the job's result."""
    if isinstance(value, RetryJob):
        return value
    if not isinstance(value, Retry):
        return None
    left = value.max if record.retries_left is None else record.retries_left
    attempt = max(value.max - left + 1, 1)
    return RetryJob(
        f"the job returned {value!r}", delay_s=value.delay_s(attempt), max_retries=value.max
    )


def retries_done(record: JobRecord) -> int:
    """How many times the job was sent back for another attempt after a failure."""
    left = record.retries_left
    if left is None:
        return 0
    budget = record.retries_max
    if budget is None:  # a job last retried before minirq wrote retries_max
        retry = job_retry(record)
        budget = retry.max if retry is not None else RETRY_JOB_DEFAULT_MAX
    return max(budget - left, 0)


def retry_budget(record: JobRecord, request: RetryJob | None) -> int:
    """How many retries a failing job has in all: its :class:`Retry`'s ``max``, else
    those of the :class:`RetryJob` it raised or returned (0 with neither)."""
    retry = job_retry(record)
    if retry is not None:
        return retry.max
    if request is not None:
        return request.max_retries or RETRY_JOB_DEFAULT_MAX
    return 0


def attempts_started(record: JobRecord) -> int:
    """How many times the job has been started, counting a current run."""
    retried = retries_done(record)
    status = record.status
    return retried + (0 if status in ("queued", "scheduled", "deferred", "canceled", None) else 1)


def plan_retry(
    record: JobRecord, request: RetryJob | None, rng: random.Random | None = None
) -> tuple[str, int]:
    """What to do with a failed run: ``("", 0)`` to fail it for good, ``("now", n)`` to
    requeue it with ``n`` retries left, or ``(delay_ms, n)`` to schedule its next attempt
    that many milliseconds from now (on Redis's clock). ``request`` is the
    :class:`RetryJob` the job raised or returned."""
    retry = job_retry(record)
    left = record.retries_left
    budget = retry_budget(record, request)
    if budget == 0:
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
    return str(round(delay * 1000)), left - 1


def plan_repeat(record: JobRecord) -> tuple[str, int] | None:
    """``("now", n)`` or ``(delay_ms, n)`` if a successful job runs again, else ``None``."""
    repeat = job_repeat(record)
    if repeat is None:
        return None
    left = record.repeats_left
    left = repeat.times if left is None else left
    if left <= 0:
        return None
    delay = repeat.delay_s(repeat.times - left + 1)
    if delay <= 0:
        return "now", left - 1
    return str(round(delay * 1000)), left - 1


__all__ = [
    "Repeat",
    "Retry",
    "RetryJob",
    "job_repeat",
    "job_retry",
    "plan_repeat",
    "plan_retry",
    "requested_retry",
    "retries_done",
]
