"""Limits that jobs share across every worker and host: how many may run at once, and
how many may start in a window of time.

A :class:`Limit` is pure data. The fetch step (``scripts/fetch.lua``) enforces it on
Redis's clock; this module validates it at enqueue and spells it as the job hash and
the queue-limits hash store it: ``<key>|<concurrency>|<rate count>|<window ms>``, an
absent part left empty (``stripe|5||``, ``mail||50|1000``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .exceptions import ConfigurationError

#: What a limit's key may contain: it is part of Redis key names.
LIMIT_KEY_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}", re.ASCII)
MAX_CONCURRENCY = 100_000
#: The rate is kept as a log of start times, one entry per start in the window: this
#: bounds its memory.
MAX_RATE_COUNT = 100_000
MAX_RATE_WINDOW_MS = 7 * 24 * 3600 * 1000

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
# ASCII only and matched whole: what Lua's patterns in fetch.lua read the same way.
_RATE_RE = re.compile(r" *(\d{1,9}) */ *(\d{0,9}) *(ms|s|m|h|d) *", re.ASCII)
_ENCODED_RE = re.compile(r"([A-Za-z0-9_.-]{1,64})\|(\d{0,9})\|(\d{0,9})\|(\d{0,12})", re.ASCII)

RATE_GRAMMAR = (
    "'<count>/<window>' where the window is a unit (ms, s, m, h, d) with an optional "
    "whole number before it: '100/m', '50/s', '1000/h', '10/5s'"
)


def parse_rate(rate: str) -> tuple[int, int]:
    """``(count, window_ms)`` of a rate such as ``"100/m"`` or ``"10/5s"``.

    Raises :class:`ConfigurationError` naming the problem.
    """
    if not isinstance(rate, str):
        raise ConfigurationError(f"a limit's rate must be a string like '100/m', not {rate!r}")
    match = _RATE_RE.fullmatch(rate)
    if match is None:
        raise ConfigurationError(f"invalid rate {rate[:40]!r}: expected {RATE_GRAMMAR}")
    count_text, multiple_text, unit = match.groups()
    count = int(count_text)
    window_ms = int(multiple_text or "1") * _UNIT_MS[unit]
    if not 1 <= count <= MAX_RATE_COUNT:
        raise ConfigurationError(f"invalid rate {rate!r}: the count must be 1 to {MAX_RATE_COUNT}")
    if not 1 <= window_ms <= MAX_RATE_WINDOW_MS:
        raise ConfigurationError(
            f"invalid rate {rate!r}: the window must be more than zero and at most 7 days"
        )
    return count, window_ms


@dataclass(frozen=True)
class Limit:
    """A limit shared by every job that carries the same ``key``.

    ``concurrency``: at most that many of these jobs run at once (a job holds its slot
    under its lease, so a worker that dies gives it back when the lease runs out).
    ``rate``: at most ``count`` starts in any window of that length, as ``"100/m"``,
    ``"50/s"``, ``"1000/h"`` or ``"10/5s"``. At least one of them is needed.

    Each job is checked against the numbers it carries: jobs sharing a key should carry
    the same ones. Raises :class:`ConfigurationError` naming the problem.
    """

    key: str
    concurrency: int | None = None
    rate: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not LIMIT_KEY_RE.fullmatch(self.key):
            raise ConfigurationError(
                f"invalid limit key {self.key!r}: 1 to 64 letters, digits, '_', '.' or '-'"
            )
        concurrency = self.concurrency
        if concurrency is not None and (
            not isinstance(concurrency, int)
            or isinstance(concurrency, bool)
            or not 1 <= concurrency <= MAX_CONCURRENCY
        ):
            raise ConfigurationError(
                f"invalid concurrency {concurrency!r} for limit {self.key!r}: "
                f"a whole number from 1 to {MAX_CONCURRENCY}"
            )
        if self.rate is not None:
            parse_rate(self.rate)
        if concurrency is None and self.rate is None:
            raise ConfigurationError(
                f"limit {self.key!r} limits nothing: give a concurrency, a rate or both"
            )

    @property
    def rate_count(self) -> int | None:
        """Starts allowed per window, or ``None`` without a rate."""
        return None if self.rate is None else parse_rate(self.rate)[0]

    @property
    def rate_window_ms(self) -> int | None:
        """The window of the rate in milliseconds, or ``None`` without a rate."""
        return None if self.rate is None else parse_rate(self.rate)[1]

    def encoded(self) -> str:
        """The limit as the job hash and the queue-limits hash store it."""
        count, window = parse_rate(self.rate) if self.rate is not None else ("", "")
        concurrency = "" if self.concurrency is None else self.concurrency
        return f"{self.key}|{concurrency}|{count}|{window}"


def _rate_text(count: int, window_ms: int) -> str:
    for unit in ("d", "h", "m", "s"):
        size = _UNIT_MS[unit]
        if window_ms % size == 0:
            multiple = window_ms // size
            return f"{count}/{multiple if multiple != 1 else ''}{unit}"
    return f"{count}/{window_ms}ms"


def decode_limit(text: str) -> tuple[Limit | None, str | None]:
    """The :class:`Limit` a stored value spells, and what is wrong with it (``None`` if
    nothing). Never raises."""
    match = _ENCODED_RE.fullmatch(text)
    if match is None:
        return None, f"is not a limit: {text[:40]!r}"
    key, concurrency, count, window = match.groups()
    if bool(count) != bool(window):
        return None, f"has a rate without its window: {text[:40]!r}"
    try:
        rate = _rate_text(int(count), int(window)) if count else None
        return Limit(key, int(concurrency) if concurrency else None, rate), None
    except ConfigurationError as exc:
        return None, f"is not a valid limit ({exc})"


def to_limit(value: Any, what: str = "limit") -> Limit | None:
    """``value`` if it is a :class:`Limit` or ``None``; raises :class:`ConfigurationError`
    otherwise."""
    if value is None or isinstance(value, Limit):
        return value
    raise ConfigurationError(f"{what} must be a minirq.Limit, not {type(value).__name__}")
