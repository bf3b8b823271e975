"""Cron entries as stored in Redis: a hash per entry holding its schedule, the job to
enqueue (a template of job hash fields, validated at registration), its next and last
run; and a sorted set of entry names scored by their next run. Reading an entry never
raises anything but :class:`~minirq.exceptions.ConfigurationError`, whatever the bytes."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis

from ..cron import CronEntry, Schedule, validate_misfire
from ..exceptions import ConfigurationError
from ..keys import Keys
from ..utils import ms_to_datetime
from .record import int_or_none, text_or_none


def _required(name: str, field: str, value: int | None) -> int:
    if value is None:
        raise ConfigurationError(f"cron entry {name!r} has no {field!r} field")
    return value


# Prefix of the entry hash fields that hold the job template.
JOB_FIELD_PREFIX = "job."


@dataclass
class StoredEntry:
    """An entry's full record: its schedule, the job template and its state."""

    name: str
    schedule: Schedule
    queue_name: str
    misfire: str
    next_ms: int
    last_ms: int | None
    last_job_id: str | None
    job_fields: dict[str, bytes]

    @classmethod
    def load(cls, name: str, raw: Mapping[bytes, bytes]) -> StoredEntry:
        """The entry of a stored hash; raises :class:`ConfigurationError` naming the
        field that does not read (never anything else, whatever the bytes)."""
        fields: dict[str, bytes] = {}
        for key, value in raw.items():
            text_key = text_or_none(key)
            if text_key is None:
                raise ConfigurationError(f"cron entry {name!r} has a field name that is not text")
            fields[text_key] = value

        def text(key: str) -> str | None:
            value = fields.get(key)
            decoded = text_or_none(value)
            if value is not None and decoded is None:
                raise ConfigurationError(f"cron entry {name!r}: field {key!r} is not text")
            return decoded

        def number(key: str) -> int | None:
            value = text(key)
            if not value:
                return None
            parsed = int_or_none(value)
            if parsed is None:
                raise ConfigurationError(
                    f"cron entry {name!r}: field {key!r} is not a whole number: {value[:40]!r}"
                )
            return parsed

        misfire = text("misfire") or "once"
        validate_misfire(misfire)
        try:
            schedule = Schedule(
                cron=text("cron") or None,
                interval_ms=number("interval_ms"),
                anchor_ms=number("anchor_ms") or 0,
                timezone=text("timezone") or "UTC",
            )
        except ConfigurationError:
            raise
        except Exception as exc:
            # croniter raises a variety of errors for strings it cannot read.
            raise ConfigurationError(f"cron entry {name!r}: {type(exc).__name__}: {exc}") from None
        return cls(
            name=name,
            schedule=schedule,
            queue_name=text("queue") or "default",
            misfire=misfire,
            next_ms=_required(name, "next_ms", number("next_ms")),
            last_ms=number("last_ms"),
            last_job_id=text("last_job_id") or None,
            job_fields={
                k[len(JOB_FIELD_PREFIX) :]: v
                for k, v in fields.items()
                if k.startswith(JOB_FIELD_PREFIX)
            },
        )

    def public(self) -> CronEntry:
        func = self.job_fields.get("func")
        return CronEntry(
            name=self.name,
            schedule=self.schedule.describe(),
            timezone=self.schedule.timezone,
            func_name=text_or_none(func) or "",
            queue_name=self.queue_name,
            misfire=self.misfire,
            next_run=ms_to_datetime(self.next_ms) if self.next_ms else None,
            last_run=ms_to_datetime(self.last_ms),
            last_job_id=self.last_job_id,
        )


def save_entry(
    connection: redis.Redis,
    keys: Keys,
    name: str,
    schedule: Schedule,
    queue_name: str,
    misfire: str,
    job_fields: Mapping[str, bytes],
    now_ms: int,
) -> StoredEntry:
    """Create or update an entry. An entry whose schedule is unchanged keeps its next run;
    otherwise its next run is the first slot after ``now_ms``."""
    key = keys.cron_entry(name)

    def write(pipe: Any) -> None:
        # WATCH makes the read and the write one step: a scheduler advancing the entry
        # meanwhile must not have its next run put back.
        existing = cast(dict[bytes, bytes], pipe.hgetall(key))
        kept, next_ms = schedule, schedule.next_after(now_ms)
        if existing:
            try:
                old: StoredEntry | None = StoredEntry.load(name, existing)
            except ConfigurationError:
                old = None
            # Registering at every start (a cron module) must not push the next run back.
            if (
                old is not None
                and old.next_ms
                and (old.schedule.describe(), old.schedule.timezone)
                == (schedule.describe(), schedule.timezone)
            ):
                kept, next_ms = old.schedule, old.next_ms
        mapping: dict[str | bytes, str | bytes | int] = {
            "name": name,
            "cron": kept.cron or "",
            "interval_ms": kept.interval_ms or "",
            "anchor_ms": kept.anchor_ms,
            "timezone": kept.timezone,
            "queue": queue_name,
            "misfire": misfire,
            "next_ms": next_ms,
            "updated_ms": now_ms,
        }
        for field, value in job_fields.items():
            mapping[JOB_FIELD_PREFIX + field] = value
        stale = [f for f in existing if (text_or_none(f) or "").startswith(JOB_FIELD_PREFIX)]
        pipe.multi()
        if stale:
            pipe.hdel(key, *stale)
        pipe.hset(key, mapping=mapping)
        pipe.zadd(keys.cron_entries, {name: next_ms})

    connection.transaction(write, key)
    entry = load_entry(connection, keys, name)
    assert entry is not None
    return entry


def load_entry(connection: redis.Redis, keys: Keys, name: str) -> StoredEntry | None:
    """The entry ``name``; ``None`` if it is gone. Raises :class:`ConfigurationError` for
    an entry that does not read (a damaged hash, or a key of another type)."""
    try:
        raw = cast(dict[bytes, bytes], connection.hgetall(keys.cron_entry(name)))
    except redis.ResponseError as exc:
        raise ConfigurationError(f"cron entry {name!r} is not a hash: {exc}") from None
    return StoredEntry.load(name, raw) if raw else None


def remove_entry(connection: redis.Redis, keys: Keys, name: str) -> bool:
    """Delete an entry; returns whether it existed."""
    with connection.pipeline(transaction=True) as pipe:
        pipe.delete(keys.cron_entry(name))
        pipe.zrem(keys.cron_entries, name)
        deleted, _ = pipe.execute()
    return bool(deleted)


def list_entries(connection: redis.Redis, keys: Keys) -> list[CronEntry]:
    """Every entry, soonest next run first."""
    try:
        members = cast(list[bytes], connection.zrange(keys.cron_entries, 0, -1))
    except redis.ResponseError:
        return []
    names = [n for n in (text_or_none(m) for m in members) if n]
    with connection.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.hgetall(keys.cron_entry(name))
        records = pipe.execute(raise_on_error=False)
    entries = []
    for name, raw in zip(names, records, strict=True):
        if isinstance(raw, dict) and raw:
            # An entry that does not read is left out of the list (the scheduler logs it).
            with contextlib.suppress(ConfigurationError):
                entries.append(StoredEntry.load(name, raw).public())
    return entries
