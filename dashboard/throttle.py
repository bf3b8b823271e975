"""Slowing down repeated failed logins, per client address, in the web process's memory.

After :data:`FREE_FAILURES` wrong passwords from one address, each further attempt from it
must wait, twice as long after each new failure (up to :data:`MAX_DELAY_S`); until then
every attempt, right or wrong, gets a 429 with ``Retry-After``, so guessing is slowed to a
crawl while a person who mistyped waits a second or two. A right password clears the slate.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

FREE_FAILURES = 5
FIRST_DELAY_S = 1.0
MAX_DELAY_S = 300.0
# Failures older than this are forgotten.
FORGET_AFTER_S = 900.0
# Addresses remembered at most (the oldest are dropped first).
MAX_ADDRESSES = 10_000


@dataclass
class _Record:
    failures: int
    last_s: float
    locked_until_s: float


class LoginThrottle:
    """Failed-login counts per client address; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def wait_s(self, address: str, now_s: float | None = None) -> float:
        """How long ``address`` must still wait before its next attempt (0: go ahead)."""
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            record = self._records.get(address)
            if record is None:
                return 0.0
            if now - record.last_s > FORGET_AFTER_S:
                del self._records[address]
                return 0.0
            return max(0.0, record.locked_until_s - now)

    def failed(self, address: str, now_s: float | None = None) -> None:
        now = time.monotonic() if now_s is None else now_s
        with self._lock:
            record = self._records.pop(address, None) or _Record(0, now, 0.0)
            if now - record.last_s > FORGET_AFTER_S:
                record = _Record(0, now, 0.0)
            record.failures += 1
            record.last_s = now
            extra = record.failures - FREE_FAILURES
            if extra > 0:
                delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** min(extra - 1, 20))
                record.locked_until_s = now + delay
            self._records[address] = record
            while len(self._records) > MAX_ADDRESSES:
                self._records.popitem(last=False)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._records.pop(address, None)
