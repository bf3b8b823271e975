"""Every Redis key name minirq uses, built from one prefix.

No other module spells a key. A prefix with a hash tag (``{myapp}``) puts every key
in one Redis Cluster slot.
"""

from __future__ import annotations

import functools
import re

from .defaults import DEFAULT_PREFIX
from .exceptions import ConfigurationError

REGISTRY_KINDS = ("started", "finished", "failed", "scheduled", "deferred", "canceled")

_PREFIX_RE = re.compile(r"^[^\s:]+$")


class Keys:
    """Key names for one prefix."""

    __slots__ = ("prefix",)

    def __init__(self, prefix: str | None = None) -> None:
        prefix = DEFAULT_PREFIX if prefix is None else prefix
        if not _PREFIX_RE.match(prefix):
            raise ConfigurationError(
                f"invalid key prefix {prefix!r}: it must be non-empty, without spaces or ':'"
            )
        self.prefix = prefix

    def __repr__(self) -> str:
        return f"Keys({self.prefix!r})"

    @property
    def job_prefix(self) -> str:
        """What a job's key starts with; scripts append the id to it."""
        return f"{self.prefix}:job:"

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def queue(self, name: str) -> str:
        return f"{self.prefix}:queue:{name}"

    @property
    def queues(self) -> str:
        return f"{self.prefix}:queues"

    def registry(self, kind: str, queue_name: str) -> str:
        if kind not in REGISTRY_KINDS:
            raise ValueError(f"unknown registry {kind!r}")
        return f"{self.prefix}:{kind}:{queue_name}"

    def wake_channel(self, queue_name: str) -> str:
        """The pub/sub channel an enqueue publishes on to wake idle workers."""
        return f"{self.prefix}:wake:{queue_name}"

    def result_channel(self, job_id: str) -> str:
        """The pub/sub channel the step recording a run of the job publishes on when
        someone waits for its outcome (see :meth:`minirq.Job.latest_result`)."""
        return f"{self.result_channel_prefix}{job_id}"

    @property
    def result_channel_prefix(self) -> str:
        """What a result channel starts with; the reaper's script appends the id."""
        return f"{self.prefix}:done:"

    def wake_pattern(self) -> str:
        """The pub/sub pattern of every queue's wake-up channel (the prefix escaped)."""
        escaped = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.prefix)
        return f"{escaped}:wake:*"

    @property
    def workers(self) -> str:
        return f"{self.prefix}:workers"

    def worker(self, name: str) -> str:
        return f"{self.prefix}:worker:{name}"

    def stats(self, minute: int) -> str:
        """Counters of jobs processed and failed in one minute (epoch minutes)."""
        return f"{self.prefix}:stats:{minute}"

    def job_stats(self, queue_name: str) -> str:
        """Running totals of one queue's jobs: counts and a duration histogram."""
        return f"{self.prefix}:jobstats:{queue_name}"

    def function_stats(self, resolution: str, bucket: int) -> str:
        """Per-function counts and durations of one time bucket (see minirq.stats)."""
        return f"{self.prefix}:fnstats:{resolution}:{bucket}"

    @property
    def scheduler_last_pass(self) -> str:
        """``<epoch ms>:<holder>`` of the active scheduler's latest pass."""
        return f"{self.prefix}:scheduler:lastpass"

    @property
    def reaper_lock(self) -> str:
        return f"{self.prefix}:lock:reaper"

    # -- scheduling --------------------------------------------------------------------

    @property
    def scheduler_lease(self) -> str:
        """The active scheduler's lease: ``<fencing token>:<holder>`` with a TTL."""
        return f"{self.prefix}:scheduler:lease"

    @property
    def scheduler_fence(self) -> str:
        """A counter incremented at each lease acquisition, giving the fencing tokens."""
        return f"{self.prefix}:scheduler:fence"

    @property
    def scheduler_wake(self) -> str:
        """The pub/sub channel that wakes schedulers when an earlier job is scheduled."""
        return f"{self.prefix}:scheduler:wake"

    @property
    def cron_entries(self) -> str:
        """A sorted set of cron entry names, scored by their next run (epoch ms)."""
        return f"{self.prefix}:cron:entries"

    def cron_entry(self, name: str) -> str:
        return f"{self.prefix}:cron:entry:{name}"

    def cron_slot(self, name: str, slot_ms: int) -> str:
        """The idempotency key of one slot of a cron entry."""
        return f"{self.prefix}:cron:slot:{name}:{slot_ms}"

    # -- job features (dependencies, pause, commands, groups) ---------------------------
    # Scripts that reach a key known only from data (a dependent job, its queue) build it
    # as ``<prefix>:<kind>:<name>`` from the prefix they receive; these methods spell the
    # same names, and tests/test_dependencies.py checks that they agree.

    def dependents(self, job_id: str) -> str:
        """SET of the ids of jobs waiting for ``job_id``."""
        return f"{self.prefix}:dependents:{job_id}"

    def dependencies(self, job_id: str) -> str:
        """SET of the ids of the parents ``job_id`` still waits for."""
        return f"{self.prefix}:dependencies:{job_id}"

    @property
    def paused_queues(self) -> str:
        """SET of the names of paused queues."""
        return f"{self.prefix}:paused"

    @property
    def suspended(self) -> str:
        """Present while every worker is suspended."""
        return f"{self.prefix}:suspended"

    def worker_commands(self, worker_name: str) -> str:
        """The pub/sub channel a worker listens on for commands."""
        return f"{self.prefix}:commands:{worker_name}"

    def group(self, name: str) -> str:
        """SET of the job ids of a group."""
        return f"{self.prefix}:group:{name}"

    @property
    def groups(self) -> str:
        return f"{self.prefix}:groups"

    # -- limits (scripts build these from the prefix and a limit's key: lib_limits.lua,
    # lib_limit_slots.lua; tests/test_limits.py checks that they agree) -----------------

    def limit_slots(self, key: str) -> str:
        """ZSET of the ids of the running jobs of a concurrency limit, scored by lease
        deadline (epoch ms)."""
        return f"{self.prefix}:limit:{key}:slots"

    def limit_starts(self, key: str) -> str:
        """ZSET of the run tokens of a rate limit's starts in its window, scored by start
        time (epoch ms)."""
        return f"{self.prefix}:limit:{key}:starts"

    @property
    def limits(self) -> str:
        """HASH of every limit a worker has started a job under: key -> encoded limit."""
        return f"{self.prefix}:limits"

    @property
    def queue_limits(self) -> str:
        """HASH of the queues' default limits: queue name -> encoded limit."""
        return f"{self.prefix}:queue-limits"

    @property
    def limits_wake_channel(self) -> str:
        """The pub/sub channel a freed concurrency slot publishes on to wake idle workers."""
        return f"{self.prefix}:limits:wake"

    @property
    def rq_import_ledger(self) -> str:
        """HASH of RQ job id -> RQ's ``created_at``, for jobs ``minirq import-rq`` wrote
        here that may still be in RQ's Redis (see :mod:`minirq.rq_import`)."""
        return f"{self.prefix}:rqimport:ledger"


@functools.lru_cache(maxsize=64)
def keys_for(prefix: str | None) -> Keys:
    """The :class:`Keys` of ``prefix``, shared: every job of a queue names its keys with
    one object instead of checking the prefix again for each."""
    return Keys(prefix)


class RQKeys:
    """The key names RQ 2.x uses (its prefixes are fixed: ``rq:``), for ``import-rq``."""

    __slots__ = ()

    queues = "rq:queues"
    queue_prefix = "rq:queue:"

    def job(self, job_id: str) -> str:
        return f"rq:job:{job_id}"

    def queue(self, name: str) -> str:
        return f"rq:queue:{name}"

    def registry(self, kind: str, queue_name: str) -> str:
        return f"rq:{kind}:{queue_name}"

    def results(self, job_id: str) -> str:
        return f"rq:results:{job_id}"

    def intermediate(self, queue_name: str) -> str:
        """The list of ids an RQ worker has taken from the queue but not yet started."""
        return f"rq:queue:{queue_name}:intermediate"

    def dependents(self, job_id: str) -> str:
        return f"rq:job:{job_id}:dependents"

    def dependencies(self, job_id: str) -> str:
        # RQ 2.12 spells this key with a doubled colon (its prefix ends in one).
        return f"rq:job::{job_id}:dependencies"
