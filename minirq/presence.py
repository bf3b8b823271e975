"""Worker presence: the hash each live worker keeps in Redis, its heartbeats and
counters. Reading workers back is :mod:`minirq.worker_records`.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import redis

from . import store
from .defaults import STATS_TTL_S
from .keys import Keys
from .store import calls
from .store.record import text_or_none
from .utils import ms_to_datetime, now_ms
from .worker_records import WorkerInfo, WorkerState, live_workers, worker_queue_field

logger = logging.getLogger("minirq.worker")


class PresenceMixin:
    """Registration, heartbeats (which renew the leases of the running jobs, on Redis's
    clock and under each run's token) and counters; part of :class:`BaseWorker`."""

    connection: redis.Redis
    keys: Keys
    key: str
    name: str
    hostname: str
    pid: int
    state: str
    lease_s: float
    heartbeat_interval_s: float
    worker_ttl_s: int
    queues: list[Any]
    listens_on_all: bool
    version: str
    python_version: str
    birth_date: datetime | None
    death_date: datetime | None
    current_job: Any
    job_stats: Any
    _pending_stats: dict[str, int]
    _last_flush: float
    _next_heartbeat: float

    _close_pubsub: Any

    def _call_redis(self, func: Any, doing: str, until_stop: bool = False) -> Any:
        raise NotImplementedError

    def register_birth(self) -> None:
        now = now_ms()
        with self.connection.pipeline() as pipe:
            pipe.hset(
                self.key,
                mapping={
                    "name": self.name,
                    "hostname": self.hostname,
                    "pid": self.pid,
                    "queues": worker_queue_field(
                        (q.name for q in self.queues), self.listens_on_all
                    ),
                    "birth": now,
                    "last_heartbeat": now,
                    "state": "idle",
                    "job": "",
                    "successful": 0,
                    "failed": 0,
                    "working_ms": 0,
                    "version": self.version,
                    "python_version": self.python_version,
                },
            )
            pipe.expire(self.key, self.worker_ttl_s)
            pipe.sadd(self.keys.workers, self.name)
            pipe.execute()
        self.state = "idle"
        self.birth_date = ms_to_datetime(now)
        self._last_flush = time.monotonic()
        self._next_heartbeat = time.monotonic() + self.heartbeat_interval_s
        listening = "every queue" if self.listens_on_all else ", ".join(q.name for q in self.queues)
        logger.info("%s: started on %s", self.name, listening)

    def register_death(self) -> None:
        self._close_pubsub()
        try:
            self.heartbeat()
            with self.connection.pipeline() as pipe:
                pipe.delete(self.key)
                pipe.srem(self.keys.workers, self.name)
                pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError):
            logger.warning(
                "%s: Redis unreachable at exit; the worker record will expire", self.name
            )
        self.death_date = datetime.now(UTC)
        logger.info("%s: stopped", self.name)

    _fetched_ahead: Any

    def running_jobs(self) -> list[Any]:
        """The jobs whose leases this worker's heartbeat renews: the running one and one
        fetched along with the last outcome, which holds a lease already."""
        jobs = [self.current_job] if self.current_job is not None else []
        return jobs + self._job_fetched_ahead()

    def _job_fetched_ahead(self) -> list[Any]:
        """The job fetched along with the last outcome and not handed over yet (at most
        one): it holds a lease, which heartbeats renew, and the record shows it running."""
        if self._fetched_ahead is not None and self._fetched_ahead[0] is not None:
            return [self._fetched_ahead[0][0]]
        return []

    def heartbeat(self) -> None:
        """Say we are alive, renew the running jobs' leases and flush counters."""
        now = now_ms()
        running = self.running_jobs()
        stats = self._pending_stats
        renew = calls.renew(
            self.keys,
            lease_ms=int(self.lease_s * 1000),
            runs=[(job.origin, job.id, job.run_token) for job in running],
        )
        runner = store.runner_for(self.connection)
        with (
            self.connection.pipeline(transaction=False) as pipe,
            self.job_stats.flush_into(pipe, self.keys),
        ):
            pipe.hset(
                self.key,
                mapping={
                    "last_heartbeat": now,
                    "state": WorkerState.BUSY if running else self.state,
                    "job": running[0].id if running else "",
                },
            )
            if stats["successful"] or stats["failed"] or stats["working_ms"]:
                _add_counts(pipe, self.keys, self.key, stats, now)
            pipe.expire(self.key, self.worker_ttl_s)
            pipe.sadd(self.keys.workers, self.name)
            if running:
                runner.add_to(pipe, renew)
            replies = pipe.execute(raise_on_error=False)
        self._pending_stats = {"successful": 0, "failed": 0, "working_ms": 0}
        self._last_flush = time.monotonic()
        self._next_heartbeat = self._last_flush + self.heartbeat_interval_s
        if running:
            self._check_renewal(replies[-1], renew)

    def _check_renewal(self, reply: Any, renew: Any) -> None:
        if isinstance(reply, redis.exceptions.NoScriptError):
            reply = store.runner_for(self.connection).run(renew)
        elif isinstance(reply, Exception):
            logger.error("%s: renewing leases failed: %s", self.name, reply)
            return
        else:
            reply = renew.parse(reply)
        for job_id in reply:
            logger.warning(
                "%s: the lease of job %s belongs to another run now; its outcome will not "
                "be recorded by this one",
                self.name,
                job_id,
            )

    def _maybe_heartbeat(self) -> None:
        if time.monotonic() >= self._next_heartbeat:
            self._call_redis(self.heartbeat, "sending a heartbeat", until_stop=True)

    def check_redis_settings(self) -> None:
        """Warn when Redis may evict keys, which would silently lose jobs."""
        try:
            config = self.connection.config_get("maxmemory-policy")
        except redis.ResponseError as exc:
            # Managed services often refuse CONFIG; the setting cannot be checked then.
            logger.info(
                "%s: cannot read maxmemory-policy (%s); make sure it is noeviction",
                self.name,
                exc,
            )
            return
        policy = text_or_none(config.get("maxmemory-policy")) or ""
        if policy and policy != "noeviction":
            logger.warning(
                "%s: Redis maxmemory-policy is %r: when memory is full Redis will evict "
                "keys and jobs will be lost; set maxmemory-policy noeviction",
                self.name,
                policy,
            )


def _add_counts(pipe: Any, keys: Keys, worker_key: str, stats: dict[str, int], now: int) -> None:
    for field, value in stats.items():
        if value:
            pipe.hincrby(worker_key, field, value)
    minute_key = keys.stats(now // 60_000)
    if stats["successful"] or stats["failed"]:
        pipe.hincrby(minute_key, "processed", stats["successful"] + stats["failed"])
    if stats["failed"]:
        pipe.hincrby(minute_key, "failed", stats["failed"])
    pipe.expire(minute_key, STATS_TTL_S)


__all__ = ["PresenceMixin", "WorkerInfo", "WorkerState", "live_workers"]
