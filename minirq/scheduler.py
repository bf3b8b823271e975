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
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from functools import partial
from types import FrameType
from typing import Any, TypeVar, cast

import redis

from .connection import resolve_connection
from .cron import (
    CronEntry,
    Schedule,
    list_entries,
    load_entry,
    plan_slots,
    remove_entry,
    save_entry,
    validate_entry_name,
    validate_misfire,
)
from .defaults import (
    CRON_SLOT_TTL_S,
    DEFAULT_MAX_ORPHANINGS,
    DEFAULT_QUEUE_NAME,
    SCHEDULER_BATCH_SIZE,
    SCHEDULER_HOUSEKEEPING_S,
    SCHEDULER_LEASE_S,
)
from .exceptions import ConfigurationError
from .job import function_name
from .keys import Keys
from .queue import Queue, pop_job_options
from .scripts import scripts_for
from .serializers import Serializer
from .stats import record_scheduler_pass
from .utils import datetime_to_ms, decode, now_ms

logger = logging.getLogger("minirq.scheduler")

_REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
# The longest a scheduler waits between checks of its stop flag; no Redis call is made.
_STOP_CHECK_S = 0.5
_RELEASED = b"released"
# A worker restarts its scheduler process no more often than this.
_RESTART_DELAY_S = 1.0
_T = TypeVar("_T")


class Scheduler:
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
        result = scripts_for(self.connection).run(
            "scheduler_lease",
            [self.keys.scheduler_lease, self.keys.scheduler_fence],
            [action, value, self.lease_ms],
        )
        return decode(result) if result else None

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
        self.connection.publish(self.keys.scheduler_wake, _RELEASED)

    def _lost_lease(self) -> None:
        if self._lease is not None:
            logger.warning("%s: the scheduler lease passed to another scheduler", self.name)
        self._lease = None
        self._next_lease_check = 0.0

    # -- one pass ----------------------------------------------------------------------

    def step(self, now_ms: int | None = None) -> int:
        """Make one pass: check the lease, and if we lead, move due jobs and enqueue due
        cron slots. Returns when the next pass is wanted (epoch ms, on the clock of
        ``now_ms``, which defaults to the wall clock)."""
        now = now_ms if now_ms is not None else _now()
        if time.monotonic() >= self._next_lease_check:
            self.acquire_lease()
        if time.monotonic() >= self._next_housekeeping:
            self.housekeep()
        wake = now + max(0, int((self._next_lease_check - time.monotonic()) * 1000))
        if self._lease is None:
            return wake
        self.enqueue_due(now)
        self.enqueue_cron(now)
        record_scheduler_pass(self.connection, self.keys, self.name)
        due = self.next_due_ms()
        return wake if due is None else min(wake, due)

    def enqueue_due(self, now_ms: int | None = None) -> int:
        """Move every job due at ``now_ms`` onto its queue; returns how many moved.

        Does nothing without the lease.
        """
        now = now_ms if now_ms is not None else _now()
        names = sorted(decode(n) or "" for n in self.connection.smembers(self.keys.queues))
        total = 0
        pending = names
        while pending and self._lease is not None:
            with self.connection.pipeline(transaction=False) as pipe:
                for name in pending:
                    scripts_for(self.connection).run(
                        "move_due",
                        [
                            self.keys.scheduler_lease,
                            self.keys.registry("scheduled", name),
                            self.keys.queue(name),
                            self.keys.wake_channel(name),
                        ],
                        [self._lease, now, self.batch_size, self.keys.job_prefix],
                        client=pipe,
                    )
                results = pipe.execute()
            full = []
            for name, moved in zip(pending, results, strict=True):
                if int(moved) < 0:
                    self._lost_lease()
                    return total
                total += int(moved)
                if int(moved) >= self.batch_size:
                    full.append(name)
            pending = full
        return total

    def enqueue_cron(self, now_ms: int | None = None) -> list[str]:
        """Enqueue the due slots of every cron entry; returns the new job ids.

        Does nothing without the lease.
        """
        now = now_ms if now_ms is not None else _now()
        names = cast(
            list[bytes], self.connection.zrangebyscore(self.keys.cron_entries, "-inf", now)
        )
        job_ids: list[str] = []
        for raw_name in names:
            if self._lease is None:
                break
            job_ids += self._fire_entry(decode(raw_name) or "", now)
        return job_ids

    def _fire_entry(self, name: str, now: int) -> list[str]:
        try:
            entry = load_entry(self.connection, self.keys, name)
            if entry is not None:
                slots, after, dropped = plan_slots(
                    entry.schedule, entry.next_ms, now, entry.misfire
                )
        except ConfigurationError as exc:
            logger.error("cron entry %r cannot run (%s); it is set aside", name, exc)
            entry = None
        if entry is None:
            self.connection.zrem(self.keys.cron_entries, name)
            return []
        if dropped:
            logger.warning(
                "cron entry %r missed runs while no scheduler was active (misfire=%s)",
                name,
                entry.misfire,
            )
        job_ids: list[str] = []
        expected = entry.next_ms
        for index, slot in enumerate(slots or [None]):
            following = slots[index + 1] if index + 1 < len(slots) else after
            job_id = uuid.uuid4().hex
            fields: dict[str, Any] = dict(entry.job_fields)
            fields.update(
                created_ms=now,
                enqueued_ms=now,
                status="queued",
                cron_entry=name,
                cron_slot_ms=slot if slot is not None else "",
            )
            flat: list[Any] = []
            for field, value in fields.items():
                flat += (field, value)
            queue = entry.queue_name
            result = scripts_for(self.connection).run(
                "cron_fire",
                [
                    self.keys.scheduler_lease,
                    self.keys.cron_entries,
                    self.keys.cron_entry(name),
                    self.keys.cron_slot(name, slot if slot is not None else 0),
                    self.keys.job(job_id),
                    self.keys.queue(queue),
                    self.keys.queues,
                    self.keys.wake_channel(queue),
                ],
                [
                    self._lease,
                    name,
                    expected,
                    following,
                    "" if slot is None else slot,
                    CRON_SLOT_TTL_S * 1000,
                    job_id,
                    queue,
                    int(decode(entry.job_fields.get("ttl")) or 0),
                    *flat,
                ],
            )
            if int(result) < 0:
                self._lost_lease()
                break
            if int(result) == 0:
                # Another scheduler moved the entry on (or re-registered it) meanwhile.
                break
            if slot is not None:
                job_ids.append(job_id)
                logger.info("cron entry %r: enqueued job %s on %s", name, job_id, queue)
            expected = following
        return job_ids

    def next_due_ms(self) -> int | None:
        """The earliest due time of any scheduled job or cron entry (epoch ms)."""
        names = sorted(decode(n) or "" for n in self.connection.smembers(self.keys.queues))
        with self.connection.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zrange(self.keys.registry("scheduled", name), 0, 0, withscores=True)
            pipe.zrange(self.keys.cron_entries, 0, 0, withscores=True)
            heads = pipe.execute()
        scores = [int(head[0][1]) for head in heads if head]
        return min(scores) if scores else None

    def housekeep(self) -> None:
        """Recover jobs whose worker died (under the reaper's lock)."""
        from .reaper import reap_expired_leases

        self._next_housekeeping = time.monotonic() + self.housekeeping_s
        reap_expired_leases(self.connection, self.keys, self.max_orphanings)

    # -- the loop ----------------------------------------------------------------------

    def run(
        self,
        burst: bool = False,
        logging_level: str | int | None = None,
        *,
        stop_signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGINT),
    ) -> None:
        """Run until stopped (one of ``stop_signals`` or :meth:`request_stop`); with
        ``burst``, make one pass and return. Releases the lease on the way out."""
        if logging_level is not None:
            logging.getLogger("minirq").setLevel(logging_level)
        if not burst and threading.current_thread() is threading.main_thread():
            for signum in stop_signals:
                signal.signal(signum, self._on_stop_signal)
        logger.info("%s: scheduler started", self.name)
        try:
            while not self._stop:
                if not burst:
                    self._retrying(self._subscribe)
                wake_ms = self._retrying(self.step)
                if burst:
                    break
                self._retrying(partial(self._wait_until, wake_ms))
        finally:
            self._close_pubsub()
            try:
                self.release_lease()
            except _REDIS_ERRORS:
                logger.warning("%s: Redis unreachable at exit; the lease will expire", self.name)
            logger.info("%s: scheduler stopped", self.name)

    def request_stop(self) -> None:
        self._stop = True

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        logger.info("%s: %s received; stopping", self.name, signal.Signals(signum).name)
        self.request_stop()

    def _subscribe(self) -> None:
        if self._pubsub is None:
            pubsub = self.connection.pubsub(  # type: ignore[no-untyped-call]
                ignore_subscribe_messages=True
            )
            pubsub.subscribe(self.keys.scheduler_wake)
            self._pubsub = pubsub

    def _wait_until(self, wake_ms: int) -> None:
        """Sleep until ``wake_ms`` or until a wake-up message arrives."""
        # A retry after an outage comes here with the subscription closed.
        self._subscribe()
        while not self._stop:
            remaining_s = (wake_ms - _now()) / 1000
            if remaining_s <= 0:
                return
            message = self._pubsub.get_message(timeout=min(remaining_s, _STOP_CHECK_S))
            if message is not None:
                while message is not None:
                    if message.get("data") == _RELEASED:
                        self._next_lease_check = 0.0
                    message = self._pubsub.get_message(timeout=0)
                return

    def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            try:
                self._pubsub.close()
            except Exception:
                logger.debug("closing the wake-up subscription failed", exc_info=True)
            self._pubsub = None

    def _retrying(self, func: Callable[[], _T]) -> _T:
        """Call ``func``, retrying with back-off while Redis is unreachable."""
        delay = 0.1
        failing = False
        while True:
            try:
                result = func()
            except _REDIS_ERRORS as exc:
                if self._stop:
                    raise
                if not failing:
                    logger.error("%s: Redis unreachable (%s); retrying", self.name, exc)
                    failing = True
                self._close_pubsub()
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if failing:
                logger.warning("%s: Redis is back", self.name)
            return result

    # -- cron and intervals ------------------------------------------------------------

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
        now_at = datetime_to_ms(now) if now is not None else _now()
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
        template = {k: v for k, v in job._fields.items() if k != "created_ms"}
        if options.at_front:
            template["at_front"] = b"1"
        now_at = datetime_to_ms(now) if now is not None else _now()
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


def _now() -> int:
    return now_ms()


class SchedulerProcess:
    """A :class:`Scheduler` in a forked child process, for ``work(with_scheduler=True)``.

    A child process rather than a thread: a forking worker must not fork work-horses
    from a multi-threaded process, and a step of the worker's own loop would stall
    scheduling for as long as a job runs. The child dies with its parent, and the parent
    restarts it if it dies.
    """

    def __init__(self, connection: redis.Redis, prefix: str, worker_name: str) -> None:
        self.connection = connection
        self.prefix = prefix
        self.worker_name = worker_name
        self.pid: int | None = None
        self._restart_at = 0.0

    def start(self) -> SchedulerProcess:
        from .horse import die_with_parent

        parent_pid = os.getpid()
        pid = os.fork()
        if pid:
            self.pid = pid
            logger.info("%s: scheduler running in process %d", self.worker_name, pid)
            return self
        exit_code = 1
        try:
            die_with_parent(parent_pid)
            # Ctrl+C in a terminal reaches the whole group; the worker decides when we stop.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            Scheduler(
                self.connection, prefix=self.prefix, name=f"{self.worker_name}:scheduler"
            ).run(stop_signals=(signal.SIGTERM,))
            exit_code = 0
        except BaseException:
            logger.exception("the scheduler process failed")
        finally:
            os._exit(exit_code)

    def ensure_running(self) -> None:
        """Restart the child if it has died (at most once a second)."""
        if self.pid is not None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if not pid:
                return
            logger.error(
                "%s: the scheduler process ended (status %d); restarting it",
                self.worker_name,
                status,
            )
            self.pid = None
            self._restart_at = time.monotonic() + _RESTART_DELAY_S
        if time.monotonic() >= self._restart_at:
            self.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the child (it releases its lease), killing it after ``timeout_s``."""
        self._restart_at = float("inf")
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
            time.sleep(0.02)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


__all__ = ["CronEntry", "Scheduler", "SchedulerProcess"]
