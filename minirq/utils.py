"""Small helpers shared by several modules: time, durations, imports."""

from __future__ import annotations

import importlib
import logging
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from .defaults import MAX_DURATION_S, MAX_RECONNECT_DELAY_S
from .exceptions import ConfigurationError, TimeoutFormatError

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


def now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def current_timestamp() -> int:
    """The current time in whole epoch seconds."""
    return int(time.time())


def as_text(value: bytes | str) -> str:
    """Text from bytes read from Redis (UTF-8), or the text itself."""
    return value.decode() if isinstance(value, bytes) else value


def get_version(connection: Any) -> tuple[int, int, int]:
    """The Redis server's version as ``(major, minor, patch)``, e.g. ``(7, 2, 4)``."""
    text = str(connection.info("server").get("redis_version", ""))
    major, minor, patch = (
        [int(part) for part in text.split(".")[:3] if part.isdigit()] + [0, 0, 0]
    )[:3]
    return major, minor, patch


def ms_to_datetime(value: int | None) -> datetime | None:
    """An aware UTC datetime for epoch milliseconds (``None`` stays ``None``)."""
    if value is None:
        return None
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def datetime_to_ms(value: datetime) -> int:
    """Epoch milliseconds for a datetime; a naive one is taken as local time."""
    return int(value.timestamp() * 1000)


def iso_utc(value_ms: int) -> str:
    dt = ms_to_datetime(value_ms)
    assert dt is not None
    return dt.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_duration(
    value: Any, option: str, *, allow_unlimited: bool = False, allow_zero: bool = True
) -> int:
    """Whole seconds for a duration option.

    Accepts an int or float of seconds, a :class:`timedelta`, or text such as ``"30s"``,
    ``"5m"``, ``"1h"``, ``"2d"``. With ``allow_unlimited``, ``-1`` means no limit.
    Raises :class:`TimeoutFormatError` (a :class:`ConfigurationError`) naming ``option``
    for anything else.
    """
    seconds: float
    if isinstance(value, bool):
        raise TimeoutFormatError(f"{option} must be a number of seconds, not {value!r}")
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        match = _DURATION_RE.match(value)
        if not match:
            raise TimeoutFormatError(
                f"{option}={value!r} is not a duration; use seconds or text such as "
                "'30s', '5m', '1h', '2d'"
            )
        seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    else:
        raise TimeoutFormatError(
            f"{option} must be seconds, a timedelta or text like '5m', not {type(value).__name__}"
        )
    if allow_unlimited and seconds == -1:
        return -1
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        limit = " (or -1 for no limit)" if allow_unlimited else ""
        raise TimeoutFormatError(f"{option}={value!r} must be zero or more seconds{limit}")
    if not allow_zero and seconds == 0:
        raise TimeoutFormatError(f"{option} must be more than zero seconds")
    if seconds > MAX_DURATION_S:
        raise TimeoutFormatError(
            f"{option}={value!r} is longer than the longest duration minirq accepts "
            f"({MAX_DURATION_S} s, 100 years)"
        )
    whole = int(seconds)
    if whole != seconds:
        whole += 1
    return whole


def import_attribute(dotted: str) -> Any:
    """The object named by ``package.module.name`` (``name`` may be ``Class.method``).

    Raises ``ImportError`` or ``AttributeError`` with the name in the message.
    """
    module_name, _, attribute = dotted.rpartition(".")
    parts = [attribute]
    while module_name:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            module_name, _, head = module_name.rpartition(".")
            parts.insert(0, head)
            continue
        obj: Any = module
        for part in parts:
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise AttributeError(
                    f"module {module_name!r} has no attribute {dotted!r}"
                ) from None
        return obj
    raise ImportError(f"cannot import {dotted!r}: no module of that name")


def decode(value: bytes | str | None) -> str | None:
    """Text of ``value``; bytes that are not UTF-8 become ``None`` (never raises)."""
    if value is None or isinstance(value, str):
        return value
    try:
        return value.decode()
    except UnicodeDecodeError:
        return None


def due_ms_at(when: Any) -> int:
    """Epoch milliseconds of ``when``, a datetime; a naive one is local time.

    Raises :class:`ConfigurationError` for anything but a datetime.
    """
    if not isinstance(when, datetime):
        raise ConfigurationError(
            f"the time to run at must be a datetime, not {type(when).__name__} {when!r}"
        )
    return datetime_to_ms(when)


def delay_ms(delay: Any, option: str = "delay") -> int:
    """Milliseconds of a delay given as a timedelta or seconds (int or float).

    Raises :class:`ConfigurationError` for a negative delay or anything else.
    """
    if isinstance(delay, timedelta):
        seconds = delay.total_seconds()
    elif isinstance(delay, int | float) and not isinstance(delay, bool):
        seconds = float(delay)
    else:
        raise ConfigurationError(
            f"{option} must be a timedelta or a number of seconds, not {type(delay).__name__}"
        )
    if seconds != seconds or seconds == float("inf"):
        raise ConfigurationError(f"{option}={delay!r} is not a finite duration")
    if seconds < 0:
        raise ConfigurationError(f"{option}={delay!r} is negative; it must be zero or more")
    if seconds > MAX_DURATION_S:
        raise ConfigurationError(
            f"{option}={delay!r} is longer than the longest delay minirq accepts "
            f"({MAX_DURATION_S} s, 100 years)"
        )
    return round(seconds * 1000)


# The first wait after Redis fails to answer, and how often a wait looks whether to stop.
FIRST_RECONNECT_DELAY_S = 0.1
_BACK_OFF_STEP_S = 0.05


def back_off(delay_s: float, give_up: Callable[[], bool]) -> float:
    """Wait ``delay_s`` before trying Redis again, in short naps that end early once
    ``give_up()`` (a signal handler only sets a flag; a plain sleep would outlast it).
    Returns the next delay: doubled, up to ``MAX_RECONNECT_DELAY_S``. The one back-off
    of every process that waits for Redis (workers, schedulers)."""
    wake_at = time.monotonic() + delay_s
    while not give_up():
        left = wake_at - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(left, _BACK_OFF_STEP_S))
    return min(delay_s * 2, MAX_RECONNECT_DELAY_S)


def close_quietly(resource: Any, what: str, logger: logging.Logger) -> None:
    """Close ``resource`` (a pub/sub subscription, a socket) whose failure to close changes
    nothing for the caller: it is logged at DEBUG, never raised."""
    try:
        resource.close()
    except Exception:
        logger.debug("closing %s failed", what, exc_info=True)
