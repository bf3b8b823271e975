"""Registering periodic entries (cron strings, fixed intervals); part of the Scheduler."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import redis

from . import store
from .callables import function_name
from .cron import CronEntry, Schedule, validate_entry_name, validate_misfire
from .defaults import DEFAULT_QUEUE_NAME
from .exceptions import ConfigurationError
from .keys import Keys
from .queue import Queue, pop_job_options
from .serializers import Serializer
from .store.cron_entries import list_entries, remove_entry, save_entry
from .utils import datetime_to_ms


class CronRegistryMixin:
    """:meth:`cron`, :meth:`every`, :meth:`remove` and :meth:`entries`; they work from
    any process, leader or not."""

    connection: redis.Redis
    keys: Keys
    serializer: Serializer | str | None

    def _now_ms(self, now: datetime | None) -> int:
        """``now`` in epoch ms, or Redis's clock: the first run of an entry must not
        depend on the registering host's clock."""
        return (
            datetime_to_ms(now) if now is not None else store.jobs.server_time_ms(self.connection)
        )

    def cron(
        self,
        cron_string: str,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        queue_name: str = DEFAULT_QUEUE_NAME,
        name: str | None = None,
        timezone: str = "UTC",
        misfire: str = "once",
        now: datetime | None = None,
        **job_options: Any,
    ) -> CronEntry:
        """Enqueue ``func(*args, **kwargs)`` on ``queue_name`` at every slot of
        ``cron_string`` (5 fields, or 6 with seconds last) in ``timezone`` (IANA).

        ``name`` (default ``"<func> <cron_string>"``) identifies the entry; registering
        the same name again updates it. ``misfire`` says what to do with slots missed
        while no scheduler ran: ``"once"`` runs one catch-up job, ``"skip"`` none,
        ``"all"`` each of them up to a cap. ``job_options`` are those of
        :meth:`Queue.enqueue` but ``job_id``. ``now`` replaces the clock (for tests).
        Raises :class:`ConfigurationError` (invalid cron string, unknown time zone, …) or
        :class:`InvalidJobError`; nothing is written then.
        """
        schedule = Schedule(cron=cron_string, timezone=timezone)
        return self._register(
            schedule, func, args, kwargs, queue_name, name, misfire, now, job_options
        )

    def every(
        self,
        interval: Any,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        queue_name: str = DEFAULT_QUEUE_NAME,
        name: str | None = None,
        misfire: str = "once",
        now: datetime | None = None,
        **job_options: Any,
    ) -> CronEntry:
        """Enqueue ``func`` every ``interval`` (seconds or a timedelta), first one
        interval from now; otherwise as :meth:`cron`."""
        now_at = self._now_ms(now)
        schedule = Schedule.every(interval, anchor_ms=now_at)
        assert schedule.interval_ms is not None
        schedule.anchor_ms = now_at + schedule.interval_ms
        return self._register(
            schedule, func, args, kwargs, queue_name, name, misfire, now, job_options
        )

    def _register(
        self,
        schedule: Schedule,
        func: Callable[..., Any] | str,
        args: Iterable[Any] | None,
        kwargs: Mapping[str, Any] | None,
        queue_name: str,
        name: str | None,
        misfire: str,
        now: datetime | None,
        job_options: dict[str, Any],
    ) -> CronEntry:
        validate_misfire(misfire)
        options_left = dict(job_options)
        options = pop_job_options(options_left)
        if options_left:
            raise ConfigurationError(
                f"unknown job option(s) {', '.join(sorted(options_left))}; pass the "
                "function's own arguments as args= and kwargs="
            )
        if options.job_id is not None:
            raise ConfigurationError(
                "a cron entry enqueues a new job at each run; it takes no job_id"
            )
        queue = Queue(
            queue_name,
            connection=self.connection,
            serializer=self.serializer,
            prefix=self.keys.prefix,
        )
        job = queue.create_job(func, args, kwargs, options)
        if name is None:
            name = f"{function_name(func)[0]} {schedule.describe()}"
        validate_entry_name(name)
        job.record.at_front = options.at_front
        job.record.created_ms = None
        template = job.fields
        now_at = self._now_ms(now)
        entry = save_entry(
            self.connection, self.keys, name, schedule, queue.name, misfire, template, now_at
        )
        # A standby or sleeping scheduler must see an entry due before its next wake-up.
        self.connection.publish(self.keys.scheduler_wake, entry.next_ms)
        return entry.public()

    def remove(self, name: str) -> bool:
        """Delete the entry ``name``; returns whether it existed."""
        return remove_entry(self.connection, self.keys, name)

    def entries(self) -> list[CronEntry]:
        """Every entry (name, schedule, timezone, next run, last run, last job id)."""
        return list_entries(self.connection, self.keys)
