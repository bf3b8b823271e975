"""The scheduler: moves due jobs onto their queues and enqueues cron entries on time.

Any number of schedulers may run; one is active, holding a lease with a fencing token
that it renews every ``lease_s / 3``. Standbys try to take the lease as often, so a dead
scheduler is replaced within ``lease_s * 4 / 3``. Every move of due jobs and every cron
slot is one script that checks the caller's lease value, so a scheduler that lost its
lease mid-pass (paused, cut off) cannot enqueue anything twice.

The active scheduler sleeps until the next due time; enqueueing a job due earlier
publishes on a channel that wakes it, so it never ticks once a second.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from typing import Any, TypeVar, cast

import redis

from . import store
from .connection import resolve_connection
from .cron import CronEntry, plan_slots
from .cron_registry import CronRegistryMixin
from .defaults import (
    CRON_SLOT_TTL_S,
    DEFAULT_MAX_ORPHANINGS,
    SCHEDULER_BATCH_SIZE,
    SCHEDULER_HOUSEKEEPING_S,
    SCHEDULER_LEASE_S,
)
from .exceptions import ConfigurationError
from .keys import Keys
from .queue import Queue
from .scheduler_loop import RELEASED, SchedulerLoopMixin
from .serializers import Serializer
from .stats import record_scheduler_pass
from .store import scheduling_calls
from .store.cron_entries import StoredEntry, load_entry
from .store.record import decode_record, encode_record, text_or_none

logger = logging.getLogger("minirq.scheduler")

_T = TypeVar("_T")


class Scheduler(SchedulerLoopMixin, CronRegistryMixin):
    """Moves due scheduled jobs to their queues and runs cron entries.

    ``Scheduler(connection=…).run()`` runs until SIGTERM/SIGINT; ``run(burst=True)`` makes
    one pass. :meth:`cron`, :meth:`every`, :meth:`remove` and :meth:`entries` manage the
    periodic entries stored in Redis, and work from any process.
    """

    def __init__(
        self,
        connection: redis.Redis | None = None,
        *,
        prefix: str | None = None,
        serializer: Serializer | str | None = None,
        name: str | None = None,
        lease_s: float = SCHEDULER_LEASE_S,
        batch_size: int = SCHEDULER_BATCH_SIZE,
        housekeeping_s: float = SCHEDULER_HOUSEKEEPING_S,
        max_orphanings: int = DEFAULT_MAX_ORPHANINGS,
    ) -> None:
        if isinstance(lease_s, bool) or not isinstance(lease_s, int | float) or lease_s <= 0:
            raise ConfigurationError(f"lease_s must be more than zero seconds, not {lease_s!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigurationError(f"batch_size must be an int of 1 or more, not {batch_size!r}")
        self.connection = resolve_connection(connection)
        self.keys = Keys(prefix)
        self.serializer = serializer
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:4]}"
        self.lease_ms = int(lease_s * 1000)
        self.batch_size = batch_size
        self.housekeeping_s = housekeeping_s
        self.max_orphanings = max_orphanings
        self._lease: str | None = None
        self._next_lease_check = 0.0
        self._next_housekeeping = 0.0
        self._pubsub: Any = None
        self._stop = False
        # Queues whose scheduled set or list is not of its type, skipped until the next
        # housekeeping (and each logged once), so that they cannot make it spin.
        self._broken: set[str] = set()
        self._reported: set[str] = set()
        # The time (on the clock step() used) and the monotonic instant of the last step,
        # so that the wait until the next due time does not depend on this host's clock.
        self._step_at = (0, 0.0)

    def __repr__(self) -> str:
        return f"<Scheduler {self.name}>"

    # -- the lease ---------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """Whether this scheduler held the lease at its last check."""
        return self._lease is not None

    @property
    def fencing_token(self) -> int | None:
        """The fencing token of the lease this scheduler holds, if any."""
        return int(self._lease.split(":", 1)[0]) if self._lease else None

    def _lease_script(self, action: str, value: str) -> str | None:
        return store.runner_for(self.connection).run(
            scheduling_calls.scheduler_lease(
                self.keys, action=action, value=value, lease_ms=self.lease_ms
            )
        )

    def acquire_lease(self) -> bool:
        """Take the lease if it is free, or renew it if held; returns whether we lead."""
        if self._lease is not None:
            self._lease = self._lease_script("renew", self._lease)
            if self._lease is None:
                logger.warning("%s: lost the scheduler lease", self.name)
        if self._lease is None:
            self._lease = self._lease_script("acquire", self.name)
            if self._lease is not None:
                logger.info(
                    "%s: now the active scheduler (fencing token %s)",
                    self.name,
                    self.fencing_token,
                )
        self._next_lease_check = time.monotonic() + self.lease_ms / 3000
        return self._lease is not None

    def release_lease(self) -> None:
        """Give the lease up so that a standby takes over at once."""
        if self._lease is None:
            return
        self._lease_script("release", self._lease)
        self._lease = None
        self.connection.publish(self.keys.scheduler_wake, RELEASED)

    def _lost_lease(self) -> None:
        if self._lease is not None:
            logger.warning("%s: the scheduler lease passed to another scheduler", self.name)
        self._lease = None
        self._next_lease_check = 0.0

    # -- one pass ----------------------------------------------------------------------

    def step(self, now_ms: int | None = None) -> int:
        """Make one pass: check the lease, and if we lead, move due jobs and enqueue due
        cron slots. Returns when the next pass is wanted (epoch ms, on the clock of
        ``now_ms``, which defaults to Redis's clock: a host whose clock runs ahead never
        starts a job early)."""
        now = now_ms if now_ms is not None else store.jobs.server_time_ms(self.connection)
        self._step_at = (now, time.monotonic())
        if time.monotonic() >= self._next_lease_check:
            self.acquire_lease()
        if time.monotonic() >= self._next_housekeeping:
            self.housekeep()
        wake = now + max(0, int((self._next_lease_check - time.monotonic()) * 1000))
        if self._lease is None:
            return wake
        self.enqueue_due(now_ms)
        self.enqueue_cron(now_ms if now_ms is not None else now)
        record_scheduler_pass(self.connection, self.keys, self.name)
        due = self.next_due_ms()
        return wake if due is None else min(wake, due)

    def enqueue_due(self, now_ms: int | None = None) -> int:
        """Move every job due at ``now_ms`` (default: now on Redis's clock) onto its
        queue; returns how many moved. Does nothing without the lease."""
        names = [
            n for n in store.jobs.queue_names(self.connection, self.keys) if n not in self._broken
        ]
        runner = store.runner_for(self.connection)
        total = 0
        pending = names
        while pending and self._lease is not None:
            lease = self._lease
            moves = [
                scheduling_calls.move_due(
                    self.keys, queue=name, lease=lease, now_ms=now_ms, batch=self.batch_size
                )
                for name in pending
            ]
            full = []
            for name, moved in zip(pending, runner.run_many(moves), strict=True):
                if isinstance(moved, Exception) or moved == -2:
                    self._set_aside_queue(name, moved)
                    continue
                if moved < 0:
                    self._lost_lease()
                    return total
                total += moved
                if moved >= self.batch_size:
                    full.append(name)
            pending = full
        return total

    def _set_aside_queue(self, name: str, problem: Any) -> None:
        self._broken.add(name)
        if name not in self._reported:
            self._reported.add(name)
            logger.error(
                "%s: scheduled jobs of queue %r cannot be moved (%s); skipped",
                self.name,
                name,
                problem if isinstance(problem, Exception) else "a key of the wrong type",
            )

    def enqueue_cron(self, now_ms: int | None = None) -> list[str]:
        """Enqueue the due slots of every cron entry at ``now_ms`` (default: now on
        Redis's clock); returns the new job ids. Does nothing without the lease."""
        clock = now_ms
        now = now_ms if now_ms is not None else store.jobs.server_time_ms(self.connection)
        try:
            names = cast(
                list[bytes], self.connection.zrangebyscore(self.keys.cron_entries, "-inf", now)
            )
        except redis.ResponseError as exc:
            self._set_aside_queue("(cron entries)", exc)
            return []
        job_ids: list[str] = []
        for raw_name in names:
            if self._lease is None:
                break
            name = text_or_none(raw_name)
            if not name:
                logger.error(
                    "%s: cron entry %r is not named in text; set aside", self.name, raw_name
                )
                self.connection.zrem(self.keys.cron_entries, raw_name)
                continue
            job_ids += self._fire_entry(name, now, clock)
        return job_ids

    def _load_due_entry(self, name: str, now: int) -> tuple[StoredEntry, Any] | None:
        """The entry and its plan, or ``None`` (set aside, logged once) if it cannot run."""
        try:
            entry = load_entry(self.connection, self.keys, name)
            if entry is not None:
                template = decode_record(entry.job_fields)
                if template.problem or not template.func:
                    raise ConfigurationError(
                        f"its job template is broken: {template.problem or 'no function'}"
                    )
                return entry, plan_slots(entry.schedule, entry.next_ms, now, entry.misfire)
        except Exception as exc:
            # Whatever is wrong with it, it leaves the set of due entries so that it
            # cannot be due again at every pass; its hash stays for a person to look at.
            logger.error("cron entry %r cannot run (%s); it is set aside", name, exc)
        self.connection.zrem(self.keys.cron_entries, name)
        return None

    def _fire_entry(self, name: str, now: int, clock: int | None = None) -> list[str]:
        loaded = self._load_due_entry(name, now)
        if loaded is None:
            return []
        entry, (slots, after, dropped) = loaded
        if dropped:
            logger.warning(
                "cron entry %r missed runs while no scheduler was active (misfire=%s)",
                name,
                entry.misfire,
            )
        job_ids: list[str] = []
        expected = entry.next_ms
        runner = store.runner_for(self.connection)
        for index, slot in enumerate(slots or [None]):
            following = slots[index + 1] if index + 1 < len(slots) else after
            job_id = uuid.uuid4().hex
            record = decode_record(entry.job_fields)
            record.created_ms = record.enqueued_ms = now
            record.status = "queued"
            record.cron_entry = name
            record.cron_slot_ms = str(slot) if slot is not None else ""
            result = runner.run(
                scheduling_calls.cron_fire(
                    self.keys,
                    lease=self._lease or "",
                    entry=name,
                    expected_ms=expected,
                    following_ms=following,
                    slot_ms=slot,
                    slot_ttl_ms=CRON_SLOT_TTL_S * 1000,
                    job_id=job_id,
                    queue=entry.queue_name,
                    ttl_s=record.ttl_s,
                    now_ms=clock,
                    fields=encode_record(record),
                )
            )
            if result < 0:
                self._lost_lease()
                break
            if result == 0:
                # Another scheduler moved the entry on (or re-registered it) meanwhile.
                break
            if slot is not None:
                job_ids.append(job_id)
                logger.info("cron entry %r: enqueued job %s on %s", name, job_id, entry.queue_name)
            expected = following
        return job_ids

    def next_due_ms(self) -> int | None:
        """The earliest due time of any scheduled job or cron entry (epoch ms)."""
        names = [
            n for n in store.jobs.queue_names(self.connection, self.keys) if n not in self._broken
        ]
        with self.connection.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zrange(self.keys.registry("scheduled", name), 0, 0, withscores=True)
            pipe.zrange(self.keys.cron_entries, 0, 0, withscores=True)
            heads = pipe.execute(raise_on_error=False)
        scores = [int(head[0][1]) for head in heads if isinstance(head, list) and head]
        return min(scores) if scores else None

    def housekeep(self) -> None:
        """Recover jobs whose worker died (under the reaper's lock); look again at
        queues set aside."""
        self._next_housekeeping = time.monotonic() + self.housekeeping_s
        self._broken.clear()
        try:
            store.reap_expired_leases(self.connection, self.keys, self.max_orphanings)
        except redis.ResponseError as exc:
            logger.error("%s: recovering jobs of dead workers failed: %s", self.name, exc)


class RQScheduler(Scheduler):
    """RQ's scheduler class, built as RQ builds it: ``RQScheduler(queues, connection)``.

    minirq's scheduler serves every queue of its prefix (the queues' prefix) under one
    lease, so RQ's per-queue locks map onto it: :meth:`acquire_locks` takes (or renews) the
    lease and returns the names of the queues given if it is held, :meth:`release_locks`
    gives it up, and :meth:`enqueue_scheduled_jobs` moves the jobs now due.
    """

    def __init__(self, queues: Any, connection: redis.Redis | None = None, **kwargs: Any) -> None:
        given = [queues] if isinstance(queues, Queue | str) else list(queues or [])
        first = next((q for q in given if isinstance(q, Queue)), None)
        if first is not None:
            connection = connection or first.connection
            kwargs.setdefault("prefix", first.keys.prefix)
        super().__init__(connection, **kwargs)
        self.queue_names = {q.name if isinstance(q, Queue) else str(q) for q in given}

    def acquire_locks(self, auto_start: bool = False) -> set[str]:
        """Take or renew the lease; the names of the queues given if held, else none.
        ``auto_start`` starts nothing here (one log line says so): :meth:`run` keeps a
        scheduler going, and workers start theirs on their own."""
        if auto_start:
            logger.info(
                "%s: acquire_locks(auto_start=True) starts no scheduler; run() does", self.name
            )
        return set(self.queue_names) if self.acquire_lease() else set()

    def release_locks(self) -> None:
        """Give the lease up, so that another scheduler takes over at once."""
        self.release_lease()

    def enqueue_scheduled_jobs(self) -> int:
        """Move every job due now (on Redis's clock) onto its queue; how many moved.
        Does nothing unless :meth:`acquire_locks` took the lease; renews it first (taking
        it back if it lapsed and is free), as RQ's scheduler refreshes its locks."""
        if self._lease is None or not self.acquire_lease():
            return 0
        return self.enqueue_due()


__all__ = ["CronEntry", "RQScheduler", "Scheduler"]
