"""Periodic entries: cron strings and fixed intervals, stored in Redis.

Every scheduler (and the dashboard) reads the same entries: a hash per entry holding its
schedule, the job to enqueue (as a template of job hash fields, validated at
registration), its next run and its last run; and a sorted set of entry names scored by
their next run. Firing a slot is one script (``cron_fire.lua``) that checks the leader
lease, the entry's expected next run and a per-slot idempotency key.

Cron strings are read by croniter in the entry's time zone, by wall-clock time: a time
that daylight saving skips (02:30 on the spring-forward night) runs at the moment of the
change; a time that happens twice (01:30 on the fall-back night) runs once, at its first
occurrence, except in schedules that run every hour, which run at both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter

from .defaults import CRON_MISFIRE_CAP, CRON_MISFIRE_GRACE_S
from .exceptions import ConfigurationError
from .utils import delay_ms

MISFIRE_POLICIES = ("once", "skip", "all")
ENTRY_NAME_MAX_LENGTH = 200
# Daylight-saving shifts are at most a couple of hours; look this far around them.
_DST_WINDOW_MS = 3 * 3600 * 1000
# How far back to look for the latest missed slot, smallest window first.
_LOOKBACK_MS = (60_000, 3_600_000, 86_400_000, 32 * 86_400_000, 366 * 86_400_000)


def time_zone(name: Any) -> ZoneInfo:
    """The IANA time zone ``name``; raises :class:`ConfigurationError` if unknown."""
    if not isinstance(name, str) or not name:
        raise ConfigurationError(
            f"timezone must be an IANA zone name such as 'Europe/Paris', not {name!r}"
        )
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"unknown time zone {name!r}; use an IANA name such as 'UTC' or 'America/New_York'"
        ) from None


def validate_entry_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"a cron entry name must be a non-empty string, not {name!r}")
    if len(name) > ENTRY_NAME_MAX_LENGTH or any(ord(c) < 32 for c in name):
        raise ConfigurationError(
            f"invalid cron entry name {name[:50]!r}: at most {ENTRY_NAME_MAX_LENGTH} "
            "characters, no control characters"
        )
    return name


def validate_misfire(misfire: Any) -> str:
    if misfire not in MISFIRE_POLICIES:
        raise ConfigurationError(
            f"misfire must be one of {', '.join(MISFIRE_POLICIES)}, not {misfire!r}"
        )
    return cast(str, misfire)


class Schedule:
    """When an entry runs: the slots (epoch ms) of a cron string or a fixed interval."""

    def __init__(
        self,
        cron: str | None = None,
        interval_ms: int | None = None,
        anchor_ms: int = 0,
        timezone: str = "UTC",
    ) -> None:
        if (cron is None) == (interval_ms is None):
            raise ConfigurationError("a schedule is either a cron string or an interval")
        self.timezone = timezone
        self.tz = time_zone(timezone)
        self.cron = cron
        self.interval_ms = interval_ms
        self.anchor_ms = anchor_ms
        self._every_hour = False
        if cron is not None:
            if not isinstance(cron, str):
                raise ConfigurationError(f"a cron string must be text, not {type(cron).__name__}")
            fields = cron.split()
            aliased = len(fields) == 1 and cron.strip().startswith("@")
            if not (aliased or len(fields) in (5, 6)) or not croniter.is_valid(cron):
                raise ConfigurationError(
                    f"invalid cron string {cron!r}: use 5 fields (minute hour day month "
                    "weekday) or 6 with seconds last, e.g. '*/5 * * * *'"
                )
            self._every_hour = croniter(cron).expanded[1] == ["*"]
            self.next_after(0)
        elif interval_ms is not None and interval_ms <= 0:
            raise ConfigurationError("an interval must be more than zero")

    @classmethod
    def every(cls, interval: Any, anchor_ms: int) -> Schedule:
        """Runs at ``anchor_ms`` and every ``interval`` (seconds or timedelta) after it."""
        interval_ms = delay_ms(interval, "interval")
        if interval_ms <= 0:
            raise ConfigurationError(f"interval={interval!r} must be more than zero")
        return cls(interval_ms=interval_ms, anchor_ms=anchor_ms)

    def describe(self) -> str:
        if self.cron is not None:
            return self.cron
        assert self.interval_ms is not None
        seconds = self.interval_ms / 1000
        return f"every {seconds:g}s"

    def next_after(self, after_ms: int) -> int:
        """The first slot strictly after ``after_ms``."""
        if self.interval_ms is not None:
            if after_ms < self.anchor_ms:
                return self.anchor_ms
            return self.anchor_ms + ((after_ms - self.anchor_ms) // self.interval_ms + 1) * (
                self.interval_ms
            )
        return self._cron_next_after(after_ms)

    def latest_at_or_before(self, now_ms: int, lower_ms: int) -> int | None:
        """The last slot in ``[lower_ms, now_ms]``, or ``None`` if there is none."""
        if self.interval_ms is not None:
            if now_ms < self.anchor_ms:
                return None
            slot = self.anchor_ms + (now_ms - self.anchor_ms) // self.interval_ms * self.interval_ms
            return slot if slot >= lower_ms else None
        for window in (*_LOOKBACK_MS, None):
            start = lower_ms - 1 if window is None else max(lower_ms - 1, now_ms - window)
            slot = self.next_after(start)
            if slot > now_ms:
                if start == lower_ms - 1:
                    return None
                continue
            while (following := self.next_after(slot)) <= now_ms:
                slot = following
            return slot
        return None

    def _offset_at(self, epoch_ms: int) -> timedelta | None:
        return datetime.fromtimestamp(epoch_ms / 1000, self.tz).utcoffset()

    def _cron_next_after(self, after_ms: int) -> int:
        assert self.cron is not None
        wall = datetime.fromtimestamp(after_ms / 1000, self.tz).replace(tzinfo=None)
        # Wall times map to instants in the same order, except that a schedule running
        # every hour runs a repeated hour twice: near such a change, look back by the
        # size of the change and keep the earliest instant after ``after_ms``.
        shift = timedelta(0)
        if self._every_hour:
            before = self._offset_at(after_ms - _DST_WINDOW_MS)
            later = self._offset_at(after_ms + _DST_WINDOW_MS)
            if before is not None and later is not None:
                shift = abs(later - before)
        candidates = croniter(self.cron, wall - shift)
        best: int | None = None
        best_wall = wall
        while True:
            try:
                naive = candidates.get_next(datetime)
            except CroniterError:
                raise ConfigurationError(
                    f"cron string {self.cron!r} never matches a date"
                ) from None
            if best is not None and naive > best_wall + shift:
                return best
            for instant in self._instants(naive):
                if instant > after_ms and (best is None or instant < best):
                    best, best_wall = instant, naive

    def _instants(self, naive: datetime) -> list[int]:
        """The instants (epoch ms) at which wall time ``naive`` runs in this zone."""
        first = naive.replace(tzinfo=self.tz, fold=0)
        second = naive.replace(tzinfo=self.tz, fold=1)
        if first.utcoffset() == second.utcoffset():
            return [_ms(first)]
        early, late = _ms(first), _ms(second)
        if early < late:
            # Fall back: the wall time happens twice.
            return [early, late] if self._every_hour else [early]
        # Spring forward: the wall time never happens; run at the change itself.
        low, high = late // 1000, early // 1000
        before = self._offset_at(low * 1000)
        while high - low > 1:
            middle = (low + high) // 2
            if self._offset_at(middle * 1000) == before:
                low = middle
            else:
                high = middle
        return [high * 1000]


def _ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def plan_slots(
    schedule: Schedule,
    next_ms: int,
    now_ms: int,
    misfire: str,
    cap: int = CRON_MISFIRE_CAP,
    grace_ms: int = CRON_MISFIRE_GRACE_S * 1000,
) -> tuple[list[int], int, bool]:
    """Which due slots of an entry to enqueue at ``now_ms``.

    Returns the slots to enqueue (oldest first), the entry's next run afterwards, and
    whether missed slots were dropped (beyond the cap with ``misfire="all"``).
    """
    if next_ms > now_ms:
        return [], next_ms, False
    if misfire == "all":
        slots: list[int] = []
        slot = next_ms
        while slot <= now_ms and len(slots) < cap:
            slots.append(slot)
            slot = schedule.next_after(slot)
        if slot <= now_ms:
            return slots, schedule.next_after(now_ms), True
        return slots, slot, False
    following = schedule.next_after(next_ms)
    if following > now_ms:
        # The usual case: only the expected slot is due.
        latest = next_ms
    else:
        latest = schedule.latest_at_or_before(now_ms, next_ms) or next_ms
        following = schedule.next_after(now_ms)
    if misfire == "skip" and now_ms - latest > grace_ms:
        return [], following, True
    return [latest], following, latest != next_ms


@dataclass(frozen=True)
class CronEntry:
    """A periodic entry as stored in Redis (what :meth:`Scheduler.entries` returns)."""

    name: str
    schedule: str
    timezone: str
    func_name: str
    queue_name: str
    misfire: str
    next_run: datetime | None
    last_run: datetime | None
    last_job_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "func_name": self.func_name,
            "queue_name": self.queue_name,
            "misfire": self.misfire,
            "next_run": self.next_run.isoformat() if self.next_run else None,
            "last_run": self.last_run.isoformat() if self.last_run else None,
            "last_job_id": self.last_job_id,
        }
